// Scalar reference encoders/decoders for the GGUF block formats (layouts in kernels/blocks.h and
// docs/formats/quant.md). Decoding is exact to the layout; the K-quant encoders search each
// sub-block's scale (and min) to minimise the squared error, then quantize those scales to the
// 6- or 8-bit super-block grid and re-pick every q against the scales actually stored.
#include "core/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/half.h"
#include "core/kernels/blocks.h"

namespace lyra::core {
namespace {

using detail::BlockQ4_0;
using detail::BlockQ4_K;
using detail::BlockQ5_K;
using detail::BlockQ6_K;
using detail::BlockQ8_0;
using detail::BlockQ8_K;
using detail::scale_min_k4;

// Round to nearest (ties to even in the default rounding mode).
inline int nearest_int(float f) { return static_cast<int>(std::lrint(f)); }

// f32 -> f16 for a block scale: like fp32_to_fp16 but saturating at the largest finite f16, so
// an out-of-range row degrades instead of turning into inf/NaN.
inline uint16_t scale_to_fp16(float f) {
    constexpr float kMaxF16 = 65504.0f;
    return fp32_to_fp16(std::clamp(f, -kMaxF16, kMaxF16));
}

// The element of x[0..n) with the largest magnitude, sign kept.
float signed_absmax(const float* x, int n) {
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            vmax = x[i];
        }
    }
    return vmax;
}

