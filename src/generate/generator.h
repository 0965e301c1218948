// Generator: text generation over a Model — prompt in, n candidate continuations out, with a
// sampler chain, stop rules and a streaming callback. The Model is shared and read-only; each
// Generator owns its Session (KV cache) and runs one request at a time (not thread-safe).
// Same model, prompt, options and seed => same tokens, whatever the thread count.
// run() throws lyra::Error: InvalidArgument (bad option, invalid UTF-8 prompt, empty prompt),
// ContextFull (the prompt does not fit); errors from the model pass through.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "generate/guidance.h"
#include "generate/sampler.h"
#include "generate/stop.h"
#include "model/model.h"

namespace lyra::gen {

struct GenerateOptions {
    int max_tokens = 256;           // hard cap on new tokens per candidate; must be >= 1
    float temperature = 0.8f;       // 0 = greedy
    int top_k = 40;                 // 0 = off
    float top_p = 0.95f;            // 1 = off
    float min_p = 0.05f;            // 0 = off
    float repeat_penalty = 1.0f;    // 1 = off
    int repeat_last_n = 64;         // penalty window in tokens (prompt included); 0 off, -1 all
    float frequency_penalty = 0.0f;  // 0 = off
    float presence_penalty = 0.0f;   // 0 = off
    uint64_t seed = 0;              // candidate i draws with seed + i
    std::vector<std::string> stop = {};  // stop strings; the match is cut from the text
    int n_candidates = 1;           // independent continuations of the same prompt
    int threads = 0;                // for generate(): 0 = all hardware threads
    bool add_bos = true;            // prepend BOS if the vocabulary wants one
    bool parse_special = false;     // special-token text ("<|im_start|>") in the prompt becomes
                                    // its control token: prompts rendered by a chat template
    Constraint* constraint = nullptr;  // grammar/regex/schema mask; reset per candidate; not owned
    int top_logprobs = 0;           // also record the K most likely tokens of every step (0..20)
    // Added to the named tokens' logits before the rest of the chain (OpenAI's logit_bias;
    // sampler.h). Ids unique and inside the vocabulary (check_logit_bias); the logprobs recorded
    // stay the model's own.
    std::vector<LogitBias> logit_bias = {};
    // The session's KV cache element type: F16 (the default, as llama.cpp's; half the cache
    // memory and attention bandwidth, docs/user-guide.md, "KV cache type") or F32 (exact).
    core::DType kv_type = core::DType::F16;
    // Classifier-free guidance (generate/guidance.h): 0 = off, today's decoding bit for bit.
    // With g > 0 every step also runs the model on guidance_prompt followed by the tokens
    // generated so far, in a second session (one batched forward for both rows), and the
    // sampler chain (penalties, constraint, truncation, pick) sees
    // log_softmax(cond) + g * (log_softmax(cond) - log_softmax(uncond)). Finite, >= 0.
    float guidance = 0.0f;
    // The unconditioned context: a neutral prompt in the prompt's own format (tokenized like
    // it: add_bos, parse_special). Used only when guidance > 0; may be empty where the
    // vocabulary has a BOS token.
    std::string guidance_prompt = {};
};

struct Timings {
    int64_t t_prefill_us = 0;  // prompt processing (shared by all candidates)
    int64_t t_decode_us = 0;   // token steps: forward + sampling
    int64_t n_prompt = 0;      // prompt tokens (BOS included)
    int64_t n_prompt_cached = 0;  // of those, copied from the server's prompt cache (no forward)
    int64_t n_gen = 0;         // generated tokens
    double prefill_tok_s() const;  // 0 when nothing was timed
    double decode_tok_s() const;
};

// A token and its log-probability under the model's own distribution.
struct TokenLogprob {
    TokenId id = 0;
    float logprob = 0.0f;
};

struct Completion {
    std::string text = {};             // generated text only, stop string excluded
    std::vector<TokenId> tokens = {};  // every sampled token (an EOS or the stop's tokens included)
    // log p(token) under the model's own distribution (raw logits, temperature 1, before any
    // penalty, constraint or truncation), one per entry of `tokens`: the critics' likelihood
    // score and the server's `logprobs`.
    std::vector<float> token_logprobs = {};
    double logprob_sum() const;  // sum of token_logprobs
    // With GenerateOptions.top_logprobs = K > 0: the K most likely tokens of each step under the
    // same distribution, most likely first (ties by smaller id), one list per entry of `tokens`.
    std::vector<std::vector<TokenLogprob>> top_logprobs = {};
    FinishReason finish = FinishReason::Length;
    uint64_t seed = 0;
    Timings timings = {};
};

struct GenerateResult {
    std::vector<Completion> candidates = {};  // fewer than asked only if cancelled
    Timings timings = {};                     // prefill once + every candidate's decode
    std::string sampler = {};                 // the chain, e.g. "top-k -> top-p -> dist"
};

// Receives each piece of text as it becomes final (complete UTF-8, never part of a stop
// string); returns false to cancel the whole request.
using StreamFn = std::function<bool(int candidate, std::string_view piece)>;

class Generator {
public:
    Generator(const model::Model& model, core::ThreadPool& pool);

