// Model::decode_batch and forward_batch (issue 9: the scheduler's batched forward): one decode
// step of several sequences, each at its own position, with joining sequences' whole prompts
// beside them, must give every sequence exactly the logits a forward() of that sequence alone
// gives — bit for bit, on every decoder that batches (llama, qwen2, gpt2, gptneo) and every
// weight type — and must refuse a bad batch before touching any session.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/packed_weights.h"
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

// Model::forward_batch with prompts beside decode steps (the scheduler folds a joining
// sequence's prompt into the running batch): sequences that decode take one token each while
// fresh sessions take whole prompts of several lengths in the same forward, and every sequence
// must get the logits and the cache a forward() of its own tokens gives. Then batched decode
// steps over all of them (reading the folded prompts' cached keys and values) must agree too.
void expect_folded_prompts_equal_singles(const Model& m, core::DType kv) {
    const std::vector<std::vector<TokenId>> started = {{1, 5, 9}, {2}, {12, 13, 14, 15, 16}};
    const std::vector<std::vector<TokenId>> joining = {{3, 4, 5, 6, 7, 8, 9}, {11}, {6, 2}};
    const int64_t V = m.hparams().n_vocab;
    core::ThreadPool batch_pool(2), single_pool(1);
    std::vector<std::unique_ptr<Session>> batched, single;
    std::vector<TokenId> tokens;
    std::vector<int32_t> counts;
    std::vector<float> logits;
    // Interleaved: joining prompts sit between decoding rows, not only at the end.
    for (size_t i = 0; i < started.size(); ++i) {
        for (const auto* prompt : {&started[i], &joining[i]}) {
            batched.push_back(std::make_unique<Session>(m, 24, kv));
            single.push_back(std::make_unique<Session>(m, 24, kv));
            if (prompt == &started[i]) {
                m.forward(*batched.back(), *prompt, single_pool, logits);
                m.forward(*single.back(), *prompt, single_pool, logits);
                tokens.push_back(argmax(logits.data(), V));
                counts.push_back(1);
            } else {
                tokens.insert(tokens.end(), prompt->begin(), prompt->end());
                counts.push_back(static_cast<int32_t>(prompt->size()));
            }
        }
    }
    std::vector<Session*> sessions;
    for (auto& s : batched) sessions.push_back(s.get());
    std::vector<float> batch_logits, row;
    std::vector<TokenId> next(sessions.size());
    for (int step = 0; step < 4; ++step) {
        if (step == 0) {
            m.forward_batch(sessions, tokens, counts, batch_pool, batch_logits);
        } else {
            m.decode_batch(sessions, next, batch_pool, batch_logits);
        }
        ASSERT_EQ(batch_logits.size(), sessions.size() * static_cast<size_t>(V));
        size_t first = 0;
        for (size_t i = 0; i < sessions.size(); ++i) {
            const auto n = static_cast<size_t>(step == 0 ? counts[i] : 1);
            const std::span<const TokenId> mine =
                step == 0 ? std::span<const TokenId>(tokens).subspan(first, n) : std::span(&next[i], 1);
            first += n;
            m.forward(*single[i], mine, single_pool, row);
            const float* b = batch_logits.data() + static_cast<int64_t>(i) * V;
            ASSERT_EQ(std::memcmp(b, row.data(), static_cast<size_t>(V) * sizeof(float)), 0)
                << "sequence " << i << " (" << n << " tokens), step " << step;
            EXPECT_EQ(batched[i]->n_past(), single[i]->n_past());
            next[i] = argmax(b, V);
        }
    }
}

class DecodeBatch : public ::testing::TestWithParam<std::pair<Arch, core::DType>> {};

TEST_P(DecodeBatch, FoldedPromptsEqualThoseSequencesAlone) {
    TempDir dir;
    auto o = testing::small_options(GetParam().first, GetParam().second);
    o.n_ctx = 64;
    const auto m = Model::load(testing::write_small_model(dir, o));
    expect_folded_prompts_equal_singles(*m, core::DType::F32);
    expect_folded_prompts_equal_singles(*m, core::DType::F16);
}

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
                      std::pair{Arch::Gpt2, core::DType::F32}, std::pair{Arch::Gpt2, core::DType::F16},
                      std::pair{Arch::Gpt2, core::DType::Q4_0}, std::pair{Arch::Gpt2, core::DType::Q8_0}),
    [](const auto& p) {
        return std::string(arch_name(p.param.first)) + "_" + std::string(core::dtype_name(p.param.second));
    });