// ---------------------------------------------------------------------------------------------
// Q4_0 / Q8_0

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = static_cast<float>((b[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void quantize_q4_0(const float* x, BlockQ4_0* b, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 32) {
        // The largest-magnitude element maps to q = 0 (value -8 d), so the grid spans it exactly.
        const float vmax = signed_absmax(x, 32);
        const float d = vmax / -8.0f;
        b[i].d = scale_to_fp16(d);
        const float dd = fp16_to_fp32(b[i].d);
        const float id = dd != 0.0f ? 1.0f / dd : 0.0f;
        for (int j = 0; j < 16; ++j) {
            const int q0 = std::clamp(nearest_int(x[j] * id) + 8, 0, 15);
            const int q1 = std::clamp(nearest_int(x[j + 16] * id) + 8, 0, 15);
            b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

void quantize_q8_0(const float* x, BlockQ8_0* b, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        b[i].d = scale_to_fp16(amax / 127.0f);
        const float dd = fp16_to_fp32(b[i].d);
        const float id = dd != 0.0f ? 1.0f / dd : 0.0f;
        for (int j = 0; j < 32; ++j)
            b[i].qs[j] = static_cast<int8_t>(std::clamp(nearest_int(x[j] * id), -127, 127));
    }
}

// ---------------------------------------------------------------------------------------------
// K-quant scale search

// Fits x[0..n) ≈ a * q - m with q in [0, nmax] and m >= 0 (the grid always reaches down to at
// least 0, as the format's non-negative mins require). Tries a fan of step sizes around
// (max - min) / nmax; for each, assigns q by rounding and solves the 2x2 least-squares problem
// for (a, m); keeps the pair with the smallest squared error. Writes a >= 0 and m >= 0.
void fit_scale_min(const float* x, int n, int nmax, float* a_out, float* m_out) {
    float xmin = x[0], xmax = x[0];
    for (int i = 1; i < n; ++i) {
        xmin = std::min(xmin, x[i]);
        xmax = std::max(xmax, x[i]);
    }
    xmin = std::min(xmin, 0.0f);
    if (!(xmax > xmin)) {  // all equal to xmin (<= 0): a = 0, m = -xmin represents them exactly
        *a_out = 0.0f;
        *m_out = -xmin;
        return;
    }
    // Candidate 0: the plain min/max grid.
    float best_a = (xmax - xmin) / static_cast<float>(nmax);
    float best_b = xmin;
    float best_err = 0.0f;
    {
        const float is = 1.0f / best_a;
        for (int i = 0; i < n; ++i) {
            const int q = std::clamp(nearest_int((x[i] - xmin) * is), 0, nmax);
            const float e = best_a * static_cast<float>(q) + best_b - x[i];
            best_err += e * e;
        }
    }
    constexpr int kSteps = 24;
    for (int s = 0; s <= kSteps; ++s) {
        const float iscale = (static_cast<float>(nmax) - 1.0f + 0.1f * static_cast<float>(s)) / (xmax - xmin);
        float sq = 0.0f, sqq = 0.0f, sx = 0.0f, sqx = 0.0f;
        for (int i = 0; i < n; ++i) {
            const float q = static_cast<float>(std::clamp(nearest_int((x[i] - xmin) * iscale), 0, nmax));
            sq += q;
            sqq += q * q;
            sx += x[i];
            sqx += q * x[i];
        }
        const float fn = static_cast<float>(n);
        const float det = fn * sqq - sq * sq;
        if (!(det > 0.0f)) continue;
        float a = (fn * sqx - sq * sx) / det;
        float b = (sqq * sx - sq * sqx) / det;
        if (b > 0.0f) {  // the offset must be a non-negative min: refit with b = 0
            b = 0.0f;
            a = sqx / sqq;
        }
        if (!(a > 0.0f)) continue;
        // Error of the fitted (a, b) with q re-picked for that grid.
        float err = 0.0f;
        const float ia = 1.0f / a;
        for (int i = 0; i < n; ++i) {
            const int q = std::clamp(nearest_int((x[i] - b) * ia), 0, nmax);
            const float e = a * static_cast<float>(q) + b - x[i];
            err += e * e;
        }
        if (err < best_err) {
            best_err = err;
            best_a = a;
            best_b = b;
        }
    }
    *a_out = best_a;
    *m_out = -best_b;
}

// Fits x[0..n) ≈ a * q with q in [-nmax-1, nmax] (symmetric grid with one extra negative level).
// Tries step sizes that put the largest-magnitude element near the grid's ends, least-squares
// refits a for each, keeps the one with the smallest squared error. Returns a (may be negative).
float fit_scale_symmetric(const float* x, int n, int nmax) {
    const float vmax = signed_absmax(x, n);
    if (vmax == 0.0f) return 0.0f;
    float best_a = 0.0f, best_err = 0.0f;
    for (int i = 0; i < n; ++i) best_err += x[i] * x[i];  // error of a = 0
    const int qlo = -nmax - 1, qhi = nmax;
    for (int s = -10; s <= 10; ++s) {
        // Map vmax onto the negative end (-nmax-1 levels available) give or take a fraction.
        const float iscale = -(static_cast<float>(nmax + 1) + 0.1f * static_cast<float>(s)) / vmax;
        float sqq = 0.0f, sqx = 0.0f;
        for (int i = 0; i < n; ++i) {
            const float q = static_cast<float>(std::clamp(nearest_int(x[i] * iscale), qlo, qhi));
            sqq += q * q;
            sqx += q * x[i];
        }
        if (!(sqq > 0.0f)) continue;
        const float a = sqx / sqq;
        if (a == 0.0f) continue;
        float err = 0.0f;
        const float ia = 1.0f / a;
        for (int i = 0; i < n; ++i) {
            const int q = std::clamp(nearest_int(x[i] * ia), qlo, qhi);
            const float e = a * static_cast<float>(q) - x[i];
            err += e * e;
        }
        if (err < best_err) {
            best_err = err;
            best_a = a;
        }
    }
    return best_a;
}

// Packs 8 six-bit scales and mins into the 12-byte Q4_K/Q5_K layout (inverse of scale_min_k4).
void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
    std::memset(q, 0, 12);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            q[j] = static_cast<uint8_t>(q[j] | (ls[j] & 63));
            q[j + 4] = static_cast<uint8_t>(q[j + 4] | (lm[j] & 63));
        } else {
            q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            q[j - 4] = static_cast<uint8_t>(q[j - 4] | ((ls[j] >> 4) << 6));
            q[j] = static_cast<uint8_t>(q[j] | ((lm[j] >> 4) << 6));
        }
    }
}

// Shared Q4_K/Q5_K encoder for one super-block: 8 sub-block (scale, min) fits quantized to 6 bits
// under f16 d/dmin, then each element's q in [0, nmax] re-picked for the stored scales.
void quantize_kx_superblock(const float* x, int nmax, uint16_t* d_out, uint16_t* dmin_out,
                            uint8_t* scales, uint8_t* q /* [256] */) {
    float a[8], m[8];
    float max_a = 0.0f, max_m = 0.0f;
    for (int s = 0; s < 8; ++s) {
        fit_scale_min(x + 32 * s, 32, nmax, &a[s], &m[s]);
        max_a = std::max(max_a, a[s]);
        max_m = std::max(max_m, m[s]);
    }
    *d_out = scale_to_fp16(max_a / 63.0f);
    *dmin_out = scale_to_fp16(max_m / 63.0f);
    const float d = fp16_to_fp32(*d_out), dmin = fp16_to_fp32(*dmin_out);
    uint8_t ls[8], lm[8];
    for (int s = 0; s < 8; ++s) {
        ls[s] = static_cast<uint8_t>(d > 0.0f ? std::clamp(nearest_int(a[s] / d), 0, 63) : 0);
        lm[s] = static_cast<uint8_t>(dmin > 0.0f ? std::clamp(nearest_int(m[s] / dmin), 0, 63) : 0);
        // A sub-block whose scale rounded to 0 can still be described by its min alone; make
        // sure a non-zero scale survives when the fit had one.
        if (ls[s] == 0 && a[s] > 0.0f && d > 0.0f) ls[s] = 1;
    }
    pack_scale_min_k4(ls, lm, scales);
    for (int s = 0; s < 8; ++s) {
        const float dl = d * static_cast<float>(ls[s]);
        const float ml = dmin * static_cast<float>(lm[s]);
        const float idl = dl > 0.0f ? 1.0f / dl : 0.0f;
        for (int l = 0; l < 32; ++l)
            q[32 * s + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * s + l] + ml) * idl), 0, nmax));
    }
}

