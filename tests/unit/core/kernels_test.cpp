// Kernel variants (scalar, AVX2, AVX-512 — whichever this CPU has) against the double-precision
// references in kernels/ref_ops.cpp over a sweep of odd sizes, T = 1 and T > 1, 1-sized dims
// and every weight dtype; results must be bit-identical for 1, 2 and 3 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/attention.h"
#include "core/dtype.h"
#include "core/half.h"
#include "core/kernels/kernels.h"
#include "core/matmul_group.h"
#include "core/ops.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "unit/core/isa_fixture.h"

namespace lyra::core {
namespace {

class Kernels : public IsaRestoringTest {};

struct Stats {
    double rms;  // rms(got - want) / scale
    double max;  // max |got - want| / scale
};

// Errors relative to `scale`, the typical magnitude of an output (for a dot of length K:
// sqrt(K) * rms(x) * rms(w)). A plain relative error would explode on outputs that happen to
// be near 0, which random dots often are.
Stats compare(const std::vector<float>& got, const std::vector<float>& want, double scale) {
    double se = 0.0, me = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double e = static_cast<double>(got[i]) - static_cast<double>(want[i]);
        se += e * e;
        me = std::max(me, std::fabs(e));
    }
    return {std::sqrt(se / static_cast<double>(got.size())) / scale, me / scale};
}

double rms(const float* v, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; ++i) s += static_cast<double>(v[i]) * static_cast<double>(v[i]);
    return std::sqrt(s / static_cast<double>(n));
}

// Tolerances vs the f64 reference on dequantized weights, relative to the output scale. Float
// weights only see f32 rounding; quantized weights also see the activation's 8-bit quantization
// (Q8_0 / Q8_K blocks: about 0.8% of the scale per output, rms).
struct TypeCase {
    DType type;
    std::vector<int64_t> ks;
    double rms;
    double max;
};

const std::vector<TypeCase>& type_cases() {
    static const std::vector<TypeCase> cases = {
        {DType::F32, {1, 7, 33, 100, 768}, 1e-6, 5e-6},
        {DType::F16, {1, 9, 100, 768}, 1e-6, 5e-6},
        {DType::BF16, {3, 17, 768}, 1e-6, 5e-6},
        // single; pair + single; quad + single; quad + pair + single; quads
        {DType::Q8_0, {32, 96, 160, 224, 768}, 2e-2, 6e-2},
        {DType::Q4_0, {32, 96, 160, 224, 768}, 2e-2, 6e-2},
        {DType::Q4_K, {256, 768}, 2e-2, 6e-2},
        {DType::Q5_K, {256, 512}, 2e-2, 6e-2},
        {DType::Q6_K, {256, 768}, 2e-2, 6e-2},
    };
    return cases;
}

std::vector<float> run_matmul(ThreadPool& pool, const std::vector<float>& x, int64_t T, const Tensor& w) {
    std::vector<float> y(static_cast<size_t>(T * w.rows()), -1.0f);
    matmul(pool, x.data(), T, w, y.data());
    return y;
}

TEST_F(Kernels, MatmulEveryVariantAndDtypeMatchesReference) {
    const auto isas = available_isas();
    ASSERT_FALSE(isas.empty());
    ThreadPool p1(1), p2(2), p3(3);
    const int64_t Ts[] = {1, 3, 70};
    const int64_t Ns[] = {1, 5, 37};
    uint32_t seed = 1;
    for (const auto& tc : type_cases()) {
        for (int64_t K : tc.ks) {
            for (int64_t N : Ns) {
                const auto wf = randn(static_cast<size_t>(N * K), seed++);
                std::vector<uint8_t> wq(row_bytes(tc.type, K) * static_cast<size_t>(N));
                quantize_matrix(tc.type, wf.data(), wq.data(), N, K);
                const Tensor w = make_tensor(tc.type, {N, K}, wq.data());
                std::vector<float> wd(wf.size());
                for (int64_t n = 0; n < N; ++n) dequantize_row(tc.type, w.row(n), wd.data() + n * K, K);
                for (int64_t T : Ts) {
                    const auto x = randn(static_cast<size_t>(T * K), seed++);
                    const double scale = std::sqrt(static_cast<double>(K)) * rms(x.data(), x.size()) * rms(wd.data(), wd.size());
                    std::vector<float> ref(static_cast<size_t>(T * N));
                    matmul_ref(x.data(), T, w, ref.data());
                    std::vector<float> scalar_y;
                    for (const auto& isa : isas) {
                        ASSERT_TRUE(force_kernel_isa(isa));
                        const auto y1 = run_matmul(p1, x, T, w);
                        const Stats s = compare(y1, ref, scale);
                        const std::string what = isa + " " + std::string(dtype_name(tc.type)) + " T=" + std::to_string(T) +
                                                 " N=" + std::to_string(N) + " K=" + std::to_string(K);
                        EXPECT_LT(s.rms, tc.rms) << what;
                        EXPECT_LT(s.max, tc.max) << what;
                        // Thread count never changes a result.
                        EXPECT_EQ(run_matmul(p2, x, T, w), y1) << what << " threads=2";
                        EXPECT_EQ(run_matmul(p3, x, T, w), y1) << what << " threads=3";
                        // SIMD variants run the same integer dot products as the scalar one, so
                        // they agree with it far more closely than with the f64 reference.
                        if (isa == "scalar") {
                            scalar_y = y1;
                        } else if (!scalar_y.empty()) {
                            EXPECT_LT(compare(y1, scalar_y, scale).max, 1e-5) << what << " vs scalar";
                        }
                    }
                }
            }
        }
    }
}

TEST_F(Kernels, MatmulLargerShapesAcrossTokenTiles) {
    // T crosses the 64-token tile and N several row blocks; F32 and Q4_0 against the reference.
    const int64_t T = 67, N = 300, K = 256;
    for (DType t : {DType::F32, DType::Q4_0, DType::Q6_K}) {
        const auto wf = randn(static_cast<size_t>(N * K), 99);
        std::vector<uint8_t> wq(row_bytes(t, K) * static_cast<size_t>(N));
        quantize_matrix(t, wf.data(), wq.data(), N, K);
        const Tensor w = make_tensor(t, {N, K}, wq.data());
        const auto x = randn(static_cast<size_t>(T * K), 100);
        std::vector<float> ref(static_cast<size_t>(T * N));
        matmul_ref(x.data(), T, w, ref.data());
        const double scale = std::sqrt(static_cast<double>(K));
        ThreadPool p2(2), p3(3);
        for (const auto& isa : available_isas()) {
            ASSERT_TRUE(force_kernel_isa(isa));
            const auto y = run_matmul(p2, x, T, w);
            EXPECT_LT(compare(y, ref, scale).max, t == DType::F32 ? 5e-6 : 0.1) << isa << " " << dtype_name(t);
            EXPECT_EQ(run_matmul(p3, x, T, w), y) << isa;
        }
    }
}

