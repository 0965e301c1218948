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
    sub->add_option("--critic", st.critic,
                    "encoder GGUF (BERT, RoBERTa, ALBERT) that also judges the candidates: "
                    "fluency, relevance to the theme, novelty");
    sub->add_option("--critic-corpus", st.critic_corpus,
                    "text file (works separated by blank lines) the critic measures novelty against");
    sub->add_option("--critic-weight", st.critic_weight,
                    "weight of the critic's figures in the ranking (default 1)");
    sub->add_option("--kv-type", st.kv_type,
                    "KV cache element type: f16 (default; half the memory), q8_0 (about a quarter) or f32")
        ->check(CLI::IsMember({"f32", "f16", "q8_0"}));
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
    if (st.critic) r["critic"] = *st.critic;
    if (st.critic_corpus) r["critic_corpus"] = *st.critic_corpus;
    if (st.critic_weight) r["critic_weight"] = *st.critic_weight;
    if (st.kv_type) r["kv_type"] = *st.kv_type;
    const int threads = st.threads && *st.threads > 0
                            ? *st.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    art::ArtResult result;
    if (st.model && server::is_remote_model(*st.model)) {
        // The remote `lyra serve` runs the form, constraints and critics next to its model.
        result = server::remote_art(server::parse_remote_model(*st.model), form, r, st.out_dir);
        if (result.scores.contains("fallback_attempts"))
            std::fprintf(stderr,
                         "note: %s has no Lyra art API; the form was kept by generate-check-regenerate "
                         "(%s tries, %s kept)\n",
                         st.model->c_str(), result.scores["fallback_attempts"].dump().c_str(),
                         result.scores["fallback_valid"].dump().c_str());
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
