// The demo (demo.h).
#include "studio/demo.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "art/common/artifacts.h"
#include "art/play/game.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/models_dir.h"
#include "studio/gallery.h"
#include "studio/html.h"
#include "studio/registry.h"
#include "studio/text_form.h"

namespace lyra::studio {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Planned {
    std::string slug, title, form;
    json request;
};

// The art-form works, one per form and language, fixed seeds.
std::vector<Planned> art_plan() {
    return {
        {"poem-zh", "A Chinese quatrain (五言绝句)", "poem", {{"form", "wujue"}, {"seed", 1}}},
        {"poem-en", "An English haiku", "poem", {{"form", "haiku"}, {"seed", 1}}},
        {"tune", "A folk tune (ABC, MIDI, WAV, sheet music)", "tune", {{"seed", 1}}},
        {"paint", "A painting", "paint", {{"seed", 1}}},
        // A subject: drawn from half of the corpus's red apple when the corpus is built (guide.h)
        {"paint-apple", "A red apple, four candidates", "paint", {{"subject", "red apple"}, {"n", 4}, {"seed", 1}}},
        {"story", "A short story", "story", {{"form", "short"}, {"length", 120}, {"seed", 1}}},
    };
}

// The text continuations with the shipped model (the demo's first part, kept).
std::vector<Planned> text_plan(const std::string& model) {
    auto req = [&](std::string prompt, uint64_t seed, double temperature) {
        json r = {{"prompt", std::move(prompt)}, {"seed", seed}, {"temperature", temperature},
                  {"repeat_penalty", 1.1}, {"max_tokens", 120}};
        if (!model.empty()) r["model"] = model;
        return r;
    };
    return {
        {"text-romeo", "A speech for Romeo", "text", req("ROMEO:\n", 1, 0.8)},
        {"text-juliet", "Juliet answers", "text", req("JULIET:\nO Romeo, ", 2, 0.8)},
        {"text-citizen", "The citizens speak", "text",
         req("First Citizen:\nBefore we proceed any further, ", 3, 0.9)},
        {"text-hamlet", "A soliloquy, greedy", "text", req("HAMLET:\nTo be, or not to be", 4, 0.0)},
    };
}

bool card_says_untrained(const std::string& model_path) {
    std::ifstream in(fs::path(model_path).replace_extension(".md"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str().find("Status: random-initialised") != std::string::npos;
}

std::string rel_link(const std::string& path, const std::string& out_dir) {
    std::error_code ec;
    const fs::path rel = fs::relative(path, out_dir, ec);
    return ec || rel.empty() ? path : rel.generic_string();
}

std::string render_entry(const DemoEntry& e, const std::string& out_dir) {
    std::string h = "<section id=\"" + html_escape(e.slug) + "\">\n<h2>" + html_escape(e.title) +
                    "</h2>\n<p class=\"meta\">form " + html_escape(e.form) + " · request <code>" +
                    html_escape(e.request.dump(-1, ' ', false, json::error_handler_t::replace)) +
                    "</code></p>\n";
    if (e.status != "ok") {
        h += "<p class=\"note\"><b>" + html_escape(e.status) + "</b>: " + html_escape(e.message) +
             "</p>\n</section>\n";
        return h;
    }
    const art::ArtResult& r = e.result;
    h += "<pre>";
    if (r.form == "text") {
        h += "<span class=\"prompt\">" + html_escape(e.request.value("prompt", "")) + "</span>";
    }
    h += html_escape(r.text) + "</pre>\n";
    if (!r.files.empty()) {
        h += "<ul>\n";
        for (const auto& [kind, p] : r.files) {
            const std::string link = rel_link(p, out_dir);
            h += "<li><a href=\"" + html_escape(link) + "\">" + html_escape(kind) + "</a></li>\n";
            if (kind == "svg" || kind == "png") {
                h += "<li><img class=\"art\" alt=\"" + html_escape(e.title) + "\" src=\"" +
                     html_escape(link) + "\"></li>\n";
            }
            if (kind == "wav") {
                h += "<li><audio controls src=\"" + html_escape(link) + "\"></audio></li>\n";
            }
        }
        h += "</ul>\n";
    }
    h += "<p class=\"meta\">seed " + std::to_string(r.seed) + " · model " + html_escape(r.model) +
         " · scores " + html_escape(r.scores.dump(-1, ' ', false, json::error_handler_t::replace)) +
         fmt::format(" · {:.2f} s", e.seconds);
    if (r.gallery_id >= 0) {
        h += " · gallery #" + std::to_string(r.gallery_id) + " (<code>lyra gallery show " +
             std::to_string(r.gallery_id) + " --rerun</code>)";
    }
    h += "</p>\n</section>\n";
    return h;
}

std::string render_page(const DemoReport& rep, const std::string& out_dir,
                        const std::string& text_model, bool untrained) {
    std::string h = html_page_head("Lyra demo");
    h += "<style>.prompt{color:#888}</style>\n<h1>Lyra demo</h1>\n";
    h += "<p class=\"note\">Every work below was made on this machine by Lyra's embedded models "
         "through the same art-form registry as <code>lyra poem</code>, <code>lyra tune</code>, "
         "<code>lyra paint</code>, <code>lyra story</code> and the server. Text continuations use "
         "<code>" + html_escape(text_model) + "</code>.";
    if (untrained) {
        h += " That model is random-initialised (untrained), so its text is gibberish until the "
             "trainer trains it; see its model card.";
    }
    h += "</p>\n<ul>\n";
    for (const DemoEntry& e : rep.entries) {
        h += "<li><a href=\"#" + html_escape(e.slug) + "\">" + html_escape(e.title) + "</a> — " +
             html_escape(e.status) + "</li>\n";
    }
    h += "</ul>\n";
    for (const DemoEntry& e : rep.entries) h += render_entry(e, out_dir);
    h += "<p class=\"meta\">Machine-readable: <a href=\"demo.json\">demo.json</a>.</p>\n"
         "</body>\n</html>\n";
    return h;
}

json entry_json(const DemoEntry& e) {
    json j = {{"slug", e.slug}, {"title", e.title}, {"form", e.form}, {"request", e.request},
              {"status", e.status}, {"seconds", e.seconds}};
    if (e.status == "ok") {
        j["result"] = art::to_json(e.result);
        j["text"] = e.result.text;
    } else {
        j["message"] = e.message;
    }
    return j;
}

// A scripted game excerpt through the play API: the built-in world, seed 1, three turns that
// each take the first choice the rules suggest (so the excerpt is the same every run).
art::ArtResult play_excerpt(core::ThreadPool& pool, art::ModelCache& models, const std::string& out_dir) {
    const std::string model_path = gen::default_model_path(art::play::default_model_file());
    art::play::GameOptions go;
    go.seed = 1;
    go.narration_tokens = 60;
    art::play::Game game = art::play::Game::create(models.get(model_path), pool, go);
    std::string text = game.intro() + "\n";
    json turns = json::array();
    for (int t = 0; t < 3; ++t) {
        const auto choices = game.choices();
        const std::string input = choices.empty() ? std::string("look") : choices.front();
        const art::play::TurnResult tr = game.turn(input);
        text += "\n> " + input + "\n" + tr.text + "\n" + game.status_line() + "\n";
        turns.push_back(input);
    }
    art::ArtResult r;
    r.form = "play";
    r.text = text;
    r.seed = go.seed;
    r.model = model_path;
    r.model_sha256 = models.sha256(model_path);
    r.request = {{"seed", go.seed}, {"narration_tokens", go.narration_tokens}, {"inputs", turns}};
    r.scores = {{"updates_written", game.updates_written()}, {"updates_valid", game.updates_valid()}};
    art::ArtifactSet files(out_dir);
    files.add("txt", "game.txt", text);
    r.files = files.commit();
    return r;
}

}  // namespace

bool DemoReport::ok() const {
    for (const DemoEntry& e : entries) {
        if (e.status == "failed") return false;
    }
    return true;
}

DemoReport run_demo(const DemoOptions& opt) {
    const auto t0 = std::chrono::steady_clock::now();
    core::ThreadPool pool(opt.threads);
    art::ModelCache models;
    const std::string text_model =
        opt.text_model.empty() ? gen::default_model_path(gen::kDefaultModelFile) : opt.text_model;
    // Load the text model before anything is written: a missing model leaves no output at all.
    models.get(text_model);

    DemoReport rep;
    auto run_one = [&](const Planned& p, const std::string& out_dir) {
        DemoEntry e;
        e.slug = p.slug;
        e.title = p.title;
        e.form = p.form;
        e.request = p.request;
        const auto s0 = std::chrono::steady_clock::now();
        const ArtformInfo* form = find_artform(p.form);
        try {
            if (form == nullptr) {
                throw_error(ErrorKind::Unsupported, "{}: this art form is not in this Lyra", p.form);
            }
            art::Context ctx{.pool = &pool, .models = &models, .out_dir = out_dir};
            e.result = form->run(p.request, ctx);
            e.status = "ok";
        } catch (const Error& err) {
            e.message = err.what();
            e.status = err.kind() == ErrorKind::Unsupported ? "not built"
                       : err.kind() == ErrorKind::NotFound  ? "model missing"
                                                            : "failed";
        } catch (const std::exception& err) {
            e.message = err.what();
            e.status = "failed";
        }
        e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
        return e;
    };

    // 1. The text continuations, in memory (they must work: the shipped model is here).
    for (const Planned& p : text_plan(opt.text_model)) {
        DemoEntry e = run_one(p, "");
        if (e.status != "ok") throw Error(ErrorKind::InvalidArgument, e.message);
        rep.entries.push_back(std::move(e));
    }

    // 2. Now the output directory, then each art form writing its artifacts into DIR/<slug>.
    std::error_code ec;
    fs::create_directories(opt.out_dir, ec);
    if (ec) {
        throw_error(ErrorKind::Io, "output directory '{}': cannot create: {}", opt.out_dir, ec.message());
    }
    std::vector<DemoEntry> art_entries;
    for (const Planned& p : art_plan()) {
        art_entries.push_back(run_one(p, (fs::path(opt.out_dir) / p.slug).string()));
    }
    {
        DemoEntry e;
        e.slug = "play";
        e.title = "A game excerpt (three turns)";
        e.form = "play";
        e.request = {{"seed", 1}, {"turns", 3}};
        const auto s0 = std::chrono::steady_clock::now();
        try {
            e.result = play_excerpt(pool, models, (fs::path(opt.out_dir) / "play").string());
            e.status = "ok";
        } catch (const Error& err) {
            e.message = err.what();
            e.status = err.kind() == ErrorKind::NotFound ? "model missing" : "failed";
        }
        e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
        art_entries.push_back(std::move(e));
    }
    rep.entries.insert(rep.entries.begin(), std::make_move_iterator(art_entries.begin()),
                       std::make_move_iterator(art_entries.end()));

    // 3. Record, then write the page and the JSON.
    if (opt.record) {
        if (const auto path = default_gallery_path()) {
            for (DemoEntry& e : rep.entries) {
                // The play excerpt is a session, not a registry form: nothing to --rerun.
                if (e.status == "ok" && e.form != "play") record_in_gallery(e.result, "demo", path);
            }
        }
    }
    rep.index_path = (fs::path(opt.out_dir) / "index.html").string();
    rep.json_path = (fs::path(opt.out_dir) / "demo.json").string();
    json works = json::array();
    for (const DemoEntry& e : rep.entries) works.push_back(entry_json(e));
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const json demo = {{"text_model", text_model}, {"seconds", rep.seconds}, {"ok", rep.ok()},
                       {"works", works}};
    core::write_file_atomic(rep.json_path,
                            demo.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    core::write_file_atomic(rep.index_path,
                            render_page(rep, opt.out_dir, text_model, card_says_untrained(text_model)));
    return rep;
}

std::string format_demo_summary(const DemoReport& r) {
    std::string s = fmt::format("lyra demo: {} works in {:.1f} s\n", r.entries.size(), r.seconds);
    for (const DemoEntry& e : r.entries) {
        std::string first;
        if (e.status == "ok") {
            first = e.result.text.substr(0, e.result.text.find('\n'));
            if (first.size() > 48) {
                size_t cut = 48;
                while (cut > 0 && (static_cast<unsigned char>(first[cut]) & 0xC0) == 0x80) --cut;
                first = first.substr(0, cut) + "...";
            }
        } else {
            first = e.message.substr(0, 70);
        }
        s += fmt::format("  {:<13} {:<14} {:5.1f} s  {}\n", e.slug, e.status, e.seconds, valid_utf8(first));
    }
    s += fmt::format("wrote {} and {}\n", r.index_path, r.json_path);
    return s;
}

}  // namespace lyra::studio