// Row t of a T-token matmul is exactly the 1-token matmul of x_t (issue 9: a batched decode step
// must give each sequence what its own forward gives). T = 1 .. 12 runs every tile width of the
// decode path (one token over 4 rows at a time and single rows, then the row streaming of up to
// 8 tokens in one tile) and the first prompt-sized shapes past it; K values cover the quad, pair
// and single blocks of Q8_0 and Q4_0, and Q8_0 past K = 1024.
TEST_F(Kernels, MatmulRowsOfABatchEqualEachRowAloneBitForBit) {
    ThreadPool p1(1), p2(2);
    uint32_t seed = 900;
    for (const auto& tc : type_cases()) {
        std::vector<int64_t> ks = tc.ks;
        if (tc.type == DType::Q8_0) ks.push_back(1056);  // 33 blocks: 8 quads and a single
        for (int64_t K : ks) {
            const int64_t N = 37;
            const auto wf = randn(static_cast<size_t>(N * K), seed++);
            std::vector<uint8_t> wq(row_bytes(tc.type, K) * static_cast<size_t>(N));
            quantize_matrix(tc.type, wf.data(), wq.data(), N, K);
            const Tensor w = make_tensor(tc.type, {N, K}, wq.data());
            const auto x = randn(static_cast<size_t>(12 * K), seed++);
            for (const auto& isa : available_isas()) {
                ASSERT_TRUE(force_kernel_isa(isa));
                std::vector<std::vector<float>> alone;
                for (int64_t t = 0; t < 12; ++t) {
                    const std::vector<float> xt(x.begin() + t * K, x.begin() + (t + 1) * K);
                    alone.push_back(run_matmul(p1, xt, 1, w));
                }
                for (int64_t T = 1; T <= 12; ++T) {
                    const std::vector<float> xs(x.begin(), x.begin() + T * K);
                    for (ThreadPool* pool : {&p1, &p2}) {
                        const auto y = run_matmul(*pool, xs, T, w);
                        for (int64_t t = 0; t < T; ++t) {
                            const std::vector<float> row(y.begin() + t * N, y.begin() + (t + 1) * N);
                            ASSERT_EQ(row, alone[static_cast<size_t>(t)])
                                << isa << " " << dtype_name(tc.type) << " K=" << K << " T=" << T << " row " << t
                                << " threads=" << pool->size();
                        }
                    }
                }
            }
        }
    }
}

// Q8_0/Q4_0 batches of 5 to 16 rows on a multi-thread pool quantize their activation rows
// inside the matmul's own region, each thread claiming rows (dispatch.cpp): every row must be
// quantized exactly once and be complete before any thread reads it. With 3 and 4 threads and
// row counts on both sides of the inline (4) and fused (16) limits, each output row equals the
// 1-token matmul, repeatedly (a race would show as a stray, not a constant, difference).
TEST_F(Kernels, MatmulQuantizedBatchFusedActivationsEqualRowsAlone) {
    ThreadPool p1(1), p3(3), p4(4);
    uint32_t seed = 1300;
    for (DType type : {DType::Q8_0, DType::Q4_0}) {
        const int64_t K = 768, N = 300;
        const auto wf = randn(static_cast<size_t>(N * K), seed++);
        std::vector<uint8_t> wq(row_bytes(type, K) * static_cast<size_t>(N));
        quantize_matrix(type, wf.data(), wq.data(), N, K);
        const Tensor w = make_tensor(type, {N, K}, wq.data());
        const auto x = randn(static_cast<size_t>(17 * K), seed++);
        for (const auto& isa : available_isas()) {
            ASSERT_TRUE(force_kernel_isa(isa));
            std::vector<std::vector<float>> alone;
            for (int64_t t = 0; t < 17; ++t)
                alone.push_back(run_matmul(p1, std::vector<float>(x.begin() + t * K, x.begin() + (t + 1) * K), 1, w));
            for (int64_t T : {4, 5, 8, 16, 17}) {
                const std::vector<float> xs(x.begin(), x.begin() + T * K);
                for (ThreadPool* pool : {&p3, &p4}) {
                    for (int rep = 0; rep < 20; ++rep) {
                        const auto y = run_matmul(*pool, xs, T, w);
                        for (int64_t t = 0; t < T; ++t)
                            ASSERT_EQ(std::vector<float>(y.begin() + t * N, y.begin() + (t + 1) * N),
                                      alone[static_cast<size_t>(t)])
                                << isa << " " << dtype_name(type) << " T=" << T << " row " << t
                                << " threads=" << pool->size() << " rep " << rep;
                    }
                }
            }
        }
    }
}

// Random weights of `type`, one tensor per row count, K columns (seed advanced per tensor).
struct RandomWeights {
    std::vector<std::vector<uint8_t>> storage;
    std::vector<Tensor> ws;
    RandomWeights(DType type, int64_t K, std::initializer_list<int64_t> rows, uint32_t& seed) {
        storage.reserve(rows.size());  // the tensors point into it
        for (int64_t N : rows) {
            const auto wf = randn(static_cast<size_t>(N * K), seed++);
            storage.emplace_back(row_bytes(type, K) * static_cast<size_t>(N));
            quantize_matrix(type, wf.data(), storage.back().data(), N, K);
            ws.push_back(make_tensor(type, {N, K}, storage.back().data()));
        }
    }
};

// Two weights of different types for one group (F32 64 x 96, Q8_0 32 x 96): matmul_group runs
// them as separate products.
struct MixedTypeWeights {
    static constexpr int64_t K = 96;
    std::vector<float> fa = randn(64 * K, 1), fb = randn(32 * K, 2);
    std::vector<uint8_t> bq = std::vector<uint8_t>(row_bytes(DType::Q8_0, K) * 32);
    Tensor wa = make_tensor(DType::F32, {64, K}, fa.data());
    Tensor wb;
    MixedTypeWeights() {
        quantize_matrix(DType::Q8_0, fb.data(), bq.data(), 32, K);
        wb = make_tensor(DType::Q8_0, {32, K}, bq.data());
    }
};

