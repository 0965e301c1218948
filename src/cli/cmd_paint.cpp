// `lyra paint`: drawings written by a model in the paint DSL under a grammar (--subject, --style,
// --palette, --mood, --size, the common art flags) -> drawing.svg, drawing.png, contact.png.
// Subcommands: `eval` (renderable/not-blank shares, diversity, novelty per mode), `roundtrip`
// (the SVG normalizer over the icon corpora), `normalize FILE.svg` (prints the DSL and what was
// lost), `render FILE -o OUT.png` (DSL or SVG through the Cairo rasterizer), `grammar` (prints
// a mode's GBNF).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "art/visual/dsl.h"
#include "art/visual/paint.h"
#include "art/visual/raster.h"
#include "art/visual/roundtrip.h"
#include "art/visual/svg_import.h"
#include "cli/art_cli.h"
#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/result_json.h"

namespace lyra::cli {

namespace {

struct PaintFlags {
    ArtCliState st;
    std::string subject, style, palette, mood, reference, guide;
    double keep = art::visual::kDefaultKeep;
    int size = 512;
    int length = 640;
    float guidance = art::visual::kDefaultGuidance;
    // eval
    std::vector<std::string> eval_modes;
    int count = 100;
    std::string eval_model, eval_reference;
    int eval_threads = 0, eval_length = 640, eval_match_candidates = 1;
    float eval_temperature = 0.8f;
    float eval_guidance = art::visual::kDefaultGuidance;
    std::string eval_neutral = std::string(art::visual::kNeutralSubject);
    std::string eval_guide = "auto";
    double eval_keep = art::visual::kDefaultKeep;
    bool eval_json = false;
    // roundtrip
    std::string rt_corpus = "all";
    int rt_limit = 0, rt_px = 64, rt_threads = 2;
    double rt_threshold = 0.03;
    bool rt_json = false, rt_rsvg_both = false;
    // normalize / render / grammar
    std::string in_file, out_file;
    int render_size = 512;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(ErrorKind::NotFound, "file '{}': cannot open; expected a readable file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool looks_like_svg(std::string_view text) {
    const size_t p = text.find_first_not_of(" \t\r\n\xef\xbb\xbf");
    return p != std::string_view::npos && text[p] == '<';
}

// --guidance (lyra paint and lyra paint eval): art::visual::guidance_problem's bound, as a usage
// error (exit 2) with its message. CLI11's Range would let NaN through (every comparison with it
// is false); text that is not a number at all is refused the same way, quoted as typed.
CLI::Validator guidance_range() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            char* end = nullptr;
            double v = std::strtod(text.c_str(), &end);
            if (end == text.c_str() || *end != '\0') v = std::numeric_limits<double>::quiet_NaN();
            return art::visual::guidance_problem(v, "'" + text + "'");
        },
        fmt::format("0..{}", art::visual::kMaxGuidance));
}

