// AVX2 variants (with FMA and F16C): register-tiled dot-product GEMM for float weights,
// maddubs integer dots for Q8_0/Q4_0 and the K-quants (also used by the AVX-512 table), SIMD
// softmax/rmsnorm/silu helpers. Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); called only
// when dispatch.cpp has checked the CPU. Everything here has internal linkage.
//
// Determinism: each output y[t, n] has one accumulator over K, updated in the same order and
// reduced the same way in every tile shape, so thread/tile splits never change results.
// Legend: T tokens, K input channels, N output channels (weight rows).
#include "core/half.h"
#include "core/kernels/kernels.h"

#if defined(__AVX2__)
#include <immintrin.h>

namespace lyra::core::kern {
namespace {

using detail::BlockQ4_0;
using detail::BlockQ4_K;
using detail::BlockQ5_K;
using detail::BlockQ6_K;
using detail::BlockQ8_0;
using detail::BlockQ8_K;

inline float hsum8(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline int32_t hsum8i(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// ---- float weights -----------------------------------------------------------------------

struct LoadF32 {
    using T = float;
    static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
    static __m256 load_tail(const float* p, int64_t rem) {
        float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t i = 0; i < rem; ++i) buf[i] = p[i];
        return _mm256_loadu_ps(buf);
    }
};
struct LoadF16 {
    using T = uint16_t;
    static __m256 load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static __m256 load_tail(const uint16_t* p, int64_t rem) {
        uint16_t buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t i = 0; i < rem; ++i) buf[i] = p[i];
        return load(buf);
    }
};
struct LoadBF16 {
    using T = uint16_t;
    static __m256 load(const uint16_t* p) {
        const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    static __m256 load_tail(const uint16_t* p, int64_t rem) {
        uint16_t buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t i = 0; i < rem; ++i) buf[i] = p[i];
        return load(buf);
    }
};

template <class L, int TT, int NT>
void tile_float(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t K, float* y, int64_t ldy) {
    using WT = typename L::T;
    const WT* wr[NT];
    const float* xr[TT];
    for (int n = 0; n < NT; ++n) wr[n] = reinterpret_cast<const WT*>(w + n * ws);
    for (int t = 0; t < TT; ++t) xr[t] = reinterpret_cast<const float*>(act + t * as);
    __m256 acc[TT][NT];
    for (int t = 0; t < TT; ++t)
        for (int n = 0; n < NT; ++n) acc[t][n] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 wv[NT];
        for (int n = 0; n < NT; ++n) wv[n] = L::load(wr[n] + k);
        for (int t = 0; t < TT; ++t) {
            const __m256 xv = _mm256_loadu_ps(xr[t] + k);
            for (int n = 0; n < NT; ++n) acc[t][n] = _mm256_fmadd_ps(xv, wv[n], acc[t][n]);
        }
    }
    if (k < K) {
        __m256 wv[NT];
        for (int n = 0; n < NT; ++n) wv[n] = L::load_tail(wr[n] + k, K - k);
        for (int t = 0; t < TT; ++t) {
            const __m256 xv = LoadF32::load_tail(xr[t] + k, K - k);
            for (int n = 0; n < NT; ++n) acc[t][n] = _mm256_fmadd_ps(xv, wv[n], acc[t][n]);
        }
    }
    for (int t = 0; t < TT; ++t)
        for (int n = 0; n < NT; ++n) y[t * ldy + n] = hsum8(acc[t][n]);
}

template <class L>
void mat_float(const uint8_t* w, size_t ws, int64_t n_rows, const void* actv, size_t as, int64_t T, int64_t K,
               float* y, int64_t ldy) {
    const auto* act = static_cast<const uint8_t*>(actv);
    constexpr int kNT = 4;
    int64_t r = 0;
    for (; r + kNT <= n_rows; r += kNT) {
        const uint8_t* wb = w + r * ws;
        int64_t t = 0;
        for (; t + 3 <= T; t += 3) tile_float<L, 3, kNT>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
        for (; t < T; ++t) tile_float<L, 1, kNT>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
    for (; r < n_rows; ++r) {
        const uint8_t* wb = w + r * ws;
        for (int64_t t = 0; t < T; ++t) tile_float<L, 1, 1>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
}

void mat_f32(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_float<LoadF32>(w, ws, n, a, as, T, K, y, ldy);
}
void mat_f16(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_float<LoadF16>(w, ws, n, a, as, T, K, y, ldy);
}
void mat_bf16(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_float<LoadBF16>(w, ws, n, a, as, T, K, y, ldy);
}

// ---- Q8_0 / Q4_0 ---------------------------------------------------------------------------

// Per 32-block, int32 lane sums of w * a (8 lanes). Q8_0 uses the sign trick so maddubs sees
// |w| (unsigned) times sign-adjusted a; Q4_0 feeds the raw nibbles (w + 8) and the activation's
// lane bias removes the 8 * sum(a).
struct Q8_0W {
    using Block = BlockQ8_0;
    static __m256i weights(const Block* b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs)); }
    static __m256i dot(__m256i w, __m256i a, const int32_t* /*bias*/) {
        const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
        return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
    }
    static const int32_t* bias(const ActQ8& a) { return a.bias8; }
};
struct Q4_0W {
    using Block = BlockQ4_0;
    static __m256i weights(const Block* b) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs));
        const __m128i m = _mm_set1_epi8(0x0F);
        return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, m)),
                                       _mm_and_si128(_mm_srli_epi16(v, 4), m), 1);
    }
    static __m256i dot(__m256i w, __m256i a, const int32_t* bias) {
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1));
        return _mm256_add_epi32(p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias)));
    }
    static const int32_t* bias(const ActQ8& a) { return a.bias4; }
};

