// Generator (generator.h): the token loop.
#include "generate/generator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/ops.h"
#include "generate/context_slide.h"

namespace lyra::gen {

namespace {

// max(logits) and log(sum(exp(logits - max))): log p(i) = logits[i] - max - log_sum. Runs once
// per generated token over the whole vocabulary, hence the SIMD core::log_sum_exp.
struct LogNormalizer {
    float max = 0.0f;
    double log_sum = 0.0;
    explicit LogNormalizer(std::span<const float> logits) {
        const double lse = core::log_sum_exp(logits.data(), static_cast<int64_t>(logits.size()), &max);
        log_sum = lse - static_cast<double>(max);
    }
    float operator()(float logit) const {
        return static_cast<float>(static_cast<double>(logit - max) - log_sum);
    }
};

// The k largest logits, largest first, ties by smaller id: a k-entry min-heap over one pass.
std::vector<TokenLogprob> top_tokens(std::span<const float> logits, int k, const LogNormalizer& norm) {
    const auto better = [](const TokenLogprob& a, const TokenLogprob& b) {
        return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id);
    };
    std::vector<TokenLogprob> heap;  // heap.front() is the worst kept
    const size_t want = std::min(static_cast<size_t>(k), logits.size());
    heap.reserve(want + 1);
    for (size_t i = 0; i < logits.size(); ++i) {
        const TokenLogprob t{static_cast<TokenId>(i), logits[i]};  // raw logit while selecting
        if (heap.size() < want) {
            heap.push_back(t);
            std::push_heap(heap.begin(), heap.end(), better);
        } else if (better(t, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), better);
            heap.back() = t;
            std::push_heap(heap.begin(), heap.end(), better);
        }
    }
    std::sort_heap(heap.begin(), heap.end(), better);
    for (auto& t : heap) t.logprob = norm(t.logprob);
    return heap;
}

}  // namespace

float token_logprob(std::span<const float> logits, TokenId id) {
    return LogNormalizer(logits)(logits[static_cast<size_t>(id)]);
}

void record_token(std::span<const float> logits, TokenId id, int top_k, Completion& out) {
    const LogNormalizer norm(logits);
    out.tokens.push_back(id);
    out.token_logprobs.push_back(norm(logits[static_cast<size_t>(id)]));
    if (top_k > 0) out.top_logprobs.push_back(top_tokens(logits, top_k, norm));
}

SamplerOptions sampler_options(const GenerateOptions& o, uint64_t seed) {
    return SamplerOptions{.temperature = o.temperature,
                          .top_k = o.top_k,
                          .top_p = o.top_p,
                          .min_p = o.min_p,
                          .repeat_penalty = o.repeat_penalty,
                          .repeat_last_n = o.repeat_last_n,
                          .frequency_penalty = o.frequency_penalty,
                          .presence_penalty = o.presence_penalty,
                          .seed = seed,
                          .constraint = o.constraint,
                          .logit_bias = o.logit_bias};
}

void check_options(const GenerateOptions& opt) {
    if (opt.max_tokens <= 0) {
        throw_error(ErrorKind::InvalidArgument,
                    "max tokens: out of range; expected at least 1, got {}", opt.max_tokens);
    }
    if (opt.n_candidates < 1) {
        throw_error(ErrorKind::InvalidArgument,
                    "candidates: out of range; expected at least 1, got {}", opt.n_candidates);
    }
    if (opt.threads < 0) {
        throw_error(ErrorKind::InvalidArgument,
                    "threads: out of range; expected 0 (all) or more, got {}", opt.threads);
    }
    if (opt.top_logprobs < 0 || opt.top_logprobs > 20) {
        throw_error(ErrorKind::InvalidArgument,
                    "top logprobs: out of range; expected 0..20, got {}", opt.top_logprobs);
    }
    if (opt.kv_type != core::DType::F32 && opt.kv_type != core::DType::F16 && opt.kv_type != core::DType::Q8_0) {
        throw_error(ErrorKind::InvalidArgument, "kv type: {} is not supported; expected f32, f16 or q8_0",
                    core::dtype_name(opt.kv_type));
    }
    check_guidance_scale(opt.guidance);
}