// matmul_group (q/k/v and gate/up in one region) gives each target exactly what its own matmul
// gives: every dtype, one token and prompts on both sides of the F32 GEMM threshold, row counts
// that split the shared row range mid-block, 1 to 3 threads; weights of differing types fall
// back to separate products.
TEST_F(Kernels, MatmulGroupEqualsSeparateMatmulsBitForBit) {
    ThreadPool p1(1), p2(2), p3(3);
    uint32_t seed = 500;
    for (const auto& tc : type_cases()) {
        const int64_t K = tc.ks.back();
        const RandomWeights weights(tc.type, K, {37, 6, 300}, seed);
        const std::vector<Tensor>& ws = weights.ws;
        for (int64_t T : {int64_t{1}, int64_t{5}, int64_t{40}}) {
            const auto x = randn(static_cast<size_t>(T * K), seed++);
            for (ThreadPool* pool : {&p1, &p2, &p3}) {
                std::vector<std::vector<float>> ys;
                std::vector<MatmulTarget> targets;
                for (const Tensor& w : ws) ys.emplace_back(static_cast<size_t>(T * w.rows()), -1.0f);
                for (size_t i = 0; i < ws.size(); ++i) targets.push_back({&ws[i], ys[i].data()});
                matmul_group(*pool, x.data(), T, targets);
                for (size_t i = 0; i < ws.size(); ++i)
                    EXPECT_EQ(ys[i], run_matmul(*pool, x, T, ws[i]))
                        << dtype_name(tc.type) << " T=" << T << " target " << i << " threads=" << pool->size();
            }
        }
    }
    // Weights of two types in one call: each type is its own group.
    const MixedTypeWeights mw;
    const int64_t K = MixedTypeWeights::K, T = 3;
    const Tensor &wa = mw.wa, &wb = mw.wb;
    const auto x = randn(static_cast<size_t>(T * K), 3);
    std::vector<float> ya(static_cast<size_t>(T * 64)), yb(static_cast<size_t>(T * 32));
    const MatmulTarget mixed[] = {{&wa, ya.data()}, {&wb, yb.data()}};
    matmul_group(p2, x.data(), T, mixed);
    EXPECT_EQ(ya, run_matmul(p2, x, T, wa));
    EXPECT_EQ(yb, run_matmul(p2, x, T, wb));
}

// A RowPrep makes each input row exactly once, before that row is read, on whichever path the
// group takes (made inside the region with the quantizing for Q8 activations of 5-16 rows, made
// first otherwise, or before a group of mixed types splits): the products equal those of the
// rows made beforehand, bit for bit.
TEST_F(Kernels, MatmulGroupRowPrepMakesEachRowOnceBeforeItIsRead) {
    ThreadPool p1(1), p2(2), p3(3);
    uint32_t seed = 900;
    for (const auto& tc : type_cases()) {
        const int64_t K = tc.ks.back();
        const RandomWeights weights(tc.type, K, {48, 32}, seed);
        const std::vector<Tensor>& ws = weights.ws;
        for (int64_t T : {int64_t{1}, int64_t{4}, int64_t{8}, int64_t{16}, int64_t{40}}) {
            const auto src = randn(static_cast<size_t>(T * K), seed++);
            // The prep: row t of x = 2 * src row t + t, counted.
            std::vector<float> made(src.size());
            for (int64_t t = 0; t < T; ++t)
                for (int64_t i = 0; i < K; ++i)
                    made[static_cast<size_t>(t * K + i)] = 2.0f * src[static_cast<size_t>(t * K + i)] + static_cast<float>(t);
            for (ThreadPool* pool : {&p1, &p2, &p3}) {
                std::vector<float> x(src.size(), std::nanf(""));  // unmade rows would poison the products
                std::vector<std::atomic<int>> calls(static_cast<size_t>(T));
                const auto prep = [&](int64_t t) {
                    calls[static_cast<size_t>(t)].fetch_add(1);
                    for (int64_t i = 0; i < K; ++i)
                        x[static_cast<size_t>(t * K + i)] = 2.0f * src[static_cast<size_t>(t * K + i)] + static_cast<float>(t);
                };
                std::vector<std::vector<float>> ys;
                std::vector<MatmulTarget> targets;
                for (const Tensor& w : ws) ys.emplace_back(static_cast<size_t>(T * w.rows()), -1.0f);
                for (size_t i = 0; i < ws.size(); ++i) targets.push_back({&ws[i], ys[i].data()});
                matmul_group(*pool, x.data(), T, targets, row_prep(prep));
                const std::string what = std::string(dtype_name(tc.type)) + " T=" + std::to_string(T) +
                                         " threads=" + std::to_string(pool->size());
                for (int64_t t = 0; t < T; ++t) EXPECT_EQ(calls[static_cast<size_t>(t)].load(), 1) << what << " row " << t;
                EXPECT_EQ(x, made) << what;
                for (size_t i = 0; i < ws.size(); ++i) EXPECT_EQ(ys[i], run_matmul(*pool, made, T, ws[i])) << what;
            }
        }
    }
    // A group of two types runs as two products; the rows are still made once.
    const MixedTypeWeights mw;
    const int64_t K = MixedTypeWeights::K, T = 8;
    const Tensor &wa = mw.wa, &wb = mw.wb;
    const auto src = randn(static_cast<size_t>(T * K), 3);
    std::vector<float> x(src.size(), std::nanf(""));
    std::vector<std::atomic<int>> calls(static_cast<size_t>(T));
    const auto copy_row = [&](int64_t t) {
        calls[static_cast<size_t>(t)].fetch_add(1);
        std::copy_n(src.begin() + t * K, K, x.begin() + t * K);
    };
    std::vector<float> ya(static_cast<size_t>(T * 64)), yb(static_cast<size_t>(T * 32));
    const MatmulTarget mixed[] = {{&wa, ya.data()}, {&wb, yb.data()}};
    matmul_group(p2, x.data(), T, mixed, row_prep(copy_row));
    for (const auto& c : calls) EXPECT_EQ(c.load(), 1);
    EXPECT_EQ(ya, run_matmul(p2, src, T, wa));
    EXPECT_EQ(yb, run_matmul(p2, src, T, wb));
}