template <class W, int TT, int NT>
void tile_q(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t K, float* y, int64_t ldy) {
    using B = typename W::Block;
    const B* wr[NT];
    const ActQ8* ar[TT];
    for (int n = 0; n < NT; ++n) wr[n] = reinterpret_cast<const B*>(w + n * ws);
    for (int t = 0; t < TT; ++t) ar[t] = reinterpret_cast<const ActQ8*>(act + t * as);
    __m256 acc[TT][NT];
    for (int t = 0; t < TT; ++t)
        for (int n = 0; n < NT; ++n) acc[t][n] = _mm256_setzero_ps();
    for (int64_t b = 0; b < K / 32; ++b) {
        __m256i wv[NT];
        __m256 wd[NT];
        for (int n = 0; n < NT; ++n) {
            wv[n] = W::weights(wr[n] + b);
            wd[n] = _mm256_set1_ps(half_to_float(wr[n][b].d));
        }
        for (int t = 0; t < TT; ++t) {
            const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ar[t]->qs + 32 * b));
            const __m256 ad = _mm256_set1_ps(ar[t]->d[b]);
            const int32_t* bias = W::bias(*ar[t]) + 8 * b;
            for (int n = 0; n < NT; ++n)
                acc[t][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(W::dot(wv[n], av, bias)), _mm256_mul_ps(wd[n], ad), acc[t][n]);
        }
    }
    for (int t = 0; t < TT; ++t)
        for (int n = 0; n < NT; ++n) y[t * ldy + n] = hsum8(acc[t][n]);
}

