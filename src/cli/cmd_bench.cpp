// `lyra bench`: prompt-processing and decode speed of one model on this machine, as JSON.
// Synthetic tokens (no tokenizer round trip), the median of --reps runs; peak RSS from
// getrusage. Numbers are reports, never test assertions (STYLE.md "Tests").
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/check.h"
#include "core/ops.h"
#include "core/thread_pool.h"
#include "generate/generator.h"
#include "generate/models_dir.h"
#include "generate/result_json.h"
#include "model/model.h"

namespace lyra::cli {

namespace {

struct BenchFlags {
    std::string model;
    int prompt_tokens = 128;
    int gen_tokens = 64;
    int threads = 0;
    int reps = 3;
    bool lengths_given = false;  // --prompt-tokens or --gen-tokens on the command line
    core::DType kv_type = gen::GenerateOptions{}.kv_type;  // as `lyra generate` by default
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A fixed, varied prompt of ordinary (non-control) tokens.
std::vector<model::TokenId> synthetic_prompt(const model::Model& m, int n) {
    const auto& tok = m.tokenizer();
    std::vector<model::TokenId> ids;
    const int32_t V = tok.n_vocab();
    for (int64_t i = 0; static_cast<int>(ids.size()) < n; ++i) {
        const auto id = static_cast<model::TokenId>((i * 7919 + 13) % V);
        if (!tok.is_control(id)) ids.push_back(id);
        LYRA_CHECK(i < int64_t{n} * V + V, "vocabulary of {} tokens has no ordinary token", V);
    }
    return ids;
}

model::TokenId argmax(const std::vector<float>& logits) {
    return static_cast<model::TokenId>(std::max_element(logits.begin(), logits.end()) -
                                       logits.begin());
}

void run_bench(BenchFlags& f) {
    if (f.model.empty()) f.model = gen::default_model_path();
    const auto model = model::Model::load(f.model);
    const int64_t n_ctx = model->hparams().n_ctx;
    if (!f.lengths_given && int64_t{f.prompt_tokens} + f.gen_tokens > n_ctx) {
        // Defaults shrink to a small context: half prompt, half decode.
        f.prompt_tokens = static_cast<int>(std::max<int64_t>(1, n_ctx / 2));
        f.gen_tokens = static_cast<int>(std::max<int64_t>(1, n_ctx - f.prompt_tokens));
    }
    if (int64_t{f.prompt_tokens} + f.gen_tokens > n_ctx) {
        throw_error(ErrorKind::InvalidArgument,
                    "bench: {} prompt + {} generated tokens do not fit the model's context; "
                    "expected at most {} in all, got {}; lower --prompt-tokens or --gen-tokens",
                    f.prompt_tokens, f.gen_tokens, n_ctx, f.prompt_tokens + f.gen_tokens);
    }
    core::ThreadPool pool(f.threads);
    const auto prompt = synthetic_prompt(*model, f.prompt_tokens);
    model::Session session(*model, f.prompt_tokens + f.gen_tokens, f.kv_type);
    std::vector<float> logits;

    std::vector<double> pp_tok_s, tg_tok_s;
    for (int rep = 0; rep < f.reps; ++rep) {
        session.clear();
        const int64_t t0 = core::steady_us();
        model->prefill(session, prompt, pool, logits);  // t5: encodes it, decodes from the start token
        const int64_t t1 = core::steady_us();
        model::TokenId next = argmax(logits);
        for (int i = 0; i < f.gen_tokens; ++i) {
            model->forward(session, std::span(&next, 1), pool, logits);
            next = argmax(logits);
        }
        const int64_t t2 = core::steady_us();
        pp_tok_s.push_back(f.prompt_tokens * 1e6 / static_cast<double>(std::max<int64_t>(1, t1 - t0)));
        tg_tok_s.push_back(f.gen_tokens * 1e6 / static_cast<double>(std::max<int64_t>(1, t2 - t1)));
    }

    uint64_t weight_bytes = 0;
    for (const auto& t : model->gguf().tensors()) weight_bytes += t.tensor.nbytes();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);

    const nlohmann::json j = {
        {"model", f.model},
        {"arch", model::arch_name(model->hparams().arch)},
        {"n_params", model->n_params()},
        {"weight_bytes", weight_bytes},
        {"threads", pool.size()},
        {"kernel_isa", core::kernel_isa()},
        {"prompt_tokens", f.prompt_tokens},
        {"gen_tokens", f.gen_tokens},
        {"reps", f.reps},
        {"prompt_tok_s", median(pp_tok_s)},
        {"decode_tok_s", median(tg_tok_s)},
        {"prompt_tok_s_runs", pp_tok_s},
        {"decode_tok_s_runs", tg_tok_s},
        {"peak_rss_bytes", static_cast<int64_t>(ru.ru_maxrss) * 1024},  // Linux: KiB
        {"kv_type", model::kv_type_name(f.kv_type)},
        {"kv_bytes", session.kv_bytes()},
    };
    const std::string out = gen::dump_json(j, 2) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto f = std::make_shared<BenchFlags>();
    auto* cmd = app.add_subcommand("bench", "Measure prompt and decode speed (JSON)");
    cmd->add_option("-m,--model", f->model, "GGUF model (default: the shipped " +
                                                std::string(gen::kDefaultModelFile) + ")");
    auto* pt = cmd->add_option("--prompt-tokens", f->prompt_tokens, "Prompt length in tokens")
        ->check(whole_at_least(1))
        ->capture_default_str();
    auto* gt = cmd->add_option("--gen-tokens", f->gen_tokens, "Tokens to decode one by one")
        ->check(whole_at_least(1))
        ->capture_default_str();
    cmd->add_option("--threads", f->threads, "Threads (0 = all cores)")
        ->check(whole_at_least(0))
        ->capture_default_str();
    add_kv_type_option(cmd, f->kv_type);
    cmd->add_option("--reps", f->reps, "Repetitions; the median is reported")
        ->check(whole_at_least(1))
        ->capture_default_str();
    cmd->callback([f, pt, gt] {
        f->lengths_given = pt->count() > 0 || gt->count() > 0;
        run_bench(*f);
    });
}

}  // namespace lyra::cli
