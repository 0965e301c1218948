// Scheduler (scheduler.h): continuous batching over one shared model.
#include "generate/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "core/clock.h"
#include "core/error.h"
#include "generate/context_slide.h"

namespace lyra::gen {

namespace {

constexpr int64_t kSplitForwardParams = 4'000'000;

// A joining prompt goes into the batched step only while the step stays within this many rows.
// Up to 8 tokens the quantized matmuls stream each weight row once past all the tokens
// (core/kernels/x86/avx512.cpp, kRowStreamMaxT); past that a row costs more: on the 2-core
// machine (Q4_0, d768, 12 layers) 6 decode rows + a 2-token prompt in one step took 6.1-10.5 ms
// against 7.5-13.6 ms for the prompt's own forward followed by the 6 rows, but 7 rows + a
// 5-token prompt took 10.8-19.6 ms against 12.2-17.4 ms apart. A prompt that does not fit runs
// on its own, as before.
constexpr int64_t kFoldMaxRows = 8;
static_assert(kFoldMaxRows <= model::Model::kExactBatchRows,
              "a folded prompt must stay within the rows where a batch row is bit for bit exact");

}  // namespace

// Ends s with the error that stopped it (delivered after the step, with its done event).
void Scheduler::fail(Sequence& s, const std::exception& e) {
    s.error_ = e.what();
    if (s.error_.empty()) s.error_ = "generation failed";
    s.finished_ = true;
}

// --- Sequence -------------------------------------------------------------------------------

void Sequence::push(SeqEvent e, bool wake) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(std::move(e));
    }
    if (wake) cv_.notify_all();
    else unwoken_ = true;
}

void Sequence::announce() {
    if (!unwoken_) return;
    unwoken_ = false;
    cv_.notify_all();
}

std::optional<SeqEvent> Sequence::next(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (ended_) return std::nullopt;
    if (!cv_.wait_for(lock, timeout, [this] { return !events_.empty(); })) return std::nullopt;
    SeqEvent e = std::move(events_.front());
    events_.pop_front();
    if (e.done) ended_ = true;
    return e;
}

// --- Scheduler ------------------------------------------------------------------------------

Scheduler::Scheduler(std::shared_ptr<const model::Model> model, SchedulerOptions opt)
    : model_(std::move(model)),
      opt_(opt),
      pool_(opt.threads),
      prompt_cache_(opt.prompt_cache_bytes),
      shelf_(static_cast<size_t>(std::max(opt.max_batch, 0))) {
    // Past kExactBatchRows rows a step's float matmuls take the blocked GEMM, whose rows are not
    // bit for bit those of a sequence run alone: the batch size stops where that promise does.
    if (opt_.max_batch < 1 || opt_.max_batch > model::Model::kExactBatchRows) {
        throw_error(ErrorKind::InvalidArgument,
                    "scheduler batch size: out of range; expected 1 to {} (a batched sequence must give what it "
                    "gives alone), got {}",
                    model::Model::kExactBatchRows, opt_.max_batch);
    }
    if (opt_.shelf_idle_ms < 0)
        throw_error(ErrorKind::InvalidArgument,
                    "scheduler shelf idle time: out of range; expected 0 ms or more, got {}", opt_.shelf_idle_ms);
    for (int i = 0; i < pool_.size(); ++i) {
        inline_pools_.push_back(std::make_unique<core::ThreadPool>(1));
    }
    thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
    cancel_all();
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

std::vector<TokenId> Scheduler::tokenize(std::string_view prompt, const GenerateOptions& opt,
                                         bool parse_special) const {
    if (auto bad = find_invalid_utf8(prompt)) {
        throw_error(ErrorKind::InvalidArgument,
                    "prompt: invalid UTF-8 at byte offset {} (byte 0x{:02X}); expected UTF-8 text",
                    *bad, static_cast<unsigned>(static_cast<unsigned char>(prompt[*bad])));
    }
    return model_->tokenizer().encode(prompt, opt.add_bos, parse_special || opt.parse_special);
}

void Scheduler::check_prompt(std::span<const TokenId> prompt) const {
    if (prompt.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "prompt: empty, and the model's vocabulary has no BOS token to start from; "
                    "expected at least one character");
    }
    check_token_ids(prompt, model_->hparams().n_vocab, "prompt");
    const int64_t n_ctx = model_->hparams().n_ctx;
    if (static_cast<int64_t>(prompt.size()) >= n_ctx) {
        throw_error(ErrorKind::ContextFull,
                    "prompt: too long for the model's context; expected at most {} tokens "
                    "(context {} leaves room for at least 1 new token), got {} tokens; "
                    "shorten the prompt",
                    n_ctx - 1, n_ctx, prompt.size());
    }
}