template <class W>
void mat_q(const uint8_t* w, size_t ws, int64_t n_rows, const void* actv, size_t as, int64_t T, int64_t K, float* y,
           int64_t ldy) {
    const auto* act = static_cast<const uint8_t*>(actv);
    constexpr int kNT = 4;
    int64_t r = 0;
    for (; r + kNT <= n_rows; r += kNT) {
        const uint8_t* wb = w + r * ws;
        int64_t t = 0;
        for (; t + 2 <= T; t += 2) tile_q<W, 2, kNT>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
        for (; t < T; ++t) tile_q<W, 1, kNT>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
    for (; r < n_rows; ++r) {
        const uint8_t* wb = w + r * ws;
        for (int64_t t = 0; t < T; ++t) tile_q<W, 1, 1>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
}

void mat_q8_0(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_q<Q8_0W>(w, ws, n, a, as, T, K, y, ldy);
}
void mat_q4_0(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_q<Q4_0W>(w, ws, n, a, as, T, K, y, ldy);
}

// ---- K-quants x Q8_K -----------------------------------------------------------------------
//
// Per super-block: integer sums of q * a per sub-block (maddubs to int16 pairs, then madd with
// the sub-block's scale as int16 to int32 lanes), the mins term from the activation's bsums,
// then two f32 multiplies. Weight rows are expanded once per super-block and used for a tile of
// tokens.

inline __m256i scale_pair(int s0, int s1) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<short>(s0))),
                                   _mm_set1_epi16(static_cast<short>(s1)), 1);
}

// Unpacked Q4_K/Q5_K super-block: 256 unsigned q bytes (in element order), the 8 scales as
// int16 (broadcast straight from memory per sub-block) and the mins as int16 pairs.
struct KxUnpacked {
    __m256i q[8];   // sub-block s = 32 q bytes
    __m256i mins;   // m_{j/2} for j = 0..15 (int16): pairs up with the 16 bsums
    alignas(16) int16_t sc[8];
    float d, dmin;
};

// The 12 packed scale bytes -> 8 scale bytes then 8 min bytes (the layout of scale_min_k4,
// done on 32-bit words: 0x3f/0x0f/0x03 masks pick the 6-bit, low-4 and top-2 fields).
inline void unpack_scales_k4(const uint8_t* packed, uint8_t out[16]) {
    uint32_t u[4];
    __builtin_memcpy(u, packed, 12);
    const uint32_t k6 = 0x3f3f3f3fu, k4 = 0x0f0f0f0fu, k2 = 0x03030303u;
    u[3] = ((u[2] >> 4) & k4) | (((u[1] >> 6) & k2) << 4);  // mins 4..7
    const uint32_t mins_lo = u[1] & k6;                       // mins 0..3
    u[1] = (u[2] & k4) | (((u[0] >> 6) & k2) << 4);          // scales 4..7
    u[2] = mins_lo;
    u[0] &= k6;                                               // scales 0..3
    __builtin_memcpy(out, u, 16);
}

inline void unpack_scales_into(const uint8_t* packed, KxUnpacked* u) {
    alignas(16) uint8_t sm[16];
    unpack_scales_k4(packed, sm);
    const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(sm));
    _mm_store_si128(reinterpret_cast<__m128i*>(u->sc), _mm_cvtepu8_epi16(v));
    // mins bytes 8..15 -> each repeated twice -> 16 x int16.
    const __m128i dup = _mm_shuffle_epi8(v, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
    u->mins = _mm256_cvtepu8_epi16(dup);
}

inline void unpack_q4_k(const BlockQ4_K* b, KxUnpacked* u) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs + 32 * c));
        u->q[2 * c] = _mm256_and_si256(v, mask);
        u->q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
    }
    unpack_scales_into(b->scales, u);
    u->d = half_to_float(b->d);
    u->dmin = half_to_float(b->dmin);
}

inline void unpack_q5_k(const BlockQ5_K* b, KxUnpacked* u) {
    const __m256i mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh));
    for (int c = 0; c < 4; ++c) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs + 32 * c));
        // Bit s of qh[l] -> bit 4 of element l of sub-block s (shifts are per 16 bits; the masks
        // keep each byte's own bit).
        const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
        const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
        u->q[2 * c] = _mm256_or_si256(_mm256_and_si256(v, mask), h0);
        u->q[2 * c + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), mask), h1);
    }
    unpack_scales_into(b->scales, u);
    u->d = half_to_float(b->d);
    u->dmin = half_to_float(b->dmin);
}

