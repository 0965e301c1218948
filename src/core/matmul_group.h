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

}  // namespace lyra::core
