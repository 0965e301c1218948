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

// Every w has x's K. Weights of differing types are allowed; they are then run as separate
// products.
void matmul_group(ThreadPool& pool, const float* x, int64_t T, std::span<const MatmulTarget> targets);

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