inline float dot_kx(const KxUnpacked& u, const BlockQ8_K& a) {
    __m256i acc = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * s));
        const __m256i p16 = _mm256_maddubs_epi16(u.q[s], av);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, _mm256_set1_epi16(u.sc[s])));
    }
    // sum_s m_s * (bsums[2s] + bsums[2s+1]) as one int16 multiply-add.
    const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums));
    const int32_t msum = hsum8i(_mm256_madd_epi16(bs, u.mins));
    return u.d * a.d * static_cast<float>(hsum8i(acc)) - u.dmin * a.d * static_cast<float>(msum);
}

// Q6_K: 256 unsigned q bytes (0..63) in element order + 16 scales.
struct Q6Unpacked {
    __m256i q[8];  // 32 elements each: sub-blocks 2i, 2i+1
    int sc[16];
    float d;
};

inline void unpack_q6_k(const BlockQ6_K* b, Q6Unpacked* u) {
    const __m256i mask = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; ++h) {
        const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->ql + 64 * h));
        const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * h));
        const __m256i lo[4] = {_mm256_and_si256(l0, mask), _mm256_and_si256(l1, mask),
                               _mm256_and_si256(_mm256_srli_epi16(l0, 4), mask),
                               _mm256_and_si256(_mm256_srli_epi16(l1, 4), mask)};
        for (int i = 0; i < 4; ++i) {
            const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), three), 4);
            u->q[4 * h + i] = _mm256_or_si256(lo[i], hi);
        }
    }
    for (int s = 0; s < 16; ++s) u->sc[s] = b->scales[s];
    u->d = half_to_float(b->d);
}

inline float dot_q6(const Q6Unpacked& u, const BlockQ8_K& a) {
    __m256i acc = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * g));
        const __m256i p16 = _mm256_maddubs_epi16(u.q[g], av);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, scale_pair(u.sc[2 * g], u.sc[2 * g + 1])));
    }
    int32_t corr = 0;  // q was stored + 32: remove 32 * scale * sum(a) per sub-block of 16
    for (int s = 0; s < 16; ++s) corr += u.sc[s] * a.bsums[s];
    return u.d * a.d * static_cast<float>(hsum8i(acc) - 32 * corr);
}

// Rows one at a time (the unpacked super-block lives in registers/L1); for each super-block all
// T tokens are visited, so each weight byte is read once per call; per-(t, n) f32 accumulation
// runs over super-blocks in order.
template <class Block, class Unpacked, void (*Unpack)(const Block*, Unpacked*), float (*Dot)(const Unpacked&, const BlockQ8_K&)>
void mat_k(const uint8_t* w, size_t ws, int64_t n_rows, const void* actv, size_t as, int64_t T, int64_t K, float* y,
           int64_t ldy) {
    const auto* act = static_cast<const uint8_t*>(actv);
    const int64_t nb = K / 256;
    for (int64_t r = 0; r < n_rows; ++r) {
        const auto* b = reinterpret_cast<const Block*>(w + r * ws);
        for (int64_t t = 0; t < T; ++t) y[t * ldy + r] = 0.0f;
        for (int64_t i = 0; i < nb; ++i) {
            Unpacked u;
            Unpack(b + i, &u);
            for (int64_t t = 0; t < T; ++t) {
                const auto* a = reinterpret_cast<const BlockQ8_K*>(act + t * as);
                y[t * ldy + r] += Dot(u, a[i]);
            }
        }
    }
}

void mat_q4_k(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_k<BlockQ4_K, KxUnpacked, unpack_q4_k, dot_kx>(w, ws, n, a, as, T, K, y, ldy);
}
void mat_q5_k(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_k<BlockQ5_K, KxUnpacked, unpack_q5_k, dot_kx>(w, ws, n, a, as, T, K, y, ldy);
}
void mat_q6_k(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_k<BlockQ6_K, Q6Unpacked, unpack_q6_k, dot_q6>(w, ws, n, a, as, T, K, y, ldy);
}

