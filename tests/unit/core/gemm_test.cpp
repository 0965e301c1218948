// core::gemm_f32 and core::transpose_f32, and the F32 matmul path that uses them: against an
// element-by-element fused multiply-add chain written here (gemm.h promises exactly that chain,
// so the comparison is bit for bit), for every ISA and thread count, and against a double
// reference for the matmul's swapped-role form.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/gemm.h"
#include "core/half.h"
#include "core/kernels/kernels.h"
#include "core/matmul_group.h"
#include "core/ops.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "unit/core/isa_fixture.h"

namespace lyra::core {
namespace {

class Gemm : public IsaRestoringTest {};

// C = (accumulate ? C : 0) + A · B, each element one std::fma chain over k in order.
void fma_chain_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                    float* C, int64_t ldc, bool accumulate) {
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            float s = accumulate ? C[i * ldc + j] : 0.0f;
            for (int64_t p = 0; p < K; ++p) s = std::fma(A[i * lda + p], B[p * ldb + j], s);
            C[i * ldc + j] = s;
        }
}

struct Shape {
    int64_t M, N, K;
};

// Shapes around every edge: the 6-row tile, the 16/64-column panels, the 128-deep K block and
// the 192-row work item, and products with too few items for the threads, whose rows are split
// into 96- or 48-row items (a training dW product: {300, 130, 300}).
const Shape kShapes[] = {{1, 1, 1},      {6, 64, 256},  {7, 65, 257},  {5, 17, 3},     {13, 129, 300},
                         {97, 33, 40},   {200, 70, 513}, {2, 300, 64}, {64, 8, 1000},  {193, 130, 31},
                         {390, 20, 140}, {300, 130, 300}};

TEST_F(Gemm, EveryElementIsOneFmaChainForEveryIsaAndThreadCount) {
    for (const auto& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            uint32_t seed = 1;
            for (const Shape& s : kShapes) {
                for (bool accumulate : {false, true}) {
                    // Leading dimensions wider than the rows, so strides are honoured.
                    const int64_t lda = s.K + 3, ldb = s.N + 5, ldc = s.N + 2;
                    const auto A = randn(static_cast<size_t>(s.M * lda), seed++);
                    const auto B = randn(static_cast<size_t>(s.K * ldb), seed++);
                    auto C = randn(static_cast<size_t>(s.M * ldc), seed++);
                    auto want = C;
                    fma_chain_gemm(s.M, s.N, s.K, A.data(), lda, B.data(), ldb, want.data(), ldc, accumulate);
                    gemm_f32(pool, s.M, s.N, s.K, A.data(), lda, B.data(), ldb, C.data(), ldc, accumulate);
                    // The padding columns of C are left alone; the rest is bit-identical.
                    ASSERT_EQ(0, std::memcmp(C.data(), want.data(), C.size() * sizeof(float)))
                        << isa << " threads " << threads << " M " << s.M << " N " << s.N << " K " << s.K
                        << " accumulate " << accumulate;
                }
            }
        }
    }
}

TEST_F(Gemm, ZeroDepthClearsOrKeepsC) {
    ThreadPool pool(2);
    std::vector<float> C(12, 7.0f);
    gemm_f32(pool, 3, 4, 0, nullptr, 0, nullptr, 4, C.data(), 4, true);
    EXPECT_EQ(C, std::vector<float>(12, 7.0f));
    gemm_f32(pool, 3, 4, 0, nullptr, 0, nullptr, 4, C.data(), 4, false);
    EXPECT_EQ(C, std::vector<float>(12, 0.0f));
}

TEST_F(Gemm, TransposeWithStrides) {
    ThreadPool pool(2);
    for (const auto& [R, C] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 17}, {17, 3}, {300, 257}}) {
        const int64_t ld_in = C + 2, ld_out = R + 1;
        const auto in = randn(static_cast<size_t>(R * ld_in), 9);
        std::vector<float> out(static_cast<size_t>(C * ld_out), -1.0f);
        transpose_f32(pool, in.data(), R, C, ld_in, out.data(), ld_out);
        for (int64_t r = 0; r < R; ++r)
            for (int64_t c = 0; c < C; ++c) ASSERT_EQ(out[c * ld_out + r], in[r * ld_in + c]) << r << "," << c;
        for (int64_t c = 0; c < C; ++c) ASSERT_EQ(out[c * ld_out + R], -1.0f);  // padding untouched
    }
}