std::shared_ptr<Sequence> Scheduler::submit(std::string_view prompt, const GenerateOptions& opt,
                                            bool parse_special) {
    return submit_tokens(tokenize(prompt, opt, parse_special), opt);
}

std::shared_ptr<Sequence> Scheduler::submit_tokens(std::vector<TokenId> prompt,
                                                   const GenerateOptions& opt,
                                                   std::unique_ptr<Constraint> constraint) {
    check_options(opt);
    (void)make_sampler_chain(sampler_options(opt, opt.seed));  // rejects bad values up front
    check_logit_bias(opt, model_->hparams().n_vocab);
    if (opt.guidance != 0.0f) {
        // A guided sequence needs a second session stepped with it (gen::Guidance); the batch
        // does not carry one yet, and silently ignoring the option would change the output.
        throw_error(ErrorKind::Unsupported,
                    "guidance: not supported by the batching scheduler; expected 0, got {}; "
                    "use gen::Generator for guided decoding", opt.guidance);
    }
    check_prompt(prompt);
    std::shared_ptr<Sequence> s(new Sequence());
    s->prompt_ = std::move(prompt);
    s->opt_ = opt;
    if (constraint) {
        s->own_constraint_ = std::move(constraint);
        s->opt_.constraint = s->own_constraint_.get();
    }
    s->opt_.n_candidates = 1;
    s->t_start_us_ = core::steady_us();
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) {
            throw_error(ErrorKind::Unsupported, "scheduler: shutting down; expected a running "
                                                "server, got one that is stopping");
        }
        queue_.push_back(s);
    }
    cv_.notify_all();
    return s;
}

void Scheduler::cancel_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : queue_) s->cancel();
    for (auto& s : active_) s->cancel();
}

SchedulerStats Scheduler::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    SchedulerStats now = stats_;
    now.sessions_kept = static_cast<int64_t>(shelf_.size());
    return now;
}

int Scheduler::active() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(queue_.size() + active_.size());
}