// ---------------------------------------------------------------------------------------------
// Q4_K / Q5_K

void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int c = 0; c < 4; ++c, q += 32) {
            uint8_t sc0, m0, sc1, m1;
            scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
            scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
            const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
            for (int l = 0; l < 32; ++l) *y++ = d0 * static_cast<float>(q[l] & 0xF) - mm0;
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] >> 4) - mm1;
        }
    }
}

void quantize_q4_k(const float* x, BlockQ4_K* b, int64_t nb) {
    uint8_t q[256];
    for (int64_t i = 0; i < nb; ++i, x += 256) {
        quantize_kx_superblock(x, 15, &b[i].d, &b[i].dmin, b[i].scales, q);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                b[i].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
}

void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        const uint8_t* qh = b[i].qh;
        for (int c = 0; c < 4; ++c, q += 32) {
            uint8_t sc0, m0, sc1, m1;
            scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
            scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
            const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
            const int u0 = 1 << (2 * c), u1 = 2 << (2 * c);
            for (int l = 0; l < 32; ++l)
                *y++ = d0 * static_cast<float>((q[l] & 0xF) + ((qh[l] & u0) ? 16 : 0)) - mm0;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>((q[l] >> 4) + ((qh[l] & u1) ? 16 : 0)) - mm1;
        }
    }
}

void quantize_q5_k(const float* x, BlockQ5_K* b, int64_t nb) {
    uint8_t q[256];
    for (int64_t i = 0; i < nb; ++i, x += 256) {
        quantize_kx_superblock(x, 31, &b[i].d, &b[i].dmin, b[i].scales, q);
        std::memset(b[i].qh, 0, 32);
        for (int c = 0; c < 4; ++c) {
            for (int l = 0; l < 32; ++l) {
                const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
                b[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
                b[i].qh[l] = static_cast<uint8_t>(b[i].qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Q6_K

void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int h = 0; h < 2; ++h, y += 128) {
            const uint8_t* ql = b[i].ql + 64 * h;
            const uint8_t* qh = b[i].qh + 32 * h;
            const int8_t* sc = b[i].scales + 8 * h;
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q0 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q1 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q0);
                y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q1);
                y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q2);
                y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q3);
            }
        }
    }
}

