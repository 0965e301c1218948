// Model loading, sessions and forward-pass invariants on small random models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "model/model.h"
#include "model_test_util.h"

namespace lyra::model {
namespace {

using testing::Edits;
using testing::TempDir;
using testing::rewrite_gguf;
using testing::small_options;
using testing::write_small_model;

// Runs f and returns the Error it throws (failing the test if it doesn't).
template <typename F>
Error catch_error(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected lyra::Error";
    return Error(ErrorKind::Io, "");
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    double diff = 0.0, scale = 1e-30;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    return diff / scale;
}

const std::vector<TokenId> kPrompt = {1, 84, 104, 101, 32, 116, 105, 100, 101, 32, 115, 97};

TEST(ModelLoad, ReportsEveryMissingAndMisshapenTensorByName) {
    TempDir dir;
    const auto good = write_small_model(dir, small_options(Arch::Llama));
    const auto bad = dir.file("bad.gguf");
    rewrite_gguf(good, bad, {.tensor = [](const std::string& name, const core::Tensor& t) -> std::optional<core::Tensor> {
        if (name == "blk.1.ffn_gate.weight") return std::nullopt;
        core::Tensor r = t;
        if (name == "blk.0.ffn_up.weight") std::swap(r.shape[0], r.shape[1]);  // [64, 128]
        return r;
    }});
    const Error e = catch_error([&] { Model::load(bad); });
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("tensor 'blk.0.ffn_up.weight' has shape [64, 128], expected [128, 64]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tensor 'blk.1.ffn_gate.weight' is missing"), std::string::npos) << msg;
    EXPECT_NE(msg.find(bad), std::string::npos) << msg;
}

TEST(ModelLoad, RejectsUnknownArchitecture) {
    TempDir dir;
    const auto good = write_small_model(dir, small_options(Arch::Llama));
    const auto bad = dir.file("bad.gguf");
    rewrite_gguf(good, bad, {.meta = [](GgufWriter& w) { w.set_string("general.architecture", "mamba"); }});
    const Error e = catch_error([&] { Model::load(bad); });
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("unknown architecture 'mamba'"), std::string::npos) << e.what();
}

TEST(ModelLoad, RejectsHeadCountsThatDoNotDivide) {
    TempDir dir;
    const auto good = write_small_model(dir, small_options(Arch::Llama));
    const auto bad = dir.file("bad.gguf");
    rewrite_gguf(good, bad, {.meta = [](GgufWriter& w) { w.set_u32("llama.attention.head_count_kv", 3); }});
    const Error e = catch_error([&] { Model::load(bad); });
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find("4 heads, 3 key/value heads"), std::string::npos) << e.what();
}

TEST(ModelLoad, RejectsShapesThatDisagreeWithHyperparameters) {
    TempDir dir;
    const auto good = write_small_model(dir, small_options(Arch::Gpt2));
    const auto bad = dir.file("bad.gguf");
    rewrite_gguf(good, bad, {.meta = [](GgufWriter& w) { w.set_u32("gpt2.feed_forward_length", 96); }});
    const Error e = catch_error([&] { Model::load(bad); });
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find("tensor 'blk.0.ffn_up.weight' has shape [128, 64], expected [96, 64]"),
              std::string::npos) << e.what();
}

TEST(ModelLoad, NamesAMissingHyperparameterKey) {
    TempDir dir;
    const auto good = write_small_model(dir, small_options(Arch::Qwen2));
    const auto bad = dir.file("bad.gguf");
    rewrite_gguf(good, bad, {.meta = [](GgufWriter& w) { w.set_string("general.architecture", "llama"); }});
    const Error e = catch_error([&] { Model::load(bad); });
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find("'llama.context_length'"), std::string::npos) << e.what();
}