// Every ISA's transpose kernel, on block edges in both directions (16 x 16 and 8 x 8 blocks, the
// masked or element-wise remainders) and in both loop orders (ld_out above and below ld_in).
TEST_F(Gemm, TransposeKernelOfEveryIsaOnBlockEdges) {
    const std::pair<int64_t, int64_t> sizes[] = {{1, 1}, {1, 40}, {40, 1}, {7, 9}, {8, 8}, {16, 16}, {17, 15},
                                                 {33, 70}, {64, 256}, {150, 37}};
    for (const auto& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        const auto& k = kern::active_table();
        for (const auto& [R, C] : sizes)
            for (const int64_t pad_in : {0, 3, 300}) {
                const int64_t ld_in = C + pad_in, ld_out = R + (pad_in == 300 ? 1 : 200);
                const auto in = randn(static_cast<size_t>(R * ld_in), 11);
                std::vector<float> out(static_cast<size_t>(C * ld_out), -7.0f);
                k.transpose_f32(in.data(), R, C, ld_in, out.data(), ld_out);
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t r = 0; r < ld_out; ++r)
                        ASSERT_EQ(out[c * ld_out + r], r < R ? in[r * ld_in + c] : -7.0f)
                            << isa << " R " << R << " C " << C << " ld_in " << ld_in << " at " << r << "," << c;
            }
    }
}

// The prompt path's product from packed tokens, y = x · W^T, against the same fma chain, with
// tails in every dimension: tokens around the 64- (16-, 32-) wide panels, weight rows around the
// 6-row tile, the 96-row chunk and the split between threads, depths around the 256-deep packing
// block and the 1024-deep block (past it, tiles add to the partial sums they stored); strides
// wider than the rows.
TEST_F(Gemm, PackedTokenProductIsOneFmaChainForEveryIsaAndThreadCount) {
    struct WtShape {
        int64_t N, T, K;
    };
    const WtShape shapes[] = {{1, 1, 1},     {6, 64, 128},   {7, 65, 129},  {13, 33, 257},  {200, 128, 300},
                              {385, 70, 40}, {12, 129, 513}, {2, 3, 1000},  {193, 17, 31},  {97, 40, 1025},
                              {13, 70, 2100}};
    for (const auto& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            uint32_t seed = 100;
            for (const WtShape& s : shapes) {
                const int64_t ldw = s.K + 5, ldy = s.N + 3;
                const auto W = randn(static_cast<size_t>(s.N * ldw), seed++);
                const auto x = randn(static_cast<size_t>(s.T * s.K), seed++);
                std::vector<float> packed(static_cast<size_t>(packed_tokens_size(s.T, s.K)) + 16);
                // 64-byte aligned start inside the vector, as gemm.h requires.
                float* p = packed.data() + (16 - (reinterpret_cast<uintptr_t>(packed.data()) / 4) % 16) % 16;
                ASSERT_LE(p + packed_tokens_size(s.T, s.K), packed.data() + packed.size());
                pack_tokens(pool, x.data(), s.T, s.K, p);
                std::vector<float> y(static_cast<size_t>(s.T * ldy), -3.0f), want = y;
                // want^T = W · x^T: the fma chain with W as A and x^T (ldb = 1 column per token) as B.
                for (int64_t t = 0; t < s.T; ++t)
                    for (int64_t n = 0; n < s.N; ++n) {
                        float acc = 0.0f;
                        for (int64_t q = 0; q < s.K; ++q) acc = std::fma(W[n * ldw + q], x[t * s.K + q], acc);
                        want[t * ldy + n] = acc;
                    }
                gemm_f32_wt(pool, s.N, s.T, s.K, W.data(), ldw, p, y.data(), ldy);
                ASSERT_EQ(0, std::memcmp(y.data(), want.data(), y.size() * sizeof(float)))
                    << isa << " threads " << threads << " N " << s.N << " T " << s.T << " K " << s.K;
            }
        }
    }
}

