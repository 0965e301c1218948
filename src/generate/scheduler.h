// Scheduler: continuous batching of many generation streams over one shared Model.
// Each submitted Sequence (one prompt, one candidate) owns its Session (KV cache), sampler chain
// and stop rules; a single scheduler thread advances every active sequence by one token per
// step. Sequences join the batch at the next step (their prompt prefill is that step's work for
// them) and leave it the step they finish, so a short request never waits for a long one.
//
// What is batched: when the model batches_decode() (llama, qwen2, gpt2, gptneo), the sequences
// whose next forward is a plain decode step run it together through Model::decode_batch — one
// forward over all their rows, each weight read once for the whole batch — and then sample in
// parallel. The prompts of sequences that join at this step go into the same forward
// (Model::forward_batch: their prefill costs the batch a few more rows instead of a forward of
// their own) as long as the step stays within 8 rows (past that a batch row costs more than a
// prompt's own forward saves). A prompt that does not fit, and every sequence of a model that
// does not batch (t5, transformer-xl), run their own forward + sampling in parallel over the
// pool, one sequence per worker at a time (dynamic assignment). A step with a single such
// sequence of a model with at least 4M parameters gives its forward the whole pool instead
// (smaller models run it on one thread: their forward is too short to split). Batch rows equal
// single forwards bit for bit and kernels give the same result whatever the thread count, so a
// sequence's tokens do not depend on what else is in the batch: greedy output alone == greedy
// output in a batch, and a sequence with seed s gives exactly gen::Generator's candidate with
// seed s.
// A sequence whose session fills up ends with finish reason "length", unless its model can
// slide the cache (Transformer-XL's memory, Model::slide_keep): then it goes on past the
// context exactly as in the Generator (slide_full_session), so max_tokens may exceed it.
//
// Thread safety: submit(), cancel_all() and the Sequence methods may be called from any thread.
// Text pieces and the final Completion are delivered through each Sequence's event queue.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "generate/generator.h"
#include "generate/prompt_cache.h"
#include "generate/session_shelf.h"
#include "model/model.h"

namespace lyra::gen {

// One event of a sequence: a piece of final text, or the end (completion set, or error set).
struct SeqEvent {
    std::string piece = {};                     // text that became final (may be empty at the end)
    // The tokens sampled since the previous event, with their log-probabilities (and the top
    // alternatives when asked), so a stream can report logprobs chunk by chunk. The done event
    // carries none: its completion holds every token.
    std::vector<TokenId> tokens = {};
    std::vector<float> token_logprobs = {};
    std::vector<std::vector<TokenLogprob>> top_logprobs = {};
    bool done = false;                          // the last event: completion or error is set
    std::optional<Completion> completion = {};  // when done without error
    std::string error = {};                     // when done because the model failed
};

class Scheduler;

// A handle on one generation stream in the scheduler.
class Sequence {
public:
    // Waits up to `timeout` for the next event; std::nullopt on timeout. After the `done` event,
    // returns std::nullopt at once.
    std::optional<SeqEvent> next(std::chrono::milliseconds timeout);
    // Asks the scheduler to stop this sequence at its next step (finish reason Cancelled).
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }
    int64_t n_prompt() const { return static_cast<int64_t>(prompt_.size()); }

private:
    friend class Scheduler;
    Sequence() = default;
    // Adds e for next(); wakes the waiting reader at once, or with announce false only when
    // the scheduler calls announce() after the step (see Scheduler::loop).
    void push(SeqEvent e, bool wake = true);
    void announce();

