// Model::decode_batch (issue 9: the scheduler's batched forward): one decode step of several
// sequences, each at its own position, must give every sequence exactly the logits a forward()
// of that sequence alone gives — bit for bit, on every decoder that batches (llama, qwen2, gpt2,
// gptneo) and every weight type — and must refuse a bad batch before touching any session.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/format/hf_import.h"
#include "model/model.h"
#include "model_test_util.h"

namespace lyra::model {
namespace {

using testing::TempDir;

TokenId argmax(const float* row, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (row[i] > row[best]) best = i;
    return static_cast<TokenId>(best);
}

// Prompts of different lengths put the sequences at different positions; then `steps` decode
// steps run batched on one set of sessions and one by one on a twin set, feeding both the
// batched argmax. Every logit row must be identical. kv_types[i % size] is sequence i's KV cache
// type (issue 2: f16 caches, and a batch mixing f16 and f32 sessions, batch exactly too). Six
// sequences: past 4 rows a Q8_0/Q4_0 matmul quantizes its activation rows inside its own
// parallel region (core/kernels/dispatch.cpp), which a smaller batch would not reach.
void expect_batch_equals_singles(const Model& m, int steps = 6,
                                 const std::vector<core::DType>& kv_types = {core::DType::F32}) {
    const std::vector<std::vector<TokenId>> prompts = {
        {1, 5, 9}, {2}, {3, 4, 5, 6, 7, 8, 9, 10, 11}, {12, 13, 14, 15, 16}, {6, 2, 8, 3}, {7, 7}};
    const int64_t V = m.hparams().n_vocab;
    core::ThreadPool batch_pool(2), single_pool(1);
    std::vector<std::unique_ptr<Session>> batched, single;
    std::vector<TokenId> next;
    std::vector<float> logits;
    for (size_t i = 0; i < prompts.size(); ++i) {
        // Different context sizes too: the scores scratch must fit the longest.
        const int64_t ctx = 16 + 4 * static_cast<int64_t>(i);
        const core::DType kv = kv_types[i % kv_types.size()];
        batched.push_back(std::make_unique<Session>(m, ctx, kv));
        single.push_back(std::make_unique<Session>(m, ctx, kv));
        m.forward(*batched.back(), prompts[i], single_pool, logits);
        m.forward(*single.back(), prompts[i], single_pool, logits);
        next.push_back(argmax(logits.data(), V));
    }
    std::vector<Session*> sessions;
    for (auto& s : batched) sessions.push_back(s.get());
    std::vector<float> batch_logits, row;
    for (int step = 0; step < steps; ++step) {
        m.decode_batch(sessions, next, batch_pool, batch_logits);
        ASSERT_EQ(batch_logits.size(), prompts.size() * static_cast<size_t>(V));
        for (size_t i = 0; i < prompts.size(); ++i) {
            m.forward(*single[i], std::span(&next[i], 1), single_pool, row);
            const float* b = batch_logits.data() + static_cast<int64_t>(i) * V;
            ASSERT_EQ(std::memcmp(b, row.data(), static_cast<size_t>(V) * sizeof(float)), 0)
                << "sequence " << i << ", step " << step;
            EXPECT_EQ(batched[i]->n_past(), single[i]->n_past());
            next[i] = argmax(b, V);
        }
    }
}

class DecodeBatch : public ::testing::TestWithParam<std::pair<Arch, core::DType>> {};

TEST_P(DecodeBatch, EachRowEqualsThatSequenceAlone) {
    TempDir dir;
    auto o = testing::small_options(GetParam().first, GetParam().second);
    o.n_ctx = 64;
    const auto m = Model::load(testing::write_small_model(dir, o));
    EXPECT_TRUE(m->batches_decode());
    expect_batch_equals_singles(*m);
}

// The same with f16 KV caches, and with a batch alternating f16 and f32 sessions.
TEST_P(DecodeBatch, EachRowEqualsThatSequenceAloneWithF16Caches) {
    TempDir dir;
    auto o = testing::small_options(GetParam().first, GetParam().second);
    o.n_ctx = 64;
    const auto m = Model::load(testing::write_small_model(dir, o));
    expect_batch_equals_singles(*m, 6, {core::DType::F16});
    expect_batch_equals_singles(*m, 6, {core::DType::F16, core::DType::F32});
}

INSTANTIATE_TEST_SUITE_P(
    Decoders, DecodeBatch,
    ::testing::Values(std::pair{Arch::Llama, core::DType::F32}, std::pair{Arch::Llama, core::DType::Q8_0},
                      std::pair{Arch::Llama, core::DType::Q4_0}, std::pair{Arch::Qwen2, core::DType::F32},
                      std::pair{Arch::Gpt2, core::DType::F32}, std::pair{Arch::Gpt2, core::DType::F16}),
    [](const auto& p) {
        return std::string(arch_name(p.param.first)) + "_" + std::string(core::dtype_name(p.param.second));
    });

TEST(DecodeBatchNeo, LocalAndGlobalLayersBatchToo) {
    // GPT-Neo's local layers see only the last `window` keys of each sequence's own cache.
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const char* py = std::getenv("LYRA_PYTHON");
    ASSERT_TRUE(src && py) << "run through ctest";
    TempDir dir;
    const std::string hf = dir.file("hf"), out = dir.file("neo.gguf");
    const std::string make = std::string(py) + " " + src + "/tests/unit/format/make_hf_fixture.py gpt_neo " +
                             hf + " --layers 3 --window 5 --attention-types local,global,local > /dev/null";
    ASSERT_EQ(std::system(make.c_str()), 0) << make;
    import_hf(hf, out);
    const auto m = Model::load(out);
    EXPECT_TRUE(m->batches_decode());
    expect_batch_equals_singles(*m, 8);  // past the window of 5
    expect_batch_equals_singles(*m, 8, {core::DType::F16, core::DType::F32});
}

TEST(DecodeBatchErrors, ABadBatchChangesNoSession) {
    TempDir dir;
    const auto m = Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    core::ThreadPool pool(1);
    std::vector<float> logits;
    Session a(*m, 8), full(*m, 4);
    m->forward(a, std::vector<TokenId>{1, 2}, pool, logits);
    m->forward(full, std::vector<TokenId>{1, 2, 3, 4}, pool, logits);
    const auto expect_error = [&](std::vector<Session*> sessions, std::vector<TokenId> tokens,
                                  ErrorKind kind, const std::string& says) {
        try {
            m->decode_batch(sessions, tokens, pool, logits);
            ADD_FAILURE() << "no error; expected: " << says;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), kind) << e.what();
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
        EXPECT_EQ(a.n_past(), 2);
        EXPECT_EQ(full.n_past(), 4);
    };
    expect_error({&a, &full}, {5, 6}, ErrorKind::ContextFull, "context full");
    expect_error({&a, &a}, {5, 6}, ErrorKind::InvalidArgument, "session 1 is also session 0");
    expect_error({&a}, {5, 6}, ErrorKind::InvalidArgument, "one token per session");
    expect_error({&a}, {static_cast<TokenId>(m->hparams().n_vocab)}, ErrorKind::InvalidArgument,
                 "outside the vocabulary");
}

}  // namespace
}  // namespace lyra::model
