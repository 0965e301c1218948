// gen::PromptCache: finds a prompt only by every token and the KV type, and the longest shared
// beginning of another; keeps the prompt's rows and logits exactly, and stays within its byte
// budget by dropping the least recently used.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "generate/prompt_cache.h"
#include "model/model.h"

namespace lyra::gen {
namespace {

using model::TokenId;

const model::Model& shipped() {
    static const std::unique_ptr<model::Model> m = [] {
        const char* dir = std::getenv("LYRA_SOURCE_DIR");
        return model::Model::load(std::string(dir != nullptr ? dir : ".") + "/models/tiny-shakespeare-char.gguf");
    }();
    return *m;
}

// A session that has run `prompt`, and the logits after it.
struct Prefilled {
    model::Session session;
    std::vector<float> logits;
    Prefilled(const std::vector<TokenId>& prompt, core::DType kv)
        : session(shipped(), 64, kv) {
        core::ThreadPool pool(1);
        shipped().forward(session, prompt, pool, logits);
    }
};

// What an entry of n prompt tokens takes (KV rows of every layer, logits, tokens).
size_t entry_bytes(int64_t n, core::DType kv) {
    const model::HParams& hp = shipped().hparams();
    const size_t elem = kv == core::DType::F16 ? 2 : 4;
    return 2 * static_cast<size_t>(hp.n_layer * n * hp.n_head_kv * hp.head_dim) * elem +
           static_cast<size_t>(hp.n_vocab) * sizeof(float) + static_cast<size_t>(n) * sizeof(TokenId);
}

TEST(PromptCache, FindsOnlyTheSamePromptUnderTheSameKvType) {
    const std::vector<TokenId> prompt = {5, 9, 13, 2};
    const Prefilled p(prompt, core::DType::F16);
    PromptCache cache(size_t{8} << 20);
    cache.insert(shipped(), prompt, p.session, p.logits);
    ASSERT_EQ(cache.entries(), 1u);
    EXPECT_EQ(cache.bytes(), entry_bytes(4, core::DType::F16));

    const PromptCache::Entry* hit = cache.find(prompt, core::DType::F16);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->prompt, prompt);
    EXPECT_EQ(hit->logits, p.logits);
    ASSERT_EQ(hit->kv->n_past(), 4);
    // The rows are the prefilled session's, byte for byte.
    const model::HParams& hp = shipped().hparams();
    for (int64_t l = 0; l < hp.n_layer; ++l)
        for (int64_t h = 0; h < hp.n_head_kv; ++h)
            for (int64_t pos = 0; pos < 4; ++pos) {
                EXPECT_EQ(0, std::memcmp(hit->kv->k_view(l).head(h).row(pos), p.session.k_view(l).head(h).row(pos),
                                         static_cast<size_t>(hp.head_dim) * 2));
                EXPECT_EQ(0, std::memcmp(hit->kv->v_view(l).head(h).row(pos), p.session.v_view(l).head(h).row(pos),
                                         static_cast<size_t>(hp.head_dim) * 2));
            }

    EXPECT_EQ(cache.find(prompt, core::DType::F32), nullptr);
    EXPECT_EQ(cache.find(std::vector<TokenId>{5, 9, 13}, core::DType::F16), nullptr);
    EXPECT_EQ(cache.find(std::vector<TokenId>{5, 9, 13, 2, 7}, core::DType::F16), nullptr);
    EXPECT_EQ(cache.find(std::vector<TokenId>{5, 9, 13, 3}, core::DType::F16), nullptr);

