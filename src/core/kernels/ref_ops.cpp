// Scalar reference kernels: the readable definitions every fast variant is tested against.
// Legend: T tokens, K input channels, N output channels, C channels, H heads, D head dim.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/ops.h"
#include "core/quant.h"

namespace lyra::core {

void matmul_ref(const float* x, int64_t T, const Tensor& w, float* y) {
    const int64_t N = w.rows(), K = w.cols();
    std::vector<float> row(static_cast<size_t>(K));  // reference path: allocation is fine here
    for (int64_t n = 0; n < N; ++n) {
        dequantize_row(w.dtype, w.row(n), row.data(), K);
        for (int64_t t = 0; t < T; ++t) {
            double acc = 0.0;  // double so the reference is more exact than any fast path
            for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x[t * K + k]) * static_cast<double>(row[k]);
            y[t * N + n] = static_cast<float>(acc);
        }
    }
}

void add_bias(float* y, const float* b, int64_t T, int64_t N) {
    for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < N; ++n) y[t * N + n] += b[n];
}

void get_rows(const Tensor& w, const int32_t* ids, int64_t n, float* out) {
    const int64_t V = w.rows(), C = w.cols();
    for (int64_t i = 0; i < n; ++i) {
        LYRA_CHECK(ids[i] >= 0 && ids[i] < V, "token id {} outside vocabulary of {}", ids[i], V);
        dequantize_row(w.dtype, w.row(ids[i]), out + i * C, C);
    }
}

void rmsnorm_ref(const float* x, const float* w, float* y, int64_t T, int64_t C, float eps) {
    for (int64_t t = 0; t < T; ++t) {
        const float* xr = x + t * C;
        float* yr = y + t * C;
        double ss = 0.0;
        for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(xr[c]) * static_cast<double>(xr[c]);
        const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(C) + static_cast<double>(eps)));
        for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * scale * w[c];
    }
}

void layernorm(const float* x, const float* w, const float* b, float* y, int64_t T, int64_t C,
               float eps) {
    for (int64_t t = 0; t < T; ++t) {
        const float* xr = x + t * C;
        float* yr = y + t * C;
        double mean = 0.0;
        for (int64_t c = 0; c < C; ++c) mean += static_cast<double>(xr[c]);
        mean /= static_cast<double>(C);
        double var = 0.0;
        for (int64_t c = 0; c < C; ++c) {
            const double d = static_cast<double>(xr[c]) - mean;
            var += d * d;
        }
        var /= static_cast<double>(C);
        const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
        for (int64_t c = 0; c < C; ++c)
            yr[c] = static_cast<float>((static_cast<double>(xr[c]) - mean) * inv) * w[c] +
                    (b ? b[c] : 0.0f);
    }
}

namespace {

// cos/sin of θ_i · position for each position of a call and each frequency i. A model calls
// rope for q and then for k at the same positions; keeping the last table per thread lets the
// second call (and any other tensor at those positions) skip the pow/sin/cos, ~1% of a decode
// step. Keyed on everything the angles depend on (the factor array by address: it is a model's
// read-only weight), so a hit gives exactly the values a miss computes.
struct RopeTable {
    std::vector<int32_t> pos;
    int64_t n_rot = -1;
    float freq_base = 0, freq_scale = 0;
    const float* freq_factors = nullptr;
    std::vector<float> cs;  // [T][half][cos, sin]

    const float* get(int64_t T, const int32_t* p_pos, int64_t rot, const RopeParams& p) {
        const bool hit = n_rot == rot && freq_base == p.freq_base && freq_scale == p.freq_scale &&
                         freq_factors == p.freq_factors && pos.size() == static_cast<size_t>(T) &&
                         std::equal(pos.begin(), pos.end(), p_pos);
        if (hit) return cs.data();
        pos.assign(p_pos, p_pos + T);
        n_rot = rot;
        freq_base = p.freq_base;
        freq_scale = p.freq_scale;
        freq_factors = p.freq_factors;
        const int64_t half = rot / 2;
        cs.resize(static_cast<size_t>(T * half * 2));
        for (int64_t t = 0; t < T; ++t) {
            const double position = static_cast<double>(p_pos[t]) * static_cast<double>(p.freq_scale);
            for (int64_t i = 0; i < half; ++i) {
                // θ_i = base^(-2i / n_rot), optionally divided by a per-frequency factor.
                double theta = position * std::pow(static_cast<double>(p.freq_base),
                                                   -2.0 * static_cast<double>(i) / static_cast<double>(rot));
                if (p.freq_factors) theta /= static_cast<double>(p.freq_factors[i]);
                cs[static_cast<size_t>((t * half + i) * 2)] = static_cast<float>(std::cos(theta));
                cs[static_cast<size_t>((t * half + i) * 2 + 1)] = static_cast<float>(std::sin(theta));
            }
        }
        return cs.data();
    }
};

}  // namespace

