// Training kernels: the fast gemm against the plain triple loop over odd shapes, and every
// backward kernel against central finite differences of its forward (loss = Σ r · y for a
// fixed random r, so dL/dy = r).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "train/kernels.h"

namespace kern = lyra::train::kern;
using lyra::core::ThreadPool;

namespace {

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f) {
    lyra::core::Rng rng(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = rng.normal() * scale;
    return v;
}

double weighted_sum(const std::vector<float>& y, const std::vector<float>& r) {
    double s = 0.0;
    for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * static_cast<double>(r[i]);
    return s;
}

// Checks analytic gradient `g` of loss(x) w.r.t. x by central differences on a sample of
// elements. Tolerance: |fd - g| ≤ 2e-2 · max(|fd|, 0.1) (float forward, eps 1e-2... 1e-3).
void expect_fd(const char* what, std::vector<float>& x, const std::vector<float>& g,
               const std::function<double()>& loss) {
    ASSERT_EQ(x.size(), g.size());
    const size_t stride = std::max<size_t>(1, x.size() / 40);
    for (size_t i = 0; i < x.size(); i += stride) {
        const float keep = x[i];
        const float eps = 1e-2f * std::max(1.0f, std::fabs(keep));
        x[i] = keep + eps;
        const double lp = loss();
        x[i] = keep - eps;
        const double lm = loss();
        x[i] = keep;
        const double fd = (lp - lm) / (2.0 * static_cast<double>(eps));
        EXPECT_NEAR(static_cast<double>(g[i]), fd, 2e-2 * std::max(std::fabs(fd), 0.1))
            << what << "[" << i << "]";
    }
}

TEST(TrainGemm, MatchesReferenceOverOddShapes) {
    ThreadPool pool(2);
    for (int64_t M : {1, 4, 5, 33}) {
        for (int64_t N : {1, 7, 16, 32, 33, 70}) {
            for (int64_t K : {1, 3, 64}) {
                for (bool acc : {false, true}) {
                    auto A = randn(static_cast<size_t>(M * K), 1);
                    auto B = randn(static_cast<size_t>(K * N), 2);
                    auto C0 = randn(static_cast<size_t>(M * N), 3);
                    auto C1 = C0;
                    kern::gemm(pool, M, N, K, A.data(), B.data(), C0.data(), acc);
                    kern::gemm_ref(M, N, K, A.data(), B.data(), C1.data(), acc);
                    for (size_t i = 0; i < C0.size(); ++i)
                        ASSERT_NEAR(C0[i], C1[i], 1e-4f * (1.0f + std::fabs(C1[i])))
                            << "M=" << M << " N=" << N << " K=" << K << " acc=" << acc
                            << " isa=" << kern::gemm_isa();
                }
            }
        }
    }
}

TEST(TrainKernels, LinearBackwardMatchesFiniteDifferences) {
    ThreadPool pool(2);
    const int64_t M = 5, K = 7, N = 9;
    auto x = randn(M * K, 1), w = randn(N * K, 2), b = randn(N, 3), r = randn(M * N, 4);
    std::vector<float> scratch(200), y(M * N);
    auto loss = [&] {
        kern::linear_forward(pool, x.data(), w.data(), b.data(), y.data(), M, K, N, scratch.data());
        return weighted_sum(y, r);
    };
    std::vector<float> dx(M * K, 0.0f), dw(N * K, 0.0f), db(N, 0.0f);
    kern::linear_backward(pool, r.data(), x.data(), w.data(), dx.data(), dw.data(), db.data(), M, K,
                          N, scratch.data());
    expect_fd("dx", x, dx, loss);
    expect_fd("dw", w, dw, loss);
    expect_fd("db", b, db, loss);
}

TEST(TrainKernels, RmsNormBackwardMatchesFiniteDifferences) {
    ThreadPool pool(2);
    const int64_t M = 3, C = 16;
    auto x = randn(M * C, 1), w = randn(C, 2), r = randn(M * C, 3);
    std::vector<float> y(M * C), rstd(M);
    auto loss = [&] {
        kern::rmsnorm_forward(pool, x.data(), w.data(), y.data(), rstd.data(), M, C, 1e-5f);
        return weighted_sum(y, r);
    };
    loss();
    std::vector<float> dx(M * C, 0.0f), dw(C, 0.0f);
    kern::rmsnorm_backward(pool, r.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), M, C);
    expect_fd("dx", x, dx, loss);
    expect_fd("dw", w, dw, loss);
}

TEST(TrainKernels, LayerNormBackwardMatchesFiniteDifferences) {
    ThreadPool pool(2);
    const int64_t M = 3, C = 16;
    auto x = randn(M * C, 1), w = randn(C, 2), b = randn(C, 5), r = randn(M * C, 3);
    std::vector<float> y(M * C), mean(M), rstd(M);
    auto loss = [&] {
        kern::layernorm_forward(pool, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(),
                                M, C, 1e-5f);
        return weighted_sum(y, r);
    };
    loss();
    std::vector<float> dx(M * C, 0.0f), dw(C, 0.0f), db(C, 0.0f);
    kern::layernorm_backward(pool, r.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                             dw.data(), db.data(), M, C);
    expect_fd("dx", x, dx, loss);
    expect_fd("dw", w, dw, loss);
    expect_fd("db", b, db, loss);
}