    // Tokenizes and checks the prompt, sizes the session to min(model context, prompt +
    // max_tokens), prefills the prompt once, then generates each candidate in turn,
    // re-using the prompt's KV cache: the session is truncated back to the prompt and the
    // prompt's last logits are restored (no copy of the cache, no second prefill).
    GenerateResult run(std::string_view prompt, const GenerateOptions& opt,
                       const StreamFn& on_text = {});

    // One token of the current candidate: decode -> logits -> sampler chain -> accept -> stop
    // rules -> emit. Returns false once the candidate is finished (see current()).
    bool step();
    const Completion& current() const { return out_; }

private:
    std::vector<TokenId> tokenize_prompt(std::string_view prompt, const GenerateOptions& opt) const;
    void prefill(std::span<const TokenId> prompt, const GenerateOptions& opt);
    void begin_candidate(int index);
    bool emit(std::string_view piece);
    bool finish(FinishReason reason);

    const model::Model& model_;
    core::ThreadPool& pool_;
    bool slid_ = false;  // the session was slid (keep_last): the prompt's rows are gone
    GenerateOptions opt_;
    StreamFn on_text_;
    std::optional<model::Session> session_;
    std::vector<TokenId> prompt_;
    std::vector<TokenId> cached_;       // what prefill left in the cache (Model::prefill)
    std::vector<float> prompt_logits_;  // the prompt's last row, kept for every candidate
    std::optional<Guidance> guide_;     // the unconditioned stream when opt_.guidance > 0

    // The current candidate.
    int index_ = 0;
    SamplerChain chain_;
    std::optional<model::StreamDecoder> decoder_;
    StopStrings stop_;
    std::vector<float> logits_;
    bool have_logits_ = false;  // logits_ already hold the next position's row
    Completion out_;
};

// Loads nothing: runs a Generator with a pool of opt.threads threads.
GenerateResult generate(const model::Model& model, std::string_view prompt,
                        const GenerateOptions& opt, const StreamFn& on_text = {});

// log softmax(logits)[id] with the max subtracted (large logits cannot overflow): the value
// Completion.token_logprobs records. Shared with the batching scheduler so both agree exactly.
float token_logprob(std::span<const float> logits, TokenId id);

// Appends the step's token `id` to out.tokens with its log-probability, and with top_k > 0 the
// top_k most likely tokens (same distribution, one log-sum-exp for both). The generator and the
// scheduler both record through this.
void record_token(std::span<const float> logits, TokenId id, int top_k, Completion& out);

// Scores a prompt (OpenAI's echo with logprobs): token i's log-probability given tokens 0..i-1,
// as record_token records a generated token's (with top_k > 0 the K likeliest there too), for
// every token but the first, which has no context. Returned as a Completion whose tokens are
// tokens[1..]. A fresh session of tokens.size() positions in kv_type; the forward runs in chunks
// of 64 positions, so a long prompt never holds more than 64 rows of logits. Decoder-only
// models (Model::batches_decode); others throw Error(Unsupported).
Completion score_prompt(const model::Model& model, std::span<const TokenId> tokens, int top_k,
                        core::ThreadPool& pool, core::DType kv_type);

// Throws Error(InvalidArgument) naming the first option out of range (max tokens, candidates,
// threads, top logprobs, kv type, guidance); the sampler chain checks its own settings.
void check_options(const GenerateOptions& opt);
// Throws Error(InvalidArgument) "<what>: token N is outside the model's vocabulary; expected ids
// from 0 to n_vocab-1" for the first id outside [0, n_vocab): a token prompt, an embedding input.
void check_token_ids(std::span<const TokenId> ids, int64_t n_vocab, std::string_view what);
// The same for the ids a logit bias names.
void check_logit_bias(const GenerateOptions& opt, int64_t n_vocab);

// The sampler-chain settings of a request, drawing with `seed`.
SamplerOptions sampler_options(const GenerateOptions& o, uint64_t seed);

// Byte offset of the first invalid UTF-8 sequence in s (overlong forms, surrogates and code
// points past U+10FFFF count as invalid), or std::nullopt when s is valid.
std::optional<size_t> find_invalid_utf8(std::string_view s);

}  // namespace lyra::gen