void Scheduler::loop() {
    std::vector<std::shared_ptr<Sequence>> batch;
    int64_t last_end = -1;  // when the last step ended; -1 after an idle wait (SchedulerStats::between_us)
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            const auto has_work = [this] { return stop_ || !queue_.empty() || !active_.empty(); };
            if (queue_.empty() && active_.empty()) {
                last_end = -1;
                // Nothing to do: the shelf waits a moment for the next request, then an idle
                // server gives its caches back.
                if (!cv_.wait_for(lock, std::chrono::milliseconds(opt_.shelf_idle_ms), has_work)) {
                    lock.unlock();
                    shelf_.clear();
                    lock.lock();
                }
            }
            cv_.wait(lock, has_work);
            if (stop_ && queue_.empty() && active_.empty()) return;
            while (static_cast<int>(active_.size()) < opt_.max_batch && !queue_.empty()) {
                active_.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            batch = active_;
        }
        int64_t sampled = 0;
        for (const auto& s : batch) sampled -= static_cast<int64_t>(s->out_.tokens.size());
        const int64_t t0 = core::steady_us();
        int64_t forward_us = 0;
        const int folded = run_step(batch, &forward_us);
        const int64_t end = core::steady_us(), step_us = end - t0;
        const int64_t between_us = last_end >= 0 ? t0 - last_end : 0;
        last_end = end;
        // A batched step's pieces wake their readers now, not as each was sampled: a woken HTTP
        // thread took the core from the pool thread that woke it, in the middle of the sampling
        // region, and the other pool thread waited for it (8 streams: ~80 us per sequence, a
        // sixth of a batched step). Sequences that ran their own forward (a prefill on its own,
        // a model that does not batch) woke theirs at once: the others' forwards may be long.
        // Waking them in the next step's first region instead (the scheduler's thread does it
        // while the pool's other thread takes shares) cost the forward more than it saved between
        // the steps (8 clients on 2 cores: 2.45-2.71x against 2.79-2.82x, alternated runs).
        for (const auto& s : batch) s->announce();
        for (const auto& s : batch) sampled += static_cast<int64_t>(s->out_.tokens.size());
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.steps;
            stats_.tokens += sampled;
            stats_.rows += static_cast<int64_t>(batch.size());
            stats_.step_us += step_us;
            stats_.forward_us += forward_us;
            stats_.between_us += between_us;
            stats_.prompts_folded += folded;
            stats_.max_batch_seen = std::max(stats_.max_batch_seen, static_cast<int>(batch.size()));
            std::erase_if(active_, [](const std::shared_ptr<Sequence>& s) { return s->finished_; });
        }
        // Deliver the end events after the step (the completions are final now).
        for (const auto& s : batch) {
            if (!s->finished_) continue;
            SeqEvent e;
            e.done = true;
            if (!s->error_.empty()) {
                e.error = std::move(s->error_);
            } else {
                e.completion = std::move(s->out_);
            }
            // The KV cache is the big part: out of the sequence now, onto the shelf for the
            // next sequence of a model that batches (a decoder, whose session clear() resets).
            if (s->session_ && model_->batches_decode()) shelf_.put(std::move(*s->session_));
            s->session_.reset();
            s->push(std::move(e));
        }
        batch.clear();
    }
}

int Scheduler::run_step(std::vector<std::shared_ptr<Sequence>>& batch, int64_t* forward_us) {
    // When the model batches, the sequences whose next forward is a plain one-token decode step
    // share one forward, and the prompts of sequences that join now go into that same forward
    // (Model::forward_batch) rather than each stalling the batch with a forward of its own, as
    // long as the step stays within kFoldMaxRows rows. The rest (a prompt that does not fit, a
    // sequence whose session is full, every sequence of a model that does not batch) run on
    // their own.
    std::vector<Sequence*> together, joining, each;
    std::vector<int32_t> counts;  // rows per sequence of `together`
    int64_t rows = 0;
    const bool batches = model_->batches_decode();
    for (const auto& s : batch) {
        Sequence* q = s.get();
        if (!batches || q->finished_ || q->cancelled()) {
            each.push_back(q);
        } else if (!q->prefilled_) {
            joining.push_back(q);
        } else if (q->session_->n_free() > 0) {
            together.push_back(q);
            counts.push_back(1);
            ++rows;
        } else {
            each.push_back(q);  // full: ends, or slides its memory, on its own
        }
    }
    // A prompt the cache holds needs no forward: its sequence samples its first token now. One
    // that begins like a kept prompt copies those positions and runs only the rest. A prompt
    // that an earlier joiner of this step also brings (a request's n candidates) waits one step
    // and then copies that joiner's prefill from the cache, if the cache will keep it (one too
    // big for the cache is prefilled by each, all in this step).
    if (batches && !joining.empty() && prompt_cache_.budget() > 0) {
        const CacheHits hits = resume_cached(joining);
        if (hits.whole > 0 || hits.prefix > 0) {
            std::lock_guard<std::mutex> lock(mu_);
            stats_.prompts_cached += hits.whole;
            stats_.prompts_prefix_cached += hits.prefix;
        }
        for (size_t i = 1; i < joining.size();) {
            const Sequence& s = *joining[i];
            const auto same = [&](const Sequence* q) {
                return q->prompt_ == s.prompt_ && q->opt_.kv_type == s.opt_.kv_type;
            };
            if (prompt_cache_.would_keep(*model_, s.prompt_.size(), s.opt_.kv_type) &&
                std::any_of(joining.begin(), joining.begin() + static_cast<std::ptrdiff_t>(i), same))
                joining.erase(joining.begin() + static_cast<std::ptrdiff_t>(i));
            else
                ++i;
        }
    }
    // Prompts fill the rows left up to kFoldMaxRows, in arrival order. A model that batches is
    // a decoder, whose prefill is a forward over the prompt (Model::prefill's default), so a
    // prompt's rows in the batch are its prefill.
    for (Sequence* q : joining) {
        const auto prompt = static_cast<int64_t>(q->prompt_.size()) - q->n_reused_;
        if (rows + prompt <= kFoldMaxRows) {
            together.push_back(q);
            counts.push_back(static_cast<int32_t>(prompt));
            rows += prompt;
        } else {
            each.push_back(q);
        }
    }
    if (together.size() < 2) {  // one sequence gains nothing from the batched path
        each.insert(each.end(), together.begin(), together.end());
        together.clear();
        counts.clear();
    }
    if (!each.empty()) {
        for (Sequence* q : each) q->forward_us_ = 0;
        run_each(each);
        if (each.size() == 1 && together.empty()) *forward_us += each[0]->forward_us_;  // the step's one forward
    }
    const int folded = together.empty() ? 0 : step_together(together, counts, forward_us);
    if (batches && prompt_cache_.budget() > 0) {
        const auto V = static_cast<size_t>(model_->hparams().n_vocab);
        const auto joined = [&](const Sequence* q) { return std::ranges::find(joining, q) != joining.end(); };
        for (size_t i = 0; i < together.size(); ++i)
            if (joined(together[i]))
                keep_prompt(*together[i], std::span<const float>(batch_logits_).subspan(i * V, V));
        for (Sequence* q : each)
            if (joined(q)) keep_prompt(*q, q->logits_);
    }
    return folded;
}

