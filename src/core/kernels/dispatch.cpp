// Picks kernel variants once, from the CPU's features. Until the SIMD variants land, every op
// routes to the scalar reference (parallelised over output rows for matmul).
#include <algorithm>
#include <vector>

#include "core/ops.h"
#include "core/quant.h"

namespace lyra::core {

void matmul(ThreadPool& pool, const float* x, int64_t T, const Tensor& w, float* y) {
    const int64_t N = w.rows(), K = w.cols();
    pool.parallel_for(N, [&](int64_t n0, int64_t n1) {
        std::vector<float> row(static_cast<size_t>(K));
        for (int64_t n = n0; n < n1; ++n) {
            dequantize_row(w.dtype, w.row(n), row.data(), K);
            for (int64_t t = 0; t < T; ++t) y[t * N + n] = dot_f32(x + t * K, row.data(), K);
        }
    });
}

float dot_f32(const float* a, const float* b, int64_t n) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
    return acc;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

const char* kernel_isa() { return "scalar"; }

}  // namespace lyra::core
