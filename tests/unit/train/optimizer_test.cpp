// AdamW, the warmup + cosine schedule and gradient clipping, against hand-worked values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "train/optimizer.h"
#include "train/train_model.h"

using namespace lyra::train;

namespace {

TrainConfig tiny() {
    return {.arch = lyra::model::Arch::Llama, .n_vocab = 5, .n_ctx = 4, .n_embd = 4, .n_layer = 1,
            .n_head = 1, .n_head_kv = 1, .n_ff = 8};
}

TEST(AdamW, FirstStepMovesEachWeightByLrTimesSignAndDecaysOnlyMatrices) {
    TrainModel m(tiny());
    m.init_random(1);
    std::vector<float> before(m.params().begin(), m.params().end());
    std::vector<float> g(m.params().size(), 0.5f);
    AdamW opt(m, {.weight_decay = 0.1f});
    lyra::core::ThreadPool pool(1);
    opt.update(pool, m.params(), g, 0.01f);
    EXPECT_EQ(opt.step(), 1);
    for (const auto& p : m.param_info()) {
        const float w0 = before[p.offset];
        // Step 1: m̂ = g, v̂ = g², so the Adam step is lr · g/|g| (up to eps).
        const float expect = (p.is_matrix ? w0 * (1.0f - 0.01f * 0.1f) : w0) - 0.01f;
        EXPECT_NEAR(m.params()[p.offset], expect, 1e-6f) << p.name;
    }
}

TEST(LrSchedule, WarmsUpLinearlyThenFollowsCosineToMin) {
    const LrSchedule s{.lr = 1.0f, .min_lr = 0.1f, .warmup = 10, .steps = 110};
    EXPECT_FLOAT_EQ(s.at(0), 0.1f);
    EXPECT_FLOAT_EQ(s.at(9), 1.0f);
    EXPECT_FLOAT_EQ(s.at(10), 1.0f);
    EXPECT_NEAR(s.at(60), 0.55f, 1e-6f);  // half way: min + ½ (max - min)
    EXPECT_NEAR(s.at(110), 0.1f, 1e-6f);
    EXPECT_NEAR(s.at(500), 0.1f, 1e-6f);
}

TEST(ClipGradNorm, ScalesToMaxNormAndLeavesSmallGradients) {
    lyra::core::ThreadPool pool(1);
    std::vector<float> g = {3.0f, 4.0f};
    EXPECT_FLOAT_EQ(clip_grad_norm(pool, g, 1.0f), 5.0f);
    EXPECT_NEAR(g[0], 0.6f, 1e-6f);
    EXPECT_NEAR(g[1], 0.8f, 1e-6f);
    std::vector<float> small = {0.3f, 0.4f};
    EXPECT_FLOAT_EQ(clip_grad_norm(pool, small, 1.0f), 0.5f);
    EXPECT_FLOAT_EQ(small[0], 0.3f);
}

// Over many chunks (the loops' work items): the norm is the plain double sum to float precision,
// and the norm, the clipped gradients and an AdamW update are bit-identical on 1, 2, 3 and 5
// threads — the chunks are fixed, so the partial sums add up in the same order.
TEST(ClipGradNorm, AndAdamWGiveTheSameBitsAtAnyThreadCount) {
    const size_t n = 300'001;  // ~9 chunks and a ragged tail
    lyra::core::Rng rng(3);
    std::vector<float> g0(n), w0(n);
    double ss = 0.0;
    for (size_t i = 0; i < n; ++i) {
        g0[i] = rng.normal() * 0.01f;
        w0[i] = rng.normal() * 0.02f;
        ss += static_cast<double>(g0[i]) * static_cast<double>(g0[i]);
    }
    std::vector<ParamInfo> info(2);
    info[0] = {.name = "a", .shape = {1000, 300}, .offset = 0, .numel = 300'000, .is_matrix = true};
    info[1] = {.name = "b", .shape = {1}, .offset = 300'000, .numel = 1, .is_matrix = false};
    std::vector<float> ref_g, ref_w;
    float ref_norm = 0.0f;
    for (int threads : {1, 2, 3, 5}) {
        lyra::core::ThreadPool pool(threads);
        std::vector<float> g = g0, w = w0;
        const float norm = clip_grad_norm(pool, g, 0.5f);
        EXPECT_NEAR(norm, std::sqrt(ss), 1e-6 * std::sqrt(ss)) << threads;
        AdamW opt(info, {.weight_decay = 0.1f});
        opt.update(pool, w, g, 1e-3f);
        opt.update(pool, w, g, 1e-3f);
        if (threads == 1) {
            ref_norm = norm;
            ref_g = g;
            ref_w = w;
            continue;
        }
        EXPECT_EQ(norm, ref_norm) << threads << " threads";
        EXPECT_EQ(0, std::memcmp(g.data(), ref_g.data(), n * sizeof(float))) << threads << " threads";
        EXPECT_EQ(0, std::memcmp(w.data(), ref_w.data(), n * sizeof(float))) << threads << " threads";
    }
}

TEST(TrainConfig, RejectsImpossibleShapesByName) {
    TrainConfig c = tiny();
    c.n_head = 3;
    try {
        c.validate();
        FAIL() << "expected an error";
    } catch (const lyra::Error& e) {
        EXPECT_EQ(e.kind(), lyra::ErrorKind::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("n_head"), std::string::npos) << e.what();
    }
}

}  // namespace