// F16 and BF16 weights at a prompt's worth of tokens take the F32 GEMM on their exactly widened
// values: the same bits as an F32 weight holding those values, for every ISA and thread count.
TEST_F(Kernels, HalfWeightPromptsGiveTheF32GemmOfTheirValues) {
    ThreadPool p1(1), p3(3);
    for (DType t : {DType::F16, DType::BF16}) {
        const int64_t N = 1100, K = 300, T = 45;  // N spans several widened slices
        const auto wf = randn(static_cast<size_t>(N * K), 7);
        std::vector<uint8_t> wq(row_bytes(t, K) * static_cast<size_t>(N));
        quantize_matrix(t, wf.data(), wq.data(), N, K);
        const Tensor w = make_tensor(t, {N, K}, wq.data());
        std::vector<float> wd(wf.size());
        for (int64_t n = 0; n < N; ++n) dequantize_row(t, w.row(n), wd.data() + n * K, K);
        const Tensor w32 = make_tensor(DType::F32, {N, K}, wd.data());
        const auto x = randn(static_cast<size_t>(T * K), 8);
        for (const auto& isa : available_isas()) {
            ASSERT_TRUE(force_kernel_isa(isa));
            const auto want = run_matmul(p1, x, T, w32);
            EXPECT_EQ(run_matmul(p1, x, T, w), want) << isa << " " << dtype_name(t);
            EXPECT_EQ(run_matmul(p3, x, T, w), want) << isa << " " << dtype_name(t) << " threads=3";
        }
    }
}

TEST_F(Kernels, VectorOpsMatchReferences) {
    for (const auto& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int64_t n : {1, 5, 16, 31, 100, 1000}) {
            const auto a = randn(static_cast<size_t>(n), 1), b = randn(static_cast<size_t>(n), 2);
            double d = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                d += static_cast<double>(a[static_cast<size_t>(i)]) * static_cast<double>(b[static_cast<size_t>(i)]);
                mag += std::fabs(static_cast<double>(a[static_cast<size_t>(i)]) * static_cast<double>(b[static_cast<size_t>(i)]));
            }
            EXPECT_NEAR(static_cast<double>(dot_f32(a.data(), b.data(), n)), d, 1e-6 * mag + 1e-7) << isa << " n=" << n;

            auto y = b;
            axpy_f32(0.75f, a.data(), y.data(), n);
            for (int64_t i = 0; i < n; ++i)
                EXPECT_NEAR(y[static_cast<size_t>(i)], b[static_cast<size_t>(i)] + 0.75f * a[static_cast<size_t>(i)], 1e-6f) << isa;

            auto s1 = randn(static_cast<size_t>(n), 3, 5.0f), s2 = s1;
            if (n > 2) s1[1] = s2[1] = -INFINITY;  // masked attention score
            softmax(s1.data(), n);
            softmax_ref(s2.data(), n);
            for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(s1[static_cast<size_t>(i)], s2[static_cast<size_t>(i)], 2e-6f) << isa;
            if (n > 2) {
                EXPECT_EQ(s1[1], 0.0f);
            }

            const auto g = randn(static_cast<size_t>(n), 4, 4.0f), u = randn(static_cast<size_t>(n), 5);
            std::vector<float> o1(static_cast<size_t>(n)), o2(static_cast<size_t>(n));
            silu_mul(g.data(), u.data(), o1.data(), n);
            silu_mul_ref(g.data(), u.data(), o2.data(), n);
            for (int64_t i = 0; i < n; ++i)
                EXPECT_NEAR(o1[static_cast<size_t>(i)], o2[static_cast<size_t>(i)], 1e-5f * (1.0f + std::fabs(o2[static_cast<size_t>(i)]))) << isa;

            const auto xr = randn(static_cast<size_t>(3 * n), 6, 2.0f), wr = randn(static_cast<size_t>(n), 7);
            std::vector<float> r1(xr.size()), r2(xr.size());
            rmsnorm(xr.data(), wr.data(), r1.data(), 3, n, 1e-5f);
            rmsnorm_ref(xr.data(), wr.data(), r2.data(), 3, n, 1e-5f);
            for (size_t i = 0; i < r1.size(); ++i) EXPECT_NEAR(r1[i], r2[i], 1e-5f * (1.0f + std::fabs(r2[i]))) << isa;
        }
    }
}

// attention_head promises the arithmetic of dot_f32 per key, softmax, and axpy_f32 per value
// into a zeroed output (the SIMD variants only keep more in registers), so a decode step and a
// batched one, or a change of kernel, cannot move a logit. Head sizes cover full, partial and
// multi-chunk vectors (1..300, past the 128-float register chunk), key counts cover the 4-key
// passes and their remainders, rows are strided as in a KV cache of several heads.
TEST_F(Kernels, AttentionHeadIsBitIdenticalToDotSoftmaxAxpy) {
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int64_t D : {1, 7, 16, 31, 32, 33, 48, 64, 80, 96, 128, 129, 160, 256, 300})
            for (int64_t n : {0, 1, 3, 4, 5, 8, 13, 64, 67}) {
                SCOPED_TRACE(isa + " D=" + std::to_string(D) + " n=" + std::to_string(n));
                const int64_t stride = 3 * D + 5;
                const auto q = randn(static_cast<size_t>(D), 11);
                const auto keys = randn(static_cast<size_t>(std::max<int64_t>(n, 1) * stride), 12);
                const auto values = randn(static_cast<size_t>(std::max<int64_t>(n, 1) * stride), 13);
                const float scale = 1.0f / std::sqrt(static_cast<float>(D));
                std::vector<float> want_sc(static_cast<size_t>(n)), want_o(static_cast<size_t>(D), 0.0f);
                for (int64_t j = 0; j < n; ++j)
                    want_sc[static_cast<size_t>(j)] = dot_f32(q.data(), keys.data() + j * stride, D) * scale;
                softmax(want_sc.data(), n);
                for (int64_t j = 0; j < n; ++j)
                    axpy_f32(want_sc[static_cast<size_t>(j)], values.data() + j * stride, want_o.data(), D);
                std::vector<float> sc(static_cast<size_t>(n)), o(static_cast<size_t>(D), 7.0f);
                attention_head(q.data(), keys.data(), values.data(), stride, n, D, scale, sc.data(), o.data());
                EXPECT_EQ(0, std::memcmp(sc.data(), want_sc.data(), sc.size() * sizeof(float)));
                ASSERT_EQ(0, std::memcmp(o.data(), want_o.data(), o.size() * sizeof(float)));
            }
    }
}

