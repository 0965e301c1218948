// Portable scalar variants of the kernel table: the fallback on any CPU and the baseline the
// SIMD variants are compared with. Quantized weights use the same integer dot products as the
// SIMD paths (activations quantized to Q8_0/Q8_K blocks), written plainly.
// Legend: T tokens, K input channels, N output channels (weight rows).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "core/kernels/kernels.h"
#include "core/packed_weights.h"

namespace lyra::core::kern {
namespace {

using detail::BlockQ4_0;
using detail::BlockQ4_K;
using detail::BlockQ5_K;
using detail::BlockQ6_K;
using detail::BlockQ8_0;
using detail::BlockQ8_K;

float dot_f32(const float* a, const float* b, int64_t n) {
    // Four partial sums so the compiler can vectorise without -ffast-math reassociation.
    float s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; ++j) s[j] += a[i + j] * b[i + j];
    for (; i < n; ++i) s[0] += a[i] * b[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += fp16_to_fp32(w[i]) * x[i];
    return s;
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += bf16_to_fp32(w[i]) * x[i];
    return s;
}

float dot_q8_0(const uint8_t* w, const ActQ8& a, int64_t K) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
    float acc = 0.0f;
    for (int64_t i = 0; i < K / 32; ++i) {
        int32_t s = 0;
        for (int j = 0; j < 32; ++j) s += b[i].qs[j] * a.qs[32 * i + j];
        acc += fp16_to_fp32(b[i].d) * a.d[i] * static_cast<float>(s);
    }
    return acc;
}

float dot_q4_0(const uint8_t* w, const ActQ8& a, int64_t K) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
    float acc = 0.0f;
    for (int64_t i = 0; i < K / 32; ++i) {
        const int8_t* q = a.qs + 32 * i;
        int32_t s = 0;
        for (int j = 0; j < 16; ++j) s += ((b[i].qs[j] & 0xF) - 8) * q[j] + ((b[i].qs[j] >> 4) - 8) * q[j + 16];
        acc += fp16_to_fp32(b[i].d) * a.d[i] * static_cast<float>(s);
    }
    return acc;
}

// Sum over sub-blocks of scale * (q . a) and of min * (sum of a), then the two f32 terms.
float dot_q4_k(const uint8_t* w, const BlockQ8_K* a, int64_t K) {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(w);
    float acc = 0.0f;
    for (int64_t i = 0; i < K / 256; ++i) {
        int32_t isum = 0, msum = 0;
        for (int c = 0; c < 4; ++c) {
            uint8_t sc0, m0, sc1, m1;
            detail::scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
            detail::scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
            const int8_t* q = a[i].qs + 64 * c;
            int32_t s0 = 0, s1 = 0;
            for (int l = 0; l < 32; ++l) {
                s0 += (b[i].qs[32 * c + l] & 0xF) * q[l];
                s1 += (b[i].qs[32 * c + l] >> 4) * q[l + 32];
            }
            isum += sc0 * s0 + sc1 * s1;
            msum += m0 * (a[i].bsums[4 * c] + a[i].bsums[4 * c + 1]) + m1 * (a[i].bsums[4 * c + 2] + a[i].bsums[4 * c + 3]);
        }
        acc += fp16_to_fp32(b[i].d) * a[i].d * static_cast<float>(isum) -
               fp16_to_fp32(b[i].dmin) * a[i].d * static_cast<float>(msum);
    }
    return acc;
}

float dot_q5_k(const uint8_t* w, const BlockQ8_K* a, int64_t K) {
    const auto* b = reinterpret_cast<const BlockQ5_K*>(w);
    float acc = 0.0f;
    for (int64_t i = 0; i < K / 256; ++i) {
        int32_t isum = 0, msum = 0;
        for (int c = 0; c < 4; ++c) {
            uint8_t sc0, m0, sc1, m1;
            detail::scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
            detail::scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
            const int8_t* q = a[i].qs + 64 * c;
            int32_t s0 = 0, s1 = 0;
            for (int l = 0; l < 32; ++l) {
                const int h0 = (b[i].qh[l] >> (2 * c)) & 1, h1 = (b[i].qh[l] >> (2 * c + 1)) & 1;
                s0 += ((b[i].qs[32 * c + l] & 0xF) | (h0 << 4)) * q[l];
                s1 += ((b[i].qs[32 * c + l] >> 4) | (h1 << 4)) * q[l + 32];
            }
            isum += sc0 * s0 + sc1 * s1;
            msum += m0 * (a[i].bsums[4 * c] + a[i].bsums[4 * c + 1]) + m1 * (a[i].bsums[4 * c + 2] + a[i].bsums[4 * c + 3]);
        }
        acc += fp16_to_fp32(b[i].d) * a[i].d * static_cast<float>(isum) -
               fp16_to_fp32(b[i].dmin) * a[i].d * static_cast<float>(msum);
    }
    return acc;
}