TEST(TrainKernels, RopeInverseUndoesRopeAndIsItsBackward) {
    ThreadPool pool(2);
    const int64_t B = 2, T = 5, H = 3, D = 8, M = B * T;
    auto x = randn(M * H * D, 1);
    auto y = x;
    kern::rope_apply(pool, y.data(), H * D, M, T, H, D, 10000.0f, false);
    // Position 0 is not rotated; later positions are.
    for (int64_t i = 0; i < H * D; ++i) EXPECT_FLOAT_EQ(y[static_cast<size_t>(i)], x[static_cast<size_t>(i)]);
    auto r = randn(M * H * D, 2);
    auto loss = [&] {
        auto z = x;
        kern::rope_apply(pool, z.data(), H * D, M, T, H, D, 10000.0f, false);
        return weighted_sum(z, r);
    };
    auto dx = r;
    kern::rope_apply(pool, dx.data(), H * D, M, T, H, D, 10000.0f, true);
    expect_fd("dx", x, dx, loss);
    kern::rope_apply(pool, y.data(), H * D, M, T, H, D, 10000.0f, true);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-5f);
}

TEST(TrainKernels, GroupedAttentionBackwardMatchesFiniteDifferences) {
    ThreadPool pool(2);
    const int64_t B = 2, T = 4, H = 4, G = 2, D = 4, M = B * T;
    const kern::AttnShape s{B, T, H, G, D, H * D, G * D, G * D};
    auto q = randn(M * H * D, 1), k = randn(M * G * D, 2), v = randn(M * G * D, 3);
    auto r = randn(M * H * D, 4);
    std::vector<float> att(B * H * T * T), out(M * H * D);
    auto loss = [&] {
        kern::attention_forward(pool, s, q.data(), k.data(), v.data(), att.data(), out.data());
        return weighted_sum(out, r);
    };
    loss();
    std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f), scratch(2 * T);
    kern::attention_backward(pool, s, r.data(), q.data(), k.data(), v.data(), att.data(), dq.data(),
                             dk.data(), dv.data(), scratch.data());
    expect_fd("dq", q, dq, loss);
    expect_fd("dk", k, dk, loss);
    expect_fd("dv", v, dv, loss);
}

TEST(TrainKernels, SwigluAndGeluBackwardMatchFiniteDifferences) {
    ThreadPool pool(2);
    const int64_t n = 50;
    auto g = randn(n, 1, 2.0f), u = randn(n, 2), r = randn(n, 3);
    std::vector<float> h(n);
    auto loss = [&] {
        kern::swiglu_forward(pool, g.data(), u.data(), h.data(), n);
        return weighted_sum(h, r);
    };
    std::vector<float> dg(n), du(n);
    kern::swiglu_backward(pool, r.data(), g.data(), u.data(), dg.data(), du.data(), n);
    expect_fd("dgate", g, dg, loss);
    expect_fd("dup", u, du, loss);
    // In place: du aliasing dh gives the same result.
    auto dh = r;
    std::vector<float> dg2(n);
    kern::swiglu_backward(pool, dh.data(), g.data(), u.data(), dg2.data(), dh.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        EXPECT_FLOAT_EQ(dh[static_cast<size_t>(i)], du[static_cast<size_t>(i)]);
        EXPECT_FLOAT_EQ(dg2[static_cast<size_t>(i)], dg[static_cast<size_t>(i)]);
    }

    auto x = randn(n, 4, 2.0f);
    auto gelu_loss = [&] {
        kern::gelu_forward(pool, x.data(), h.data(), n);
        return weighted_sum(h, r);
    };
    std::vector<float> dx(n);
    kern::gelu_backward(pool, r.data(), x.data(), dx.data(), n);
    expect_fd("dx", x, dx, gelu_loss);
}

TEST(TrainKernels, CrossEntropyBackwardMatchesFiniteDifferencesAndSkipsIgnored) {
    ThreadPool pool(2);
    const int64_t M = 4, V = 11;
    auto logits = randn(M * V, 1, 3.0f);
    std::vector<int32_t> targets = {3, -1, 0, 10};
    std::vector<float> losses(M);
    auto loss = [&] {
        return static_cast<double>(
            kern::cross_entropy_forward(pool, logits.data(), targets.data(), losses.data(), M, V));
    };
    const double l0 = loss();
    EXPECT_GT(l0, 0.0);
    EXPECT_EQ(losses[1], 0.0f);
    auto d = logits;
    kern::cross_entropy_backward(pool, d.data(), targets.data(), M, V, 1.0f);
    for (int64_t i = 0; i < V; ++i) EXPECT_EQ(d[static_cast<size_t>(V + i)], 0.0f);
    expect_fd("dlogits", logits, d, loss);
}

TEST(TrainKernels, EmbeddingBackwardAccumulatesRepeatedTokens) {
    ThreadPool pool(2);
    const int64_t M = 4, T = 2, C = 3;
    std::vector<int32_t> ids = {1, 1, 0, 1};
    std::vector<float> dout = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    std::vector<float> dwte(2 * C, 0.0f), dwpe(T * C, 0.0f);
    kern::embed_backward(pool, dout.data(), ids.data(), dwte.data(), dwpe.data(), M, T, C);
    EXPECT_EQ(dwte, (std::vector<float>{7, 8, 9, 1 + 4 + 10, 2 + 5 + 11, 3 + 6 + 12}));
    EXPECT_EQ(dwpe, (std::vector<float>{1 + 7, 2 + 8, 3 + 9, 4 + 10, 5 + 11, 6 + 12}));
}

}  // namespace