// The f16 KV cache (issue 2). f16 rows of a random cache, `stride` halves apart like a cache of
// several heads.
std::vector<uint16_t> to_f16(const std::vector<float>& x) {
    std::vector<uint16_t> h(x.size());
    for (size_t i = 0; i < x.size(); ++i) h[i] = fp32_to_fp16(x[i]);
    return h;
}

// Over f16 views attention_head keeps its promise: the arithmetic of dot_kv per key, softmax and
// axpy_kv per value, bit for bit, in every variant (the AVX-512 one's four-key passes and
// register-held output included). Over f32 views it is exactly the f32 attention_head.
TEST_F(Kernels, F16KvAttentionHeadIsBitIdenticalToDotSoftmaxAxpy) {
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int64_t D : {1, 7, 16, 31, 32, 33, 64, 80, 128, 129, 160, 300})
            for (int64_t n : {0, 1, 3, 4, 5, 13, 67}) {
                SCOPED_TRACE(isa + " D=" + std::to_string(D) + " n=" + std::to_string(n));
                const int64_t stride = 3 * D + 5;
                const size_t rows = static_cast<size_t>(std::max<int64_t>(n, 1) * stride);
                const auto q = randn(static_cast<size_t>(D), 31);
                const auto kf = randn(rows, 32), vf = randn(rows, 33);
                const auto kh = to_f16(kf), vh = to_f16(vf);
                const KvView keys{kh.data(), DType::F16, stride}, values{vh.data(), DType::F16, stride};
                const float scale = 1.0f / std::sqrt(static_cast<float>(D));
                std::vector<float> want_sc(static_cast<size_t>(n)), want_o(static_cast<size_t>(D), 0.0f);
                for (int64_t j = 0; j < n; ++j) want_sc[static_cast<size_t>(j)] = dot_kv(q.data(), keys, j, D) * scale;
                softmax(want_sc.data(), n);
                for (int64_t j = 0; j < n; ++j) axpy_kv(want_sc[static_cast<size_t>(j)], values, j, want_o.data(), D);
                std::vector<float> sc(static_cast<size_t>(n)), o(static_cast<size_t>(D), 7.0f);
                attention_head(q.data(), keys, values, n, D, scale, sc.data(), o.data());
                EXPECT_EQ(0, std::memcmp(sc.data(), want_sc.data(), sc.size() * sizeof(float)));
                ASSERT_EQ(0, std::memcmp(o.data(), want_o.data(), o.size() * sizeof(float)));
                // The f32 view of the same f32 rows takes the f32 path unchanged.
                std::vector<float> sc32(static_cast<size_t>(n)), o32(static_cast<size_t>(D)), sc_raw(sc32), o_raw(o32);
                attention_head(q.data(), KvView{kf.data(), DType::F32, stride}, KvView{vf.data(), DType::F32, stride}, n,
                               D, scale, sc32.data(), o32.data());
                attention_head(q.data(), kf.data(), vf.data(), stride, n, D, scale, sc_raw.data(), o_raw.data());
                ASSERT_EQ(0, std::memcmp(o32.data(), o_raw.data(), o32.size() * sizeof(float)));
            }
    }
}

// attention_scores is dot_kv per key times the scale (nothing written past n), attention_values
// is axpy_kv per value (weights p) into a zeroed output, and scores, softmax, values is
// attention_head: bit for bit, over views of any type.
void expect_halves_are_rows(const std::vector<float>& q, const KvView& keys, const KvView& values,
                            const std::vector<float>& p, int64_t n, int64_t D) {
    for (float scale : {1.0f, 0.125f, 0.3f}) {
        std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n) + 1, 9.0f);
        for (int64_t j = 0; j < n; ++j) want[static_cast<size_t>(j)] = dot_kv(q.data(), keys, j, D) * scale;
        attention_scores(q.data(), keys, n, D, scale, got.data());
        ASSERT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float))) << scale;
        EXPECT_EQ(got[static_cast<size_t>(n)], 9.0f);
    }
    std::vector<float> want_o(static_cast<size_t>(D), 0.0f), o(static_cast<size_t>(D), 7.0f);
    for (int64_t j = 0; j < n; ++j) axpy_kv(p[static_cast<size_t>(j)], values, j, want_o.data(), D);
    attention_values(p.data(), values, n, D, o.data());
    ASSERT_EQ(0, std::memcmp(o.data(), want_o.data(), o.size() * sizeof(float)));
    std::vector<float> sc(static_cast<size_t>(n)), sc2(sc), o2(o);
    attention_scores(q.data(), keys, n, D, 0.3f, sc.data());
    softmax(sc.data(), n);
    attention_values(sc.data(), values, n, D, o.data());
    attention_head(q.data(), keys, values, n, D, 0.3f, sc2.data(), o2.data());
    ASSERT_EQ(0, std::memcmp(o.data(), o2.data(), o.size() * sizeof(float)));
}

// The halves of attention_head (core/attention.h) that T5, Transformer-XL and XLNet run with
// their own score terms in between: attention_scores is dot_kv per key times the scale (with
// scale 1, exactly dot_kv), attention_values is axpy_kv per value into a zeroed output, bit for
// bit, over f32 and f16 rows in every variant; and the two around a softmax are attention_head.
TEST_F(Kernels, AttentionHalvesAreBitIdenticalToDotAndAxpyPerRow) {
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int64_t D : {1, 7, 16, 33, 64, 128, 129, 300})
            for (int64_t n : {0, 1, 3, 4, 5, 13, 67})
                for (DType type : {DType::F32, DType::F16}) {
                    SCOPED_TRACE(isa + " D=" + std::to_string(D) + " n=" + std::to_string(n) + " " +
                                 std::string(dtype_name(type)));
                    const int64_t stride = 2 * D + 3;
                    const size_t rows = static_cast<size_t>(std::max<int64_t>(n, 1) * stride);
                    const auto q = randn(static_cast<size_t>(D), 51);
                    const auto kf = randn(rows, 52), vf = randn(rows, 53), p = randn(static_cast<size_t>(n) + 1, 54);
                    const auto kh = to_f16(kf), vh = to_f16(vf);
                    const bool half = type == DType::F16;
                    const KvView keys{half ? static_cast<const void*>(kh.data()) : kf.data(), type, stride};
                    const KvView values{half ? static_cast<const void*>(vh.data()) : vf.data(), type, stride};
                    expect_halves_are_rows(q, keys, values, p, n, D);
                }
    }
}