float dot_q6_k(const uint8_t* w, const BlockQ8_K* a, int64_t K) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(w);
    float acc = 0.0f;
    for (int64_t i = 0; i < K / 256; ++i) {
        int32_t isum = 0;
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = b[i].ql + 64 * h;
            const uint8_t* qh = b[i].qh + 32 * h;
            const int8_t* q = a[i].qs + 128 * h;
            for (int g = 0; g < 8; ++g) {  // 8 sub-blocks of 16 in this half: element 16 g + l'
                int32_t s = 0;
                for (int l2 = 0; l2 < 16; ++l2) {
                    const int e = 16 * g + l2, ii = e / 32, l = e % 32;
                    const uint8_t lb = ql[l + 32 * (ii & 1)];
                    const int lo = ii < 2 ? (lb & 0xF) : (lb >> 4);
                    const int v = (lo | (((qh[l] >> (2 * ii)) & 3) << 4)) - 32;
                    s += v * q[e];
                }
                isum += b[i].scales[8 * h + g] * s;
            }
        }
        acc += fp16_to_fp32(b[i].d) * a[i].d * static_cast<float>(isum);
    }
    return acc;
}

template <typename Dot>
void mat_loop(int64_t n_rows, int64_t T, float* y, int64_t ldy, Dot dot) {
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t t = 0; t < T; ++t) y[t * ldy + r] = dot(r, t);
}