// ---- vector helpers ------------------------------------------------------------------------
// dot and axpy are written once over the element type of the rows they read: f32, or f16 (the f16
// KV cache, issue 2) widened to f32 by F16C as it is loaded; the arithmetic after is the same.

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* h) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h))); }
inline float widen(float x) { return x; }
inline float widen(uint16_t h) { return half_to_float(h); }

template <typename T>
float dot_t(const float* a, const T* b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8(b + i + 8), s1);
    }
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) s += a[i] * widen(b[i]);
    return s;
}

template <typename T>
void axpy_t(float a, const T* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load8(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += a * widen(x[i]);
}

float dot_f32(const float* a, const float* b, int64_t n) { return dot_t(a, b, n); }
void axpy_f32(float a, const float* x, float* y, int64_t n) { axpy_t(a, x, y, n); }

// Attention for one query head, as dot_f32 per key and axpy_f32 per value (see kernels.h).
void attn_scores(const float* q, const float* keys, int64_t stride, int64_t n, int64_t D, float scale, float* sc) {
    for (int64_t j = 0; j < n; ++j) sc[j] = dot_f32(q, keys + j * stride, D) * scale;
}

void attn_values(const float* p, const float* values, int64_t stride, int64_t n, int64_t D, float* o) {
    for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
    for (int64_t j = 0; j < n; ++j) axpy_f32(p[j], values + j * stride, o, D);
}

// See kernels.h: bytes identical to the scalar definition (NaN lanes dropped from the max by
// vmaxps' second-operand rule, half-to-even conversion, NaN products masked to 0).
void quantize_act_q8(const float* x, int64_t nb, int8_t* qs, float* d, int32_t* sum) {
    const __m256 zero = _mm256_setzero_ps();
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    for (int64_t b = 0; b < nb; ++b) {
        __m256 v[4];
        __m256 m = zero;
        for (int i = 0; i < 4; ++i) {
            v[i] = _mm256_loadu_ps(x + 32 * b + 8 * i);
            m = _mm256_max_ps(m, _mm256_max_ps(_mm256_and_ps(v[i], abs_mask), zero));
        }
        m = _mm256_max_ps(m, _mm256_permute2f128_ps(m, m, 1));
        m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
        m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
        const float amax = _mm256_cvtss_f32(m);
        d[b] = amax / 127.0f;
        const __m256 id = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
        __m256i q[4];
        __m256i s = _mm256_setzero_si256();
        for (int i = 0; i < 4; ++i) {
            const __m256 p = _mm256_mul_ps(v[i], id);
            const __m256i ordered = _mm256_castps_si256(_mm256_cmp_ps(p, p, _CMP_ORD_Q));
            q[i] = _mm256_min_epi32(hi, _mm256_max_epi32(lo, _mm256_and_si256(_mm256_cvtps_epi32(p), ordered)));
            s = _mm256_add_epi32(s, q[i]);
        }
        // Pack 32-bit lanes to bytes: packs work per 128-bit half, so restore element order last.
        const __m256i w = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        const __m256i ordered_bytes = _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + 32 * b), ordered_bytes);
        sum[b] = hsum8i(s);
    }
}

// exp as in the AVX-512 file (degree-6 polynomial, lanes below -87.3 give 0).
__m256 exp256(__m256 x) {
    const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33f)), _mm256_set1_ps(88.37f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

float exp_tail(float x) {  // one lane through the vector path, so tails match the body exactly
    float buf[8] = {x, 0, 0, 0, 0, 0, 0, 0};
    _mm256_storeu_ps(buf, exp256(_mm256_loadu_ps(buf)));
    return buf[0];
}

float exp_sub_sum(float* x, int64_t n, float mx) {
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, v);
        s = _mm256_add_ps(s, v);
    }
    float sum = hsum8(s);
    for (; i < n; ++i) {
        x[i] = exp_tail(x[i] - mx);
        sum += x[i];
    }
    return sum;
}