// dot_kv / axpy_kv over f16 rows compute on the exactly widened halves: each variant lands within
// f32 rounding of a double-precision sum of q[i] * widen(k[i]) (not of the unrounded f32 keys).
TEST_F(Kernels, F16KvDotAndAxpyMatchADoubleReference) {
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int64_t n : {1, 5, 8, 15, 16, 17, 31, 32, 33, 64, 100, 257}) {
            SCOPED_TRACE(isa + " n=" + std::to_string(n));
            const auto q = randn(static_cast<size_t>(n), 41), kf = randn(static_cast<size_t>(n), 42);
            const auto kh = to_f16(kf);
            const KvView k{kh.data(), DType::F16, n};
            double want = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                const double w = static_cast<double>(fp16_to_fp32(kh[static_cast<size_t>(i)]));
                want += static_cast<double>(q[static_cast<size_t>(i)]) * w;
                mag += std::fabs(static_cast<double>(q[static_cast<size_t>(i)]) * w);
            }
            EXPECT_NEAR(dot_kv(q.data(), k, 0, n), want, 1e-6 * mag + 1e-30);
            std::vector<float> y(static_cast<size_t>(n), 0.5f);
            axpy_kv(-1.5f, k, 0, y.data(), n);
            for (int64_t i = 0; i < n; ++i) {  // one fused or rounded multiply-add: within an ulp
                const double w = static_cast<double>(fp16_to_fp32(kh[static_cast<size_t>(i)]));
                EXPECT_NEAR(y[static_cast<size_t>(i)], 0.5 - 1.5 * w, 1e-6 * (0.5 + 1.5 * std::fabs(w)));
            }
        }
    }
}

// The Q8_0 KV cache: rows of int8 with one f32 scale per 32 elements, `stride` elements apart
// (a multiple of 32) like a cache of several heads, written by quantize_kv_q8.
struct Q8Rows {
    std::vector<int8_t> q;
    std::vector<float> d;
    KvView view(int64_t stride) const { return {q.data(), DType::Q8_0, stride, d.data()}; }
};
Q8Rows to_q8(const std::vector<float>& x) {
    Q8Rows r{std::vector<int8_t>(x.size()), std::vector<float>(x.size() / 32)};
    quantize_kv_q8(x.data(), static_cast<int64_t>(x.size()), r.q.data(), r.d.data());
    return r;
}

// Over Q8_0 views, as over f16 ones: attention_scores is dot_kv per key times the scale,
// attention_values is axpy_kv per value into a zeroed output, and attention_head is those around a
// softmax, bit for bit, in every variant (the AVX-512 one reads the rows through its four-key and
// register-held passes, the others through the portable loops).
TEST_F(Kernels, Q8KvAttentionIsBitIdenticalToDotSoftmaxAxpy) {
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int64_t D : {32, 64, 96, 128, 160, 256})
            for (int64_t n : {0, 1, 3, 4, 5, 13, 67}) {
                SCOPED_TRACE(isa + " D=" + std::to_string(D) + " n=" + std::to_string(n));
                const int64_t stride = 3 * D + 32;
                const size_t rows = static_cast<size_t>(std::max<int64_t>(n, 1) * stride);
                const auto q = randn(static_cast<size_t>(D), 61), p = randn(static_cast<size_t>(n) + 1, 64);
                const Q8Rows kq = to_q8(randn(rows, 62)), vq = to_q8(randn(rows, 63));
                const KvView keys = kq.view(stride), values = vq.view(stride);
                expect_halves_are_rows(q, keys, values, p, n, D);
                // A head's slice of the rows (KvView::at) reads the elements and scales it names:
                // rows 2 and 3, so only where the buffer holds four rows (n = 3 read past it).
                if (n > 3 && D >= 64) {
                    const KvView slice = keys.at(2, 32);
                    const KvView by_hand{kq.q.data() + 2 * stride + 32, DType::Q8_0, stride,
                                         kq.d.data() + 2 * stride / 32 + 1};
                    EXPECT_EQ(dot_kv(q.data(), slice, 0, 32), dot_kv(q.data(), by_hand, 0, 32));
                    EXPECT_EQ(dot_kv(q.data(), slice, 1, 32), dot_kv(q.data(), by_hand, 1, 32));
                }
            }
    }
}

// The Q8_0 cache's values: quantize_kv_q8 keeps each element within half a step (its block's
// amax / 254) of the f32 value, and every variant's dot_kv / axpy_kv lands within f32 rounding of
// a double-precision sum over the read elements d * q.
TEST_F(Kernels, Q8KvQuantizesWithinHalfAStepAndDotsMatchADoubleReference) {
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int64_t n : {32, 64, 96, 256}) {
            SCOPED_TRACE(isa + " n=" + std::to_string(n));
            const auto q = randn(static_cast<size_t>(n), 71), kf = randn(static_cast<size_t>(n), 72, 2.0f);
            const Q8Rows kq = to_q8(kf);
            const KvView k = kq.view(n);
            double want = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                const auto at = static_cast<size_t>(i);
                double amax = 0.0;
                for (int64_t b = i / 32 * 32; b < i / 32 * 32 + 32; ++b)
                    amax = std::max(amax, std::fabs(static_cast<double>(kf[static_cast<size_t>(b)])));
                const double w = static_cast<double>(kq.d[at / 32] * static_cast<float>(kq.q[at]));
                EXPECT_LE(std::fabs(w - static_cast<double>(kf[at])), amax / 254.0 * 1.0001 + 1e-7) << i;
                want += static_cast<double>(q[at]) * w;
                mag += std::fabs(static_cast<double>(q[at]) * w);
            }
            EXPECT_NEAR(dot_kv(q.data(), k, 0, n), want, 1e-6 * mag + 1e-30);
            std::vector<float> y(static_cast<size_t>(n), 0.5f);
            axpy_kv(-1.5f, k, 0, y.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                const auto at = static_cast<size_t>(i);
                const double w = static_cast<double>(kq.d[at / 32] * static_cast<float>(kq.q[at]));
                EXPECT_NEAR(y[at], 0.5 - 1.5 * w, 1e-6 * (0.5 + 1.5 * std::fabs(w)));
            }
        }
    }
}