Scheduler::CacheHits Scheduler::resume_cached(std::vector<Sequence*>& joining) {
    CacheHits hits;
    std::erase_if(joining, [&](Sequence* q) {
        const auto n_prompt = static_cast<int64_t>(q->prompt_.size());
        const PromptCache::Entry* hit = prompt_cache_.find(q->prompt_, q->opt_.kv_type);
        if (hit == nullptr) {
            // The shared beginning, where copying it gives the bits a whole prefill would.
            const PromptCache::PrefixHit part = prompt_cache_.longest_prefix(*model_, q->prompt_, q->opt_.kv_type);
            if (part.entry == nullptr) return false;
            try {
                session_for(*q)->copy_prefix(*part.entry->kv, part.n);
                q->n_reused_ = part.n;
                ++hits.prefix;
                return false;  // its prefill runs the rest
            } catch (const std::exception& e) {
                fail(*q, e);
                return true;
            }
        }
        ++hits.whole;
        try {
            const int64_t t0 = core::steady_us();
            session_for(*q)->copy_prefix(*hit->kv, n_prompt);
            q->n_reused_ = n_prompt;
            start(*q, q->prompt_);
            q->out_.timings.t_prefill_us = core::steady_us() - t0;
        } catch (const std::exception& e) {
            fail(*q, e);
            return true;
        }
        advance(*q, pool_, hit->logits);
        return true;
    });
    return hits;
}

void Scheduler::keep_prompt(const Sequence& s, std::span<const float> logits) {
    // Only a prefill that went through: the session holds the prompt's rows and nothing failed.
    if (!s.prefilled_ || !s.error_.empty() || !s.session_) return;
    if (s.session_->n_past() < static_cast<int64_t>(s.prompt_.size())) return;
    prompt_cache_.insert(*model_, s.prompt_, *s.session_, logits);
}