float max_f32(const float* x, int64_t n) {
    __m256 mv = _mm256_set1_ps(-__builtin_inff());
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    float buf[8];
    _mm256_storeu_ps(buf, mv);
    float m = buf[0];
    for (int j = 1; j < 8; ++j) m = buf[j] > m ? buf[j] : m;
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

float sum_sq(const float* x, int64_t n) {
    __m256 s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        s = _mm256_fmadd_ps(v, v, s);
    }
    float r = hsum8(s);
    for (; i < n; ++i) r += x[i] * x[i];
    return r;
}

void scale_mul(const float* x, const float* w, float sc, float* y, int64_t n) {
    const __m256 vs = _mm256_set1_ps(sc);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(w + i)));
    for (; i < n; ++i) y[i] = x[i] * sc * w[i];
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i) out[i] = gate[i] / (1.0f + exp_tail(-gate[i])) * up[i];
}

// 6 x 32 register tile (12 ymm accumulators) per k; run twice per call to cover 64 columns.
void gemm_probe(const float* a, const float* b, int64_t K, float* c) {
    for (int half = 0; half < 2; ++half) {
        __m256 acc[6][4];
        for (auto& row : acc)
            for (auto& v : row) v = _mm256_setzero_ps();
        for (int64_t k = 0; k < K; ++k) {
            const float* bk = b + k * 64 + 32 * half;
            const __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
            const __m256 b2 = _mm256_loadu_ps(bk + 16), b3 = _mm256_loadu_ps(bk + 24);
            for (int i = 0; i < 6; ++i) {
                const __m256 ai = _mm256_broadcast_ss(a + k * 6 + i);
                acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
                acc[i][2] = _mm256_fmadd_ps(ai, b2, acc[i][2]);
                acc[i][3] = _mm256_fmadd_ps(ai, b3, acc[i][3]);
            }
        }
        for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 4; ++j) {
                float* cp = c + i * 64 + 32 * half + 8 * j;
                _mm256_storeu_ps(cp, _mm256_add_ps(_mm256_loadu_ps(cp), acc[i][j]));
            }
    }
}

// GEMM micro-kernel: up to 6 rows x 16 columns (12 ymm accumulators, 2 panel loads and one
// broadcast in flight: 15 of the 16 ymm registers).
constexpr int kAvx2GemmNr = 16;

template <int R, int V>
void gemm_tile_rv(int64_t kc, const float* A, int64_t lda, const float* Bp, int n, float* C, int64_t ldc,
                  bool load_c) {
    __m256i mask[V];
    for (int v = 0; v < V; ++v) {
        const int left = n - 8 * v;
        mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    __m256 acc[R][V];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v)
            acc[r][v] = load_c ? _mm256_maskload_ps(C + r * ldc + 8 * v, mask[v]) : _mm256_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        __m256 b[V];
        for (int v = 0; v < V; ++v) b[v] = _mm256_load_ps(Bp + p * kAvx2GemmNr + 8 * v);
        for (int r = 0; r < R; ++r) {
            const __m256 a = _mm256_broadcast_ss(A + r * lda + p);
            for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) _mm256_maskstore_ps(C + r * ldc + 8 * v, mask[v], acc[r][v]);
}

template <int V>
void gemm_tile_v(int64_t kc, const float* A, int64_t lda, const float* Bp, int R, int n, float* C, int64_t ldc,
                 bool load_c) {
    with_gemm_rows(R, [&]<int Rows>() { gemm_tile_rv<Rows, V>(kc, A, lda, Bp, n, C, ldc, load_c); });
}

void gemm_tile(int64_t kc, const float* A, int64_t lda, const float* Bp, int R, int n, float* C, int64_t ldc,
               bool load_c) {
    if (n <= 8) gemm_tile_v<1>(kc, A, lda, Bp, R, n, C, ldc, load_c);
    else gemm_tile_v<2>(kc, A, lda, Bp, R, n, C, ldc, load_c);
}

void f16_to_f32(const uint16_t* h, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
    for (; i < n; ++i) out[i] = fp16_to_fp32(h[i]);
}

// ---- f16 KV cache ---------------------------------------------------------------------------

