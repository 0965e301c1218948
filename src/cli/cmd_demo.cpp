// `lyra demo [-o DIR]`: the main job (DESIGN.md). Until the art commands exist (later issues)
// it continues a few prompts with the shipped model, fixed seeds, and writes DIR/index.html
// (a gallery page) and DIR/demo.json. Everything is generated before anything is written, and
// each file is written atomically, so a failure leaves no partial output.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "generate/generator.h"
#include "generate/models_dir.h"
#include "generate/result_json.h"
#include "model/model.h"

namespace lyra::cli {

namespace {

struct DemoFlags {
    std::string out_dir = "demo-out";
    std::string model;
    int threads = 1;  // the shipped model is tiny: one thread is fastest and never contends
    int max_tokens = 120;
};

struct DemoPiece {
    std::string title;
    std::string prompt;
    gen::GenerateOptions opt;
};

std::vector<DemoPiece> demo_pieces(int max_tokens, int threads) {
    auto opt = [&](uint64_t seed, float temperature) {
        gen::GenerateOptions o;
        o.max_tokens = max_tokens;
        o.temperature = temperature;
        o.seed = seed;
        o.threads = threads;
        o.repeat_penalty = 1.1f;
        return o;
    };
    return {
        {"A speech for Romeo", "ROMEO:\n", opt(1, 0.8f)},
        {"Juliet answers", "JULIET:\nO Romeo, ", opt(2, 0.8f)},
        {"The citizens speak", "First Citizen:\nBefore we proceed any further, ", opt(3, 0.9f)},
        {"A soliloquy, greedy", "HAMLET:\nTo be, or not to be", opt(4, 0.0f)},
    };
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case '\n':
            case '\t': out += c; break;
            default:
                // C0 controls (NUL, ESC, ...) are not allowed in HTML text: show U+FFFD.
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    out += "\xEF\xBF\xBD";
                } else {
                    out += c;
                }
        }
    }
    return out;
}

// Text that is not valid UTF-8 (stray bytes from an untrained model) shown as U+FFFD.
std::string printable(std::string_view s) {
    return nlohmann::json(std::string(s)).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace);
}

// The model card beside a model: x.gguf -> x.md.
std::string card_path_for(const std::string& model_path) {
    return std::filesystem::path(model_path).replace_extension(".md").string();
}