TEST(ModelLoad, ReadsHyperparametersAndTiesTheOutputHeadWhenAbsent) {
    TempDir dir;
    auto o = small_options(Arch::Llama);
    o.tied_output = true;
    const auto m = Model::load(write_small_model(dir, o));
    const HParams& h = m->hparams();
    EXPECT_EQ(h.arch, Arch::Llama);
    EXPECT_EQ(h.n_embd, 64);
    EXPECT_EQ(h.n_head, 4);
    EXPECT_EQ(h.n_head_kv, 2);
    EXPECT_EQ(h.head_dim, 16);
    EXPECT_EQ(h.n_ff, 128);
    EXPECT_EQ(h.n_ctx, 32);
    EXPECT_EQ(h.n_vocab, m->tokenizer().n_vocab());
    EXPECT_EQ(h.rope.n_rot, 16);
    EXPECT_EQ(h.rope.style, core::RopeStyle::Interleaved);
    EXPECT_TRUE(h.tied_output);
    EXPECT_FALSE(Model::load(write_small_model(dir, small_options(Arch::Llama), "u.gguf"))->hparams().tied_output);
    EXPECT_EQ(Model::load(write_small_model(dir, small_options(Arch::Qwen2), "q.gguf"))->hparams().rope.style,
              core::RopeStyle::Neox);
}

TEST(ModelLoad, LinearRopeScalingSetsFrequencyScale) {
    TempDir dir;
    const auto good = write_small_model(dir, small_options(Arch::Llama));
    const auto scaled = dir.file("scaled.gguf");
    rewrite_gguf(good, scaled, {.meta = [](GgufWriter& w) {
        w.set_string("llama.rope.scaling.type", "linear");
        w.set_f32("llama.rope.scaling.factor", 4.0f);
    }});
    EXPECT_FLOAT_EQ(Model::load(scaled)->hparams().rope.freq_scale, 0.25f);
}

TEST(ModelLoad, CountsParameters) {
    TempDir dir;
    const auto m = Model::load(write_small_model(dir, small_options(Arch::Llama)));
    const int64_t C = 64, F = 128, V = m->hparams().n_vocab, kv = 2 * 16;
    const int64_t per_layer = 2 * C + C * C + 2 * kv * C + C * C + 3 * F * C;
    EXPECT_EQ(m->n_params(), 2 * V * C + C + 2 * per_layer);
}

TEST(Session, ContextFullLeavesTheSessionUntouched) {
    TempDir dir;
    const auto m = Model::load(write_small_model(dir, small_options(Arch::Llama)));
    core::ThreadPool pool(2);
    Session s(*m, 8);
    std::vector<float> logits;
    m->forward(s, std::span(kPrompt).first(6), pool, logits);
    const std::vector<float> before = logits;
    const Error e = catch_error([&] { m->forward(s, std::span(kPrompt).first(3), pool, logits); });
    EXPECT_EQ(e.kind(), ErrorKind::ContextFull);
    EXPECT_NE(std::string(e.what()).find("6 of 8"), std::string::npos) << e.what();
    EXPECT_EQ(s.n_past(), 6);
    EXPECT_EQ(logits, before);
    m->forward(s, std::span(kPrompt).subspan(6, 2), pool, logits);
    EXPECT_EQ(s.n_past(), 8);
    EXPECT_EQ(s.n_free(), 0);
}

TEST(Session, RejectsTokensOutsideTheVocabulary) {
    TempDir dir;
    const auto m = Model::load(write_small_model(dir, small_options(Arch::Gpt2)));
    core::ThreadPool pool(1);
    Session s(*m);
    std::vector<float> logits;
    const std::vector<TokenId> bad = {1, static_cast<TokenId>(m->hparams().n_vocab)};
    EXPECT_EQ(catch_error([&] { m->forward(s, bad, pool, logits); }).kind(), ErrorKind::InvalidArgument);
    EXPECT_EQ(s.n_past(), 0);
}

TEST(Session, Gpt2ContextCannotExceedLearnedPositions) {
    TempDir dir;
    const auto m = Model::load(write_small_model(dir, small_options(Arch::Gpt2)));
    EXPECT_EQ(catch_error([&] { Session s(*m, 64); }).kind(), ErrorKind::InvalidArgument);
}

class ForwardInvariants : public ::testing::TestWithParam<Arch> {};

TEST_P(ForwardInvariants, PrefillMatchesTokenByTokenDecode) {
    TempDir dir;
    const auto m = Model::load(write_small_model(dir, small_options(GetParam())));
    core::ThreadPool pool(2);
    Session a(*m), b(*m);
    std::vector<float> all, step, stepped;
    m->forward(a, kPrompt, pool, all, true);
    ASSERT_EQ(all.size(), kPrompt.size() * static_cast<size_t>(m->hparams().n_vocab));
    for (TokenId t : kPrompt) {
        m->forward(b, std::span(&t, 1), pool, step);
        stepped.insert(stepped.end(), step.begin(), step.end());
    }
    EXPECT_LT(max_rel_diff(stepped, all), 1e-4);
    EXPECT_EQ(a.n_past(), b.n_past());
}

