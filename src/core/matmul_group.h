// matmul_group: several products of one input, y_i[T, N_i] = x[T, K] · w_i[N_i, K]^T, as one
// operation. A transformer's q/k/v projections (and its gate/up pair) all read the same
// activations; at one token each product is a few microseconds of work, so converting x once
// and waking the thread pool once, with the rows of every weight shared out together, saves a
// large part of the time. The results are those of separate core::matmul calls, bit for bit.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace lyra::core {

struct MatmulTarget {
    const Tensor* w;  // [N, K], any DType matmul takes
    float* y;         // [T, N]
};

// The group's input made row by row as part of it (matmul_group's `prep`): fn(ctx, t) writes row
// t of x through a pointer of its own (the RMS norm of a residual row, silu(gate) * up) and may
// touch other state of that row only. A batched decode step's rows (5 to 16) are then made inside
// the product's own region, each just before its quantizing by whichever thread claims it, where
// a region of their own cost its wake-up and its wait for the last thread (the bench model's
// 8-row step entered 121 regions). Otherwise the rows are all made first (split over the pool as
// model code splits per-row work). A row's result does not depend on where it was made.
struct RowPrep {
    void (*fn)(const void* ctx, int64_t t) = nullptr;
    const void* ctx = nullptr;
};

// Every w has x's K. Weights of differing types are allowed; they are then run as separate
// products. With a prep, x's rows are made by it first (see RowPrep).
void matmul_group(ThreadPool& pool, const float* x, int64_t T, std::span<const MatmulTarget> targets,
                  RowPrep prep = {});

// A RowPrep calling fn(t); fn must outlive the product.
template <typename Fn>
RowPrep row_prep(const Fn& fn) {
    return {[](const void* ctx, int64_t t) { (*static_cast<const Fn*>(ctx))(t); }, &fn};
}

// Whether swiglu_gemm below takes this feed-forward (F32 weights, T at least the GEMM's minimum).
bool swiglu_gemm_applies(int64_t T, const Tensor& w_gate, const Tensor& w_up, const Tensor& w_down);

// A SwiGLU feed-forward over a prompt, y[T, N] = (silu(x · w_gate^T) ⊙ (x · w_up^T)) · w_down^T,
// when all of it can run on the F32 GEMM (F32 weights, as many tokens as matmul takes the GEMM
// for): the hidden activations [T, F] then stay in the GEMM's packed token layout from the
// gate/up products through silu_mul into the down product, so they are never transposed (on the
// dim-768 bench model that was half of a prefill's transposing). Returns false, having done
// nothing, otherwise: the caller then runs matmul_group, silu_mul and matmul, which give the
// same bits. y may be x.
bool swiglu_gemm(ThreadPool& pool, const float* x, int64_t T, const Tensor& w_gate, const Tensor& w_up,
                 const Tensor& w_down, float* y);

}  // namespace lyra::core