// True when the model's card declares it random-initialised ("**Status: random-initialised",
// the shipped placeholder before the trainer replaced it).
bool card_says_untrained(const std::string& card_path) {
    std::ifstream in(card_path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str().find("Status: random-initialised") != std::string::npos;
}

std::string render_html(const std::vector<DemoPiece>& pieces, const nlohmann::json& results,
                        const std::string& model_path, const std::string& model_name,
                        const std::string& card_path, bool untrained) {
    std::string h =
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>Lyra demo</title>\n<style>\n"
        "body{font-family:Georgia,serif;max-width:52em;margin:2em auto;padding:0 1em;"
        "color:#222;background:#fbfaf7}\n"
        "pre{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:1em}\n"
        ".prompt{color:#888}\n.meta{font:0.8em monospace;color:#666}\n"
        ".note{background:#fff4d6;border:1px solid #e6cf8a;padding:0.6em 1em}\n"
        "</style>\n</head>\n<body>\n<h1>Lyra demo</h1>\n";
    h += "<p class=\"note\">Model <b>" + html_escape(model_name) + "</b> (<code>" +
         html_escape(model_path) + "</code>).";
    if (untrained) {
        h += " This model is random-initialised (untrained), so its text is gibberish until the "
             "trainer trains it; see its model card <code>" +
             html_escape(card_path) + "</code>.";
    }
    h += "</p>\n";
    for (size_t i = 0; i < pieces.size(); ++i) {
        const auto& r = results[i];
        const auto& o = pieces[i].opt;
        // The JSON text already replaced invalid bytes; unquote it for the page.
        const std::string text = r["text"].get<std::string>();
        h += "<section>\n<h2>" + html_escape(pieces[i].title) + "</h2>\n<pre><span class=\"prompt\">" +
             html_escape(pieces[i].prompt) + "</span>" + html_escape(text) + "</pre>\n";
        h += fmt::format(
            "<p class=\"meta\">seed {} · temperature {} · top-k {} · top-p {} · min-p {} · "
            "repeat penalty {} · max tokens {} · finish {} · {} tokens at {:.0f} tok/s · "
            "sampler {}</p>\n</section>\n",
            o.seed, o.temperature, o.top_k, o.top_p, o.min_p, o.repeat_penalty, o.max_tokens,
            r["finish_reason"].get<std::string>(), r["timings"]["n_gen"].get<int64_t>(),
            r["timings"]["decode_tok_s"].get<double>(), html_escape(r["sampler"].get<std::string>()));
    }
    h += "<p class=\"meta\">Reproduce any piece: <code>lyra generate -m MODEL -p PROMPT --seed S "
         "--temperature T ...</code> with the values above. Machine-readable: "
         "<a href=\"demo.json\">demo.json</a>.</p>\n</body>\n</html>\n";
    return h;
}

void run_demo(DemoFlags& f) {
    const auto t0 = std::chrono::steady_clock::now();
    if (f.model.empty()) f.model = gen::default_model_path();
    const auto model = model::Model::load(f.model);
    const std::string name = model->gguf().get_string("general.name").value_or(f.model);

    // 1. Generate everything in memory.
    const auto pieces = demo_pieces(f.max_tokens, f.threads);
    nlohmann::json results = nlohmann::json::array();
    for (const auto& p : pieces) {
        const auto r = gen::generate(*model, p.prompt, p.opt);
        auto j = gen::result_to_json(r, p.opt, f.model);
        j["title"] = p.title;
        j["prompt"] = p.prompt;
        // Round-trip through dump(replace) so stray bytes become U+FFFD before HTML rendering.
        results.push_back(nlohmann::json::parse(gen::dump_json(j)));
    }
    const nlohmann::json demo = {{"model", f.model}, {"model_name", name}, {"works", results}};

    // 2. Write the files (atomically), only now creating the directory.
    std::error_code ec;
    std::filesystem::create_directories(f.out_dir, ec);
    if (ec) {
        throw_error(ErrorKind::Io, "output directory '{}': cannot create: {}", f.out_dir,
                    ec.message());
    }
    const std::string html_path = f.out_dir + "/index.html";
    const std::string json_path = f.out_dir + "/demo.json";
    core::write_file_atomic(json_path, gen::dump_json(demo, 2) + "\n");
    const std::string card = card_path_for(f.model);
    core::write_file_atomic(html_path,
                            render_html(pieces, results, f.model, name, card, card_says_untrained(card)));

    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("lyra demo: %zu works with %s in %.2f s\n", pieces.size(), name.c_str(), secs);
    for (size_t i = 0; i < pieces.size(); ++i) {
        std::string first = results[i]["text"].get<std::string>().substr(0, 60);
        for (char& c : first) {
            if (c == '\n') c = ' ';
        }
        std::printf("  %-22s seed %-3llu %s\n", pieces[i].title.c_str(),
                    static_cast<unsigned long long>(pieces[i].opt.seed), printable(first).c_str());
    }
    std::printf("wrote %s and %s\n", html_path.c_str(), json_path.c_str());
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto f = std::make_shared<DemoFlags>();
    auto* cmd = app.add_subcommand("demo", "Make a small gallery with the shipped models");
    cmd->add_option("-o,--output", f->out_dir, "Output directory")->capture_default_str();
    cmd->add_option("-m,--model", f->model, "GGUF model (default: the shipped text model)");
    cmd->add_option("--threads", f->threads, "Threads (0 = all cores)")->capture_default_str();
    cmd->callback([f] { run_demo(*f); });
}

}  // namespace lyra::cli