void Scheduler::run_each(std::span<Sequence* const> seqs) {
    // A lone sequence of a model big enough for split matrix-vector products to pay gets the
    // whole pool; a tiny model's forward is dominated by the ~100 pool regions per token, so it
    // runs inline on one thread (the other threads stay free for the HTTP side).
    if (seqs.size() == 1 && (pool_.size() == 1 || model_->n_params() >= kSplitForwardParams)) {
        advance(*seqs[0], pool_);
        return;
    }
    std::atomic<size_t> next{0};
    const size_t n = seqs.size();
    pool_.run([&](int ith, int) {
        for (;;) {
            const size_t i = next.fetch_add(1);
            if (i >= n) break;
            advance(*seqs[i], *inline_pools_[static_cast<size_t>(ith)]);
        }
    });
}

int Scheduler::step_together(std::span<Sequence* const> seqs, std::span<const int32_t> counts, int64_t* forward_us_sum) {
    const int64_t t0 = core::steady_us();
    std::vector<model::Session*> sessions;
    std::vector<TokenId> tokens;
    int prompts = 0;  // joining sequences whose prompt is their rows of this step
    for (Sequence* s : seqs) {
        if (!s->prefilled_) {
            start(*s, s->prompt_);
            ++prompts;
            tokens.insert(tokens.end(), s->prompt_.begin() + s->n_reused_, s->prompt_.end());
        } else {
            tokens.push_back(s->out_.tokens.back());
        }
        sessions.push_back(&*s->session_);
    }
    try {
        if (prompts > 0) {
            model_->forward_batch(sessions, tokens, counts, pool_, batch_logits_);
        } else {
            model_->decode_batch(sessions, tokens, pool_, batch_logits_);
        }
    } catch (const std::exception& e) {
        for (Sequence* s : seqs) fail(*s, e);
        return prompts;
    }
    // A folded prompt's prefill time is the time of the step that ran it.
    const int64_t forward_us = core::steady_us() - t0;
    *forward_us_sum += forward_us;
    for (Sequence* s : seqs) {
        if (s->out_.timings.t_prefill_us < 0) s->out_.timings.t_prefill_us = forward_us;
    }
    // Sampling (penalties, constraint masks, truncation) is per sequence: in parallel, each
    // reading its own row of the batch's logits in place.
    const auto V = static_cast<size_t>(model_->hparams().n_vocab);
    std::atomic<size_t> next{0};
    pool_.run([&](int ith, int) {
        for (;;) {
            const size_t i = next.fetch_add(1);
            if (i >= seqs.size()) break;
            advance(*seqs[i], *inline_pools_[static_cast<size_t>(ith)],
                    std::span<const float>(batch_logits_).subspan(i * V, V), false);
        }
    });
    return prompts;
}

model::Session* Scheduler::session_for(Sequence& s) {
    const model::Model& m = *model_;
    const int64_t want = static_cast<int64_t>(s.prompt_.size()) + s.opt_.max_tokens;
    const int64_t n_ctx = std::min(m.hparams().n_ctx, want);
    if (!model_->batches_decode()) {
        s.session_.emplace(m, n_ctx, s.opt_.kv_type);
        return &*s.session_;
    }
    bool reused = false;
    s.session_.emplace(shelf_.take(m, n_ctx, s.opt_.kv_type, &reused));
    if (reused) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.sessions_reused;
    }
    return &*s.session_;
}

void Scheduler::start(Sequence& s, std::span<const TokenId> cached) {
    const model::Model& m = *model_;
    if (!s.session_) session_for(s);
    s.chain_ = make_sampler_chain(sampler_options(s.opt_, s.opt_.seed));
    if (s.opt_.constraint != nullptr) s.opt_.constraint->reset();
    s.chain_.observe_prompt(cached);
    s.decoder_.emplace(m.tokenizer());
    for (TokenId id : cached) s.decoder_->push(id);
    s.stop_ = StopStrings(s.opt_.stop);
    s.out_ = Completion{.seed = s.opt_.seed};
    s.out_.timings.n_prompt = static_cast<int64_t>(s.prompt_.size());
    s.out_.timings.n_prompt_cached = s.n_reused_;
    s.out_.timings.t_prefill_us = -1;  // set by whoever runs the prompt
    s.prefilled_ = true;
}