    // Set at submit.
    std::vector<TokenId> prompt_;
    GenerateOptions opt_;
    std::unique_ptr<Constraint> own_constraint_;  // opt_.constraint when the submitter gave one
    // Owned by the scheduler thread while active.
    std::optional<model::Session> session_;
    SamplerChain chain_;
    std::optional<model::StreamDecoder> decoder_;
    StopStrings stop_;
    std::vector<float> logits_;
    bool prefilled_ = false;
    // Prompt positions the prompt cache gave session_ before the prefill ran the rest (all of
    // them for a prompt kept whole, a shared beginning for one that is not; 0 without).
    int64_t n_reused_ = 0;
    bool finished_ = false;
    Completion out_;
    size_t reported_ = 0;  // tokens already handed out in events
    std::string error_;
    int64_t t_start_us_ = 0;
    int64_t forward_us_ = 0;  // the wall time of the last forward advance() ran for it

    std::atomic<bool> cancelled_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<SeqEvent> events_;
    bool ended_ = false;     // the done event was taken
    bool unwoken_ = false;   // events pushed without waking the reader (the scheduler's only)
};

struct SchedulerOptions {
    int threads = 0;     // 0 = all hardware threads
    int max_batch = 16;  // active sequences per step; the rest wait in arrival order
    // Bytes of recently prefilled prompts kept for requests that repeat them (prompt_cache.h);
    // 0 turns the cache off.
    size_t prompt_cache_bytes = size_t{64} << 20;
    // How long a scheduler with nothing to do keeps its finished sequences' sessions (shelf_)
    // before it gives their memory back: a client's next request often comes a millisecond or
    // two after its last one ended (one client's requests in turn, a studio remix), and a
    // session made anew costs its KV cache's allocation (~1.4 ms for 4 MB on the 2-core VM),
    // while an idle server should not sit on caches for long.
    int shelf_idle_ms = 1000;
};

struct SchedulerStats {
    int64_t steps = 0;          // batched steps run
    int64_t tokens = 0;         // tokens sampled over all sequences
    int max_batch_seen = 0;     // the largest batch any step ran
    int64_t prompts_folded = 0; // joining prompts that ran inside a batched step
    int64_t prompts_cached = 0; // joining prompts whose prefill came from the prompt cache
    int64_t prompts_prefix_cached = 0; // joining prompts that copied a kept prompt's beginning
    int64_t sessions_reused = 0;       // sequences that took a finished one's session (SessionShelf)
    int64_t sessions_kept = 0;         // finished sequences' sessions on the shelf now
    // Where the steps' time went (wall time, microseconds): every step's whole time, and the
    // part spent in the one forward that served all of a step's sequences (a batched step's, or a
    // lone sequence's own). The rest is sampling, delivering the tokens and the bookkeeping;
    // steps whose sequences each ran their own forward side by side add to step_us only.
    int64_t rows = 0;        // sequences over all steps (rows / steps: the mean batch)
    int64_t step_us = 0;
    int64_t forward_us = 0;
    // Wall time from the end of one step to the start of the next while there was work all along
    // (an idle wait between them ends the count): waking the streams' readers, delivering the
    // ends, taking in new sequences, and any time the scheduler's thread spent off its core. On a
    // machine whose cores the readers share, the woken readers take that time.
    int64_t between_us = 0;
};

class Scheduler {
public:
    Scheduler(std::shared_ptr<const model::Model> model, SchedulerOptions opt = {});
    ~Scheduler();  // cancels everything still running and joins the thread
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Tokenizes `prompt` (add_bos per opt; parse_special for chat-template text) and queues one
    // sequence with opt.seed (opt.n_candidates is ignored: submit one per candidate). Throws
    // Error(InvalidArgument) for bad options, invalid UTF-8 or an empty prompt, and
    // Error(ContextFull) when the prompt leaves no room in the model's context.
    std::shared_ptr<Sequence> submit(std::string_view prompt, const GenerateOptions& opt,
                                     bool parse_special = false);
    // The same with a prompt that is already tokens. `constraint`, when given, is this sequence's
    // own (a grammar follows one stream) and lives as long as the sequence, which a request that
    // goes away before the scheduler's next step may not; it replaces opt.constraint.
    std::shared_ptr<Sequence> submit_tokens(std::vector<TokenId> prompt, const GenerateOptions& opt,
                                            std::unique_ptr<Constraint> constraint = nullptr);
    // submit's two halves, for a caller that needs the prompt's tokens itself (the server scores
    // them for echo with logprobs): `prompt` as submit tokenizes it (invalid UTF-8 throws), and
    // the checks submit_tokens makes of a prompt (not empty, ids inside the vocabulary, room in
    // the context; Error(InvalidArgument) or Error(ContextFull)).
    std::vector<TokenId> tokenize(std::string_view prompt, const GenerateOptions& opt,
                                  bool parse_special = false) const;
    void check_prompt(std::span<const TokenId> prompt) const;