// A prompt long enough for the float GEMM path (>= 32 tokens) and for the per-token steps
// (norms, rotary embedding, SwiGLU, residual adds) to be split between threads: the logits are
// bit-identical for every thread count, and agree with decoding the tokens one at a time.
TEST_P(ForwardInvariants, LongPromptIsTheSameForEveryThreadCountAndMatchesDecode) {
    TempDir dir;
    InitOptions o = small_options(GetParam());
    o.n_ctx = 64;
    const auto m = Model::load(write_small_model(dir, o));
    std::vector<TokenId> prompt;
    for (TokenId i = 0; i < 50; ++i) prompt.push_back(1 + (7 * i + 3) % 200);
    std::vector<float> one;
    {
        core::ThreadPool pool(1);
        Session s(*m);
        m->forward(s, prompt, pool, one, true);
    }
    for (int threads : {2, 3}) {
        core::ThreadPool pool(threads);
        Session s(*m);
        std::vector<float> all;
        m->forward(s, prompt, pool, all, true);
        ASSERT_EQ(all.size(), one.size());
        EXPECT_EQ(0, std::memcmp(all.data(), one.data(), all.size() * sizeof(float))) << threads << " threads";
    }
    core::ThreadPool pool(2);
    Session b(*m);
    std::vector<float> step, stepped;
    for (TokenId t : prompt) {
        m->forward(b, std::span(&t, 1), pool, step);
        stepped.insert(stepped.end(), step.begin(), step.end());
    }
    EXPECT_LT(max_rel_diff(stepped, one), 1e-4);
}

TEST_P(ForwardInvariants, TruncateAndRefeedGivesTheSameLogits) {
    TempDir dir;
    const auto m = Model::load(write_small_model(dir, small_options(GetParam())));
    core::ThreadPool pool(2);
    Session s(*m);
    std::vector<float> first, again, other;
    m->forward(s, kPrompt, pool, first);
    // Backtrack to 5 tokens, wander off, backtrack again and re-feed the original tail.
    s.truncate(5);
    EXPECT_EQ(s.n_past(), 5);
    const std::vector<TokenId> detour = {200, 201, 202};
    m->forward(s, detour, pool, other);
    s.truncate(5);
    m->forward(s, std::span(kPrompt).subspan(5), pool, again);
    EXPECT_EQ(s.n_past(), static_cast<int64_t>(kPrompt.size()));
    EXPECT_LT(max_rel_diff(again, first), 1e-5);
    EXPECT_GT(max_rel_diff(other, first), 1e-3);  // the detour really changed the output
}

TEST_P(ForwardInvariants, LastRowOfAllLogitsEqualsLastLogitsAndTraceSeesEveryLayer) {
    TempDir dir;
    const auto m = Model::load(write_small_model(dir, small_options(GetParam())));
    core::ThreadPool pool(2);
    Session a(*m), b(*m);
    std::vector<float> all, last;
    int l_out_calls = 0;
    m->set_trace([](void* u, const char* name, int, const float*, int64_t, int64_t) {
        if (std::string_view(name) == "l_out") ++*static_cast<int*>(u);
    }, &l_out_calls);
    m->forward(a, kPrompt, pool, all, true);
    m->set_trace(nullptr, nullptr);
    m->forward(b, kPrompt, pool, last, false);
    const auto V = static_cast<size_t>(m->hparams().n_vocab);
    ASSERT_EQ(last.size(), V);
    EXPECT_EQ(std::vector<float>(all.end() - static_cast<std::ptrdiff_t>(V), all.end()), last);
    EXPECT_EQ(l_out_calls, 2);
}

INSTANTIATE_TEST_SUITE_P(Arch, ForwardInvariants, ::testing::Values(Arch::Llama, Arch::Qwen2, Arch::Gpt2),
                         [](const auto& p) { return std::string(arch_name(p.param)); });

}  // namespace
}  // namespace lyra::model