// On AVX-512 a Q4_0 or Q8_0 model's matmul weights are repacked at load (core/packed_weights.h),
// so the Q4_0 and Q8_0 cases above batch on the packed kernels. Their logits must be those of the
// plain kernels (LYRA_REPACK=off) up to rounding: a different summation of the same products.
TEST(PackedWeights, QuantizedModelsGiveThePlainKernelsLogitsUpToRounding) {
    if (!core::packing_pays()) GTEST_SKIP() << "packing only runs on AVX-512";
    for (const auto& [arch, type] : {std::pair{Arch::Llama, core::DType::Q4_0}, std::pair{Arch::Gpt2, core::DType::Q4_0},
                                     std::pair{Arch::Llama, core::DType::Q8_0}, std::pair{Arch::Gpt2, core::DType::Q8_0}}) {
        TempDir dir;
        auto o = testing::small_options(arch, type);
        o.n_ctx = 64;
        o.init_std = 0.5f;  // large enough weights that a last-bit change reaches the logits
        const std::string path = testing::write_small_model(dir, o);
        const auto packed = Model::load(path);
        ASSERT_EQ(setenv("LYRA_REPACK", "off", 1), 0);
        const auto plain = Model::load(path);
        ASSERT_EQ(unsetenv("LYRA_REPACK"), 0);
        core::ThreadPool pool(2);
        const std::vector<TokenId> prompt = {3, 4, 5, 6, 7, 8, 9, 10, 11};
        std::vector<float> a, b;
        Session sa(*packed, 32), sb(*plain, 32);
        packed->forward(sa, prompt, pool, a);
        plain->forward(sb, prompt, pool, b);
        ASSERT_EQ(a.size(), b.size());
        double max_diff = 0.0, max_abs = 0.0;
        for (size_t i = 0; i < a.size(); ++i) {
            max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
            max_abs = std::max(max_abs, std::fabs(static_cast<double>(b[i])));
        }
        // The packed model gave the file's pages of its packed weights back; read again, the
        // tensors are still the file's bytes.
        for (const auto& t : packed->gguf().tensors()) {
            const auto* twin = plain->gguf().find_tensor(t.name);
            ASSERT_NE(twin, nullptr);
            EXPECT_EQ(std::memcmp(t.tensor.data, twin->tensor.data, t.tensor.nbytes()), 0) << t.name;
        }
        EXPECT_GT(max_diff, 0.0) << arch_name(arch) << " " << core::dtype_name(type)
                                 << ": no difference at all, so nothing was packed";
        EXPECT_LT(max_diff, 1e-4 * max_abs + 1e-5) << arch_name(arch) << " " << core::dtype_name(type);
    }
}

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

// decode_batch (counts empty: one token per session) and forward_batch with folded prompts.
TEST(DecodeBatchErrors, ABadBatchChangesNoSession) {
    TempDir dir;
    const auto m = Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    core::ThreadPool pool(1);
    std::vector<float> logits;
    Session a(*m, 8), full(*m, 4);
    m->forward(a, std::vector<TokenId>{1, 2}, pool, logits);
    m->forward(full, std::vector<TokenId>{1, 2, 3, 4}, pool, logits);
    const auto expect_error = [&](std::vector<Session*> sessions, std::vector<TokenId> tokens,
                                  std::vector<int32_t> counts, ErrorKind kind, const std::string& says) {
        try {
            if (counts.empty()) {
                m->decode_batch(sessions, tokens, pool, logits);
            } else {
                m->forward_batch(sessions, tokens, counts, pool, logits);
            }
            ADD_FAILURE() << "no error; expected: " << says;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), kind) << e.what();
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
        EXPECT_EQ(a.n_past(), 2);
        EXPECT_EQ(full.n_past(), 4);
    };
    expect_error({&a, &full}, {5, 6}, {}, ErrorKind::ContextFull, "context full");
    expect_error({&a, &a}, {5, 6}, {}, ErrorKind::InvalidArgument, "session 1 is also session 0");
    expect_error({&a}, {5, 6}, {}, ErrorKind::InvalidArgument, "one token per session");
    expect_error({&a}, {static_cast<TokenId>(m->hparams().n_vocab)}, {}, ErrorKind::InvalidArgument,
                 "outside the vocabulary");
    // Folded prompts: a has 6 free positions.
    expect_error({&a}, {1, 2, 3, 4, 5, 6, 7}, {7}, ErrorKind::ContextFull, "context full");
    expect_error({&a, &full}, {5, 1, 2}, {1, 3}, ErrorKind::InvalidArgument, "counts that add up to 4");
    expect_error({&a, &full}, {5, 1}, {1}, ErrorKind::InvalidArgument, "one count per session");
    expect_error({&a, &full}, {5, 1}, {2, 0}, ErrorKind::InvalidArgument, "session 1 has 0 tokens");
}

}  // namespace
}  // namespace lyra::model