void Scheduler::finish(Sequence& s, FinishReason reason) {
    if (reason != FinishReason::Stop && reason != FinishReason::Cancelled && s.decoder_) {
        std::string tail = s.stop_.push(s.decoder_->finish());
        if (s.stop_.stopped()) reason = FinishReason::Stop;
        tail += s.stop_.flush();
        if (!tail.empty()) {
            s.out_.text += tail;
            s.push(SeqEvent{.piece = std::move(tail)}, false);
        }
    }
    s.out_.finish = reason;
    s.out_.timings.n_gen = static_cast<int64_t>(s.out_.tokens.size());
    s.out_.timings.t_decode_us = core::steady_us() - s.t_start_us_ - s.out_.timings.t_prefill_us;
    s.finished_ = true;
}

// One token of one sequence (its prefill first, when it has just joined). Runs on a pool
// worker; touches only `s` and the shared read-only model. Never throws.
void Scheduler::advance(Sequence& s, core::ThreadPool& pool, std::span<const float> ready_logits, bool wake) {
    if (s.finished_) return;
    try {
        if (s.cancelled()) return finish(s, FinishReason::Cancelled);
        const model::Model& m = *model_;
        if (!ready_logits.empty()) {
            // step_together ran this step's forward (the prompt's, for a sequence that joined).
        } else if (!s.prefilled_) {
            const int64_t t0 = core::steady_us();
            if (s.n_reused_ > 0) {
                // The prompt cache gave the session the prompt's beginning (resume_cached); a
                // model that batches is a decoder, so the rest's prefill is a forward over it.
                m.forward(*s.session_, std::span<const TokenId>(s.prompt_).subspan(static_cast<size_t>(s.n_reused_)),
                          pool, s.logits_);
                start(s, s.prompt_);
            } else {
                // An encoder-decoder leaves only its start token in the cache (Model::prefill).
                start(s, m.prefill(*session_for(s), s.prompt_, pool, s.logits_));
            }
            s.out_.timings.t_prefill_us = core::steady_us() - t0;
            s.forward_us_ = s.out_.timings.t_prefill_us;
        } else {
            // Full: Transformer-XL slides its memory exactly as in Generator::step; the
            // session is this sequence's own, so the rest of the batch is not touched.
            if (s.session_->n_free() == 0 && !slide_full_session(m, *s.session_)) {
                return finish(s, FinishReason::Length);
            }
            const int64_t t0 = core::steady_us();
            m.forward(*s.session_, std::span(&s.out_.tokens.back(), 1), pool, s.logits_);
            s.forward_us_ = core::steady_us() - t0;
        }

        const std::span<const float> logits =
            ready_logits.empty() ? std::span<const float>(s.logits_) : ready_logits;
        const TokenId id = s.chain_.sample(logits);
        s.chain_.accept(id);
        record_token(logits, id, s.opt_.top_logprobs, s.out_);

        if (m.tokenizer().is_eog(id)) return finish(s, FinishReason::Eos);
        std::string piece = s.stop_.push(s.decoder_->push(id));
        if (!piece.empty()) {
            s.out_.text += piece;
            SeqEvent e{.piece = std::move(piece)};
            const auto from = static_cast<std::ptrdiff_t>(s.reported_);
            e.tokens.assign(s.out_.tokens.begin() + from, s.out_.tokens.end());
            e.token_logprobs.assign(s.out_.token_logprobs.begin() + from, s.out_.token_logprobs.end());
            if (!s.out_.top_logprobs.empty()) {
                e.top_logprobs.assign(s.out_.top_logprobs.begin() + from, s.out_.top_logprobs.end());
            }
            s.reported_ = s.out_.tokens.size();
            s.push(std::move(e), wake);
        }
        if (s.stop_.stopped()) return finish(s, FinishReason::Stop);
        if (static_cast<int>(s.out_.tokens.size()) >= s.opt_.max_tokens) {
            return finish(s, FinishReason::Length);
        }
    } catch (const std::exception& e) {
        fail(s, e);
    }
}

}  // namespace lyra::gen
