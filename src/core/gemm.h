// Blocked single-precision GEMM for the places that multiply whole matrices: prompt
// processing against F32 weights (core::matmul, from a few dozen tokens up) and every matrix
// product of training. It packs column panels of B (gemm_nr floats wide, a block of K deep) so
// the micro-kernel (kernels.h gemm_tile) streams them from L1/L2 while broadcasting A, the
// register-blocked outer-product form that reaches the peak the roofline probe measures; the
// dot-product form of the matvec kernels spends its loads on A instead.
//
// Determinism: every element of C is one multiply-add chain over k in order, whatever the
// thread count, the blocking or the instruction set, so results are bit-identical across all
// three (tests/unit/core/gemm_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "core/thread_pool.h"

namespace lyra::core {

// C[M, N] = (accumulate ? C : 0) + A[M, K] · B[K, N]; all row-major with leading dimensions
// lda, ldb, ldc (in floats). C must not overlap A or B. Small products run on the calling thread.
void gemm_f32(ThreadPool& pool, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
              int64_t ldb, float* C, int64_t ldc, bool accumulate);

// The prompt path of core::matmul, y[T, N] = x[T, K] · W[N, K]^T, with the roles swapped so the
// weight rows are the broadcast operand (each thread streams its own rows of W once) and the
// tokens are the packed one: x is packed once per call into panels of gemm_nr tokens
// (pack_tokens; every target of a matmul_group shares it), and each thread's results are
// transposed back to token-major while still in cache. Every y element is one multiply-add
// chain over k in order, like gemm_f32's.
//
// Floats pack_tokens writes for T tokens of K features.
int64_t packed_tokens_size(int64_t T, int64_t K);
// packed must hold packed_tokens_size(T, K) floats and be 64-byte aligned.
void pack_tokens(ThreadPool& pool, const float* x, int64_t T, int64_t K, float* packed);
// y[t * ldy + n] = sum over k of W[n * ldw + k] * x[t * K + k] for t < T, n < N, from packed x.
void gemm_f32_wt(ThreadPool& pool, int64_t N, int64_t T, int64_t K, const float* W, int64_t ldw, const float* packed,
                 float* y, int64_t ldy);
// The same product left packed: y_packed is laid out as pack_tokens(y[T, N]) would write it
// (packed_tokens_size(T, N) floats, 64-byte aligned), ready to be the tokens of a product
// with K = N, and no transpose is made. Columns past T in the last panel are not written.
void gemm_f32_wt_packed(ThreadPool& pool, int64_t N, int64_t T, int64_t K, const float* W, int64_t ldw,
                        const float* packed, float* y_packed);
// Several such products of the same packed tokens in one pool region (llama's q/k/v, SwiGLU's
// gate/up): the threads claim rows of all of them from one pool, so they wait for each other once
// instead of once per product. Each is gemm_f32_wt's (ldy >= N) or, with ldy = 0,
// gemm_f32_wt_packed's, with the same bits.
struct GemmWtProduct {
    int64_t N;
    const float* W;
    int64_t ldw;
    float* y;
    int64_t ldy;
};
void gemm_f32_wt_group(ThreadPool& pool, int64_t T, int64_t K, const float* packed,
                       std::span<const GemmWtProduct> products);
// Products of the same N rows (K > 0) computed together, range of rows by range: once rows
// [m0, m1) of every product are written, then(m0, m1) runs on the same thread, while they are
// still in cache (SwiGLU's silu(gate) * up, which then needs no pass of its own).
void gemm_f32_wt_lockstep(ThreadPool& pool, int64_t T, int64_t K, const float* packed,
                          std::span<const GemmWtProduct> products, const std::function<void(int64_t, int64_t)>& then);

// out[c * ld_out + r] = in[r * ld_in + c] for r < R, c < C (out = in^T). in and out must not overlap.
void transpose_f32(ThreadPool& pool, const float* in, int64_t R, int64_t C, int64_t ld_in, float* out,
                   int64_t ld_out);

}  // namespace lyra::core