void mat_f32(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_f32(reinterpret_cast<const float*>(w + r * ws), reinterpret_cast<const float*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}
void mat_f16(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_f16(reinterpret_cast<const uint16_t*>(w + r * ws), reinterpret_cast<const float*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}
void mat_bf16(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_bf16(reinterpret_cast<const uint16_t*>(w + r * ws), reinterpret_cast<const float*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}
void mat_q8_0(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_q8_0(w + r * ws, *reinterpret_cast<const ActQ8*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}
void mat_q4_0(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_q4_0(w + r * ws, *reinterpret_cast<const ActQ8*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}
void mat_q4_k(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_q4_k(w + r * ws, reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}
void mat_q5_k(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_q5_k(w + r * ws, reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}
void mat_q6_k(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_loop(n, T, y, ldy, [&](int64_t r, int64_t t) {
        return dot_q6_k(w + r * ws, reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(act) + t * as), K);
    });
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// Attention for one query head, as dot_f32 per key and axpy_f32 per value (see kernels.h).
void attn_scores(const float* q, const float* keys, int64_t stride, int64_t n, int64_t D, float scale, float* sc) {
    for (int64_t j = 0; j < n; ++j) sc[j] = dot_f32(q, keys + j * stride, D) * scale;
}

void attn_values(const float* p, const float* values, int64_t stride, int64_t n, int64_t D, float* o) {
    for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
    for (int64_t j = 0; j < n; ++j) axpy_f32(p[j], values + j * stride, o, D);
}

void quantize_act_q8(const float* x, int64_t nb, int8_t* qs, float* d, int32_t* sum) {
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + 32 * b;
        float amax = 0.0f;  // NaN lanes are skipped: std::max keeps amax when the other is NaN
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
        d[b] = amax / 127.0f;
        const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
        int32_t s = 0;
        for (int j = 0; j < 32; ++j) {
            const float v = xb[j] * id;
            // nearbyint rounds half to even like the SIMD conversions; a NaN quantizes to 0.
            const int q = std::isnan(v) ? 0 : std::clamp(static_cast<int>(std::nearbyint(v)), -127, 127);
            qs[32 * b + j] = static_cast<int8_t>(q);
            s += q;
        }
        sum[b] = s;
    }
}

float exp_sub_sum(float* x, int64_t n, float mx) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += x[i];
    }
    return sum;
}

float max_f32(const float* x, int64_t n) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

float sum_sq(const float* x, int64_t n) {
    float s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; ++j) s[j] += x[i + j] * x[i + j];
    for (; i < n; ++i) s[0] += x[i] * x[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

void scale_mul(const float* x, const float* w, float s, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s * w[i];
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void gemm_probe(const float* a, const float* b, int64_t K, float* c) {
    for (int64_t k = 0; k < K; ++k)
        for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 64; ++j) c[i * 64 + j] += a[k * 6 + i] * b[k * 64 + j];
}

constexpr int kScalarGemmNr = 16;

void gemm_tile(int64_t kc, const float* A, int64_t lda, const float* Bp, int R, int n, float* C, int64_t ldc,
               bool load_c) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < n; ++c) {
            float s = load_c ? C[r * ldc + c] : 0.0f;
            for (int64_t p = 0; p < kc; ++p) s = std::fma(A[r * lda + p], Bp[p * kScalarGemmNr + c], s);
            C[r * ldc + c] = s;
        }
}

void f16_to_f32(const uint16_t* h, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(h[i]);
}

// The f16 KV cache's reference: dot_f32's four partial sums over the widened keys.
float dot_f16_kv(const float* q, const uint16_t* k, int64_t n) {
    float s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; ++j) s[j] += q[i + j] * fp16_to_fp32(k[i + j]);
    for (; i < n; ++i) s[0] += q[i] * fp16_to_fp32(k[i]);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * fp16_to_fp32(x[i]);
}

void attn_scores_f16(const float* q, const uint16_t* keys, int64_t stride, int64_t n, int64_t D, float scale,
                     float* sc) {
    for (int64_t j = 0; j < n; ++j) sc[j] = dot_f16_kv(q, keys + j * stride, D) * scale;
}

void attn_values_f16(const float* p, const uint16_t* values, int64_t stride, int64_t n, int64_t D, float* o) {
    for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
    for (int64_t j = 0; j < n; ++j) axpy_f16(p[j], values + j * stride, o, D);
}

void f32_to_f16(const float* x, uint16_t* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_fp16(x[i]);
}

// The Q8_0 KV cache's element i: one rounding from the int8 and its block's scale.
inline float q8kv_at(const int8_t* q, const float* d, int64_t i) { return d[i / 32] * static_cast<float>(q[i]); }

// 16 x 16 blocks: a block's 16 source rows and 16 destination rows each stay in L1.
void transpose_f32(const float* in, int64_t R, int64_t C, int64_t ld_in, float* out, int64_t ld_out) {
    constexpr int64_t kTile = 16;
    for (int64_t r0 = 0; r0 < R; r0 += kTile) {
        const int64_t r1 = std::min(R, r0 + kTile);
        for (int64_t c0 = 0; c0 < C; c0 += kTile) {
            const int64_t c1 = std::min(C, c0 + kTile);
            for (int64_t c = c0; c < c1; ++c)
                for (int64_t r = r0; r < r1; ++r) out[c * ld_out + r] = in[r * ld_in + c];
        }
    }
}

}  // namespace

// Like dot_f16_kv: dot_f32's four partial sums, over the read elements.
float dot_q8kv_portable(const float* q, const int8_t* k, const float* kd, int64_t n) {
    float s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; ++j) s[j] += q[i + j] * q8kv_at(k, kd, i + j);
    for (; i < n; ++i) s[0] += q[i] * q8kv_at(k, kd, i);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

void axpy_q8kv_portable(float a, const int8_t* x, const float* xd, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * q8kv_at(x, xd, i);
}

void attn_scores_q8kv_portable(const float* q, const int8_t* keys, const float* kd, int64_t stride, int64_t n,
                               int64_t D, float scale, float* sc) {
    for (int64_t j = 0; j < n; ++j) sc[j] = dot_q8kv_portable(q, keys + j * stride, kd + j * (stride / 32), D) * scale;
}

void attn_values_q8kv_portable(const float* p, const int8_t* values, const float* vd, int64_t stride, int64_t n,
                               int64_t D, float* o) {
    for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
    for (int64_t j = 0; j < n; ++j) axpy_q8kv_portable(p[j], values + j * stride, vd + j * (stride / 32), o, D);
}

namespace {

const KernelTable kScalar = {
    Isa::Scalar, "scalar", mat_f32, mat_f16, mat_bf16, mat_q8_0, mat_q4_0, mat_q4_k, mat_q5_k, mat_q6_k,
    dot_f32,     axpy_f32, exp_sub_sum, max_f32, sum_sq, scale_mul, silu_mul, gemm_probe,
    attn_scores, attn_values, quantize_act_q8, gemm_tile, kScalarGemmNr, f16_to_f32,
    dot_f16_kv,  axpy_f16, attn_scores_f16, attn_values_f16, f32_to_f16, transpose_f32,
    mat_q4_0_r16_portable, mat_q8_0_r16_portable, div_minmax_portable, dist_bins_portable,
    indices_eq_u16_portable, dot_q8kv_portable, axpy_q8kv_portable, attn_scores_q8kv_portable,
    attn_values_q8kv_portable,
};

}  // namespace

namespace {
// Both packed types, one row of 16 and one token at a time (core/packed_weights.h). Weight k of
// a block: Q4_0 has it in chunk k % 16 / 4 (low nibbles for k < 16, high for the rest), Q8_0 in
// chunk k / 4; byte k % 4 of the row's 4 either way.
template <bool kQ4>
void mat_rows16_portable(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K,
                         float* y, int64_t ldy) {
    const int64_t nb = K / 32;
    const size_t group_bytes = 16 * ws;
    for (int64_t g = 0; g < n / 16; ++g) {
        const uint8_t* group = w + static_cast<size_t>(g) * group_bytes;
        for (int64_t r = 0; r < 16; ++r)
            for (int64_t t = 0; t < T; ++t) {
                const auto& a = *reinterpret_cast<const ActQ8*>(static_cast<const uint8_t*>(act) + t * as);
                float acc = 0.0f;
                for (int64_t b = 0; b < nb; ++b) {
                    const Rows16Block at = rows16_block(b, nb, kQ4 ? 256 : 512);
                    const uint8_t* q = group + at.weights + 4 * r;
                    uint16_t d = 0;
                    std::memcpy(&d, group + at.scales + 2 * r, 2);
                    const int8_t* x = a.qs + 32 * b;
                    int32_t s = kQ4 ? a.bias4[8 * b] : a.bias8[8 * b];
                    for (int k = 0; k < 32; ++k) {
                        const int u = kQ4 ? (q[64 * (k % 16 / 4) + k % 4] >> (k < 16 ? 0 : 4)) & 0xF
                                          : q[64 * (k / 4) + k % 4];
                        s += u * x[k];
                    }
                    // The multiply rounds on its own and the fma once, as the SIMD kernel's do.
                    const float f = static_cast<float>(s) * a.d[b];
                    acc = std::fma(f, fp16_to_fp32(d), acc);
                }
                y[t * ldy + g * 16 + r] = acc;
            }
    }
}
}  // namespace

void mat_q4_0_r16_portable(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K,
                           float* y, int64_t ldy) {
    mat_rows16_portable<true>(w, ws, n, act, as, T, K, y, ldy);
}

void mat_q8_0_r16_portable(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K,
                           float* y, int64_t ldy) {
    mat_rows16_portable<false>(w, ws, n, act, as, T, K, y, ldy);
}

void div_minmax_portable(const float* x, int64_t n, float t, float* out, float* hi, float* lo) {
    // NaN fails every comparison, so it never becomes either extreme, and -inf never counts as
    // the smallest.
    float h = -INFINITY, l = INFINITY;
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i] / t;
        out[i] = v;
        h = v > h ? v : h;
        l = (v < l && v > -INFINITY) ? v : l;
    }
    *hi = h;
    *lo = l;
}

uint64_t dist_bins_portable(const float* l, const float* e, int64_t n, float hi, float lo, float scale, float unit,
                            uint16_t* bucket, uint64_t* mass, int /*n_buckets*/) {
    uint64_t total = 0;
    for (int64_t i = 0; i < n; ++i) {
        // The logit is raised to lo first (NaN and -inf give lo), so the product converts
        // without a range check; a NaN weight (NaN e) is 0 through the same kind of select.
        const float v = l[i] > lo ? l[i] : lo;
        const auto b = static_cast<uint16_t>(static_cast<int>((hi - v) * scale));
        const float w = e[i] * unit;
        const auto weight = static_cast<uint64_t>(static_cast<int64_t>(w > 0.0f ? w : 0.0f));
        bucket[i] = b;
        mass[b] += weight;
        total += weight;
    }
    return total;
}

int64_t indices_eq_u16_portable(const uint16_t* v, int64_t n, uint16_t value, int32_t* out) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; ++i)
        if (v[i] == value) out[k++] = static_cast<int32_t>(i);
    return k;
}

const KernelTable& scalar_table() { return kScalar; }

}  // namespace lyra::core::kern