void rope(float* x, int64_t T, int64_t H, int64_t D, const int32_t* pos, const RopeParams& p) {
    const int64_t n_rot = p.n_rot ? p.n_rot : D;
    LYRA_CHECK(n_rot % 2 == 0 && n_rot <= D, "rope: n_rot {} must be even and <= head dim {}", n_rot, D);
    const int64_t half = n_rot / 2;
    thread_local RopeTable table;
    const float* cs = table.get(T, pos, n_rot, p);
    // Head by head, pairs innermost: each head's D values are contiguous, so the compiler can
    // vectorize the pairs (the order of heads was innermost, D floats apart: ~1% of a prefill).
    const bool interleaved = p.style == RopeStyle::Interleaved;
    for (int64_t t = 0; t < T; ++t) {
        const float* cst = cs + t * half * 2;
        for (int64_t h = 0; h < H; ++h) {
            float* v = x + (t * H + h) * D;
            if (interleaved) {
                for (int64_t i = 0; i < half; ++i) {
                    const float c = cst[2 * i], s = cst[2 * i + 1], x0 = v[2 * i], x1 = v[2 * i + 1];
                    v[2 * i] = x0 * c - x1 * s;
                    v[2 * i + 1] = x0 * s + x1 * c;
                }
            } else {
                for (int64_t i = 0; i < half; ++i) {
                    const float c = cst[2 * i], s = cst[2 * i + 1], x0 = v[i], x1 = v[i + half];
                    v[i] = x0 * c - x1 * s;
                    v[i + half] = x0 * s + x1 * c;
                }
            }
        }
    }
}

void softmax_ref(float* x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += static_cast<double>(x[i]);
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

// ½ v (1 + tanh(u)) = v σ(2u), u = √(2/π) (v + 0.044715 v³): the exponentials e^(-2u) go
// through the SIMD exp a stack chunk at a time (libm's tanh per element was the slow part of a
// GPT-2 feed-forward after its matrix products). Relative error ~2e-7; large |u| give σ = 0 or 1.
void gelu(float* x, int64_t n) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    constexpr int64_t kChunk = 1024;
    float e[kChunk];
    for (int64_t i = 0; i < n; i += kChunk) {
        const int64_t m = std::min(kChunk, n - i);
        float* v = x + i;
        for (int64_t j = 0; j < m; ++j) e[j] = -2.0f * kSqrt2OverPi * (v[j] + 0.044715f * v[j] * v[j] * v[j]);
        exp_sub_sum(e, m, 0.0f);
        for (int64_t j = 0; j < m; ++j) v[j] = v[j] / (1.0f + e[j]);
    }
}

// x Φ(x) with Φ(x) = ½ erfc(-x/√2), the exact GELU. erfc(z), z ≥ 0, is t·exp(-z² + P(t)) with
// t = 1/(1 + z/2) and P the degree-9 Chebyshev fit of Press et al. (fractional error below
// 1.2e-7 for every z), so Φ keeps its relative accuracy deep into the negative tail, where
// 1 + erf(x/√2) cancels to 0. The exponentials go through the SIMD exp a stack chunk at a time,
// like gelu()'s; libm's erf per element was 12% of an encoder's pseudo-log-likelihood.
void gelu_erf(float* x, int64_t n) {
    constexpr int64_t kChunk = 1024;
    float e[kChunk], t[kChunk];
    for (int64_t i = 0; i < n; i += kChunk) {
        const int64_t m = std::min(kChunk, n - i);
        float* v = x + i;
        for (int64_t j = 0; j < m; ++j) {
            const float z = std::fabs(v[j]) * 0.7071067811865476f;
            const float u = 1.0f / (1.0f + 0.5f * z);
            const float p =
                -1.26551223f +
                u * (1.00002368f +
                     u * (0.37409196f +
                          u * (0.09678418f +
                               u * (-0.18628806f +
                                    u * (0.27886807f +
                                         u * (-1.13520398f +
                                              u * (1.48851587f +
                                                   u * (-0.82215223f + u * 0.17087277f))))))));
            e[j] = p - 0.5f * v[j] * v[j];  // z² = x²/2 without rounding z first
            t[j] = u;
        }
        exp_sub_sum(e, m, 0.0f);
        for (int64_t j = 0; j < m; ++j) {
            const float below = 0.5f * t[j] * e[j];  // ½ erfc(|x|/√2) = Φ(-|x|)
            const float above = 1.0f - below;        // Φ(|x|)
            // Φ(x) picked by the sign bit with a bit mask: a comparison and select kept the
            // compiler from vectorizing the loop.
            uint32_t vb, ab, bb;
            std::memcpy(&vb, &v[j], 4);
            std::memcpy(&ab, &above, 4);
            std::memcpy(&bb, &below, 4);
            const uint32_t neg = 0u - (vb >> 31);
            const uint32_t pb = (ab & ~neg) | (bb & neg);
            float phi;
            std::memcpy(&phi, &pb, 4);
            v[j] *= phi;
        }
    }
}

void relu(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void tanh_inplace(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

void add_inplace(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace lyra::core