int threads_or_all(int t) {
    return t > 0 ? t : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void run_eval(PaintFlags& f) {
    core::ThreadPool pool(threads_or_all(f.eval_threads));
    art::ModelCache models;
    art::Context ctx{.pool = &pool, .models = &models};
    art::CommonOptions common;
    common.model = f.eval_model;
    art::visual::EvalOptions opt;
    opt.model = art::resolve_model(common, art::visual::kDefaultModelFile);
    opt.modes = f.eval_modes;
    opt.count = f.count;
    opt.length = f.eval_length;
    opt.threads = f.eval_threads;
    opt.reference = f.eval_reference;
    opt.match_candidates = f.eval_match_candidates;
    opt.temperature = f.eval_temperature;
    opt.guidance = f.eval_guidance;
    opt.neutral = f.eval_neutral;
    opt.guide = f.eval_guide;
    opt.keep = f.eval_keep;
    const nlohmann::json out = art::visual::paint_eval(opt, ctx);
    if (f.eval_json) {
        std::printf("%s\n", gen::dump_json(out).c_str());
        return;
    }
    std::printf("model %s, %d drawings per mode; novelty against %s\n", opt.model.c_str(), f.count,
                out["reference"].is_null() ? "nothing (no training corpus found; pass --reference)"
                                           : out["reference"].get<std::string>().c_str());
    if (opt.guidance > 0) {
        std::printf("classifier-free guidance %g against the subject line 'subject: %s'\n",
                    static_cast<double>(opt.guidance), opt.neutral.c_str());
    }
    if (opt.guide == "auto") {
        std::printf("subject drawings start from %.0f%% of a corpus drawing their subject names, where one does "
                    "(--guide none: the model alone)\n",
                    100 * opt.keep);
    }
    std::printf("%-10s %8s %8s %9s %10s %8s %7s %11s\n", "mode", "parsed", "rsvg ok", "not blank", "diversity",
                "novelty", "ended", "mean tokens");
    for (const auto& [mode, m] : out["modes"].items()) {
        const std::string nov = m["novelty"].is_null() ? "n/a" : fmt::format("{:.3f}", m["novelty"].get<double>());
        std::printf("%-10s %7.1f%% %7.1f%% %8.1f%% %10.3f %8s %6.1f%% %11.0f\n", mode.c_str(),
                    100 * m["parsed"].get<double>(), 100 * m["rendered_by_rsvg"].get<double>(),
                    100 * m["not_blank"].get<double>(), m["diversity"].get<double>(), nov.c_str(),
                    100 * m["ended"].get<double>(), m["mean_tokens"].get<double>());
    }
    std::printf("ended: the drawing ended before the %d-token budget cut it\n", f.eval_length);
    if (out["modes"].contains("subject") && out["modes"]["subject"].contains("subject_match")) {
        const auto& sm = out["modes"]["subject"]["subject_match"];
        const auto pct = [&](const char* key) { return 100 * sm[key].get<double>(); };
        std::printf("subject match (%d emoji names of the corpus, best of %d; chance = the same drawings against a random "
                    "other name):\n  name of the nearest %.1f%% (chance %.1f%%), name among the 5 nearest %.1f%% "
                    "(chance %.1f%%), a word of the name among the 5 nearest %.1f%% (chance %.1f%%); novelty %.3f; "
                    "guided by another name's drawing %.1f%%\n",
                    sm["subjects"].get<int>(), sm["candidates"].get<int>(), pct("name_nearest"),
                    pct("random_name_nearest"), pct("name_in_nearest_5"), pct("random_name_in_nearest_5"),
                    pct("word_in_nearest_5"), pct("random_word_in_nearest_5"), sm["novelty"].get<double>(), pct("guided"));
    }
}

void run_roundtrip(PaintFlags& f) {
    std::vector<std::string> files = art::visual::corpus_svg_files(f.rt_corpus);
    if (f.rt_limit > 0 && static_cast<size_t>(f.rt_limit) < files.size()) {
        // an even spread over the sorted list, not just its first names
        std::vector<std::string> pick;
        const double step = static_cast<double>(files.size()) / f.rt_limit;
        for (int i = 0; i < f.rt_limit; ++i) pick.push_back(files[static_cast<size_t>(i * step)]);
        files = std::move(pick);
    }
    art::visual::RoundTripOptions opt;
    opt.px = f.rt_px;
    opt.threshold = f.rt_threshold;
    opt.threads = f.rt_threads;
    opt.rsvg_both = f.rt_rsvg_both;
    const art::visual::RoundTripReport rep = art::visual::round_trip(files, opt);
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& file : rep.files) {
        if (!file.passed) failures.push_back({{"path", file.path}, {"distance", file.distance}, {"reason", file.reason}});
    }
    if (f.rt_json) {
        nlohmann::json out = {{"corpus", f.rt_corpus}, {"files", rep.total}, {"passed", rep.passed},
                              {"share", rep.share()}, {"threshold", opt.threshold}, {"px", opt.px},
                              {"mean_distance", rep.mean_distance}, {"mean_dsl_bytes", rep.mean_dsl_bytes},
                              {"failures", failures}};
        if (opt.rsvg_both) out["mean_cairo_vs_rsvg"] = rep.mean_cairo_distance;
        std::printf("%s\n", gen::dump_json(out).c_str());
    } else {
        for (const auto& x : failures) {
            std::printf("FAIL %s: %s\n", x["path"].get<std::string>().c_str(), x["reason"].get<std::string>().c_str());
        }
        std::printf("round trip %s: %d/%d files within %.3f mean pixel difference at %d px (%.2f%%); mean difference %.4f; mean DSL %.0f bytes\n",
                    f.rt_corpus.c_str(), rep.passed, rep.total, opt.threshold, opt.px, 100 * rep.share(),
                    rep.mean_distance, rep.mean_dsl_bytes);
        if (opt.rsvg_both) std::printf("our Cairo render vs rsvg-convert on the DSL's SVG: mean difference %.4f\n", rep.mean_cairo_distance);
    }
    std::fflush(stdout);
}