// The cache's writes: every variant's f32_to_f16 gives half.h's round-to-nearest-even bytes on
// normal values, ties, subnormals, overflow and infinities; a NaN stays a NaN.
TEST_F(Kernels, F32ToF16VariantsGiveTheScalarBytes) {
    auto x = randn(203, 51, 3.0f);
    const float specials[] = {0.0f,     -0.0f,     1.0f + 1.0f / 2048.0f, 1.0f + 3.0f / 2048.0f, 65504.0f, 65520.0f,
                              70000.0f, -1e9f,     INFINITY,              -INFINITY,             6e-8f,    3e-8f,
                              2.9e-8f,  1e-5f,     -6.1e-5f,              1e-40f,                1234.5f};
    x.insert(x.begin() + 7, std::begin(specials), std::end(specials));
    x.push_back(NAN);
    std::vector<uint16_t> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) want[i] = fp32_to_fp16(x[i]);
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        std::vector<uint16_t> got(x.size(), 0xABCD);
        f32_to_f16(x.data(), got.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i + 1 < x.size(); ++i) ASSERT_EQ(got[i], want[i]) << isa << " x=" << x[i];
        EXPECT_TRUE(std::isnan(fp16_to_fp32(got.back()))) << isa;
    }
}

// The activation quantizer behind every Q8_0/Q4_0 matmul: each SIMD variant must give the
// scalar definition's bytes, including ties (x * 127/amax landing on .5: half to even), NaN
// (skipped by the block max, quantized to 0), infinities, all-zero and denormal blocks.
TEST_F(Kernels, ActivationQuantizerVariantsGiveTheScalarBytes) {
    const int64_t nb = 12;
    auto x = randn(static_cast<size_t>(32 * nb), 21);
    for (int j = 0; j < 32; ++j) x[32 + static_cast<size_t>(j)] = 0.0f;  // block 1: all zero
    for (int j = 0; j < 32; ++j) x[64 + static_cast<size_t>(j)] = static_cast<float>(j - 16) * 0.5f;  // .5 ties
    x[64] = -127.0f;  // block 2's amax
    x[100] = NAN;
    x[101] = INFINITY;  // block 3: amax inf, every product 0 or NaN
    x[130] = -INFINITY;
    x[131] = NAN;  // block 4
    for (int j = 0; j < 32; ++j) x[160 + static_cast<size_t>(j)] = 1e-40f * static_cast<float>(j);  // denormals
    const auto run = [&](const kern::KernelTable& k, std::vector<int8_t>& qs, std::vector<float>& d,
                         std::vector<int32_t>& sum) {
        qs.assign(static_cast<size_t>(32 * nb), 99);
        d.assign(static_cast<size_t>(nb), -1.0f);
        sum.assign(static_cast<size_t>(nb), 12345);
        k.quantize_act_q8(x.data(), nb, qs.data(), d.data(), sum.data());
    };
    std::vector<int8_t> want_qs, qs;
    std::vector<float> want_d, d;
    std::vector<int32_t> want_sum, sum;
    run(kern::scalar_table(), want_qs, want_d, want_sum);
    EXPECT_EQ(want_qs[64], -127);
    EXPECT_EQ(want_qs[65], -8);  // -7.5 (amax 127, so x * 127/amax = x): half to even
    EXPECT_EQ(want_qs[67], -6);  // -6.5
    EXPECT_EQ(want_qs[100], 0);
    int checked = 0;
    for (const std::string& isa : available_isas()) {
        if (isa == "scalar") continue;
        const kern::KernelTable* k = isa == "avx2" ? kern::avx2_table() : kern::avx512_table();
        ASSERT_NE(k, nullptr);
        run(*k, qs, d, sum);
        EXPECT_EQ(qs, want_qs) << isa;
        EXPECT_EQ(0, std::memcmp(d.data(), want_d.data(), d.size() * sizeof(float))) << isa;
        EXPECT_EQ(sum, want_sum) << isa;
        ++checked;
    }
    std::printf("quantizer variants checked against scalar: %d\n", checked);
}

// The sampler's passes (core::div_minmax, dist_bins, indices_eq_u16): every variant must give
// the portable definition's values, extremes, buckets, masses and indices exactly, for lengths
// around the 16- and 32-lane steps and rows with NaN, infinities, signed zeros and a far tail.
TEST_F(Kernels, SamplerPassVariantsGiveThePortableResults) {
    for (const int64_t n : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{33}, int64_t{1000}, int64_t{32003}}) {
        auto x = randn(static_cast<size_t>(n), 31 + static_cast<uint32_t>(n), 2.0f);
        if (n > 40) {
            x[3] = NAN;
            x[7] = -INFINITY;
            x[11] = -0.0f;
            x[12] = 0.0f;
            x[20] = -200.0f;  // far below the rest: weight 0, clamped to the last bucket
            x[37] = x[38];    // a tie
        }
        const float t = 0.8f;
        std::vector<float> want_l(x.size()), l(x.size());
        float want_hi = 0, want_lo = 0, hi = 0, lo = 0;
        kern::div_minmax_portable(x.data(), n, t, want_l.data(), &want_hi, &want_lo);
        // The draw's own inputs: the exps against the top, the bucket range as the sampler sets it.
        std::vector<float> e(want_l);
        exp_sub_sum(e.data(), n, want_hi);
        const float lo_clamped = std::max(want_lo, want_hi - 40.0f * 0.6931472f - 1.0f);
        const float scale = want_hi > lo_clamped ? 1023.0f / (want_hi - lo_clamped) : 0.0f;
        const float unit = std::ldexp(1.0f, 40);
        std::vector<uint16_t> want_b(x.size()), b(x.size());
        std::vector<uint64_t> want_mass(1024, 0), mass(1024, 0);
        const uint64_t want_total = kern::dist_bins_portable(want_l.data(), e.data(), n, want_hi, lo_clamped, scale, unit,
                                                             want_b.data(), want_mass.data(), 1024);
        std::vector<int32_t> want_idx(x.size()), idx(x.size());
        const int64_t want_count = kern::indices_eq_u16_portable(want_b.data(), n, want_b[0], want_idx.data());
        ASSERT_GE(want_count, 1);
        for (const std::string& isa : available_isas()) {
            ASSERT_TRUE(force_kernel_isa(isa));
            l.assign(x.size(), 7.0f);
            div_minmax(x.data(), n, t, l.data(), &hi, &lo);
            EXPECT_EQ(0, std::memcmp(l.data(), want_l.data(), l.size() * sizeof(float))) << isa << " n=" << n;
            EXPECT_EQ(hi, want_hi) << isa << " n=" << n;
            EXPECT_EQ(lo, want_lo) << isa << " n=" << n;
            // In place, as the sampler calls it for a CandidateSet (t = 1: a copy).
            std::vector<float> inplace(want_l);
            div_minmax(inplace.data(), n, 1.0f, inplace.data(), &hi, &lo);
            EXPECT_EQ(0, std::memcmp(inplace.data(), want_l.data(), l.size() * sizeof(float))) << isa;
            EXPECT_EQ(hi, want_hi) << isa;
            std::fill(mass.begin(), mass.end(), 0);
            const uint64_t total =
                dist_bins(want_l.data(), e.data(), n, want_hi, lo_clamped, scale, unit, b.data(), mass.data(), 1024);
            EXPECT_EQ(total, want_total) << isa << " n=" << n;
            EXPECT_EQ(b, want_b) << isa << " n=" << n;
            EXPECT_EQ(mass, want_mass) << isa << " n=" << n;
            idx.assign(x.size(), -1);
            EXPECT_EQ(indices_eq_u16(b.data(), n, want_b[0], idx.data()), want_count) << isa << " n=" << n;
            EXPECT_TRUE(std::equal(want_idx.begin(), want_idx.begin() + want_count, idx.begin())) << isa << " n=" << n;
        }
        if (n > 40) {
            EXPECT_TRUE(std::isnan(want_l[3]));
            EXPECT_GE(want_b[20], 1022);  // the far tail: the last bucket, give or take a rounding
            EXPECT_EQ(want_b[37], want_b[38]);
        }
    }
    // No finite value: the extremes say so (the sampler then takes its no-mass path).
    const std::vector<float> none = {NAN, -INFINITY, NAN};
    for (const std::string& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        std::vector<float> out(none.size());
        float hi = 0, lo = 0;
        div_minmax(none.data(), 3, 1.0f, out.data(), &hi, &lo);
        EXPECT_EQ(hi, -INFINITY) << isa;
        EXPECT_EQ(lo, INFINITY) << isa;
    }
}