    // Cancels every queued and active sequence (each ends with finish reason Cancelled).
    void cancel_all();
    const model::Model& model() const { return *model_; }
    SchedulerStats stats() const;
    int active() const;  // queued + active sequences

private:
    void loop();
    // Runs one step of every sequence in batch; returns how many joining prompts it folded into
    // the batched forward (SchedulerStats::prompts_folded). Adds the wall time of a forward that
    // served the whole step (SchedulerStats::forward_us) to *forward_us.
    int run_step(std::vector<std::shared_ptr<Sequence>>& batch, int64_t* forward_us);
    void run_each(std::span<Sequence* const> seqs);
    // One batched forward over seqs, counts[i] rows for seqs[i]: one for a decode step
    // (Model::decode_batch when that is all), the whole prompt for a sequence that joins now
    // (Model::forward_batch); then each samples its token. Returns the number of such prompts;
    // adds the forward's wall time to *forward_us.
    int step_together(std::span<Sequence* const> seqs, std::span<const int32_t> counts, int64_t* forward_us);
    // One token of s (its prefill first, when it has just joined); with ready_logits (its row of
    // step_together's batch) its forward already ran. `wake`: its piece wakes the reader now;
    // false inside step_together's sampling region, where the step wakes them all after it
    // (Scheduler::loop).
    void advance(Sequence& s, core::ThreadPool& pool, std::span<const float> ready_logits = {}, bool wake = true);
    // A joining sequence's session, with room for min(context, prompt + max_tokens) positions:
    // a kept one (shelf_) when one is big enough.
    model::Session* session_for(Sequence& s);
    // Sets a joining sequence up to generate (session, sampler chain, text decoder, stop rules)
    // with `cached` as what its prompt left in the cache; its forward runs separately.
    void start(Sequence& s, std::span<const TokenId> cached);
    // Joining sequences whose prompt the cache holds: copies its rows and samples the first
    // token from its logits; they leave `joining`. One whose prompt begins like a kept one, where
    // the model splits it exactly, gets the shared rows (n_reused_) and stays to prefill the
    // rest. Returns how many of each.
    struct CacheHits {
        int whole = 0;
        int prefix = 0;
    };
    CacheHits resume_cached(std::vector<Sequence*>& joining);
    // Puts the prompt of s, whose prefill this step ran, in the prompt cache with `logits`
    // (those after its last token).
    void keep_prompt(const Sequence& s, std::span<const float> logits);
    void finish(Sequence& s, FinishReason reason);
    static void fail(Sequence& s, const std::exception& e);

    std::shared_ptr<const model::Model> model_;
    SchedulerOptions opt_;
    core::ThreadPool pool_;
    std::vector<std::unique_ptr<core::ThreadPool>> inline_pools_;  // one 1-thread pool per worker
    std::vector<float> batch_logits_;  // step_together's [n, n_vocab]
    PromptCache prompt_cache_;         // the loop thread's only
    SessionShelf shelf_;               // finished sequences' sessions, for the next (decoders only)

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Sequence>> queue_;
    std::vector<std::shared_ptr<Sequence>> active_;
    bool stop_ = false;
    SchedulerStats stats_;
    std::thread thread_;
};

}  // namespace lyra::gen
