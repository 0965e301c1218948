// Classifier-free guidance (generate/guidance.h): the combiner's arithmetic, and the Generator
// with a second session stepped in lockstep, on fake models whose logits are known: guidance 0
// is plain decoding, guidance follows what the prompt adds over the neutral one, stays under a
// grammar's mask and is deterministic per seed, and each step is one batched forward.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "generate/constraint/constraint.h"
#include "generate/constraint/grammar.h"
#include "generate/generator.h"
#include "generate/guidance.h"
#include "generate/scheduler.h"
#include "fake_byte_model.h"

namespace lyra::gen {
namespace {

// log_softmax in double, written out plainly: the reference for the combiner.
std::vector<double> log_softmax(const std::vector<float>& x) {
    double m = -std::numeric_limits<double>::infinity();
    for (float v : x) m = std::max(m, static_cast<double>(v));
    double sum = 0;
    for (float v : x) sum += std::exp(static_cast<double>(v) - m);
    std::vector<double> out;
    for (float v : x) out.push_back(static_cast<double>(v) - m - std::log(sum));
    return out;
}

TEST(GuidanceCombine, IsCondPlusScaleTimesTheDifferenceOfLogSoftmaxes) {
    const std::vector<float> cond = {1.0f, 2.0f, 3.0f, -1.0f};
    const std::vector<float> uncond = {3.0f, 2.0f, 1.0f, 0.5f};
    const auto lc = log_softmax(cond);
    const auto lu = log_softmax(uncond);
    for (float g : {0.0f, 0.5f, 1.0f, 3.0f}) {
        std::vector<float> out;
        combine_guidance(cond, uncond, g, out);
        ASSERT_EQ(out.size(), cond.size());
        for (size_t i = 0; i < cond.size(); ++i) {
            const double want = lc[i] + static_cast<double>(g) * (lc[i] - lu[i]);
            EXPECT_NEAR(out[i], want, 1e-5) << "g " << g << " token " << i;
        }
    }
    // A worked value: g = 1 doubles the conditioned log-probability and subtracts the other.
    std::vector<float> out;
    combine_guidance(cond, uncond, 1.0f, out);
    EXPECT_NEAR(out[2], 2 * lc[2] - lu[2], 1e-5);
    // Guidance moves the choice: token 2 wins over token 0 by more than without it.
    EXPECT_GT(out[2] - out[0], static_cast<float>(lc[2] - lc[0]));
}

TEST(GuidanceCombine, InfinitiesStayRuledOutOrFallBackToTheCondRow) {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> cond = {0.0f, -inf, 1.0f};
    const std::vector<float> uncond = {0.0f, 1.0f, -inf};
    std::vector<float> out;
    combine_guidance(cond, uncond, 2.0f, out);
    const auto lc = log_softmax(cond);
    EXPECT_TRUE(std::isinf(out[1]) && out[1] < 0);  // the conditioned row ruled it out
    EXPECT_NEAR(out[2], lc[2], 1e-6);                // no +inf from the unconditioned -inf
    EXPECT_TRUE(std::isfinite(out[0]));
}

TEST(GuidanceCombine, ScaleMustBeFiniteAndNotNegative) {
    EXPECT_NO_THROW(check_guidance_scale(0.0f));
    EXPECT_NO_THROW(check_guidance_scale(2.5f));
    EXPECT_THROW(check_guidance_scale(-0.5f), Error);
    EXPECT_THROW(check_guidance_scale(std::nanf("")), Error);
    EXPECT_THROW(check_guidance_scale(std::numeric_limits<float>::infinity()), Error);
    GenerateOptions opt{.max_tokens = 4};
    opt.guidance = std::nanf("");
    EXPECT_THROW(check_options(opt), Error);
}

// A fake model that reads its prompt: every position prefers 'a' (logit 5) over 'b' (4.5), and
// a prompt whose first byte is 'x' adds 0.4 to 'b', not enough to win on its own. Each session
// keeps its tokens in Session::history. It also counts forwards and batched decodes.
class SubjectModel final : public FakeByteModel {
public:
    explicit SubjectModel(bool batches = true) : FakeByteModel(64), batches_(batches) {}

    void forward(model::Session& s, std::span<const TokenId> tokens, core::ThreadPool&,
                 std::vector<float>& logits, bool) const override {
        ++n_forward;
        row(s, tokens, logits);
    }

    void decode_batch(std::span<model::Session* const> sessions, std::span<const TokenId> tokens,
                      core::ThreadPool&, std::vector<float>& logits) const override {
        ++n_batches;
        max_rows = std::max(max_rows, static_cast<int>(sessions.size()));
        const auto V = static_cast<size_t>(hparams_.n_vocab);
        logits.resize(sessions.size() * V);
        std::vector<float> one;
        for (size_t i = 0; i < sessions.size(); ++i) {
            row(*sessions[i], tokens.subspan(i, 1), one);
            std::copy(one.begin(), one.end(), logits.begin() + static_cast<std::ptrdiff_t>(i * V));
        }
    }
    bool batches_decode() const override { return batches_; }

