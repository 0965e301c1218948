// The Generator loop over a scripted fake model: its logits favour the next character of a
// fixed script (position p -> script[p]), with small pseudo-random values elsewhere, so greedy
// output is known exactly and sampling still has choices.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "generate/generator.h"
#include "generate/result_json.h"
#include "fake_byte_model.h"
#include "fixtures/random_byte_model.h"
#include "fixtures/scratch_dir.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::gen {
namespace {

class ScriptModel final : public FakeByteModel {
public:
    // Position p (0-based, counting the prompt's BOS) prefers script[p % size]; position
    // eos_at (if >= 0) prefers EOS instead.
    explicit ScriptModel(std::string script, int64_t n_ctx = 32, int64_t eos_at = -1)
        : FakeByteModel(n_ctx), script_(std::move(script)), eos_at_(eos_at) {}

    void forward(model::Session& s, std::span<const TokenId> tokens, core::ThreadPool&,
                 std::vector<float>& logits, bool) const override {
        if (static_cast<int64_t>(tokens.size()) > s.n_free()) {
            throw_error(ErrorKind::ContextFull, "fake: context full");
        }
        seen_kv = s.kv_type();
        s.advance(static_cast<int64_t>(tokens.size()));
        const int64_t pos = s.n_past();  // position of the token these logits predict
        logits.assign(static_cast<size_t>(hparams_.n_vocab), 0.0f);
        for (size_t i = 0; i < logits.size(); ++i) {
            const uint64_t h = (static_cast<uint64_t>(pos) * 1000003u + i) * 0x9e3779b97f4a7c15ull;
            logits[i] = static_cast<float>(h >> 40) / 16777216.0f;  // [0, 1)
        }
        const TokenId want = pos == eos_at_ ? tokenizer_->eos() : id_of(script_[static_cast<size_t>(pos) % script_.size()]);
        logits[static_cast<size_t>(want)] += 8.0f;
    }

