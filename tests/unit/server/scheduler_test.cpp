// gen::Scheduler on the shipped model: a sequence gives exactly the Generator's candidate
// (tokens, text, log-probabilities), whether it runs alone or batched with others, whatever the
// thread count; streamed pieces add up to the text; cancel, stop strings and bad input.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "generate/generator.h"
#include "generate/scheduler.h"
#include "model/init.h"
#include "model/model.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::gen {
namespace {

std::string model_path() {
    const char* dir = std::getenv("LYRA_SOURCE_DIR");
    return std::string(dir != nullptr ? dir : ".") + "/models/tiny-shakespeare-char.gguf";
}

std::shared_ptr<const model::Model> shared_model() {
    static std::shared_ptr<const model::Model> m = model::Model::load(model_path());
    return m;
}

struct Done {
    std::string streamed;
    Completion completion;
};

// Drains one sequence: every piece, then the completion.
Done drain(const std::shared_ptr<Sequence>& s) {
    Done d;
    for (;;) {
        auto e = s->next(std::chrono::seconds(30));
        if (!e) {
            ADD_FAILURE() << "sequence timed out";
            return d;
        }
        d.streamed += e->piece;
        if (e->done) {
            EXPECT_EQ(e->error, "");
            if (e->completion) d.completion = std::move(*e->completion);
            return d;
        }
    }
}

GenerateOptions options(float temperature, uint64_t seed, int max_tokens) {
    GenerateOptions o;
    o.temperature = temperature;
    o.seed = seed;
    o.max_tokens = max_tokens;
    o.threads = 1;
    return o;
}

void expect_same(const Completion& a, const Completion& b, const std::string& what) {
    EXPECT_EQ(a.tokens, b.tokens) << what;
    EXPECT_EQ(a.text, b.text) << what;
    EXPECT_EQ(a.token_logprobs, b.token_logprobs) << what;
    EXPECT_EQ(a.finish, b.finish) << what;
}

TEST(Scheduler, AloneMatchesTheGenerator) {
    auto m = shared_model();
    Scheduler sched(m, {.threads = 2, .max_batch = 8});
    for (float temp : {0.0f, 0.9f}) {
        const GenerateOptions o = options(temp, 11, 40);
        const GenerateResult ref = generate(*m, "ROMEO:\n", o);
        const Done d = drain(sched.submit("ROMEO:\n", o));
        expect_same(d.completion, ref.candidates.at(0), "temperature " + std::to_string(temp));
        EXPECT_EQ(d.streamed, d.completion.text);
        EXPECT_EQ(d.completion.timings.n_gen, static_cast<int64_t>(d.completion.tokens.size()));
    }
}

TEST(Scheduler, BatchedGreedyAndSeededOutputEqualsAlone) {
    auto m = shared_model();
    const std::vector<std::string> prompts = {"ROMEO:\n", "JULIET:\nO", "First Citizen:\n",
                                              "KING", "To be", "\n", "MENENIUS:\nWhat", "A"};
    std::vector<GenerateOptions> opts;
    std::vector<Completion> alone;
    for (size_t i = 0; i < prompts.size(); ++i) {
        // Half greedy, half sampled; different lengths so sequences leave at different steps.
        opts.push_back(options(i % 2 == 0 ? 0.0f : 1.0f, 100 + i, 20 + 7 * static_cast<int>(i)));
        alone.push_back(generate(*m, prompts[i], opts.back()).candidates.at(0));
    }
    // 3 threads: the batch's sampling shares are claimed unevenly.
    for (int threads : {1, 2, 3}) {
        Scheduler sched(m, {.threads = threads, .max_batch = 8});
        std::vector<std::shared_ptr<Sequence>> seqs;
        for (size_t i = 0; i < prompts.size(); ++i) seqs.push_back(sched.submit(prompts[i], opts[i]));
        for (size_t i = 0; i < prompts.size(); ++i) {
            const Done d = drain(seqs[i]);
            expect_same(d.completion, alone[i],
                        "prompt " + std::to_string(i) + " threads " + std::to_string(threads));
            EXPECT_EQ(d.streamed, d.completion.text);
        }
        const SchedulerStats st = sched.stats();
        EXPECT_GT(st.max_batch_seen, 1) << "the sequences never ran in one step";
        EXPECT_LE(st.max_batch_seen, 8);
        int64_t total = 0;
        for (const auto& c : alone) total += static_cast<int64_t>(c.tokens.size());
        EXPECT_EQ(st.tokens, total);
        EXPECT_LT(st.steps, total) << "batching should take fewer steps than tokens";
    }
}

// The stats split the steps' wall time: every step's, and the part in the forward that served
// the whole step, whether one sequence's own or a batch's; rows count the sequences of every step.
TEST(Scheduler, StatsSplitTheStepsTimeIntoForwardAndTheRest) {
    auto m = shared_model();
    {
        Scheduler alone(m, {.threads = 2, .max_batch = 8});
        drain(alone.submit("ROMEO:\n", options(0.8f, 3, 30)));
        const SchedulerStats st = alone.stats();
        EXPECT_EQ(st.rows, st.steps) << "one sequence per step";
        EXPECT_GT(st.forward_us, 0);
        EXPECT_LE(st.forward_us, st.step_us);
    }
    Scheduler batched(m, {.threads = 2, .max_batch = 8});
    std::vector<std::shared_ptr<Sequence>> seqs;
    for (int i = 0; i < 4; ++i) seqs.push_back(batched.submit("KING", options(0.8f, 20 + i, 30)));
    for (auto& s : seqs) drain(s);
    const SchedulerStats st = batched.stats();
    EXPECT_GT(st.rows, st.steps) << "the sequences never shared a step";
    EXPECT_LE(st.rows, 4 * st.steps);
    EXPECT_GT(st.forward_us, 0);
    EXPECT_LE(st.forward_us, st.step_us);
}

TEST(Scheduler, JoinsMidFlightAndQueuesPastMaxBatch) {
    auto m = shared_model();
    Scheduler sched(m, {.threads = 2, .max_batch = 2});
    const GenerateOptions o = options(0.0f, 1, 60);
    const Completion ref = generate(*m, "ROMEO:\n", o).candidates.at(0);
    std::vector<std::shared_ptr<Sequence>> seqs;
    for (int i = 0; i < 5; ++i) seqs.push_back(sched.submit("ROMEO:\n", o));
    for (auto& s : seqs) expect_same(drain(s).completion, ref, "queued sequence");
    EXPECT_EQ(sched.stats().max_batch_seen, 2);
    EXPECT_EQ(sched.active(), 0);
}

// A sequence that starts as another finishes takes that one's session (its KV cache, cleared)
// rather than allocating its own, and gives exactly what it gives alone: what the earlier
// sequence left in the rows past its own is never read. One at a time (max_batch 1), so each
// queued sequence starts on the session the one before it just left.
TEST(Scheduler, SessionsOfFinishedSequencesServeTheNextWithTheSameOutput) {
    auto m = shared_model();
    Scheduler sched(m, {.threads = 2, .max_batch = 1, .prompt_cache_bytes = 0});
    const std::vector<std::string> prompts = {"ROMEO:\nWhat say", "KING", "To be, or", "JULIET:\n"};
    std::vector<GenerateOptions> opts;
    std::vector<std::shared_ptr<Sequence>> seqs;
    for (size_t i = 0; i < prompts.size(); ++i) {
        // Long first, then shorter: each later one fits in the session before it.
        opts.push_back(options(i % 2 == 0 ? 0.0f : 0.9f, 40 + i, 90 - 20 * static_cast<int>(i)));
        seqs.push_back(sched.submit(prompts[i], opts.back()));
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
        const Completion alone = generate(*m, prompts[i], opts[i]).candidates.at(0);
        expect_same(drain(seqs[i]).completion, alone, "sequence " + std::to_string(i));
    }
    EXPECT_EQ(sched.stats().sessions_reused, static_cast<int64_t>(prompts.size()) - 1);
}

// An idle scheduler keeps the sessions of finished sequences for shelf_idle_ms, so that a
// client's next request takes one rather than allocating its KV cache again, and then gives
// them back: an idle server does not sit on caches.
TEST(Scheduler, AnIdleSchedulerKeepsFinishedSessionsAWhileThenGivesThemBack) {
    auto m = shared_model();
    {
        Scheduler keeps(m, {.threads = 2, .max_batch = 4, .prompt_cache_bytes = 0, .shelf_idle_ms = 60'000});
        const Completion first = drain(keeps.submit("ROMEO:\n", options(0.0f, 1, 30))).completion;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // idle, well within the minute
        EXPECT_EQ(keeps.stats().sessions_kept, 1);
        const Completion second = drain(keeps.submit("ROMEO:\n", options(0.0f, 1, 30))).completion;
        EXPECT_EQ(keeps.stats().sessions_reused, 1) << "the second request takes the first one's session";
        expect_same(second, first, "the same request on a kept session");
    }
    Scheduler gives_back(m, {.threads = 2, .max_batch = 4, .prompt_cache_bytes = 0, .shelf_idle_ms = 20});
    (void)drain(gives_back.submit("KING", options(0.0f, 2, 10)));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (gives_back.stats().sessions_kept != 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(gives_back.stats().sessions_kept, 0) << "20 ms idle: the shelf is emptied";
    (void)drain(gives_back.submit("KING", options(0.0f, 2, 10)));
    EXPECT_EQ(gives_back.stats().sessions_reused, 0);

    EXPECT_THROW(Scheduler(m, {.threads = 1, .shelf_idle_ms = -1}), Error);
}

// A prompt prefilled before is copied from the prompt cache rather than run again, and the
// output is exactly the output without the cache: greedy and sampled, one request after another
// and a request's candidates submitted together (the first prefills; the rest wait one step and
// copy it).
TEST(Scheduler, RepeatedPromptsCopyTheirPrefillWithTheSameOutput) {
    auto m = shared_model();
    Scheduler cached(m, {.threads = 2, .max_batch = 8});
    Scheduler uncached(m, {.threads = 2, .max_batch = 8, .prompt_cache_bytes = 0});
    for (float temp : {0.0f, 0.9f}) {
        const GenerateOptions o = options(temp, 5, 30);
        const Completion ref = drain(uncached.submit("ROMEO:\n", o)).completion;
        for (int i = 0; i < 2; ++i)
            expect_same(drain(cached.submit("ROMEO:\n", o)).completion, ref,
                        "request " + std::to_string(i) + " temperature " + std::to_string(temp));
    }
    EXPECT_EQ(cached.stats().prompts_cached, 3);  // every request after the first
    EXPECT_EQ(uncached.stats().prompts_cached, 0);

    // Four candidates of one request: seeds 1..4, a prompt this scheduler has not seen.
    std::vector<std::shared_ptr<Sequence>> seqs, refs;
    for (uint64_t seed = 1; seed <= 4; ++seed) {
        seqs.push_back(cached.submit("JULIET:\nO", options(0.9f, seed, 25)));
        refs.push_back(uncached.submit("JULIET:\nO", options(0.9f, seed, 25)));
    }
    for (size_t i = 0; i < seqs.size(); ++i) {
        const Done d = drain(seqs[i]);
        expect_same(d.completion, drain(refs[i]).completion, "candidate " + std::to_string(i));
        EXPECT_EQ(d.streamed, d.completion.text);
    }
    EXPECT_EQ(cached.stats().prompts_cached, 3 + 3);

    // A cache too small for the prompt: every candidate prefills it itself, none waits.
    Scheduler tiny(m, {.threads = 2, .max_batch = 8, .prompt_cache_bytes = 1024});
    ASSERT_FALSE(PromptCache(1024).would_keep(*m, 9, GenerateOptions{}.kv_type));
    seqs.clear();
    for (uint64_t seed = 1; seed <= 3; ++seed) seqs.push_back(tiny.submit("JULIET:\nO", options(0.9f, seed, 25)));
    for (size_t i = 0; i < seqs.size(); ++i) {
        const Done d = drain(seqs[i]);
        expect_same(d.completion, drain(uncached.submit("JULIET:\nO", options(0.9f, i + 1, 25))).completion,
                    "uncacheable candidate " + std::to_string(i));
    }
    EXPECT_EQ(tiny.stats().prompts_cached, 0);
}

// A prompt that begins like a kept one (one system prompt, another question) copies the shared
// rows from the cache and prefills only the rest, with exactly the output it has without the
// cache; usage counts the copied positions. This model's weights are f32, so the copy is taken
// only where the kept prompt, the new one and the rest are all on one side of the GEMM's 32 rows
// (Model::same_row_arithmetic); elsewhere the prompt prefills whole.
TEST(Scheduler, PromptsSharingABeginningCopyItWithTheSameOutput) {
    auto m = shared_model();
    ASSERT_FALSE(m->same_row_arithmetic(20, 40)) << "the test wants a model with f32 weights";
    const auto tokens = [&](const std::string& text) { return m->tokenizer().encode(text); };
    const auto shared = [](const std::vector<TokenId>& a, const std::vector<TokenId>& b) {
        return static_cast<int64_t>(std::ranges::mismatch(a, b).in1 - a.begin());
    };
    Scheduler cached(m, {.threads = 2, .max_batch = 8});
    Scheduler uncached(m, {.threads = 2, .max_batch = 8, .prompt_cache_bytes = 0});
    const GenerateOptions o = options(0.9f, 3, 30);
    const auto run = [&](Scheduler& s, const std::vector<TokenId>& prompt) {
        return drain(s.submit_tokens(prompt, o)).completion;
    };
    struct Case {
        std::string kept, prompt;
        bool copies;
    };
    const std::string act = "ACT I. SCENE I. Verona. A public place.\n";  // 40 characters
    const std::vector<Case> cases = {
        {"ROMEO:\nWhat light", "ROMEO:\nBut soft", true},  // all under 32
        {act + "SAMPSON:\nGregory", act + "GREGORY:\nNo, for then we should be colliers.", true},  // all from 32
        {act + "BENVOLIO:\nPart", "ACT I. SCENE I. Padua.", false},  // the kept prompt took the GEMM
    };
    int64_t copies = 0;
    for (const Case& c : cases) {
        const std::vector<TokenId> kept = tokens(c.kept), prompt = tokens(c.prompt);
        ASSERT_GT(shared(kept, prompt), 1) << c.prompt;
        run(cached, kept);
        const Completion got = run(cached, prompt);
        expect_same(got, run(uncached, prompt), c.prompt);
        EXPECT_EQ(got.timings.n_prompt_cached, c.copies ? shared(kept, prompt) : 0) << c.prompt;
        copies += c.copies ? 1 : 0;
        EXPECT_EQ(cached.stats().prompts_prefix_cached, copies) << c.prompt;
        // The whole prompt is kept now: asked again, nothing of it runs.
        EXPECT_EQ(run(cached, prompt).timings.n_prompt_cached, static_cast<int64_t>(prompt.size())) << c.prompt;
    }
    EXPECT_EQ(cached.stats().prompts_cached, static_cast<int64_t>(cases.size()));

    // The rest folded into a batched step beside another sequence's rows (that one runs 60
    // tokens, so the short rest joins it, in the same step or the next).
    GenerateOptions longer = options(0.0f, 1, 60);
    longer.stop = {};
    const std::vector<TokenId> other = tokens("KING"), prompt = tokens("ROMEO:\nO");
    const int64_t folded = cached.stats().prompts_folded;
    const auto a = cached.submit_tokens(other, longer);
    const auto b = cached.submit_tokens(prompt, o);
    const Completion got = drain(b).completion;
    drain(a);
    expect_same(got, run(uncached, prompt), "folded rest");
    EXPECT_EQ(got.timings.n_prompt_cached, static_cast<int64_t>(prompt.size()) - 1);
    EXPECT_GT(cached.stats().prompts_folded, folded);
}

// A joining sequence's prompt runs inside the batched step (Model::forward_batch) rather than
// as a forward of its own, while the step stays within 8 rows. With room for two, the first two
// prompts join together (5 + 2 rows, BOS included; or the second one step later, beside the
// first's decode row) and the third waits until the short one leaves, then joins the long one
// mid-flight (1 + 6 rows): all three must still give the Generator's tokens, greedy and sampled.
TEST(Scheduler, PromptsFoldedIntoTheBatchGiveTheTokensAlone) {
    auto m = shared_model();
    for (float temp : {0.0f, 0.9f}) {
        const std::vector<std::string> prompts = {"KING", "A", "To be"};
        const std::vector<int> max_tokens = {60, 8, 30};
        std::vector<GenerateOptions> opts;
        std::vector<Completion> alone;
        for (size_t i = 0; i < prompts.size(); ++i) {
            opts.push_back(options(temp, 7 + i, max_tokens[i]));
            opts.back().stop = {};  // run to max_tokens: the lengths set who leaves when
            alone.push_back(generate(*m, prompts[i], opts.back()).candidates.at(0));
        }
        ASSERT_EQ(alone[1].tokens.size(), 8u) << "the short sequence must leave first";
        Scheduler sched(m, {.threads = 2, .max_batch = 2});
        std::vector<std::shared_ptr<Sequence>> seqs;
        for (size_t i = 0; i < prompts.size(); ++i) seqs.push_back(sched.submit(prompts[i], opts[i]));
        for (size_t i = 0; i < prompts.size(); ++i) {
            const Done d = drain(seqs[i]);
            expect_same(d.completion, alone[i],
                        "prompt " + std::to_string(i) + " temperature " + std::to_string(temp));
            EXPECT_EQ(d.streamed, d.completion.text);
        }
        // The first prompt folds too when the scheduler wakes after both were queued; it may
        // also start alone, one step ahead of the second.
        EXPECT_GE(sched.stats().prompts_folded, 2) << "the later prompts should have joined a batch";
        // Each prompt is read once, folded or on its own, so no count can pass the prompts.
        EXPECT_LE(sched.stats().prompts_folded, static_cast<int64_t>(prompts.size()));
    }
}

// A prompt that would take the step past 8 rows runs its own forward first, as before: the
// long prompts here never fold (the second joins while the first, with the longer run, is still
// decoding), and still give the Generator's tokens.
TEST(Scheduler, LongPromptsRunOnTheirOwnWithTheSameTokens) {
    auto m = shared_model();
    const std::vector<std::string> prompts = {"First Citizen:\n", "MENENIUS:\nWhat"};
    std::vector<GenerateOptions> opts = {options(0.0f, 1, 100), options(0.0f, 1, 20)};
    std::vector<Completion> alone;
    for (size_t i = 0; i < prompts.size(); ++i) {
        opts[i].stop = {};
        alone.push_back(generate(*m, prompts[i], opts[i]).candidates.at(0));
    }
    ASSERT_GT(alone[0].tokens.size(), 50u) << "the first sequence must outlast the second's join";
    Scheduler sched(m, {.threads = 2, .max_batch = 4});
    std::vector<std::shared_ptr<Sequence>> seqs;
    for (size_t i = 0; i < prompts.size(); ++i) seqs.push_back(sched.submit(prompts[i], opts[i]));
    for (size_t i = 0; i < prompts.size(); ++i) {
        expect_same(drain(seqs[i]).completion, alone[i], "prompt " + std::to_string(i));
    }
    EXPECT_EQ(sched.stats().prompts_folded, 0);
    EXPECT_GT(sched.stats().max_batch_seen, 1);
}

TEST(Scheduler, StopStringIsCutAndCancelEnds) {
    auto m = shared_model();
    Scheduler sched(m, {.threads = 1, .max_batch = 4});
    GenerateOptions o = options(0.0f, 1, 100);
    const Completion free_run = generate(*m, "ROMEO:\n", o).candidates.at(0);
    ASSERT_GE(free_run.text.size(), 4u);
    o.stop = {free_run.text.substr(2, 2)};
    const Done stopped = drain(sched.submit("ROMEO:\n", o));
    EXPECT_EQ(stopped.completion.finish, FinishReason::Stop);
    EXPECT_EQ(stopped.completion.text, free_run.text.substr(0, free_run.text.find(o.stop[0])));
    EXPECT_EQ(stopped.streamed, stopped.completion.text);

    GenerateOptions long_opt = options(0.8f, 2, 120);
    auto s = sched.submit("ROMEO:\n", long_opt);
    s->cancel();
    const Done d = drain(s);
    EXPECT_EQ(d.completion.finish, FinishReason::Cancelled);
    EXPECT_LT(d.completion.tokens.size(), 120u);
}

TEST(Scheduler, RejectsBadRequestsUpFront) {
    auto m = shared_model();
    Scheduler sched(m, {.threads = 1, .max_batch = 4});
    const std::string too_long(static_cast<size_t>(m->hparams().n_ctx) + 5, 'a');
    try {
        sched.submit(too_long, options(0, 0, 4));
        FAIL() << "a prompt longer than the context was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::ContextFull);
    }
    EXPECT_THROW(sched.submit("x", options(0, 0, 0)), Error);
    GenerateOptions bad = options(0.5f, 0, 4);
    bad.top_p = 2;
    EXPECT_THROW(sched.submit("x", bad), Error);
    EXPECT_THROW(sched.submit(std::string("a\xff", 2), options(0, 0, 4)), Error);
    // Token prompts: ids outside the vocabulary, an empty prompt, and a bad logit bias.
    const auto n_vocab = static_cast<TokenId>(m->hparams().n_vocab);
    for (const std::vector<TokenId>& ids : {std::vector<TokenId>{1, n_vocab}, std::vector<TokenId>{-1},
                                            std::vector<TokenId>{}}) {
        try {
            sched.submit_tokens(ids, options(0, 0, 4));
            ADD_FAILURE() << "accepted a prompt of " << ids.size() << " tokens";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
        }
    }
    GenerateOptions biased = options(0, 0, 4);
    biased.logit_bias = {{n_vocab, -100.0f}};
    EXPECT_THROW(sched.submit("x", biased), Error);
    EXPECT_EQ(sched.active(), 0);
}

// submit's halves: tokenize gives the tokens submit runs, and a token prompt with a logit bias
// gives what the Generator gives the same text with it (the bias bans the greedy choice).
TEST(Scheduler, TokenPromptsAndLogitBiasMatchTheGenerator) {
    auto m = shared_model();
    Scheduler sched(m, {.threads = 2, .max_batch = 4});
    const GenerateOptions o = options(0, 3, 20);
    const std::vector<TokenId> ids = sched.tokenize("ROMEO:\n", o);
    EXPECT_EQ(ids, m->tokenizer().encode("ROMEO:\n", true, false));
    const Done plain = drain(sched.submit_tokens(ids, o));
    expect_same(plain.completion, generate(*m, "ROMEO:\n", o).candidates.at(0), "token prompt");
    GenerateOptions ban = o;
    ban.logit_bias = {{plain.completion.tokens.at(0), -100.0f}};
    const Done banned = drain(sched.submit_tokens(ids, ban));
    expect_same(banned.completion, generate(*m, "ROMEO:\n", ban).candidates.at(0), "logit bias");
    EXPECT_NE(banned.completion.tokens.at(0), plain.completion.tokens.at(0));
    for (const TokenId t : banned.completion.tokens) EXPECT_NE(t, plain.completion.tokens.at(0));
}

// Up to Model::kExactBatchRows rows every step is exact (batched == alone); a larger batch size
// is refused rather than silently breaking that.
TEST(Scheduler, RefusesBatchSizesPastTheExactLimit) {
    auto m = shared_model();
    for (int bad : {0, static_cast<int>(model::Model::kExactBatchRows) + 1, 256}) {
        try {
            Scheduler sched(m, {.threads = 1, .max_batch = bad});
            FAIL() << "max_batch " << bad << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << bad;
            EXPECT_NE(std::string(e.what()).find("expected 1 to 31"), std::string::npos) << e.what();
        }
    }
    Scheduler ok(m, {.threads = 1, .max_batch = static_cast<int>(model::Model::kExactBatchRows)});
    EXPECT_EQ(ok.active(), 0);
}

TEST(Scheduler, ContextFullEndsWithLength) {
    auto m = shared_model();
    Scheduler sched(m, {.threads = 1, .max_batch = 4});
    const int64_t n_ctx = m->hparams().n_ctx;
    const GenerateOptions o = options(0.0f, 0, static_cast<int>(n_ctx) * 4);
    const Done d = drain(sched.submit("ROMEO:\n", o));
    expect_same(d.completion, generate(*m, "ROMEO:\n", o).candidates.at(0), "context full");
    if (d.completion.finish == FinishReason::Length) {
        // BOS + 7 prompt tokens fill 8 positions; each token after the first needs one more.
        EXPECT_EQ(static_cast<int64_t>(d.completion.tokens.size()), n_ctx - 8 + 1);
    }
}

TEST(Scheduler, LoneSequenceOfABigModelSplitsItsForwardWithTheSameResult) {
    // Over 4M parameters: a lone sequence's forward runs on the whole pool, a batch's on one
    // thread each; both must give the Generator's 1-thread tokens.
    model::InitOptions io;
    io.n_embd = 256;
    io.n_layer = 6;
    io.n_head = 4;
    io.n_ctx = 64;
    io.seed = 5;
    const auto path = std::filesystem::temp_directory_path() / "lyra-scheduler-big.gguf";
    model::init_model(io, *model::build_byte_vocab(), path.string());
    std::shared_ptr<const model::Model> m = model::Model::load(path.string());
    ASSERT_GE(m->n_params(), 4'000'000);
    const GenerateOptions greedy = options(0.0f, 0, 12);
    const GenerateOptions sampled = options(1.0f, 9, 12);
    const Completion ref_g = generate(*m, "Once", greedy).candidates.at(0);
    const Completion ref_s = generate(*m, "Once", sampled).candidates.at(0);
    Scheduler sched(m, {.threads = 2, .max_batch = 4});
    expect_same(drain(sched.submit("Once", greedy)).completion, ref_g, "alone, split forward");
    auto a = sched.submit("Once", greedy);
    auto b = sched.submit("Once", sampled);
    expect_same(drain(a).completion, ref_g, "batched greedy");
    expect_same(drain(b).completion, ref_s, "batched sampled");
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace lyra::gen