void quantize_q6_k(const float* x, BlockQ6_K* b, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 256) {
        float a[16];
        float amax = 0.0f, vmax = 0.0f;
        for (int s = 0; s < 16; ++s) {
            a[s] = fit_scale_symmetric(x + 16 * s, 16, 31);
            if (std::fabs(a[s]) > amax) {
                amax = std::fabs(a[s]);
                vmax = a[s];
            }
        }
        // int8 scales: the largest-magnitude scale maps to -128 (the one extra negative level).
        b[i].d = scale_to_fp16(vmax / -128.0f);
        const float d = fp16_to_fp32(b[i].d);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t q[256];
        for (int s = 0; s < 16; ++s) {
            const int ls = std::clamp(nearest_int(a[s] * id), -128, 127);
            b[i].scales[s] = static_cast<int8_t>(ls);
            const float dl = d * static_cast<float>(ls);
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            for (int l = 0; l < 16; ++l)
                q[16 * s + l] = static_cast<uint8_t>(std::clamp(nearest_int(x[16 * s + l] * idl), -32, 31) + 32);
        }
        for (int h = 0; h < 2; ++h) {
            uint8_t* ql = b[i].ql + 64 * h;
            uint8_t* qh = b[i].qh + 32 * h;
            const uint8_t* qq = q + 128 * h;
            for (int l = 0; l < 32; ++l) {
                const int q0 = qq[l], q1 = qq[l + 32], q2 = qq[l + 64], q3 = qq[l + 96];
                ql[l] = static_cast<uint8_t>((q0 & 0xF) | ((q2 & 0xF) << 4));
                ql[l + 32] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
                qh[l] = static_cast<uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Q8_K (activations)

void dequantize_q8_k(const BlockQ8_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 256)
        for (int j = 0; j < 256; ++j) y[j] = b[i].d * static_cast<float>(b[i].qs[j]);
}

void quantize_row_q8_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / 256; ++i, x += 256) {
        float amax = 0.0f;
        for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[j]));
        b[i].d = amax / 127.0f;
        const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (int j = 0; j < 256; ++j)
            b[i].qs[j] = static_cast<int8_t>(std::clamp(nearest_int(x[j] * id), -127, 127));
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += b[i].qs[16 * g + l];
            b[i].bsums[g] = static_cast<int16_t>(sum);
        }
    }
}

}  // namespace

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    const int64_t bs = dtype_traits(type).block_size;
    LYRA_CHECK(n % bs == 0, "dequantize_row: {} elements is not a multiple of the {} block size {}", n,
               dtype_name(type), bs);
    const int64_t nb = n / bs;
    switch (type) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
            return;
        }
        case DType::BF16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
            return;
        }
        case DType::Q4_0: dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb); return;
        case DType::Q8_0: dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb); return;
        case DType::Q4_K: dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb); return;
        case DType::Q5_K: dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb); return;
        case DType::Q6_K: dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb); return;
        case DType::Q8_K: dequantize_q8_k(static_cast<const BlockQ8_K*>(src), dst, nb); return;
        default: break;
    }
    LYRA_CHECK(false, "dequantize_row: {} is not a float or block type", dtype_name(type));
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
    const int64_t bs = dtype_traits(type).block_size;
    LYRA_CHECK(n % bs == 0, "quantize_row: {} elements is not a multiple of the {} block size {}", n,
               dtype_name(type), bs);
    const int64_t nb = n / bs;
    switch (type) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
            return;
        }
        case DType::BF16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
            return;
        }
        case DType::Q4_0: quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), nb); return;
        case DType::Q8_0: quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), nb); return;
        case DType::Q4_K: quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), nb); return;
        case DType::Q5_K: quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), nb); return;
        case DType::Q6_K: quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), nb); return;
        case DType::Q8_K: quantize_row_q8_k(src, dst, n); return;
        default: break;
    }
    LYRA_CHECK(false, "quantize_row: {} is not a float or block type", dtype_name(type));
}

size_t quantize_matrix(DType type, const float* src, void* dst, int64_t rows, int64_t cols) {
    const size_t rb = row_bytes(type, cols);
    for (int64_t r = 0; r < rows; ++r)
        quantize_row(type, src + r * cols, static_cast<uint8_t*>(dst) + static_cast<size_t>(r) * rb, cols);
    return rb * static_cast<size_t>(rows);
}

}  // namespace lyra::core
