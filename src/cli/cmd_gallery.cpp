// `lyra gallery list|show|export`: the works recorded by the art commands and the server
// (studio/gallery.h). `show ID --rerun` runs the stored request through the same art form and
// says whether the text came out identical (it must: same model, same seed, same settings).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/result_json.h"
#include "studio/gallery.h"
#include "studio/html.h"
#include "studio/registry.h"

namespace lyra::cli {

namespace {

struct GalleryFlags {
    std::string form;
    int64_t limit = 20;
    bool json = false;
    int64_t id = 0;
    bool rerun = false;
    std::string out_dir;
    int threads = 0;
};

studio::Gallery open_gallery() {
    const auto path = studio::default_gallery_path();
    if (!path) {
        throw_error(ErrorKind::InvalidArgument,
                    "gallery: recording is off; expected LYRA_GALLERY to name a file, got 'off'");
    }
    return studio::Gallery(*path);
}

// First line of a work, shortened for the list.
std::string first_line(const std::string& text, size_t max_chars) {
    std::string line = text.substr(0, text.find('\n'));
    // Cut at a UTF-8 boundary.
    if (line.size() > max_chars) {
        size_t cut = max_chars;
        while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
        line = line.substr(0, cut) + "...";
    }
    return line;
}

void print_line(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
}

void run_list(const GalleryFlags& f) {
    const studio::Gallery g = open_gallery();
    const auto works = g.list({.form = f.form, .limit = f.limit, .before_id = 0});
    if (f.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& w : works) arr.push_back(studio::work_to_json(w));
        print_line(gen::dump_json(nlohmann::json{{"works", arr}}));
        return;
    }
    if (works.empty()) {
        std::fprintf(stderr, "gallery %s: no works%s%s\n", g.path().c_str(),
                     f.form.empty() ? "" : " of form ", f.form.c_str());
        return;
    }
    for (const auto& w : works) {
        const std::string line = fmt::format("{:>5}  {}  {:<6} seed {:<6} {}", w.id, w.created_at,
                                             w.form, w.seed, first_line(w.text, 48));
        print_line(studio::valid_utf8(line));
    }
}

void run_show(const GalleryFlags& f) {
    const studio::Gallery g = open_gallery();
    const auto w = g.get(f.id);
    if (!w) {
        throw_error(ErrorKind::NotFound, "gallery work {}: no such work in '{}'; hint: lyra gallery list",
                    f.id, g.path());
    }
    if (!f.rerun) {
        if (f.json) {
            print_line(gen::dump_json(studio::work_to_json(*w)));
            return;
        }
        std::printf("#%lld %s · %s · %s · seed %llu\nmodel %s (sha256 %s)\n",
                    static_cast<long long>(w->id), w->form.c_str(), w->created_at.c_str(),
                    w->source.c_str(), static_cast<unsigned long long>(w->seed), w->model.c_str(),
                    w->model_sha256.c_str());
        for (const auto& [kind, p] : w->files) std::printf("%s: %s\n", kind.c_str(), p.c_str());
        print_line("scores " + gen::dump_json(w->scores));
        print_line("request " + gen::dump_json(w->request));
        print_line("");
        print_line(w->text);
        return;
    }

    const studio::ArtformInfo* form = studio::find_artform(w->form);
    if (form == nullptr) {
        throw_error(ErrorKind::Unsupported, "gallery work {}: art form '{}' is not in this Lyra",
                    f.id, w->form);
    }
    const int threads = f.threads > 0 ? f.threads
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    core::ThreadPool pool(threads);
    art::ModelCache models;
    art::Context ctx{.pool = &pool, .models = &models, .out_dir = f.out_dir};
    const art::ArtResult again = form->run(w->request, ctx);
    const bool same_text = again.text == w->text;
    const bool same_model = w->model_sha256.empty() || again.model_sha256.empty() ||
                            again.model_sha256 == w->model_sha256;
    if (f.json) {
        nlohmann::json j = art::to_json(again);
        j["rerun_of"] = w->id;
        j["identical"] = same_text;
        j["same_model"] = same_model;
        print_line(gen::dump_json(j));
    } else {
        print_line(again.text);
        for (const auto& [kind, p] : again.files) std::fprintf(stderr, "wrote %s\n", p.c_str());
    }
    if (!same_model) {
        std::fprintf(stderr, "lyra: warning: the model file changed since work %lld (sha256 %s, now %s)\n",
                     static_cast<long long>(w->id), w->model_sha256.c_str(), again.model_sha256.c_str());
    }
    if (!same_text) {
        throw_error(ErrorKind::Corrupt,
                    "gallery work {}: rerun is not identical; expected the stored text ({} bytes), "
                    "got {} bytes{}",
                    w->id, w->text.size(), again.text.size(),
                    same_model ? "" : "; the model file changed");
    }
    std::fprintf(stderr, "rerun of work %lld: identical text\n", static_cast<long long>(w->id));
}

void run_export(const GalleryFlags& f) {
    const studio::Gallery g = open_gallery();
    const int64_t n = studio::export_gallery_html(g, f.out_dir);
    std::printf("exported %lld works to %s/index.html\n", static_cast<long long>(n), f.out_dir.c_str());
}

}  // namespace

void add_gallery_command(CLI::App& app) {
    auto f = std::make_shared<GalleryFlags>();
    auto* cmd = app.add_subcommand(
        "gallery", "The works you made: list, show (and --rerun), export a static page");
    cmd->require_subcommand(1);

    auto* list = cmd->add_subcommand("list", "List recorded works, newest first");
    list->add_option("--form", f->form, "Only works of this art form (poem, tune, paint, story)");
    list->add_option("--limit", f->limit, "How many works")->check(whole_between(1, 1000))->capture_default_str();
    list->add_flag("--json", f->json, "Print {\"works\": [...]} as JSON");
    list->callback([f] { run_list(*f); });

    auto* show = cmd->add_subcommand("show", "Show one work with its settings and scores");
    show->add_option("id", f->id, "Work id (from lyra gallery list)")->required()->check(whole_at_least(1));
    show->add_flag("--json", f->json, "Print the work as JSON");
    show->add_flag("--rerun", f->rerun,
                   "Run the stored request again and check the text is identical (exit 1 if not)");
    show->add_option("-o,--out", f->out_dir, "With --rerun: directory for the new artifacts");
    show->add_option("--threads", f->threads, "With --rerun: worker threads (0 = all cores)")
        ->check(whole_between(0, 1024));
    show->callback([f] { run_show(*f); });

    auto* exp = cmd->add_subcommand("export", "Write a static HTML page of every work");
    exp->add_option("-o,--out", f->out_dir, "Output directory")->required();
    exp->callback([f] { run_export(*f); });
}

}  // namespace lyra::cli