Completion score_prompt(const model::Model& model, std::span<const TokenId> tokens, int top_k,
                        core::ThreadPool& pool, core::DType kv_type) {
    if (!model.batches_decode()) {
        throw_error(ErrorKind::Unsupported, "prompt logprobs: this model's architecture has no plain "
                    "decoder forward to score a prompt with; expected a decoder-only model");
    }
    const int64_t n_ctx = model.hparams().n_ctx;
    if (static_cast<int64_t>(tokens.size()) > n_ctx) {
        throw_error(ErrorKind::ContextFull, "prompt: too long for the model's context to score; expected at "
                    "most {} tokens, got {}", n_ctx, tokens.size());
    }
    Completion out;
    if (tokens.size() < 2) return out;
    model::Session session(model, static_cast<int64_t>(tokens.size()), kv_type);
    const auto V = static_cast<size_t>(model.hparams().n_vocab);
    std::vector<float> logits;
    constexpr size_t kChunk = 64;
    // Row r of a chunk predicts the token after it; the last token predicts nothing asked for.
    for (size_t at = 0; at + 1 < tokens.size(); at += kChunk) {
        const size_t n = std::min(kChunk, tokens.size() - 1 - at);
        model.forward(session, tokens.subspan(at, n), pool, logits, /*all_logits=*/true);
        for (size_t r = 0; r < n; ++r)
            record_token(std::span<const float>(logits).subspan(r * V, V), tokens[at + r + 1], top_k, out);
    }
    return out;
}

void check_token_ids(std::span<const TokenId> ids, int64_t n_vocab, std::string_view what) {
    for (const TokenId id : ids) {
        if (id < 0 || id >= n_vocab) {
            throw_error(ErrorKind::InvalidArgument,
                        "{}: token {} is outside the model's vocabulary; expected ids from 0 to {}", what, id,
                        n_vocab - 1);
        }
    }
}

void check_logit_bias(const GenerateOptions& opt, int64_t n_vocab) {
    std::vector<TokenId> ids;
    for (const LogitBias& b : opt.logit_bias) ids.push_back(b.id);
    check_token_ids(ids, n_vocab, "logit bias");
}

double Completion::logprob_sum() const {
    return std::accumulate(token_logprobs.begin(), token_logprobs.end(), 0.0);
}

namespace {

double per_second(int64_t n, int64_t us) {
    return us > 0 ? static_cast<double>(n) * 1e6 / static_cast<double>(us) : 0.0;
}

}  // namespace

double Timings::prefill_tok_s() const { return per_second(n_prompt, t_prefill_us); }
double Timings::decode_tok_s() const { return per_second(n_gen, t_decode_us); }

std::optional<size_t> find_invalid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        size_t len = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return i;  // a continuation byte or 0xF8..0xFF where a character should start
        }
        if (i + len > n) return i;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        const uint32_t min_cp = len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u;
        if (cp < min_cp || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu)) return i;
        i += len;
    }
    return std::nullopt;
}

Generator::Generator(const model::Model& model, core::ThreadPool& pool)
    : model_(model), pool_(pool) {}

std::vector<TokenId> Generator::tokenize_prompt(std::string_view prompt,
                                                const GenerateOptions& opt) const {
    if (auto bad = find_invalid_utf8(prompt)) {
        throw_error(ErrorKind::InvalidArgument,
                    "prompt: invalid UTF-8 at byte offset {} (byte 0x{:02X}); expected UTF-8 text",
                    *bad, static_cast<unsigned>(static_cast<unsigned char>(prompt[*bad])));
    }
    std::vector<TokenId> ids = model_.tokenizer().encode(prompt, opt.add_bos, opt.parse_special);
    if (ids.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "prompt: empty, and the model's vocabulary has no BOS token to start from; "
                    "expected at least one character");
    }
    const int64_t n_ctx = model_.hparams().n_ctx;
    if (static_cast<int64_t>(ids.size()) >= n_ctx) {
        throw_error(ErrorKind::ContextFull,
                    "prompt: too long for the model's context; expected at most {} tokens "
                    "(context {} leaves room for at least 1 new token), got {} tokens; "
                    "shorten the prompt",
                    n_ctx - 1, n_ctx, ids.size());
    }
    return ids;
}

void Generator::prefill(std::span<const TokenId> prompt, const GenerateOptions& opt) {
    const int64_t want = static_cast<int64_t>(prompt.size()) + opt.max_tokens;
    session_.reset();
    session_.emplace(model_, std::min(model_.hparams().n_ctx, want), opt.kv_type);
    slid_ = false;
    cached_ = model_.prefill(*session_, prompt, pool_, prompt_logits_);
}

void Generator::begin_candidate(int index) {
    index_ = index;
    if (slid_) prefill(prompt_, opt_);  // the last candidate slid the prompt out: read it again
    session_->truncate(static_cast<int64_t>(cached_.size()));
    const uint64_t seed = opt_.seed + static_cast<uint64_t>(index);
    chain_ = make_sampler_chain(sampler_options(opt_, seed));
    if (opt_.constraint != nullptr) opt_.constraint->reset();  // each candidate starts afresh
    // The penalties and the text decoder see what the model continues: the prompt, or for an
    // encoder-decoder only its decoder's start token.
    chain_.observe_prompt(cached_);
    if (guide_) guide_->begin_candidate();
    // Prime the decoder with the prompt so the first new piece is decoded as a continuation
    // (a SentencePiece "▁word" keeps its space), then drop the prompt's own text.
    decoder_.emplace(model_.tokenizer());
    for (TokenId id : cached_) decoder_->push(id);
    stop_ = StopStrings(opt_.stop);
    logits_ = prompt_logits_;
    have_logits_ = true;
    out_ = Completion{.seed = seed};
}