    // The same prompt again is not kept twice.
    cache.insert(shipped(), prompt, p.session, p.logits);
    EXPECT_EQ(cache.entries(), 1u);
}

TEST(PromptCache, FindsTheLongestSharedBeginningUpToAllButTheLastToken) {
    const std::vector<TokenId> a = {5, 9, 13, 2, 7, 7}, b = {5, 9, 13, 2, 8, 1, 1, 4};
    const Prefilled pa(a, core::DType::F16), pb(b, core::DType::F16);
    PromptCache cache(size_t{8} << 20);
    cache.insert(shipped(), a, pa.session, pa.logits);
    cache.insert(shipped(), b, pb.session, pb.logits);  // now the most recently used

    // Shares 5 tokens with a, 4 with b: a, which becomes the most recently used.
    auto hit = cache.longest_prefix(shipped(), std::vector<TokenId>{5, 9, 13, 2, 7, 3, 3}, core::DType::F16);
    ASSERT_NE(hit.entry, nullptr);
    EXPECT_EQ(hit.entry->prompt, a);
    EXPECT_EQ(hit.n, 5);
    // b's whole prompt and one more token: all of b, and the new token runs.
    hit = cache.longest_prefix(shipped(), std::vector<TokenId>{5, 9, 13, 2, 8, 1, 1, 4, 6}, core::DType::F16);
    ASSERT_NE(hit.entry, nullptr);
    EXPECT_EQ(hit.entry->prompt, b);
    EXPECT_EQ(hit.n, 8);
    // A beginning of a: all but its last token, whose logits the entry does not have.
    hit = cache.longest_prefix(shipped(), std::vector<TokenId>{5, 9, 13, 2, 7}, core::DType::F16);
    ASSERT_NE(hit.entry, nullptr);
    EXPECT_EQ(hit.n, 4);
    // Fewer than kMinShared tokens in common, another KV type, or too short a prompt: none.
    static_assert(PromptCache::kMinShared == 4);
    EXPECT_EQ(cache.longest_prefix(shipped(), std::vector<TokenId>{5, 9, 13, 6, 6, 6}, core::DType::F16).entry, nullptr);
    EXPECT_EQ(cache.longest_prefix(shipped(), std::vector<TokenId>{5, 9, 13, 2, 7, 3}, core::DType::F32).entry, nullptr);
    EXPECT_EQ(cache.longest_prefix(shipped(), std::vector<TokenId>{5, 9, 13, 2}, core::DType::F16).entry, nullptr);
}

TEST(PromptCache, SkipsAnEntryWhoseRowsWouldNotContinueThePromptExactly) {
    // The shipped model's weights are f32: rows of a 40-token prompt came from the GEMM, and a
    // 25-token prompt's from the dot-product kernels (Model::same_row_arithmetic).
    ASSERT_FALSE(shipped().same_row_arithmetic(40, 25));
    std::vector<TokenId> longer(40), shorter(20), prompt(25);
    for (size_t i = 0; i < longer.size(); ++i) longer[i] = static_cast<TokenId>(10 + i);
    for (size_t i = 0; i < shorter.size(); ++i) shorter[i] = static_cast<TokenId>(i < 10 ? 10 + i : 80);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<TokenId>(i < 15 ? 10 + i : 90);
    const Prefilled pl(longer, core::DType::F32), ps(shorter, core::DType::F32);
    PromptCache cache(size_t{8} << 20);
    cache.insert(shipped(), shorter, ps.session, ps.logits);
    cache.insert(shipped(), longer, pl.session, pl.logits);
    // The 40-token entry shares 15 tokens, the 20-token one 10: only the second is exact.
    const auto hit = cache.longest_prefix(shipped(), prompt, core::DType::F32);
    ASSERT_NE(hit.entry, nullptr);
    EXPECT_EQ(hit.entry->prompt, shorter);
    EXPECT_EQ(hit.n, 10);
}

TEST(PromptCache, DropsTheLeastRecentlyUsedPastItsBudget) {
    const std::vector<TokenId> a = {1, 2, 3}, b = {4, 5, 6}, c = {7, 8, 9};
    const Prefilled pa(a, core::DType::F32), pb(b, core::DType::F32), pc(c, core::DType::F32);
    const size_t one = entry_bytes(3, core::DType::F32);
    PromptCache cache(2 * one + one / 2);  // room for two
    cache.insert(shipped(), a, pa.session, pa.logits);
    cache.insert(shipped(), b, pb.session, pb.logits);
    ASSERT_NE(cache.find(a, core::DType::F32), nullptr);  // a is now the most recent
    cache.insert(shipped(), c, pc.session, pc.logits);
    EXPECT_EQ(cache.entries(), 2u);
    EXPECT_LE(cache.bytes(), cache.budget());
    EXPECT_NE(cache.find(a, core::DType::F32), nullptr);
    EXPECT_EQ(cache.find(b, core::DType::F32), nullptr);
    const PromptCache::Entry* hit = cache.find(c, core::DType::F32);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->logits, pc.logits);
}

TEST(PromptCache, KeepsNothingBiggerThanItsBudget) {
    const std::vector<TokenId> prompt = {3, 1, 4, 1, 5};
    const Prefilled p(prompt, core::DType::F32);
    PromptCache small(entry_bytes(5, core::DType::F32) - 1);
    small.insert(shipped(), prompt, p.session, p.logits);
    EXPECT_EQ(small.entries(), 0u);
    EXPECT_EQ(small.bytes(), 0u);
    EXPECT_EQ(small.find(prompt, core::DType::F32), nullptr);
    PromptCache off(0);
    off.insert(shipped(), prompt, p.session, p.logits);
    EXPECT_EQ(off.entries(), 0u);
}

}  // namespace
}  // namespace lyra::gen