    mutable int n_forward = 0;
    mutable int n_batches = 0;
    mutable int max_rows = 0;

private:
    void row(model::Session& s, std::span<const TokenId> tokens, std::vector<float>& logits) const {
        if (static_cast<int64_t>(tokens.size()) > s.n_free()) throw_error(ErrorKind::ContextFull, "fake: full");
        auto& h = s.history();
        h.resize(static_cast<size_t>(s.n_past()));
        h.insert(h.end(), tokens.begin(), tokens.end());
        s.advance(static_cast<int64_t>(tokens.size()));
        logits.assign(static_cast<size_t>(hparams_.n_vocab), 0.0f);
        // small position-dependent noise, so sampling has choices and positions matter
        for (size_t i = 0; i < logits.size(); ++i) {
            const uint64_t k = (static_cast<uint64_t>(s.n_past()) * 1000003u + i) * 0x9e3779b97f4a7c15ull;
            logits[i] = static_cast<float>(k >> 40) / 16777216.0f * 0.5f;
        }
        logits[static_cast<size_t>(id_of('a'))] = 5.0f;
        logits[static_cast<size_t>(id_of('b'))] = 4.5f;
        if (h.size() > 1 && h[1] == id_of('x')) logits[static_cast<size_t>(id_of('b'))] += 0.4f;
    }
    bool batches_;
};

// Plain sampling from the whole distribution (no truncation), so every token can be drawn.
GenerateOptions sampled(int max_tokens, float temperature, uint64_t seed, int n = 1) {
    return {.max_tokens = max_tokens, .temperature = temperature, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
            .seed = seed, .n_candidates = n};
}

// `base` (greedy, 6 tokens unless given) with guidance scale g against the neutral prompt.
GenerateOptions guided(float g, std::string neutral,
                       GenerateOptions base = {.max_tokens = 6, .temperature = 0.0f}) {
    base.guidance = g;
    base.guidance_prompt = std::move(neutral);
    return base;
}

TEST(Guidance, ZeroIsPlainDecodingBitForBit) {
    SubjectModel m;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    const GenerateOptions plain = sampled(12, 0.9f, 3, 2);
    GenerateOptions zero = plain;
    zero.guidance = 0.0f;
    zero.guidance_prompt = "y";  // ignored at 0: no second session is made
    const auto a = gen.run("x", plain);
    const int forwards = m.n_forward;
    const auto b = gen.run("x", zero);
    ASSERT_EQ(a.candidates.size(), b.candidates.size());
    for (size_t i = 0; i < a.candidates.size(); ++i) {
        EXPECT_EQ(a.candidates[i].tokens, b.candidates[i].tokens);
        EXPECT_EQ(a.candidates[i].token_logprobs, b.candidates[i].token_logprobs);  // exact floats
        EXPECT_EQ(a.candidates[i].text, b.candidates[i].text);
    }
    EXPECT_EQ(m.n_forward, 2 * forwards);  // the same work, no extra session
    EXPECT_EQ(m.n_batches, 0);
    EXPECT_EQ(a.sampler, b.sampler);
}

TEST(Guidance, PushesTowardsWhatThePromptAddsOverTheNeutralOne) {
    SubjectModel m;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    // Unguided, 'a' always wins; the prompt "x" raises 'b' by 0.4 over the neutral "y", and
    // guidance 2 turns that into 1.2 more, enough to beat 'a' (5 vs 4.9 + 0.8).
    EXPECT_EQ(gen.run("x", guided(0.0f, "y")).candidates[0].text, "aaaaaa");
    const auto r = gen.run("x", guided(2.0f, "y"));
    EXPECT_EQ(r.candidates[0].text, "bbbbbb");
    EXPECT_EQ(r.sampler, "guidance 2 -> greedy");
    // The recorded log-probabilities stay the model's own (conditioned) ones.
    EXPECT_LT(r.candidates[0].token_logprobs[0], std::log(0.5f));
    // A neutral prompt that is the prompt itself changes nothing.
    EXPECT_EQ(gen.run("x", guided(2.0f, "x")).candidates[0].text, "aaaaaa");
    // Neither does a prompt that adds nothing over its neutral one.
    EXPECT_EQ(gen.run("z", guided(2.0f, "y")).candidates[0].text, "aaaaaa");
}

TEST(Guidance, EachStepIsOneBatchedForwardOfTwoRows) {
    SubjectModel m;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    const auto r = gen.run("x", guided(1.0f, "y", {.max_tokens = 9, .temperature = 0.0f}));
    ASSERT_EQ(r.candidates[0].tokens.size(), 9u);
    EXPECT_EQ(m.n_forward, 2);  // the two prompts' prefills only
    EXPECT_EQ(m.n_batches, 8);  // the first token samples from the prompts' rows
    EXPECT_EQ(m.max_rows, 2);
}

TEST(Guidance, DeterministicPerSeedAndCandidatesMatchSingleRuns) {
    SubjectModel m;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    const GenerateOptions opt = guided(1.5f, "y", sampled(16, 1.0f, 40, 3));
    const auto a = gen.run("x", opt);
    const auto b = gen.run("x", opt);
    ASSERT_EQ(a.candidates.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(a.candidates[i].tokens, b.candidates[i].tokens) << i;
    // Candidate 2 (seed 42) re-used the neutral prompt's cache; a fresh run with seed 42 agrees.
    GenerateOptions one = opt;
    one.seed = 42;
    one.n_candidates = 1;
    EXPECT_EQ(gen.run("x", one).candidates[0].tokens, a.candidates[2].tokens);
    // Some draws differ between seeds (the sampler really samples).
    EXPECT_NE(a.candidates[0].tokens, a.candidates[1].tokens);
}

TEST(Guidance, StreamsTheSameTextAndCancels) {
    SubjectModel m;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    const GenerateOptions opt = guided(2.0f, "y", sampled(12, 1.0f, 5, 2));
    std::string streamed[2];
    const auto r = gen.run("x", opt, [&](int i, std::string_view piece) {
        streamed[i].append(piece);
        return true;
    });
    ASSERT_EQ(r.candidates.size(), 2u);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(streamed[i], r.candidates[static_cast<size_t>(i)].text) << i;
    int pieces = 0;
    const auto cut = gen.run("x", opt, [&](int, std::string_view) { return ++pieces < 3; });
    ASSERT_EQ(cut.candidates.size(), 1u);
    EXPECT_EQ(cut.candidates[0].finish, FinishReason::Cancelled);
    EXPECT_EQ(cut.candidates[0].text, r.candidates[0].text.substr(0, 3));
}

TEST(Guidance, ANonBatchingModelGivesTheSameTokens) {
    SubjectModel batched(true), looped(false);
    core::ThreadPool pool(1);
    const GenerateOptions opt = guided(3.0f, "y", sampled(10, 1.0f, 9));
    Generator g1(batched, pool), g2(looped, pool);
    EXPECT_EQ(g1.run("x", opt).candidates[0].tokens, g2.run("x", opt).candidates[0].tokens);
}

TEST(Guidance, TheGrammarMaskAppliesToTheGuidedRow) {
    SubjectModel m;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    auto trie = std::make_shared<const constraint::TokenTrie>(m.tokenizer());
    // Neither 'a' nor 'b' (the model's favourites) is allowed after the first bracket.
    auto grammar = std::make_shared<const constraint::Grammar>(
        constraint::compile_gbnf("root ::= \"[\" [c-z]+ \"]\"", "test"));
    for (uint64_t seed : {1u, 2u, 3u}) {
        constraint::GrammarConstraint c(grammar, trie, {.max_tokens = 10});
        GenerateOptions opt = guided(4.0f, "y", sampled(10, 1.0f, seed));
        opt.constraint = &c;
        const auto r = gen.run("x", opt);
        const std::string& t = r.candidates[0].text;
        EXPECT_TRUE(c.is_accepting()) << t;  // complete inside the 10-token budget
        ASSERT_GE(t.size(), 3u) << t;
        EXPECT_EQ(t.front(), '[');
        EXPECT_EQ(t.back(), ']');
        for (size_t i = 1; i + 1 < t.size(); ++i) EXPECT_TRUE(t[i] >= 'c' && t[i] <= 'z') << t;
        EXPECT_LE(r.candidates[0].tokens.size(), 10u);
    }
}

TEST(Guidance, AFullNeutralSessionEndsGuidanceNotTheCandidate) {
    SubjectModel m;  // context 64
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    // The neutral prompt (BOS + 50 bytes) leaves 13 positions; the candidate runs 30 tokens:
    // guided ('b') while the neutral session has room (the first token from the prompts' rows,
    // then 13 decodes), then plain ('a').
    const auto r = gen.run("x", guided(2.0f, std::string(50, 'y'), {.max_tokens = 30, .temperature = 0.0f}));
    EXPECT_EQ(r.candidates[0].text, std::string(14, 'b') + std::string(16, 'a'));
    EXPECT_EQ(r.candidates[0].finish, FinishReason::Length);
}

TEST(Guidance, BadNeutralPromptIsRefused) {
    SubjectModel m;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    EXPECT_THROW(gen.run("x", guided(1.0f, "bad \xff")), Error);
    EXPECT_THROW(gen.run("x", guided(-1.0f, "y")), Error);
}

TEST(Guidance, TheBatchingSchedulerRefusesItInsteadOfIgnoringIt) {
    auto m = std::make_shared<SubjectModel>();
    Scheduler sched(m, {.threads = 1});
    GenerateOptions opt{.max_tokens = 4};
    opt.guidance = 1.0f;
    try {
        sched.submit("x", opt);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
        EXPECT_NE(std::string(e.what()).find("guidance"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lyra::gen