// The f16 cache's rows of one head sit kv_dim halves apart (1.5 KB for 12 heads of 64), so a
// head's keys touch a new page every few rows and the hardware prefetchers, which stay inside a
// page, do not run ahead: without help a pass over them is bound by miss latency, not bandwidth
// (at 4096 keys it ran no faster than the f32 cache's twice-as-long rows). Each pass therefore
// prefetches the row kKvPrefetch rows ahead; prefetches change no result.
constexpr int64_t kKvPrefetch = 16;
inline void prefetch_row(const uint16_t* row, int64_t D) {
    const auto* b = reinterpret_cast<const char*>(row);
    for (int64_t off = 0; off < 2 * D; off += 64) _mm_prefetch(b + off, _MM_HINT_T0);
    _mm_prefetch(b + 2 * D - 1, _MM_HINT_T0);  // a row that starts mid-line ends in one more
}

float dot_f16_kv(const float* q, const uint16_t* k, int64_t n) { return dot_t(q, k, n); }
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) { axpy_t(a, x, y, n); }

// Four keys per pass: the query's chunks are loaded once for four dots and the four horizontal
// sums overlap. Each key keeps dot_f16_kv's accumulators, reduction and scalar tail, so every
// score is bit-identical to dot_f16_kv on that key.
void attn_scores_f16(const float* q, const uint16_t* keys, int64_t stride, int64_t n, int64_t D, float scale,
                     float* sc) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint16_t* k[4] = {keys + j * stride, keys + (j + 1) * stride, keys + (j + 2) * stride,
                                keys + (j + 3) * stride};
        if (j + kKvPrefetch + 4 <= n)
            for (int c = 0; c < 4; ++c) prefetch_row(keys + (j + kKvPrefetch + c) * stride, D);
        __m256 s0[4], s1[4];
        for (int c = 0; c < 4; ++c) s0[c] = s1[c] = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= D; i += 16) {
            const __m256 qa = _mm256_loadu_ps(q + i), qb = _mm256_loadu_ps(q + i + 8);
            for (int c = 0; c < 4; ++c) {
                s0[c] = _mm256_fmadd_ps(qa, load8(k[c] + i), s0[c]);
                s1[c] = _mm256_fmadd_ps(qb, load8(k[c] + i + 8), s1[c]);
            }
        }
        for (int c = 0; c < 4; ++c) {
            float s = hsum8(_mm256_add_ps(s0[c], s1[c]));
            for (int64_t t = i; t < D; ++t) s += q[t] * half_to_float(k[c][t]);
            sc[j + c] = s * scale;
        }
    }
    for (; j < n; ++j) sc[j] = dot_f16_kv(q, keys + j * stride, D) * scale;
}

// o[0..NV*8) = sum_j p[j] * value j, the output held in registers across all the values.
template <int NV>
inline void attn_values_f16_chunk(const float* p, const uint16_t* values, int64_t stride, int64_t n, float* o) {
    __m256 acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; ++j) {
        const __m256 pj = _mm256_set1_ps(p[j]);
        const uint16_t* row = values + j * stride;
        if (j + kKvPrefetch < n) prefetch_row(row + kKvPrefetch * stride, 8 * NV);
        for (int v = 0; v < NV; ++v) acc[v] = _mm256_fmadd_ps(pj, load8(row + 8 * v), acc[v]);
    }
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(o + 8 * v, acc[v]);
}