    mutable core::DType seen_kv = core::DType::Q8_0;  // the last forward's session KV type

private:
    std::string script_;
    int64_t eos_at_;
};

GenerateOptions greedy(int max_tokens) { return {.max_tokens = max_tokens, .temperature = 0.0f}; }

// The script text a greedy run prints: from the position after the prompt (BOS + bytes).
std::string script_from(const std::string& script, size_t prompt_bytes, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += script[(prompt_bytes + 1 + i) % script.size()];
    return out;
}

TEST(Generator, GreedyFollowsTheModelsArgmax) {
    const std::string script = "0123456789abcdefghijklmnopqrstuvwxyz";
    ScriptModel m(script);
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    const auto r = gen.run("hi", greedy(5));
    ASSERT_EQ(r.candidates.size(), 1u);
    EXPECT_EQ(r.candidates[0].text, script_from(script, 2, 5));  // "3456" + "7"
    EXPECT_EQ(r.candidates[0].finish, FinishReason::Length);
    EXPECT_EQ(r.candidates[0].tokens.size(), 5u);
    EXPECT_EQ(r.timings.n_prompt, 3);  // BOS + 'h' + 'i'
    EXPECT_EQ(r.timings.n_gen, 5);
    EXPECT_EQ(r.sampler, "greedy");
}

// GenerateOptions.kv_type reaches the session (f16 by default), and a type the cache cannot
// hold is refused up front with the option's name.
TEST(Generator, SessionGetsTheRequestedKvType) {
    ScriptModel m("0123456789");
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    EXPECT_EQ(GenerateOptions{}.kv_type, core::DType::F16);
    (void)gen.run("hi", greedy(2));
    EXPECT_EQ(m.seen_kv, core::DType::F16);
    GenerateOptions o = greedy(2);
    o.kv_type = core::DType::F32;
    (void)gen.run("hi", o);
    EXPECT_EQ(m.seen_kv, core::DType::F32);
    o.kv_type = core::DType::BF16;
    try {
        (void)gen.run("hi", o);
        ADD_FAILURE() << "a BF16 KV cache was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("kv type"), std::string::npos) << e.what();
    }
}

TEST(Generator, RecordsEachTokensLogProbabilityUnderTheModel) {
    ScriptModel m("0123456789");
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    const auto r = gen.run("hi", greedy(4));
    const Completion& c = r.candidates.at(0);
    ASSERT_EQ(c.token_logprobs.size(), c.tokens.size());
    // The favoured token has logit ~8 + [0,1) against 255 others in [0,1): p > e^7 / (e^7 + 256).
    for (const float lp : c.token_logprobs) {
        EXPECT_LT(lp, 0.0f);
        EXPECT_GT(static_cast<double>(lp), std::log(std::exp(7.0) / (std::exp(7.0) + 256.0)));
    }
    double sum = 0;
    for (const float lp : c.token_logprobs) sum += static_cast<double>(lp);
    EXPECT_NEAR(c.logprob_sum(), sum, 1e-9);
}

TEST(Generator, TopLogprobsListTheMostLikelyTokensOfEachStep) {
    ScriptModel m("0123456789");
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    GenerateOptions o = greedy(4);
    o.top_logprobs = 3;
    const Completion c = gen.run("hi", o).candidates.at(0);
    ASSERT_EQ(c.top_logprobs.size(), c.tokens.size());
    for (size_t k = 0; k < c.tokens.size(); ++k) {
        const auto& top = c.top_logprobs[k];
        ASSERT_EQ(top.size(), 3u);
        // Greedy picks the most likely token: it heads the list with the same log-probability.
        EXPECT_EQ(top[0].id, c.tokens[k]);
        EXPECT_EQ(top[0].logprob, c.token_logprobs[k]);
        EXPECT_GE(top[0].logprob, top[1].logprob);
        EXPECT_GE(top[1].logprob, top[2].logprob);
        EXPECT_NE(top[1].id, top[2].id);
    }
    // The same log-probabilities as recording the chosen token alone, and none without asking.
    o.top_logprobs = 0;
    const Completion plain = gen.run("hi", o).candidates.at(0);
    EXPECT_EQ(plain.token_logprobs, c.token_logprobs);
    EXPECT_TRUE(plain.top_logprobs.empty());
    o.top_logprobs = 21;
    EXPECT_THROW(gen.run("hi", o), Error);
}

TEST(Generator, RecordTokenRanksByLogitThenId) {
    // Against a direct computation: softmax over five logits, two of them tied.
    const std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
    Completion c;
    record_token(logits, 4, 4, c);
    double z = 0;
    for (float x : logits) z += std::exp(static_cast<double>(x));
    const auto lp = [&](int i) {
        return static_cast<float>(static_cast<double>(logits[static_cast<size_t>(i)]) - std::log(z));
    };
    ASSERT_EQ(c.tokens, std::vector<TokenId>({4}));
    EXPECT_NEAR(c.token_logprobs[0], lp(4), 1e-6);
    ASSERT_EQ(c.top_logprobs.size(), 1u);
    const std::vector<TokenId> want = {1, 3, 0, 4};  // the tie 1/3 by smaller id first
    ASSERT_EQ(c.top_logprobs[0].size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ(c.top_logprobs[0][k].id, want[k]);
        EXPECT_NEAR(c.top_logprobs[0][k].logprob, lp(want[k]), 1e-6);
    }
    Completion few;
    record_token(std::span(logits).first(2), 0, 5, few);  // k past the vocabulary: all of it
    EXPECT_EQ(few.top_logprobs[0].size(), 2u);
}

// score_prompt: each token's log-probability after the ones before it is what a step-by-step
// decode gives for that token, across the 64-position chunks of its forward (a 150-token
// prompt of a random llama), with the K likeliest tokens of each position beside it.
TEST(ScorePrompt, MatchesTheLogprobsOfStepByStepDecoding) {
    const test::ScratchDir dir("lyra-score-prompt");
    const auto m = test::random_byte_model((dir.path() / "m.gguf").string(), {.n_ctx = 256});
    std::vector<TokenId> tokens;
    for (int i = 0; i < 150; ++i) tokens.push_back(static_cast<TokenId>((i * 37 + 11) % 256));
    core::ThreadPool pool(2);
    const Completion scored = score_prompt(*m, tokens, 3, pool, core::DType::F32);
    ASSERT_EQ(scored.tokens, std::vector<TokenId>(tokens.begin() + 1, tokens.end()));
    ASSERT_EQ(scored.token_logprobs.size(), tokens.size() - 1);
    ASSERT_EQ(scored.top_logprobs.size(), tokens.size() - 1);

    model::Session s(*m, 256, core::DType::F32);
    std::vector<float> logits;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
        m->forward(s, std::span(&tokens[i], 1), pool, logits);
        // One row at a time against 64: the same arithmetic up to the blocked GEMM's summation order.
        EXPECT_NEAR(scored.token_logprobs[i], token_logprob(logits, tokens[i + 1]), 1e-4) << i;
        const auto& top = scored.top_logprobs[i];
        ASSERT_EQ(top.size(), 3u);
        EXPECT_GE(top[0].logprob, top[1].logprob);
        EXPECT_GE(top[0].logprob, scored.token_logprobs[i] - 1e-6f);
        EXPECT_NEAR(top[0].logprob, token_logprob(logits, top[0].id), 1e-4) << i;
    }
    // One token has nothing to score; no alternatives unless asked.
    EXPECT_TRUE(score_prompt(*m, std::span(tokens).first(1), 3, pool, core::DType::F32).tokens.empty());
    EXPECT_TRUE(score_prompt(*m, std::span(tokens).first(5), 0, pool, core::DType::F16).top_logprobs.empty());
    // Too long for the context: the forward's own error, nothing half done.
    std::vector<TokenId> too_long(300, 5);
    try {
        (void)score_prompt(*m, too_long, 0, pool, core::DType::F32);
        ADD_FAILURE() << "a 300-token prompt was scored in a 256-token context";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::ContextFull);
    }
}