// Products claimed from one region (gemm_f32_wt_group) give each product's own bits, token-major
// and packed alike, at every thread count and ISA: row counts around the 6-row tile and the
// 96-row chunk, so grabs end at product boundaries and in a partial tile; an empty group is
// a no-op.
TEST_F(Gemm, GroupedProductsEqualSeparateProductsBitForBit) {
    const int64_t T = 70, K = 300, Ns[] = {7, 96, 200, 13};
    for (const auto& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            const auto x = randn(static_cast<size_t>(T * K), 7);
            std::vector<float> packed(static_cast<size_t>(packed_tokens_size(T, K)) + 16);
            float* p = packed.data() + (16 - (reinterpret_cast<uintptr_t>(packed.data()) / 4) % 16) % 16;
            pack_tokens(pool, x.data(), T, K, p);
            // 16 spare floats in each output, whose start is 64-byte aligned as gemm.h requires.
            const auto aligned = [](std::vector<float>& v) {
                return v.data() + (16 - (reinterpret_cast<uintptr_t>(v.data()) / 4) % 16) % 16;
            };
            std::vector<std::vector<float>> W, y, want;
            std::vector<GemmWtProduct> group;
            for (size_t i = 0; i < std::size(Ns); ++i) {
                // Even products token-major with a padded stride, odd ones packed.
                const int64_t N = Ns[i], ldy = i % 2 == 1 ? 0 : N + 3;
                const int64_t size = ldy == 0 ? packed_tokens_size(T, N) : T * ldy;
                W.push_back(randn(static_cast<size_t>(N * K), 30 + static_cast<uint32_t>(i)));
                y.emplace_back(static_cast<size_t>(size + 16), -2.0f);
                want.emplace_back(static_cast<size_t>(size + 16), -2.0f);
                if (ldy == 0) gemm_f32_wt_packed(pool, N, T, K, W[i].data(), K, p, aligned(want[i]));
                else gemm_f32_wt(pool, N, T, K, W[i].data(), K, p, aligned(want[i]), ldy);
                group.push_back({N, W[i].data(), K, aligned(y[i]), ldy});
            }
            gemm_f32_wt_group(pool, T, K, p, group);
            for (size_t i = 0; i < std::size(Ns); ++i) {
                const size_t size = y[i].size() - 16;
                ASSERT_EQ(0, std::memcmp(aligned(y[i]), aligned(want[i]), size * sizeof(float)))
                    << isa << " threads " << threads << " product " << i;
            }
            gemm_f32_wt_group(pool, T, K, p, {});
        }
    }
}

// The SwiGLU feed-forward kept in the packed layout gives the bits of the three separate steps,
// for token counts around the panels (a partial last panel included), on every ISA and at 1-3
// threads (silu runs on each thread's claimed rows, the larger T in parallel); below the
// GEMM's token threshold, or for other weight types, it declines and writes nothing.
TEST_F(Gemm, PackedSwigluEqualsSeparateProductsBitForBit) {
    const int64_t C = 40, F = 70, N = 38;
    const auto wg = randn(static_cast<size_t>(F * C), 21, 0.2f), wu = randn(static_cast<size_t>(F * C), 22, 0.2f);
    const auto wd = randn(static_cast<size_t>(N * F), 23, 0.2f);
    const Tensor gate = make_tensor(DType::F32, {F, C}, const_cast<float*>(wg.data()));
    const Tensor up = make_tensor(DType::F32, {F, C}, const_cast<float*>(wu.data()));
    const Tensor down = make_tensor(DType::F32, {N, F}, const_cast<float*>(wd.data()));
    for (const auto& isa : available_isas()) {
        ASSERT_TRUE(force_kernel_isa(isa));
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            for (const int64_t T : {int64_t{31}, int64_t{32}, int64_t{33}, int64_t{64}, int64_t{100}, int64_t{130}}) {
                const auto x = randn(static_cast<size_t>(T * C), static_cast<uint32_t>(T));
                std::vector<float> g(static_cast<size_t>(T * F)), u(g.size()), want(static_cast<size_t>(T * N));
                const MatmulTarget gu[] = {{&gate, g.data()}, {&up, u.data()}};
                matmul_group(pool, x.data(), T, gu);
                silu_mul(g.data(), u.data(), g.data(), T * F);
                matmul(pool, g.data(), T, down, want.data());
                std::vector<float> y(want.size(), -5.0f);
                const bool ran = swiglu_gemm(pool, x.data(), T, gate, up, down, y.data());
                if (T < 32) {
                    EXPECT_FALSE(ran);
                    EXPECT_EQ(y, std::vector<float>(want.size(), -5.0f));
                    continue;
                }
                ASSERT_TRUE(ran);
                ASSERT_EQ(0, std::memcmp(y.data(), want.data(), y.size() * sizeof(float)))
                    << isa << " threads " << threads << " T " << T;
            }
        }
    }
    // Another weight type: declined.
    std::vector<uint16_t> half(static_cast<size_t>(F * C));
    const Tensor gate16 = make_tensor(DType::F16, {F, C}, half.data());
    ThreadPool pool(1);
    std::vector<float> x(static_cast<size_t>(64 * C)), y(static_cast<size_t>(64 * N));
    EXPECT_FALSE(swiglu_gemm(pool, x.data(), 64, gate16, up, down, y.data()));
}