// o = sum_j p[j] * value j over f16 values, up to 64 outputs in registers at a time instead of a
// load and store of o per value. Each lane is the fused multiply-add chain axpy_f16's vector part
// makes, and the last D % 8 outputs its scalar tail, in j order: bit-identical to zeroing o and
// calling axpy_f16 per value.
void attn_values_f16(const float* p, const uint16_t* values, int64_t stride, int64_t n, int64_t D, float* o) {
    int64_t c = 0;
    for (; c + 64 <= D; c += 64) attn_values_f16_chunk<8>(p, values + c, stride, n, o + c);
    const int64_t nv = (D - c) / 8;
    switch (nv) {
        case 0: break;
        case 1: attn_values_f16_chunk<1>(p, values + c, stride, n, o + c); break;
        case 2: attn_values_f16_chunk<2>(p, values + c, stride, n, o + c); break;
        case 3: attn_values_f16_chunk<3>(p, values + c, stride, n, o + c); break;
        case 4: attn_values_f16_chunk<4>(p, values + c, stride, n, o + c); break;
        case 5: attn_values_f16_chunk<5>(p, values + c, stride, n, o + c); break;
        case 6: attn_values_f16_chunk<6>(p, values + c, stride, n, o + c); break;
        default: attn_values_f16_chunk<7>(p, values + c, stride, n, o + c); break;
    }
    for (int64_t d = c + 8 * nv; d < D; ++d) {
        float s = 0.0f;
        for (int64_t j = 0; j < n; ++j) s += p[j] * half_to_float(values[j * stride + d]);
        o[d] = s;
    }
}

void f32_to_f16(const float* x, uint16_t* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; ++i) out[i] = fp32_to_fp16(x[i]);
}

// One 8 x 8 block through registers (unpack pairs, then pairs of pairs, then 128-bit halves).
void transpose_block8(const float* in, int64_t ld_in, float* out, int64_t ld_out) {
    __m256 v[8], t[8];
    for (int i = 0; i < 8; ++i) v[i] = _mm256_loadu_ps(in + i * ld_in);
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int g = 0; g < 2; ++g) {  // lane L of v[4g + j]: column 4L + j, rows 4g..4g+3
        v[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        v[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        v[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        v[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int j = 0; j < 4; ++j) {
        _mm256_storeu_ps(out + j * ld_out, _mm256_permute2f128_ps(v[j], v[4 + j], 0x20));
        _mm256_storeu_ps(out + (4 + j) * ld_out, _mm256_permute2f128_ps(v[j], v[4 + j], 0x31));
    }
}

// Whole 8 x 8 blocks, then the ragged right and bottom edges element by element.
void transpose_f32(const float* in, int64_t R, int64_t C, int64_t ld_in, float* out, int64_t ld_out) {
    const int64_t R8 = R / 8 * 8, C8 = C / 8 * 8;
    for_transpose_blocks<8>(R8, C8, ld_in, ld_out, [&](int64_t r0, int64_t c0) {
        transpose_block8(in + r0 * ld_in + c0, ld_in, out + c0 * ld_out + r0, ld_out);
    });
    for (int64_t r = 0; r < R; ++r)
        for (int64_t c = r < R8 ? C8 : 0; c < C; ++c) out[c * ld_out + r] = in[r * ld_in + c];
}

const KernelTable kAvx2 = {
    Isa::Avx2, "avx2",    mat_f32,     mat_f16, mat_bf16, mat_q8_0,  mat_q4_0, mat_q4_k, mat_q5_k, mat_q6_k,
    dot_f32,   axpy_f32, exp_sub_sum, max_f32, sum_sq,   scale_mul, silu_mul, gemm_probe,
    attn_scores, attn_values, quantize_act_q8, gemm_tile, kAvx2GemmNr, f16_to_f32,
    dot_f16_kv,  axpy_f16, attn_scores_f16, attn_values_f16, f32_to_f16, transpose_f32,
    mat_q4_0_r16_portable, mat_q8_0_r16_portable, div_minmax_portable, dist_bins_portable,
    indices_eq_u16_portable, dot_q8kv_portable, axpy_q8kv_portable, attn_scores_q8kv_portable,
    attn_values_q8kv_portable,
};

}  // namespace

const KernelTable* avx2_table() { return &kAvx2; }

}  // namespace lyra::core::kern

#else  // built without the ISA flags (not x86): the variant is absent

namespace lyra::core::kern {
const KernelTable* avx2_table() { return nullptr; }
}  // namespace lyra::core::kern

#endif