TEST(ScorePrompt, AModelWithoutAPlainDecoderForwardIsUnsupported) {
    ScriptModel m("0123456789");
    core::ThreadPool pool(1);
    try {
        (void)score_prompt(m, std::vector<TokenId>{1, 2, 3}, 0, pool, core::DType::F32);
        ADD_FAILURE() << "scored";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    }
}

TEST(Generator, StopStringAcrossTokensIsCutFromTheText) {
    ScriptModel m("xxxhello world. again and again");
    const auto r = generate(m, "ab", {.max_tokens = 40, .temperature = 0.0f, .stop = {"ld."}});
    EXPECT_EQ(r.candidates[0].text, "hello wor");
    EXPECT_EQ(r.candidates[0].finish, FinishReason::Stop);
}

TEST(Generator, EndOfGenerationTokenFinishesWithEos) {
    ScriptModel m("xxxabcdefghijklmnop", 32, /*eos_at=*/6);
    const auto r = generate(m, "ab", greedy(20));
    EXPECT_EQ(r.candidates[0].text, "abc");  // positions 3, 4, 5, then EOS at 6
    EXPECT_EQ(r.candidates[0].finish, FinishReason::Eos);
    EXPECT_EQ(r.candidates[0].tokens.back(), m.tokenizer().eos());
}

TEST(Generator, StreamedPiecesJoinToTheTextAndCanCancel) {
    ScriptModel m("0123456789abcdefghijklmnopqrstuvwxyz");
    std::string streamed;
    const auto r = generate(m, "hi", greedy(10), [&](int cand, std::string_view piece) {
        EXPECT_EQ(cand, 0);
        streamed += piece;
        return true;
    });
    EXPECT_EQ(streamed, r.candidates[0].text);

    int calls = 0;
    const auto c = generate(m, "hi", {.max_tokens = 10, .temperature = 0.0f, .n_candidates = 3},
                            [&](int, std::string_view) { return ++calls < 3; });
    ASSERT_EQ(c.candidates.size(), 1u);  // the cancel ends the whole request
    EXPECT_EQ(c.candidates[0].finish, FinishReason::Cancelled);
    EXPECT_EQ(c.candidates[0].text, "345");
}

TEST(Generator, NeverStreamsHalfACharacter) {
    // "é" is two byte tokens in a byte vocabulary; "€" three.
    ScriptModel m("xxxé€é€é€é€");
    std::vector<std::string> pieces;
    const auto r = generate(m, "ab", greedy(12), [&](int, std::string_view p) {
        pieces.emplace_back(p);
        return true;
    });
    EXPECT_EQ(r.candidates[0].text, "é€é€é");  // 2+3+2+3+2 = 12 byte tokens
    for (const auto& p : pieces) EXPECT_FALSE(find_invalid_utf8(p).has_value()) << p;
}

TEST(Generator, CandidatesReusePromptAndDrawWithSeedPlusI) {
    ScriptModel m("0123456789abcdefghijklmnopqrstuvwxyz");
    const GenerateOptions opt = {.max_tokens = 12, .temperature = 1.5f, .top_k = 0,
                                 .top_p = 1.0f, .min_p = 0.0f, .seed = 100, .n_candidates = 3};
    const auto many = generate(m, "hi", opt);
    ASSERT_EQ(many.candidates.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        GenerateOptions one = opt;
        one.n_candidates = 1;
        one.seed = opt.seed + static_cast<uint64_t>(i);
        const auto single = generate(m, "hi", one);
        EXPECT_EQ(many.candidates[static_cast<size_t>(i)].tokens, single.candidates[0].tokens) << i;
        EXPECT_EQ(many.candidates[static_cast<size_t>(i)].seed, one.seed);
    }
    EXPECT_NE(many.candidates[0].tokens, many.candidates[1].tokens);
}

