// Shared art-command plumbing (art_cli.h).
#include "cli/art_cli.h"

#include <cstdio>
#include <thread>

#include "core/thread_pool.h"
#include "generate/result_json.h"
#include "server/remote.h"
#include "studio/gallery.h"

namespace lyra::cli {

void add_common_art_flags(CLI::App* sub, ArtCliState& st) {
    sub->add_option("-m,--model", st.model,
                    "GGUF model (default: the form's embedded model), or openai:MODEL@URL for a "
                    "remote lyra serve");
    sub->add_option("--seed", st.seed, "random seed (default 0); same seed, same work");
    sub->add_option("--threads", st.threads, "worker threads (default: all cores)");
    sub->add_option("-n", st.n, "candidates to generate; the critics keep the best (1-64)");
    sub->add_option("--temperature", st.temperature, "sampling temperature (0 = greedy)");
    sub->add_option("--top-k", st.top_k, "top-k truncation (0 = off)");
    sub->add_option("--top-p", st.top_p, "nucleus truncation (1 = off)");
    sub->add_option("--min-p", st.min_p, "min-p truncation (0 = off)");
    sub->add_option("--repeat-penalty", st.repeat_penalty, "repetition penalty (1 = off)");
    sub->add_option("-o,--out", st.out_dir, "directory for the artifacts (default: write none)");
    sub->add_flag("--json", st.json, "print one JSON object with the work, scores and files");
    sub->add_flag("--no-gallery", st.no_gallery,
                  "do not record the work in the gallery (as LYRA_GALLERY=off)");
}

art::ArtResult run_art_command(std::string_view form, const art::ArtFn& fn, ArtCliState& st) {
    auto& r = st.request;
    if (st.model) r["model"] = *st.model;
    if (st.seed) r["seed"] = *st.seed;
    if (st.threads) r["threads"] = *st.threads;
    if (st.n) r["n"] = *st.n;
    if (st.top_k) r["top_k"] = *st.top_k;
    if (st.temperature) r["temperature"] = *st.temperature;
    if (st.top_p) r["top_p"] = *st.top_p;
    if (st.min_p) r["min_p"] = *st.min_p;
    if (st.repeat_penalty) r["repeat_penalty"] = *st.repeat_penalty;
    const int threads = st.threads && *st.threads > 0
                            ? *st.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    art::ArtResult result;
    if (st.model && server::is_remote_model(*st.model)) {
        // The remote `lyra serve` runs the form, constraints and critics next to its model.
        result = server::remote_art(server::parse_remote_model(*st.model), form, r, st.out_dir);
    } else {
        core::ThreadPool pool(threads);
        art::ModelCache models;
        art::Context ctx{.pool = &pool, .models = &models, .out_dir = st.out_dir};
        result = fn(r, ctx);
    }
    if (!st.no_gallery) studio::record_in_gallery(result, "cli");
    print_art_result(result, st.json);
    return result;
}

void print_art_result(const art::ArtResult& r, bool json) {
    if (json) {
        std::string s = gen::dump_json(art::to_json(r)) + "\n";
        std::fwrite(s.data(), 1, s.size(), stdout);
    } else {
        std::string s = r.text;
        if (!s.empty() && s.back() != '\n') s += '\n';
        std::fwrite(s.data(), 1, s.size(), stdout);
        for (const auto& [kind, path] : r.files) std::fprintf(stderr, "wrote %s\n", path.c_str());
    }
    std::fflush(stdout);
}

}  // namespace lyra::cli