void run_normalize(PaintFlags& f) {
    const art::visual::NormalizeResult n = art::visual::normalize_svg(read_file(f.in_file));
    const std::string dsl = art::visual::to_dsl(n.drawing);
    if (f.eval_json) {
        std::printf("%s\n", gen::dump_json(nlohmann::json{{"dsl", dsl}, {"notes", n.notes}}).c_str());
    } else {
        std::fwrite(dsl.data(), 1, dsl.size(), stdout);
        for (const std::string& note : n.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    }
    std::fflush(stdout);
}

void run_render(PaintFlags& f) {
    const std::string text = read_file(f.in_file);
    const art::visual::Drawing d = looks_like_svg(text) ? art::visual::normalize_svg(text).drawing : art::visual::parse_dsl(text);
    const std::string png = art::visual::encode_png(art::visual::render(d, f.render_size));
    core::write_file_atomic(f.out_file, png);
    std::fprintf(stderr, "wrote %s\n", f.out_file.c_str());
}

}  // namespace

void add_paint_command(CLI::App& app) {
    auto f = std::make_shared<PaintFlags>();
    auto* cmd = app.add_subcommand("paint", "Vector drawings and abstract compositions, written under a grammar");
    cmd->add_option("--subject", f->subject, "what to draw, in any language (\"red apple\")");
    cmd->add_option("--style", f->style, "mondrian, kandinsky, albers, malevich, riley or free");
    cmd->add_option("--palette", f->palette, "all, primary, pastel, earth, mono, ocean, warm, cool, or colours 'red,#123456'");
    cmd->add_option("--mood", f->mood, "calm, energetic, dark, bright or melancholy");
    cmd->add_option("--size", f->size, "PNG width in pixels (16-4096, default 512)");
    cmd->add_option("--length", f->length, "token budget of a drawing (64-4096, default 640)");
    cmd->add_option("--reference", f->reference, "training corpus for the novelty critic (default build/data/paint-dsl.txt)");
    cmd->add_option("--guidance", f->guidance,
                    fmt::format("classifier-free guidance scale: how much harder the subject line steers the drawing "
                                "(0 = off; default {})", art::visual::kDefaultGuidance))
        ->check(guidance_range());
    cmd->add_option("--guide", f->guide,
                    "what a subject drawing starts from: auto (a corpus drawing of the subject, the default), none "
                    "(the model alone), or an SVG or paint DSL file");
    cmd->add_option("--keep", f->keep,
                    fmt::format("the share of the guide's shapes kept ({}-{}, default {})", art::visual::kMinKeep,
                                art::visual::kMaxKeep, art::visual::kDefaultKeep))
        ->check(between(art::visual::kMinKeep, art::visual::kMaxKeep));
    add_common_art_flags(cmd, f->st);

    auto* ev = cmd->add_subcommand("eval", "Measure generated drawings: renderable, not blank, diversity, novelty");
    ev->add_option("--mode", f->eval_modes, "subject or a style (repeatable; default: all)");
    ev->add_option("--count", f->count, "drawings per mode, seeds 0..count-1 (default 100)")->check(whole_between(1, 1000));
    ev->add_option("-m,--model", f->eval_model, "GGUF model (default models/paint-dsl.gguf)");
    ev->add_option("--length", f->eval_length, "token budget of a drawing (64-4096, default 640)")
        ->check(whole_between(64, 4096));
    ev->add_option("--reference", f->eval_reference, "training corpus for novelty (default build/data/paint-dsl.txt)");
    ev->add_option("--threads", f->eval_threads, "worker threads (0 = all cores, the default)")
        ->check(whole_between(0, 1024));
    ev->add_option("--match-candidates", f->eval_match_candidates,
                   "subject match: best of N drawings per name by the critics (default 1)")
        ->check(whole_between(1, 64));
    ev->add_option("--temperature", f->eval_temperature, "sampling temperature of every mode (default 0.8)")
        ->check(between(0.0, 10.0));
    ev->add_option("--guidance", f->eval_guidance,
                   fmt::format("classifier-free guidance scale of every mode (0 = off; default {})",
                               art::visual::kDefaultGuidance))
        ->check(guidance_range());
    ev->add_option("--neutral", f->eval_neutral,
                   "guidance: the subject of the unconditioned context (default: the built-in neutral subject)");
    ev->add_option("--guide", f->eval_guide,
                   "subject drawings: auto (start from a corpus drawing the subject names, the default) or none")
        ->check(CLI::IsMember({"auto", "none"}));
    ev->add_option("--keep", f->eval_keep, "the share of a guide's shapes kept (default 0.5)")
        ->check(between(art::visual::kMinKeep, art::visual::kMaxKeep));
    ev->add_flag("--json", f->eval_json, "print the figures as one JSON object");
    ev->callback([f] { run_eval(*f); });

    auto* rt = cmd->add_subcommand("roundtrip", "SVG -> DSL -> render over the icon corpora, against rsvg-convert");
    rt->add_option("--corpus", f->rt_corpus, "twemoji, tabler or all (default)");
    rt->add_option("--limit", f->rt_limit, "at most N files, spread over the corpus (0 = every file, the default)")
        ->check(whole_at_least(0));
    rt->add_option("--px", f->rt_px, "render size (default 64)")->check(whole_between(8, 1024));
    rt->add_option("--threshold", f->rt_threshold, "pass at or below this mean pixel difference (0-1, default 0.03)")
        ->check(between(0.0, 1.0));
    rt->add_option("--threads", f->rt_threads, "parallel files (default 2)")->check(whole_between(1, 64));
    rt->add_flag("--rsvg-both", f->rt_rsvg_both, "render the DSL side with rsvg-convert too (and compare Cairo)");
    rt->add_flag("--json", f->rt_json, "print the figures as one JSON object");
    rt->callback([f] { run_roundtrip(*f); });

    auto* nz = cmd->add_subcommand("normalize", "Print an SVG file as paint DSL; notes on stderr");
    nz->add_option("file", f->in_file, "SVG file")->required();
    nz->add_flag("--json", f->eval_json, "print {\"dsl\", \"notes\"}");
    nz->callback([f] { run_normalize(*f); });

    auto* rd = cmd->add_subcommand("render", "Render a DSL or SVG file to PNG with the Cairo rasterizer");
    rd->add_option("file", f->in_file, "DSL or SVG file")->required();
    rd->add_option("-o,--out", f->out_file, "PNG file to write")->required();
    rd->add_option("--size", f->render_size, "width in pixels (default 512)")->check(whole_between(1, 8192));
    rd->callback([f] { run_render(*f); });

    auto* gr = cmd->add_subcommand("grammar", "Print the GBNF grammar of a mode");
    gr->add_option("--style", f->style, "a style (default: the subject grammar)");
    gr->add_option("--palette", f->palette, "palette");
    gr->add_option("--mood", f->mood, "mood");
    gr->callback([f] {
        art::visual::PaintSpec spec{f->style.empty() ? "subject" : f->style, "", f->palette, f->mood};
        const std::string g = art::visual::paint_grammar(spec);
        std::fwrite(g.data(), 1, g.size(), stdout);
    });

    cmd->callback([f, cmd, ev, rt, nz, rd, gr] {
        if (ev->parsed() || rt->parsed() || nz->parsed() || rd->parsed() || gr->parsed()) return;
        auto& r = f->st.request;
        if (cmd->count("--subject")) r["subject"] = f->subject;
        if (cmd->count("--style")) r["style"] = f->style;
        if (cmd->count("--palette")) r["palette"] = f->palette;
        if (cmd->count("--mood")) r["mood"] = f->mood;
        if (cmd->count("--size")) r["size"] = f->size;
        if (cmd->count("--length")) r["length"] = f->length;
        if (cmd->count("--reference")) r["reference"] = f->reference;
        if (cmd->count("--guidance")) r["guidance"] = f->guidance;
        if (cmd->count("--guide")) {
            // A file's drawing travels in the request, so the server and a gallery rerun need no file.
            r["guide"] = f->guide == "auto" || f->guide == "none" ? f->guide : read_file(f->guide);
        }
        if (cmd->count("--keep")) r["keep"] = f->keep;
        const art::ArtResult result = run_art_command("paint", art::visual::paint, f->st);
        if (!f->st.json && result.scores.contains("guide")) {
            std::fprintf(stderr, "guided: kept %s of the %s shapes of %s\n", result.scores["guide_shapes_kept"].dump().c_str(),
                         result.scores["guide_shapes"].dump().c_str(), result.scores["guide"].get<std::string>().c_str());
        }
    });
}

}  // namespace lyra::cli