TEST(Generator, SameSeedSameTextAnyThreadCount) {
    ScriptModel m("0123456789abcdefghijklmnopqrstuvwxyz");
    GenerateOptions opt = {.max_tokens = 16, .temperature = 3.0f, .top_k = 0, .top_p = 1.0f,
                           .min_p = 0.0f, .seed = 9};
    opt.threads = 1;
    const auto a = generate(m, "hi", opt);
    opt.threads = 2;
    const auto b = generate(m, "hi", opt);
    EXPECT_EQ(a.candidates[0].tokens, b.candidates[0].tokens);
    opt.seed = 10;
    const auto c = generate(m, "hi", opt);
    EXPECT_NE(a.candidates[0].tokens, c.candidates[0].tokens);
}

TEST(Generator, StopsAtTheEndOfTheContextWithLength) {
    ScriptModel m("0123456789abcdefghijklmnopqrstuvwxyz", /*n_ctx=*/16);
    const auto r = generate(m, "hi", greedy(100));
    // 3 prompt tokens; the first new token comes from the prompt's logits, then 13 more fill
    // positions 3..15.
    EXPECT_EQ(r.candidates[0].tokens.size(), 16u - 3u + 1u);
    EXPECT_EQ(r.candidates[0].finish, FinishReason::Length);
}

ErrorKind kind_of(const ScriptModel& m, std::string_view prompt, const GenerateOptions& o,
                  std::string* msg = nullptr) {
    try {
        (void)generate(m, prompt, o);
    } catch (const Error& e) {
        if (msg) *msg = e.what();
        return e.kind();
    }
    ADD_FAILURE() << "no error";
    return ErrorKind::Io;
}

TEST(Generator, RejectsBadRequests) {
    ScriptModel m("abc", /*n_ctx=*/8);
    std::string msg;
    EXPECT_EQ(kind_of(m, "hi", greedy(0)), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of(m, "hi", {.max_tokens = 4, .n_candidates = 0}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of(m, "hi", {.max_tokens = 4, .top_p = 2.0f}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of(m, "0123456789", greedy(4), &msg), ErrorKind::ContextFull);
    EXPECT_NE(msg.find("expected at most 7 tokens"), std::string::npos) << msg;
    EXPECT_NE(msg.find("got 11 tokens"), std::string::npos) << msg;
    EXPECT_EQ(kind_of(m, "ab\xff", greedy(4), &msg), ErrorKind::InvalidArgument);
    EXPECT_NE(msg.find("byte offset 2"), std::string::npos) << msg;
}

TEST(Utf8, FindsTheFirstInvalidByte) {
    EXPECT_FALSE(find_invalid_utf8("plain ascii, 春眠不觉晓, 🎵").has_value());
    EXPECT_EQ(find_invalid_utf8("ab\x80"), 2u);             // stray continuation byte
    EXPECT_EQ(find_invalid_utf8("a\xe6\x98"), 1u);          // truncated 3-byte sequence
    EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);           // overlong '/'
    EXPECT_EQ(find_invalid_utf8("x\xed\xa0\x80"), 1u);      // UTF-16 surrogate
    EXPECT_EQ(find_invalid_utf8("xy\xf4\x90\x80\x80"), 2u); // past U+10FFFF
    EXPECT_EQ(find_invalid_utf8("\xff"), 0u);
}

}  // namespace
}  // namespace lyra::gen

namespace lyra::gen {
namespace {

// Recorded options read as typed and still give back the very floats of the run.
TEST(ResultJson, FloatOptionsAreTheShortestDecimalsThatReadBack) {
    GenerateOptions o;
    o.temperature = 0.7f;
    o.top_p = 0.95f;
    o.min_p = 0.05f;
    o.repeat_penalty = 1.1f;
    const nlohmann::json j = options_to_json(o);
    EXPECT_EQ(j["min_p"].dump(), "0.05");
    EXPECT_EQ(j["temperature"].dump(), "0.7");
    EXPECT_EQ(j["repeat_penalty"].dump(), "1.1");
    EXPECT_EQ(j["top_p"].get<float>(), 0.95f);
    EXPECT_EQ(j["min_p"].get<float>(), 0.05f);
    for (float f : {1e-7f, 0.1f, 1.0f / 3.0f, 123456.79f, 3.4e38f})
        EXPECT_EQ(float_json(f).get<float>(), f) << f;
}

}  // namespace
}  // namespace lyra::gen