bool Generator::step() {
    // 1. decode: feed the last token for the next position's logits (the prompt's last row is
    //    already there on the first step).
    if (!have_logits_) {
        if (session_->n_free() == 0) {
            if (!slide_full_session(model_, *session_)) return finish(FinishReason::Length);
            slid_ = true;
        }
        // With guidance the unconditioned session takes the same token in the same batched
        // forward; logits_ gets the conditioned row either way.
        if (guide_) guide_->decode(*session_, out_.tokens.back(), logits_);
        else model_.forward(*session_, std::span(&out_.tokens.back(), 1), pool_, logits_);
    }
    have_logits_ = false;

    // 2. sampler chain (penalties, constraint, truncation, the pick), on the guided row when
    //    guidance is on: the constraint's mask applies to what is sampled from.
    const std::span<const float> row = guide_ ? guide_->guide(logits_, opt_.guidance)
                                              : std::span<const float>(logits_);
    const TokenId id = chain_.sample(row);

    // 3. accept: every sampler and the constraint see the choice.
    chain_.accept(id);
    record_token(logits_, id, opt_.top_logprobs, out_);

    // 4. stop rules: end-of-generation token, stop strings, max tokens.
    if (model_.tokenizer().is_eog(id)) return finish(FinishReason::Eos);
    const std::string piece = stop_.push(decoder_->push(id));

    // 5. emit what is final.
    if (!emit(piece)) return finish(FinishReason::Cancelled);
    if (stop_.stopped()) return finish(FinishReason::Stop);
    if (static_cast<int>(out_.tokens.size()) >= opt_.max_tokens) {
        return finish(FinishReason::Length);
    }
    return true;
}

bool Generator::emit(std::string_view piece) {
    if (piece.empty()) return true;
    out_.text.append(piece);
    return !on_text_ || on_text_(index_, piece);
}

bool Generator::finish(FinishReason reason) {
    if (reason != FinishReason::Stop && reason != FinishReason::Cancelled) {
        // Release what was held back: bytes of an unfinished character, a possible stop prefix.
        std::string tail = stop_.push(decoder_->finish());
        if (stop_.stopped()) reason = FinishReason::Stop;
        tail += stop_.flush();
        if (!emit(tail)) reason = FinishReason::Cancelled;
    }
    out_.finish = reason;
    return false;
}

GenerateResult Generator::run(std::string_view prompt, const GenerateOptions& opt,
                              const StreamFn& on_text) {
    check_options(opt);
    (void)make_sampler_chain(sampler_options(opt, opt.seed));  // reject bad values up front
    check_logit_bias(opt, model_.hparams().n_vocab);
    opt_ = opt;
    on_text_ = on_text;
    prompt_ = tokenize_prompt(prompt, opt);

    GenerateResult result;
    const int64_t t0 = core::steady_us();
    prefill(prompt_, opt);
    guide_.reset();
    if (opt.guidance > 0.0f) {
        guide_.emplace(model_, pool_);
        guide_->prefill(tokenize_prompt(opt.guidance_prompt, opt), opt.max_tokens, opt.kv_type);
    }
    result.timings.t_prefill_us = core::steady_us() - t0;
    result.timings.n_prompt = static_cast<int64_t>(prompt_.size());

    for (int i = 0; i < opt.n_candidates; ++i) {
        begin_candidate(i);
        if (i == 0) {
            result.sampler = chain_.describe();
            if (guide_) result.sampler = fmt::format("guidance {} -> {}", opt.guidance, result.sampler);
        }
        const int64_t t1 = core::steady_us();
        while (step()) {
        }
        out_.timings = Timings{.t_prefill_us = result.timings.t_prefill_us,
                               .t_decode_us = core::steady_us() - t1,
                               .n_prompt = result.timings.n_prompt,
                               .n_gen = static_cast<int64_t>(out_.tokens.size())};
        result.timings.t_decode_us += out_.timings.t_decode_us;
        result.timings.n_gen += out_.timings.n_gen;
        result.candidates.push_back(std::move(out_));
        if (result.candidates.back().finish == FinishReason::Cancelled) break;
    }
    return result;
}

GenerateResult generate(const model::Model& model, std::string_view prompt,
                        const GenerateOptions& opt, const StreamFn& on_text) {
    if (opt.threads < 0) check_options(opt);
    core::ThreadPool pool(opt.threads);
    Generator gen(model, pool);
    return gen.run(prompt, opt, on_text);
}

}  // namespace lyra::gen