TEST_F(Kernels, SiluAndSoftmaxSurviveExtremeInputs) {
    for (const auto& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        std::vector<float> g = {-1000.0f, -90.0f, -20.0f, 0.0f, 20.0f, 90.0f, 1000.0f, 3.0f, -3.0f};
        std::vector<float> u(g.size(), 1.0f), o(g.size()), r(g.size());
        silu_mul(g.data(), u.data(), o.data(), static_cast<int64_t>(g.size()));
        silu_mul_ref(g.data(), u.data(), r.data(), static_cast<int64_t>(g.size()));
        for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(o[i], r[i], 1e-5f * (1.0f + std::fabs(r[i]))) << isa << " g=" << g[i];
        std::vector<float> s = {1000.0f, -1000.0f, 0.0f, 999.0f};
        softmax(s.data(), 4);
        EXPECT_NEAR(s[0], 1.0f / (1.0f + std::exp(-1.0f)), 1e-6f) << isa;
        EXPECT_EQ(s[1], 0.0f) << isa;
    }
}

// The erf GELU against a double-precision reference over [-12, 12]: relative error within
// 2e-6 for x >= -5 and within 2e-5 in the far tail (Φ(-12) ~ 2e-33, where 1 + erf(x/√2) in
// float is exactly 0; there the exponent x²/2 ~ 72 carries float's rounding of 4e-6 of itself).
TEST_F(Kernels, ErfGeluKeepsItsRelativeAccuracyInBothTails) {
    std::vector<float> x;
    for (int i = -24000; i <= 24000; ++i) x.push_back(static_cast<float>(i) * 0.0005f);
    for (const auto& isa : available_isas()) {  // the exponentials are the dispatched exp
        ASSERT_TRUE(force_kernel_isa(isa));
        std::vector<float> y = x;
        gelu_erf(y.data(), static_cast<int64_t>(y.size()));
        double worst = 0.0, worst_tail = 0.0;
        float worst_at = 0.0f;
        for (size_t i = 0; i < x.size(); ++i) {
            const double v = static_cast<double>(x[i]);
            const double ref = 0.5 * v * std::erfc(-v / std::sqrt(2.0));
            if (ref == 0.0) {
                EXPECT_EQ(y[i], 0.0f) << isa;
                continue;
            }
            const double rel = std::fabs(static_cast<double>(y[i]) - ref) / std::fabs(ref);
            if (x[i] < -5.0f)
                worst_tail = std::max(worst_tail, rel);
            else if (rel > worst)
                worst = rel, worst_at = x[i];
        }
        EXPECT_LT(worst, 2e-6) << isa << " at x = " << worst_at;
        EXPECT_LT(worst_tail, 2e-5) << isa;
        EXPECT_LT(y.front(), 0.0f) << isa;  // -12 Φ(-12) ~ -2e-32: a normal float, not 0
    }
}

// The encoders' activations (issue 10) at values worked out by hand: Phi(1) = 0.8413447461,
// so erf-GELU(1) = 0.8413447, erf-GELU(-1) = -0.1586553, and the tanh form differs from it
// (GELU_tanh(1) = 0.8411920) by more than the parity tolerance would allow.
TEST_F(Kernels, ErfGeluReluAndTanhAtKnownValues) {
    std::vector<float> x = {1.0f, -1.0f, 0.0f, 3.0f, -6.0f};
    std::vector<float> t = x;
    gelu_erf(x.data(), 5);
    EXPECT_NEAR(x[0], 0.8413447f, 1e-6f);
    EXPECT_NEAR(x[1], -0.1586553f, 1e-6f);
    EXPECT_EQ(x[2], 0.0f);
    EXPECT_NEAR(x[3], 2.9959503f, 1e-6f);
    EXPECT_NEAR(x[4], -5.9e-9f, 1e-8f);
    std::vector<float> g = {1.0f};
    gelu(g.data(), 1);
    EXPECT_GT(std::fabs(g[0] - x[0]), 1e-4f);
    std::vector<float> r = {-2.0f, 0.0f, 2.5f};
    relu(r.data(), 3);
    EXPECT_EQ(r, (std::vector<float>{0.0f, 0.0f, 2.5f}));
    tanh_inplace(t.data(), 5);
    EXPECT_NEAR(t[0], 0.7615942f, 1e-6f);
    EXPECT_NEAR(t[4], -0.9999877f, 1e-6f);
}

TEST_F(Kernels, ForceIsaRejectsUnknownNamesAndReportsTheChoice) {
    EXPECT_FALSE(force_kernel_isa("neon9000"));
    ASSERT_TRUE(force_kernel_isa("scalar"));
    EXPECT_STREQ(kernel_isa(), "scalar");
}

}  // namespace
}  // namespace lyra::core