// F16 and BF16 weights on the prompt path: widened slices through the same GEMM, so the result
// is the F32 matmul's on the widened weights, bit for bit (rows past one widened slice included).
TEST_F(Gemm, HalfWeightsOnAPromptGiveTheF32ProductOfTheirValues) {
    ThreadPool pool(2);
    const int64_t T = 45, K = 96, N = 2800;  // slices of 2^18 / K = 2730 rows: two of them
    const auto w = randn(static_cast<size_t>(N * K), 31), x = randn(static_cast<size_t>(T * K), 32);
    for (const DType type : {DType::F16, DType::BF16}) {
        std::vector<uint16_t> h(w.size());
        std::vector<float> widened(w.size());
        for (size_t i = 0; i < w.size(); ++i) {
            h[i] = type == DType::F16 ? fp32_to_fp16(w[i]) : fp32_to_bf16(w[i]);
            widened[i] = type == DType::F16 ? fp16_to_fp32(h[i]) : bf16_to_fp32(h[i]);
        }
        const Tensor wh = make_tensor(type, {N, K}, h.data()), wf = make_tensor(DType::F32, {N, K}, widened.data());
        std::vector<float> y(static_cast<size_t>(T * N)), want(y.size());
        matmul(pool, x.data(), T, wh, y.data());
        matmul(pool, x.data(), T, wf, want.data());
        ASSERT_EQ(0, std::memcmp(y.data(), want.data(), y.size() * sizeof(float))) << dtype_name(type);
    }
}

// The matmul's F32 prompt path (tokens past its GEMM threshold) against a double reference,
// next to the same rows computed a token at a time on the dot-product kernels.
TEST_F(Gemm, F32MatmulOnAPromptAgreesWithTheTokenAtATimeKernels) {
    ThreadPool pool(2);
    const int64_t T = 70, K = 300, N = 130;
    const auto w = randn(static_cast<size_t>(N * K), 3), x = randn(static_cast<size_t>(T * K), 4);
    const Tensor wt = make_tensor(DType::F32, {N, K}, const_cast<float*>(w.data()));
    std::vector<float> y(static_cast<size_t>(T * N)), y1(static_cast<size_t>(N));
    matmul(pool, x.data(), T, wt, y.data());
    double worst = 0.0;
    for (int64_t t = 0; t < T; ++t) {
        matmul(pool, x.data() + t * K, 1, wt, y1.data());
        for (int64_t n = 0; n < N; ++n) {
            double ref = 0.0;
            for (int64_t k = 0; k < K; ++k) ref += static_cast<double>(x[t * K + k]) * static_cast<double>(w[n * K + k]);
            worst = std::max(worst, std::abs(ref - static_cast<double>(y[t * N + n])));
            ASSERT_NEAR(y[t * N + n], y1[n], 1e-4) << t << "," << n;
        }
    }
    EXPECT_LT(worst, 1e-4);
}

}  // namespace
}  // namespace lyra::core
