// AVX-512 variants (F + BW + VL + VNNI, with F16C/FMA): register-tiled dot-product GEMM for float
// weights, VNNI (vpdpbusd) integer dots for Q8_0/Q4_0, SIMD softmax/rmsnorm/silu helpers.
// K-quants reuse the AVX2 kernels (they run on any AVX-512 CPU).
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma -mf16c (CMakeLists.txt); only
// called when dispatch.cpp has checked the CPU. Everything here has internal linkage.
//
// Determinism: each output y[t, n] is accumulated by one vector accumulator over K in the same
// order and reduced the same way whatever tile it falls in, so results do not depend on how
// rows are split across threads or tiles.
// Legend: T tokens, K input channels, N output channels (weight rows).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>

#include "core/kernels/kernels.h"

#if defined(__AVX512VNNI__)
// GCC 12 reports its own _mm512_undefined_* helpers (used by the cast intrinsics) as
// uninitialized; the values are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // clang has no such group and would warn about the pragma itself
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

namespace lyra::core::kern {
namespace {

using detail::BlockQ4_0;
using detail::BlockQ8_0;

inline __mmask16 tail_mask(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

// Horizontal sums of four accumulators at once: out[i] = sum of a_i's 16 lanes. Each out[i]
// depends only on a_i's lanes through a fixed tree, so passing zeros for unused slots gives
// bit-identical sums for the others (tiles of 1..4 rows reduce identically).
inline void reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3, float* out0, float* out1, float* out2, float* out3) {
    const __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));  // a0 a1 a0 a1 per 128
    const __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));  // a2 a3 a2 a3
    const __m512 u = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1))),
                                   _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1))));
    // u: per 128-bit lane [a0 a1 a2 a3] partial sums; add the four 128-bit lanes.
    const __m512 v = _mm512_add_ps(u, _mm512_shuffle_f32x4(u, u, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m512 w = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m128 r = _mm512_castps512_ps128(w);
    *out0 = _mm_cvtss_f32(r);
    *out1 = _mm_cvtss_f32(_mm_shuffle_ps(r, r, 1));
    *out2 = _mm_cvtss_f32(_mm_shuffle_ps(r, r, 2));
    *out3 = _mm_cvtss_f32(_mm_shuffle_ps(r, r, 3));
}

// Writes the horizontal sums of acc[0..NT) to y[0..NT) with reduce4.
template <int NT>
inline void store_sums(const __m512* acc, float* y) {
    int n = 0;
    for (; n + 4 <= NT; n += 4) reduce4(acc[n], acc[n + 1], acc[n + 2], acc[n + 3], y + n, y + n + 1, y + n + 2, y + n + 3);
    if constexpr (NT % 4 != 0) {
        float d[4];
        const __m512 z = _mm512_setzero_ps();
        const int rem = NT % 4;
        reduce4(acc[n], rem > 1 ? acc[n + 1] : z, rem > 2 ? acc[n + 2] : z, z, y + n, rem > 1 ? y + n + 1 : &d[1],
                rem > 2 ? y + n + 2 : &d[2], &d[3]);
    }
}

// Writes a TT-token x NT-row tile's sums: y[t * ldy + n] = the lanes of acc[t][n] added up.
// A one-row tile (decode and batched decode walk the weights a row at a time) reduces four
// tokens per reduce4 instead of one token and three zero slots: reduce4 adds every slot's lanes
// by the same tree, so the sums are those of store_sums<1> bit for bit, at a quarter of the
// shuffles (at 8 tokens and K = 768 the per-token reductions were ~1/6 of a row's work).
template <int TT, int NT>
inline void store_tile(const __m512 (&acc)[TT][NT], float* y, int64_t ldy) {
    if constexpr (NT == 1) {
        for (int t = 0; t < TT; t += 4) {
            __m512 a[4];
            float* out[4];
            float unused[4];
            for (int i = 0; i < 4; ++i) {  // past the last token: a zero slot (as store_sums pads)
                const bool real = t + i < TT;
                a[i] = real ? acc[real ? t + i : 0][0] : _mm512_setzero_ps();
                out[i] = real ? y + (t + i) * ldy : &unused[i];
            }
            reduce4(a[0], a[1], a[2], a[3], out[0], out[1], out[2], out[3]);
        }
    } else {
        for (int t = 0; t < TT; ++t) store_sums<NT>(acc[t], y + t * ldy);
    }
}

// ---- float weights -----------------------------------------------------------------------

struct LoadF32 {
    using T = float;
    static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
    static __m512 load_tail(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct LoadF16 {
    using T = uint16_t;
    static __m512 load(const uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static __m512 load_tail(const uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct LoadBF16 {
    using T = uint16_t;
    static __m512 load(const uint16_t* p) {
        const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    }
    static __m512 load_tail(const uint16_t* p, __mmask16 m) {
        const __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
        return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    }
};

// TT tokens x NT weight rows: TT*NT accumulators, each over all of K.
template <class L, int TT, int NT>
void tile_float(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t K, float* y, int64_t ldy) {
    using WT = typename L::T;
    const WT* wr[NT];
    const float* xr[TT];
    for (int n = 0; n < NT; ++n) wr[n] = reinterpret_cast<const WT*>(w + n * ws);
    for (int t = 0; t < TT; ++t) xr[t] = reinterpret_cast<const float*>(act + t * as);
    __m512 acc[TT][NT];
    for (int t = 0; t < TT; ++t)
        for (int n = 0; n < NT; ++n) acc[t][n] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 wv[NT];
        for (int n = 0; n < NT; ++n) wv[n] = L::load(wr[n] + k);
        for (int t = 0; t < TT; ++t) {
            const __m512 xv = _mm512_loadu_ps(xr[t] + k);
            for (int n = 0; n < NT; ++n) acc[t][n] = _mm512_fmadd_ps(xv, wv[n], acc[t][n]);
        }
    }
    if (k < K) {
        const __mmask16 m = tail_mask(K - k);
        __m512 wv[NT];
        for (int n = 0; n < NT; ++n) wv[n] = L::load_tail(wr[n] + k, m);
        for (int t = 0; t < TT; ++t) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, xr[t] + k);
            for (int n = 0; n < NT; ++n) acc[t][n] = _mm512_fmadd_ps(xv, wv[n], acc[t][n]);
        }
    }
    store_tile<TT, NT>(acc, y, ldy);
}

// Tiles a block of rows x tokens: kNT rows x kTT tokens (24 accumulators), token edges with
// smaller tiles, leftover rows one at a time. Every output gets the same per-row arithmetic in
// every tile shape (one accumulator over K in order, reduce4), so the split never matters.
template <class L, int kNT, int kTT>
void mat_float_t(const uint8_t* w, size_t ws, int64_t n_rows, const uint8_t* act, size_t as, int64_t T, int64_t K,
                 float* y, int64_t ldy) {
    int64_t r = 0;
    for (; r + kNT <= n_rows; r += kNT) {
        const uint8_t* wb = w + r * ws;
        int64_t t = 0;
        for (; t + kTT <= T; t += kTT) tile_float<L, kTT, kNT>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
        for (; t + 2 <= T; t += 2) tile_float<L, 2, kNT>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
        for (; t < T; ++t) tile_float<L, 1, kNT>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
    for (; r < n_rows; ++r) {
        const uint8_t* wb = w + r * ws;
        int64_t t = 0;
        for (; t + 6 <= T; t += 6) tile_float<L, 6, 1>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
        for (; t < T; ++t) tile_float<L, 1, 1>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
}

template <class L>
void mat_float(const uint8_t* w, size_t ws, int64_t n_rows, const void* actv, size_t as, int64_t T, int64_t K,
               float* y, int64_t ldy) {
    const auto* act = static_cast<const uint8_t*>(actv);
    if (T == 1) {
        // Decode. F32 keeps 4 row streams: one FMA chain per row would be latency-bound. Narrower
        // weights stream one row at a time, which a core reads from DRAM ~1.7x faster than 4
        // interleaved rows (bench_kernels: F16 15 -> 26 GB/s on one core); see mat_q.
        if constexpr (sizeof(typename L::T) == 4) {
            mat_float_t<L, 4, 1>(w, ws, n_rows, act, as, T, K, y, ldy);
        } else {
            mat_float_t<L, 1, 1>(w, ws, n_rows, act, as, T, K, y, ldy);
        }
    } else {
        mat_float_t<L, 4, 6>(w, ws, n_rows, act, as, T, K, y, ldy);
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

// ---- Q8_0 / Q4_0 weights x Q8 activations (VNNI) -------------------------------------------
//
// The weight side is made unsigned (Q8_0: w ^ 0x80 = w + 128; Q4_0: the raw nibble q = w + 8)
// and the activation's precomputed lane bias (-128 or -8 times the block sum) seeds vpdpbusd, so
// every lane sum is exact. The main loop takes four blocks at a time (quads, below); blocks past
// the last whole quad go two per zmm (lanes 0-7 block b, lanes 8-15 block b+1), then one.

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// f16 scales of blocks b and b+1 (`stride` bytes apart) as [d0 x 8, d1 x 8] f32 lanes.
inline __m512 scale_pair(const uint16_t* d0, const uint16_t* d1) {
    const __m128i h0 = _mm_set1_epi16(static_cast<short>(*d0));
    const __m128i h1 = _mm_set1_epi16(static_cast<short>(*d1));
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(h0), h1, 1));
}

struct Q8_0W {
    using Block = BlockQ8_0;
    // Unsigned weight bytes of blocks b and b+1 (64 bytes).
    static __m512i pair(const Block* b) {
        const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs));
        const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].qs));
        const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
    }
    static __m256i single(const Block* b) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs));
        return _mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80)));
    }
    static const int32_t* bias(const ActQ8& a) { return a.bias8; }
};

struct Q4_0W {
    using Block = BlockQ4_0;
    static __m256i expand(const Block* b) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs));
        const __m128i m = _mm_set1_epi8(0x0F);
        const __m128i lo = _mm_and_si128(v, m);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), m);
        return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    }
    // [lo0 | hi0 | lo1 | hi1]: both blocks' nibbles split in one pass, then 128-bit lanes reordered.
    static __m512i pair(const Block* b) {
        const __m256i v = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs)), 1);
        const __m256i m = _mm256_set1_epi8(0x0F);
        const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, m)),
                                             _mm256_and_si256(_mm256_srli_epi16(v, 4), m), 1);  // lo0 lo1 hi0 hi1
        return _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
    }
    static __m256i single(const Block* b) { return expand(b); }
    static const int32_t* bias(const ActQ8& a) { return a.bias4; }
};

// Up to this many tokens the quantized matmul walks the weights row by row (see mat_quad).
constexpr int64_t kRowStreamMaxT = 8;

// Row streaming (see mat_quad) over T <= kRowStreamMaxT tokens in token tiles of at most kMax:
// tile(t, tt) runs tokens t .. t+tt-1 (tt an integral_constant, so every tile width is its own
// kernel with its accumulators in registers) over every row of the block. Tokens are the outer
// loop and rows the inner one, so a tile's activations stay in L1 while the rows stream past;
// the rows of one call are an L1/L2-sized block (matmul_group), so a second tile reads them
// again from cache, not DRAM.
template <int kMax, class Tile>
inline void row_stream(int64_t T, Tile&& tile) {
    int64_t t = 0;
    for (; t + kMax <= T; t += kMax) tile(t, std::integral_constant<int, kMax>{});
    const auto tail = [&]<int... I>(std::integer_sequence<int, I...>) {
        // One branch per width 1 .. kMax-1; exactly one matches T - t when there is a tail.
        ((T - t == I + 1 ? (tile(t, std::integral_constant<int, I + 1>{}), 0) : 0), ...);
    };
    tail(std::make_integer_sequence<int, kMax - 1>{});
}

// Quads: four blocks (128 weights) per step, in the lane layout of ActQ8::quads. The weight side
// is unpacked into two registers, `lo` holding the first 16 weights of each block and `hi` the
// last 16 (block k in bytes 16k..16k+15 of each), plus the four scales widened to f32 in
// [d0 x 4, d1 x 4, d2 x 4, d3 x 4]. vpdpbusd runs twice into the same lanes, so lanes 4k..4k+3
// hold block k and one convert + multiply + fma serves 128 weights per token.
//
// The unsigned weight bytes come from 16-byte loads, one per block half (two 64-byte loads and
// a two-source word permute did the same in fewer instructions but ran at 0.8x the rate on this
// machine's Zen 5 with Q4_0 in L2), the scales from one word permute per 64 bytes.

// vpermw indices that spread f16 scales four words each: output words out0 .. out0 + 4n - 1
// take source words first, first + stride, ... (one per 4 outputs); the rest take word 0 and
// are never read.
struct WordIdx {
    alignas(64) int16_t w[32];
    __m512i load() const { return _mm512_load_si512(w); }
};
constexpr WordIdx spread_scales(int first, int stride, int n, int out0) {
    WordIdx idx{};
    for (int o = out0; o < out0 + 4 * n; ++o) idx.w[o] = static_cast<int16_t>(first + stride * ((o - out0) / 4));
    return idx;
}

// Four 16-byte pieces, at p + k * stride for k < 4, side by side in one register.
inline __m512i load4x16(const uint8_t* p, int64_t stride) {
    const auto at = [&](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k * stride)); };
    __m512i v = _mm512_castsi128_si512(at(0));
    v = _mm512_inserti32x4(v, at(1), 1);
    v = _mm512_inserti32x4(v, at(2), 2);
    return _mm512_inserti32x4(v, at(3), 3);
}

struct Q4_0Quad {
    using W = Q4_0W;
    // Block k: d at byte 18k, then 16 bytes of nibbles (low: weights 0..15, high: 16..31).
    static void unpack(const uint8_t* p, __m512i& lo, __m512i& hi, __m512& wd) {
        // The four scales (words 0, 9, 18, 27) from the quad's first 64 bytes.
        static constexpr WordIdx kD = spread_scales(0, 9, 4, 0);
        const __m512i v = load4x16(p + 2, 18);
        const __m512i m4 = _mm512_set1_epi8(0x0F);
        lo = _mm512_and_si512(v, m4);
        hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        wd = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(kD.load(), _mm512_loadu_si512(p))));
    }
};

struct Q8_0Quad {
    using W = Q8_0W;
    // Block k: d at byte 34k, then 32 weight bytes. The scales are words 0 and 17 of the first 64
    // bytes and words 2 and 19 of the next 64.
    static void unpack(const uint8_t* p, __m512i& lo, __m512i& hi, __m512& wd) {
        static constexpr WordIdx kD01 = spread_scales(0, 17, 2, 0), kD23 = spread_scales(2, 17, 2, 8);
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        lo = _mm512_xor_si512(load4x16(p + 2, 34), flip);
        hi = _mm512_xor_si512(load4x16(p + 18, 34), flip);
        const __m512i d01 = _mm512_permutexvar_epi16(kD01.load(), _mm512_loadu_si512(p));
        const __m512i d = _mm512_mask_permutexvar_epi16(d01, 0xFF00, kD23.load(), _mm512_loadu_si512(p + 64));
        wd = _mm512_cvtph_ps(_mm512_castsi512_si256(d));
    }
};

// TT tokens x NT rows. Blocks past the last whole quad take the pair and single paths, with
// the block-wise activation arrays. Every tile shape does the same per-output arithmetic, so
// results stay bit-identical across tiles, threads and batch sizes.
template <class Q, int TT, int NT>
[[gnu::always_inline]] inline void accumulate_quad(const uint8_t* w, size_t ws, const ActQ8* const (&ar)[TT], int64_t K,
                                                  __m512 (&acc)[TT][NT]) {
    using W = typename Q::W;
    using B = typename W::Block;
    const B* wr[NT];
    for (int n = 0; n < NT; ++n) wr[n] = reinterpret_cast<const B*>(w + n * ws);
    for (int t = 0; t < TT; ++t)
        for (int n = 0; n < NT; ++n) acc[t][n] = _mm512_setzero_ps();
    const int64_t nq = K / 128;
    for (int64_t q = 0; q < nq; ++q) {
        __m512i lo[NT], hi[NT];
        __m512 wd[NT];
        for (int n = 0; n < NT; ++n) Q::unpack(reinterpret_cast<const uint8_t*>(wr[n] + 4 * q), lo[n], hi[n], wd[n]);
        for (int t = 0; t < TT; ++t) {
            const uint8_t* aq = ar[t]->quads + ActQ8::kQuadBytes * static_cast<size_t>(q);
            const __m512i alo = _mm512_load_si512(aq), ahi = _mm512_load_si512(aq + 64);
            const __m512i bias = _mm512_load_si512(aq + 128);
            const __m512 ad = _mm512_load_ps(reinterpret_cast<const float*>(aq + 192));
            for (int n = 0; n < NT; ++n) {
                const __m512i dp = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(bias, lo[n], alo), hi[n], ahi);
                acc[t][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_mul_ps(wd[n], ad), acc[t][n]);
            }
        }
    }
    const int64_t nb = K / 32;
    int64_t bi = 4 * nq;
    for (; bi + 2 <= nb; bi += 2) {
        for (int n = 0; n < NT; ++n) {
            const __m512i wv = W::pair(wr[n] + bi);
            const __m512 wdp = scale_pair(&wr[n][bi].d, &wr[n][bi + 1].d);
            for (int t = 0; t < TT; ++t) {
                const __m512i dp = _mm512_dpbusd_epi32(_mm512_loadu_si512(W::bias(*ar[t]) + 8 * bi), wv,
                                                       _mm512_loadu_si512(ar[t]->qs + 32 * bi));
                acc[t][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_mul_ps(wdp, _mm512_loadu_ps(ar[t]->dlanes + 8 * bi)),
                                            acc[t][n]);
            }
        }
    }
    if (bi < nb) {
        for (int n = 0; n < NT; ++n) {
            const __m256i wv = W::single(wr[n] + bi);
            const __m256 wds = _mm256_set1_ps(half_to_float(wr[n][bi].d));
            for (int t = 0; t < TT; ++t) {
                const __m256i dp = _mm256_dpbusd_epi32(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(W::bias(*ar[t]) + 8 * bi)), wv,
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ar[t]->qs + 32 * bi)));
                const __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(dp), _mm256_mul_ps(wds, _mm256_set1_ps(ar[t]->d[bi])));
                acc[t][n] = _mm512_add_ps(acc[t][n], _mm512_castps256_ps512(f));
            }
        }
    }
}

template <class Q, int TT, int NT>
void tile_quad(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t K, float* y, int64_t ldy) {
    const ActQ8* ar[TT];
    for (int t = 0; t < TT; ++t) ar[t] = reinterpret_cast<const ActQ8*>(act + t * as);
    __m512 acc[TT][NT];
    accumulate_quad<Q, TT, NT>(w, ws, ar, K, acc);
    store_tile<TT, NT>(acc, y, ldy);
}

// Decode: one token over NT rows taken one after another, so the weights stay one sequential
// stream, and the rows' sums reduced together. The per-output arithmetic is tile_quad's. Four
// rows per call give the core four independent accumulator chains and one horizontal sum where
// a call per row had four (one thread, K = 768, Q4_0 weights in L2: 1.03x).
template <class Q, int NT>
void rows_quad(const uint8_t* w, size_t ws, const ActQ8* a, int64_t K, float* y) {
    const ActQ8* const ar[1] = {a};
    __m512 acc[NT];
    for (int n = 0; n < NT; ++n) {
        __m512 one[1][1];
        accumulate_quad<Q, 1, 1>(w + n * ws, ws, ar, K, one);
        acc[n] = one[0][0];
    }
    store_sums<NT>(acc, y);
}

// Decode and small batches (T <= kRowStreamMaxT) walk the weights one row at a time, all T
// tokens in one tile. A 4-row tile reads 4 rows that sit a row apart in memory, in step; a
// core pulled those from DRAM at half the rate of one sequential stream (Q8_0 at K = 768: 13
// vs 27 GB/s on one core, 27 vs 56 on two), and software prefetch of the next tile did not
// help. A quad's activations are 2 bytes per weight (nibble-ordered qs, lane bias, lane scale),
// so 8 tokens fit in L1 even at K = 2048, and each row is unpacked once for the whole batch
// (one thread, Q4_0, 8 tokens: 1.3x the rate of two 4-token tiles). Longer prompts take 4 rows
// x 4 tokens per tile so unpacked weights and loaded activations are each reused 4 times.
template <class Q>
void mat_quad(const uint8_t* w, size_t ws, int64_t n_rows, const void* a, size_t as, int64_t T, int64_t K, float* y,
              int64_t ldy) {
    const auto* act = static_cast<const uint8_t*>(a);
    if (T == 1) {
        const auto* a1 = reinterpret_cast<const ActQ8*>(act);
        int64_t i = 0;
        for (; i + 4 <= n_rows; i += 4) rows_quad<Q, 4>(w + i * ws, ws, a1, K, y + i);
        for (; i < n_rows; ++i) rows_quad<Q, 1>(w + i * ws, ws, a1, K, y + i);
        return;
    }
    if (T <= kRowStreamMaxT) {
        row_stream<8>(T, [&](int64_t t, auto tt) {
            for (int64_t i = 0; i < n_rows; ++i)
                tile_quad<Q, decltype(tt)::value, 1>(w + i * ws, ws, act + t * as, as, K, y + t * ldy + i, ldy);
        });
        return;
    }
    int64_t r = 0;
    for (; r + 4 <= n_rows; r += 4) {
        const uint8_t* wb = w + r * ws;
        int64_t t = 0;
        for (; t + 4 <= T; t += 4) tile_quad<Q, 4, 4>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
        for (; t < T; ++t) tile_quad<Q, 1, 4>(wb, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
    for (; r < n_rows; ++r) {
        const uint8_t* wr = w + r * ws;
        int64_t t = 0;
        for (; t + 4 <= T; t += 4) tile_quad<Q, 4, 1>(wr, ws, act + t * as, as, K, y + t * ldy + r, ldy);
        for (; t < T; ++t) tile_quad<Q, 1, 1>(wr, ws, act + t * as, as, K, y + t * ldy + r, ldy);
    }
}

void mat_q8_0(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_quad<Q8_0Quad>(w, ws, n, a, as, T, K, y, ldy);
}
void mat_q4_0(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y, int64_t ldy) {
    mat_quad<Q4_0Quad>(w, ws, n, a, as, T, K, y, ldy);
}

// ---- Q4_0_R16 / Q8_0_R16: 16 rows per register (core/packed_weights.h) ----------------------
// Lane r of every register is row r of the group. Per block, eight registers of unsigned weights
// w8[k] (weights 4k .. 4k+3 of the block for each row), shared by every token of the tile: Q4_0
// unpacks them from four 64-byte chunks (chunk c's low nibbles are k = c, its high nibbles
// k = c + 4), Q8_0 loads them (stored plus 128). Per token, eight vpdpbusd against the
// activation's matching 4 bytes broadcast, one chain started from the block's bias lane (-8 or
// -128 x the block sum, for the weights' offset), then convert, times the activation's scale,
// and fma with the 16 rows' scales. The chain has 8 steps; 8 tokens keep 8 of them in flight.
// (The layout's offsets are computed here rather than with packed_weights.h's rows16_block:
// this file includes no header with inline functions a portable caller could end up using.)

// kPrefetchMinTokens: from how many tokens a tile prefetches (kRows16PrefetchBytes below).
// Q8_0 with one token streams its weights fast enough for the hardware prefetcher, and the
// prefetches only cost issue slots (one thread: 8% slower with them); Q4_0 with one token
// reads half the bytes for the same work and loses without them (one thread: 1.2x slower).
struct Q4_0Rows16 {
    static constexpr int64_t kWeightBytes = 256;
    static constexpr int kPrefetchMinTokens = 1;
    static constexpr int kPairMaxTokens = 1;  // rows16_pair's measurements
    static void unpack(const uint8_t* q, __m512i (&w8)[8]) {
        const __m512i m4 = _mm512_set1_epi8(0x0F);
        for (int c = 0; c < 4; ++c) {
            const __m512i v = _mm512_loadu_si512(q + 64 * c);
            w8[c] = _mm512_and_si512(v, m4);
            w8[c + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
    }
};

struct Q8_0Rows16 {
    static constexpr int64_t kWeightBytes = 512;
    static constexpr int kPrefetchMinTokens = 2;
    static constexpr int kPairMaxTokens = 0;  // never: rows16_pair's measurements
    static void unpack(const uint8_t* q, __m512i (&w8)[8]) {
        for (int c = 0; c < 8; ++c) w8[c] = _mm512_loadu_si512(q + 64 * c);
    }
};

// Software prefetch this far ahead of the pair being read: with 8 tokens the kernel takes ~45 ns
// over a Q4_0 pair, slowly enough that the hardware prefetcher let it wait on DRAM (one thread,
// K = 768, 8 tokens, 35 MB of Q4_0 weights: 112 us without, 74 us at 2-4 KiB ahead). Once the
// token chains were split (rows16_block) a pair went faster, and 2304 bytes (four Q4_0 pairs)
// no longer covered DRAM's latency: bench_serve's 110 M-parameter llama, two threads, a decode
// step of 8 sequences went from 2.60-2.70 to 2.33-2.46 ms at 4608 bytes and one sequence's from
// 1.26-1.31 to 1.12-1.19 ms (Q8_0 8 sequences 4.1 -> 3.6-3.8 ms); 6912 measured the same, 13824
// and up were slower again.
constexpr int64_t kRows16PrefetchBytes = 4608;

// Token t's block b (ActQ8::blocks): its 32 quantized activations, then the int32 bias, then d.
inline const uint8_t* act_block(const uint8_t* blocks, int64_t b) {
    return blocks + static_cast<int64_t>(ActQ8::kBlockBytes) * b;
}
inline int32_t act_block_bias(const uint8_t* block) {
    int32_t v;
    std::memcpy(&v, block + 32, 4);
    return v;
}
inline float act_block_d(const uint8_t* block) {
    float v;
    std::memcpy(&v, block + 36, 4);
    return v;
}

// Block b of every token of the tile (`a`: each token's ActQ8::blocks): its weights at `w`, its
// 16 scales at `scales`. (Every block but those of Q4_0's one-token tile, which takes
// rows16_pair below.)
template <class P, int TT>
[[gnu::always_inline]] inline void rows16_block(const uint8_t* w, const uint8_t* scales, int64_t b,
                                                const uint8_t* const* a, __m512 (&acc)[TT]) {
    __m512i w8[8];
    P::unpack(w, w8);
    const __m512 wd = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales)));
    // Unrolled, so the TT accumulators stay in registers (rolled, GCC kept them on the stack and
    // every block paid a load and a store per token).
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
        const uint8_t* x = act_block(a[t], b);
        // Two chains of four (integer sums, so the split changes no bit). One token alone has no
        // other chain to overlap an 8-step one with; and vpdpbusd's latency here is about six
        // cycles at two a cycle, so even 8 tokens' 8 chains leave the units idle (one thread, Q4_0,
        // K = 768, 8192 rows: 8 tokens 170 -> 163 us, 16 tokens 339 -> 325 us; Q8_0, bound by
        // its reads, and 2-4 tokens unchanged).
        __m512i s = _mm512_set1_epi32(act_block_bias(x)), s2 = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            int32_t quad;
            std::memcpy(&quad, x + 4 * k, 4);
            if (k % 2 == 1) s2 = _mm512_dpbusd_epi32(s2, w8[k], _mm512_set1_epi32(quad));
            else s = _mm512_dpbusd_epi32(s, w8[k], _mm512_set1_epi32(quad));
        }
        s = _mm512_add_epi32(s, s2);
        const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(act_block_d(x)));
        acc[t] = _mm512_fmadd_ps(f, wd, acc[t]);
    }
}

// Blocks b and b + 1 of every token of the tile, both blocks' chains side by side: each is one
// 8-step chain per token, so a token has two independent chains without splitting a block's
// chain in two (rows16_block's, which costs an integer add per token and block). Each block's
// sum is the same integer, and block b's fma still comes before block b + 1's, so every bit of
// the result is what rows16_block twice gives. Where it pays (kPairMaxTokens): one thread, K =
// 768, best of many calls, alternated runs:
// - weights in L2 (1,024 rows), Q4_0: faster at every token count (8 tokens 24.2 -> 23.3 us,
//   4: 13.4 -> 12.3, 1: 6.0 -> 5.2);
// - weights from DRAM (65,536 rows), the decode step's case: Q4_0 1 token 623-679 -> 611-617 us,
//   but 4 tokens 1.00-1.05 -> 1.05-1.11 ms and 8 tokens 2.01-2.05 -> 2.00-2.26 ms; Q8_0 1 token
//   1.36-1.64 -> 1.87-2.55 ms, 8 tokens 2.50-2.52 -> 2.71-2.80 ms. In the whole Q4_0 768x12
//   step, 1 row went 1.27-1.39 -> 1.24-1.32 ms and 8 rows 3.89-4.33 -> 4.37-4.42 ms.
// So only Q4_0's single token takes it.
template <class P, int TT>
[[gnu::always_inline]] inline void rows16_pair(const uint8_t* pair, int64_t b, const uint8_t* const* a,
                                               __m512 (&acc)[TT]) {
    constexpr int64_t W = P::kWeightBytes;
    __m512i w0[8], w1[8];
    P::unpack(pair, w0);
    P::unpack(pair + W, w1);
    const auto* scales = pair + 2 * W;
    const __m512 wd0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales)));
    const __m512 wd1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + 32)));
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
        const uint8_t* x0 = act_block(a[t], b);
        const uint8_t* x1 = act_block(a[t], b + 1);
        __m512i s0 = _mm512_set1_epi32(act_block_bias(x0));
        __m512i s1 = _mm512_set1_epi32(act_block_bias(x1));
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            int32_t q0, q1;
            std::memcpy(&q0, x0 + 4 * k, 4);
            std::memcpy(&q1, x1 + 4 * k, 4);
            s0 = _mm512_dpbusd_epi32(s0, w0[k], _mm512_set1_epi32(q0));
            s1 = _mm512_dpbusd_epi32(s1, w1[k], _mm512_set1_epi32(q1));
        }
        const __m512 f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(s0), _mm512_set1_ps(act_block_d(x0)));
        acc[t] = _mm512_fmadd_ps(f0, wd0, acc[t]);
        const __m512 f1 = _mm512_mul_ps(_mm512_cvtepi32_ps(s1), _mm512_set1_ps(act_block_d(x1)));
        acc[t] = _mm512_fmadd_ps(f1, wd1, acc[t]);
    }
}

// One group over TT tokens: the blocks pair by pair (offsets fixed inside a pair), then the lone
// last block when nb is odd.
template <class P, int TT>
[[gnu::always_inline]] inline void rows16_tile(const uint8_t* group, int64_t nb, const uint8_t* const* a, float* y,
                                               int64_t ldy) {
    constexpr int64_t W = P::kWeightBytes, kPairBytes = 2 * W + 64;
    __m512 acc[TT];
    for (int t = 0; t < TT; ++t) acc[t] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const uint8_t* pair = group + (b / 2) * kPairBytes;
        if constexpr (TT >= P::kPrefetchMinTokens)
            for (int64_t l = 0; l < kPairBytes / 64; ++l)
                _mm_prefetch(reinterpret_cast<const char*>(pair + kRows16PrefetchBytes + 64 * l), _MM_HINT_T0);
        if constexpr (TT <= P::kPairMaxTokens) {
            rows16_pair<P, TT>(pair, b, a, acc);
        } else {
            rows16_block<P, TT>(pair, pair + 2 * W, b, a, acc);
            rows16_block<P, TT>(pair + W, pair + 2 * W + 32, b + 1, a, acc);
        }
    }
    if (b < nb) {
        const uint8_t* last = group + (b / 2) * kPairBytes;
        rows16_block<P, TT>(last, last + W, b, a, acc);
    }
    for (int t = 0; t < TT; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Groups one after another, each over all T tokens in tiles of up to 8: a group is at most
// 16 x 2.2 KB at K = 2048 (Q8_0), so a prompt's later tiles read it from L1/L2.
template <class P>
void mat_rows16(const uint8_t* w, size_t ws, int64_t n, const void* act, size_t as, int64_t T, int64_t K, float* y,
                int64_t ldy) {
    const int64_t nb = K / 32;
    const size_t group_bytes = 16 * ws;
    const auto* base = static_cast<const uint8_t*>(act);
    for (int64_t g = 0; g < n / 16; ++g) {
        const uint8_t* group = w + static_cast<size_t>(g) * group_bytes;
        row_stream<8>(T, [&](int64_t t, auto tt) {
            constexpr int TT = decltype(tt)::value;
            const uint8_t* a[TT];
            for (int i = 0; i < TT; ++i) a[i] = reinterpret_cast<const ActQ8*>(base + (t + i) * as)->blocks;
            rows16_tile<P, TT>(group, nb, a, y + t * ldy + g * 16, ldy);
        });
    }
}

void mat_q4_0_r16(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y,
                  int64_t ldy) {
    mat_rows16<Q4_0Rows16>(w, ws, n, a, as, T, K, y, ldy);
}
void mat_q8_0_r16(const uint8_t* w, size_t ws, int64_t n, const void* a, size_t as, int64_t T, int64_t K, float* y,
                  int64_t ldy) {
    mat_rows16<Q8_0Rows16>(w, ws, n, a, as, T, K, y, ldy);
}

// ---- vector helpers ------------------------------------------------------------------------
// The attention helpers are written once over the element type of the rows they read: f32 (the
// f32 KV cache, and dot/axpy on any f32 rows) or f16 (the f16 KV cache, issue 2), widened to f32
// as it is loaded. The arithmetic after the load is the same for both.

inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(__mmask16 m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load16(const uint16_t* h) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h))); }
inline __m512 load16(__mmask16 m, const uint16_t* h) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h)); }

// A head's rows of the f16 cache sit kv_dim halves apart (1.5 KB for 12 heads of 64), so a head's
// keys touch a new page every few rows and the hardware prefetchers, which stay inside a page, do
// not run ahead: without help a pass over them is bound by miss latency, not bandwidth (at 4096
// keys it ran no faster than over the f32 cache's twice-as-long rows). The f16 passes therefore
// prefetch the row kKvPrefetch rows ahead (prefetches change no result); the f32 ones are left
// as they were measured.
constexpr int64_t kKvPrefetch = 16;
inline void prefetch_row(const float*, int64_t) {}
inline void prefetch_row(const uint16_t* row, int64_t n) {
    const auto* b = reinterpret_cast<const char*>(row);
    for (int64_t off = 0; off < 2 * n; off += 64) _mm_prefetch(b + off, _MM_HINT_T0);
    _mm_prefetch(b + 2 * n - 1, _MM_HINT_T0);  // a row that starts mid-line ends in one more
}

// The Q8_0 KV cache's rows as the attention templates below walk them (they take any row handle
// that adds an element offset and loads 16 elements as f32): `e` counts elements from row 0's
// first, so `rows + j * stride + i` is element i of row j, whose scale is d[e / 32] (stride is a
// multiple of 32, and 16 elements read together share a block). An element is d * (float)q, the
// portable kernels' one rounding (scalar.cpp q8kv_at).
struct Q8Rows {
    const int8_t* q;
    const float* d;
    int64_t e = 0;
};
inline Q8Rows operator+(Q8Rows r, int64_t off) { return {r.q, r.d, r.e + off}; }
inline __m512 load16(Q8Rows r) {
    const __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r.q + r.e)));
    return _mm512_mul_ps(_mm512_set1_ps(r.d[r.e / 32]), _mm512_cvtepi32_ps(v));
}
inline __m512 load16(__mmask16 m, Q8Rows r) {
    const __m512i v = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, r.q + r.e));
    return _mm512_mul_ps(_mm512_set1_ps(r.d[r.e / 32]), _mm512_cvtepi32_ps(v));
}
inline void prefetch_row(Q8Rows r, int64_t n) {
    const auto* b = reinterpret_cast<const char*>(r.q + r.e);
    for (int64_t off = 0; off < n; off += 64) _mm_prefetch(b + off, _MM_HINT_T0);
    _mm_prefetch(b + n - 1, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(r.d + r.e / 32), _MM_HINT_T0);
}

// R: a row handle (const float*, const uint16_t* or Q8Rows) that load16 reads.
template <typename R>
float dot_t(const float* a, R b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), load16(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), load16(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), load16(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

template <typename R>
void axpy_t(float a, R x, float* y, int64_t n) {
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, load16(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

// Attention scores for one query against n keys `stride` elements apart: sc[j] = dot_t(q, key j)
// * scale, four keys per pass so the query chunks are loaded once for four dots and the four
// horizontal sums overlap. Each key's dot keeps dot_t's accumulation order and reduction
// exactly, so the scores are bit-identical to calling dot_t per key.
// The lane sums of four vectors, each pairing lanes as _mm512_reduce_add_ps does (GCC's: i with
// i + 8, then i + 4, then i + 2, then the last two), so each sum is bit-identical to reducing its
// vector alone; the four trees share their shuffles (a third of the instructions, where the
// separate reductions were half of a prompt's attention scores). reduce4 above pairs the lanes
// in another order, so it cannot stand in where a score must equal dot_t's.
inline __m128 reduce_add4(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    // 128-bit lanes: a's 8 sums, b's, c's, d's halves; add each vector's two halves.
    const __m512 s4 = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
    const __m512 s2 = _mm512_add_ps(s4, _mm512_permute_ps(s4, 0x4E));  // element e + e^2 in each lane
    const __m512 s1 = _mm512_add_ps(s2, _mm512_permute_ps(s2, 0xB1));  // element 0 + 1
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), s1));
}

template <typename R>
void attn_scores_t(const float* q, R keys, int64_t stride, int64_t n, int64_t D, float scale, float* sc) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const R k[4] = {keys + j * stride, keys + (j + 1) * stride, keys + (j + 2) * stride, keys + (j + 3) * stride};
        if (j + kKvPrefetch + 4 <= n)
            for (int c = 0; c < 4; ++c) prefetch_row(keys + (j + kKvPrefetch + c) * stride, D);
        __m512 s0[4], s1[4];
        for (int c = 0; c < 4; ++c) s0[c] = s1[c] = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 32 <= D; i += 32) {
            const __m512 qa = _mm512_loadu_ps(q + i), qb = _mm512_loadu_ps(q + i + 16);
            for (int c = 0; c < 4; ++c) {
                s0[c] = _mm512_fmadd_ps(qa, load16(k[c] + i), s0[c]);
                s1[c] = _mm512_fmadd_ps(qb, load16(k[c] + i + 16), s1[c]);
            }
        }
        for (; i < D; i += 16) {
            const __mmask16 m = D - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(D - i);
            const __m512 qa = _mm512_maskz_loadu_ps(m, q + i);
            for (int c = 0; c < 4; ++c) s0[c] = _mm512_fmadd_ps(qa, load16(m, k[c] + i), s0[c]);
        }
        const __m128 sums = reduce_add4(_mm512_add_ps(s0[0], s1[0]), _mm512_add_ps(s0[1], s1[1]),
                                        _mm512_add_ps(s0[2], s1[2]), _mm512_add_ps(s0[3], s1[3]));
        _mm_storeu_ps(sc + j, _mm_mul_ps(sums, _mm_set1_ps(scale)));
    }
    for (; j < n; ++j) sc[j] = dot_t(q, keys + j * stride, D) * scale;
}

// o[0..NV*16) (the last vector masked by `last`) = sum_j p[j] * value j, in j order.
template <int NV, typename R>
inline void attn_values_chunk(const float* p, R values, int64_t stride, int64_t n, __mmask16 last, float* o) {
    __m512 acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; ++j) {
        const __m512 pj = _mm512_set1_ps(p[j]);
        const R row = values + j * stride;
        if (j + kKvPrefetch < n) prefetch_row(row + kKvPrefetch * stride, 16 * NV);
        for (int v = 0; v < NV - 1; ++v) acc[v] = _mm512_fmadd_ps(pj, load16(row + 16 * v), acc[v]);
        acc[NV - 1] = _mm512_fmadd_ps(pj, load16(last, row + 16 * (NV - 1)), acc[NV - 1]);
    }
    for (int v = 0; v < NV - 1; ++v) _mm512_storeu_ps(o + 16 * v, acc[v]);
    _mm512_mask_storeu_ps(o + 16 * (NV - 1), last, acc[NV - 1]);
}

// o = sum_j p[j] * value j for n values `stride` elements apart. The output stays in registers
// across all the values (up to 128 floats at a time) instead of going through memory per value;
// each lane is the same fused multiply-add chain as zeroing o and calling axpy_t per value,
// so the result is bit-identical to that.
template <typename R>
void attn_values_t(const float* p, R values, int64_t stride, int64_t n, int64_t D, float* o) {
    for (int64_t c = 0; c < D; c += 128) {
        const int64_t w = D - c < 128 ? D - c : 128;
        const int nv = static_cast<int>((w + 15) / 16);
        const __mmask16 last = w % 16 == 0 ? static_cast<__mmask16>(0xFFFF) : tail_mask(w % 16);
        const R vc = values + c;
        switch (nv) {
            case 1: attn_values_chunk<1>(p, vc, stride, n, last, o + c); break;
            case 2: attn_values_chunk<2>(p, vc, stride, n, last, o + c); break;
            case 3: attn_values_chunk<3>(p, vc, stride, n, last, o + c); break;
            case 4: attn_values_chunk<4>(p, vc, stride, n, last, o + c); break;
            case 5: attn_values_chunk<5>(p, vc, stride, n, last, o + c); break;
            case 6: attn_values_chunk<6>(p, vc, stride, n, last, o + c); break;
            case 7: attn_values_chunk<7>(p, vc, stride, n, last, o + c); break;
            default: attn_values_chunk<8>(p, vc, stride, n, last, o + c); break;
        }
    }
}

float dot_f32(const float* a, const float* b, int64_t n) { return dot_t(a, b, n); }
void axpy_f32(float a, const float* x, float* y, int64_t n) { axpy_t(a, x, y, n); }
void attn_scores(const float* q, const float* keys, int64_t stride, int64_t n, int64_t D, float scale, float* sc) {
    attn_scores_t(q, keys, stride, n, D, scale, sc);
}
void attn_values(const float* p, const float* values, int64_t stride, int64_t n, int64_t D, float* o) {
    attn_values_t(p, values, stride, n, D, o);
}
float dot_f16_kv(const float* q, const uint16_t* k, int64_t n) { return dot_t(q, k, n); }
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) { axpy_t(a, x, y, n); }
void attn_scores_f16(const float* q, const uint16_t* keys, int64_t stride, int64_t n, int64_t D, float scale,
                     float* sc) {
    attn_scores_t(q, keys, stride, n, D, scale, sc);
}
void attn_values_f16(const float* p, const uint16_t* values, int64_t stride, int64_t n, int64_t D, float* o) {
    attn_values_t(p, values, stride, n, D, o);
}
float dot_q8kv(const float* q, const int8_t* k, const float* kd, int64_t n) { return dot_t(q, Q8Rows{k, kd}, n); }
void axpy_q8kv(float a, const int8_t* x, const float* xd, float* y, int64_t n) { axpy_t(a, Q8Rows{x, xd}, y, n); }
void attn_scores_q8kv(const float* q, const int8_t* keys, const float* kd, int64_t stride, int64_t n, int64_t D,
                      float scale, float* sc) {
    attn_scores_t(q, Q8Rows{keys, kd}, stride, n, D, scale, sc);
}
void attn_values_q8kv(const float* p, const int8_t* values, const float* vd, int64_t stride, int64_t n, int64_t D,
                      float* o) {
    attn_values_t(p, Q8Rows{values, vd}, stride, n, D, o);
}

// exp(x) for x in f32 lanes: 2^n * p(r) with a degree-6 polynomial (relative error ~2e-7);
// lanes below -87.3 give exactly 0, above 88.7 saturate near FLT_MAX.
__m512 exp512(__m512 x) {
    const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.37f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(static_cast<__mmask16>(~tiny), p, _mm512_castsi512_ps(e));
}

float exp_sub_sum(float* x, int64_t n, float mx) {
    const __m512 vm = _mm512_set1_ps(mx);
    __m512 s = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        const __m512 v = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm));
        _mm512_mask_storeu_ps(x + i, m, v);
        s = _mm512_add_ps(s, _mm512_maskz_mov_ps(m, v));
    }
    return _mm512_reduce_add_ps(s);
}

// See kernels.h: bytes identical to the scalar definition. vmaxps returns its second operand
// when either is NaN, so max(|x|, 0) drops NaN lanes as the scalar std::max does; the conversion
// rounds half to even (MXCSR default) like nearbyint, and NaN products are masked to 0.
void quantize_act_q8(const float* x, int64_t nb, int8_t* qs, float* d, int32_t* sum) {
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const __m512 x0 = _mm512_loadu_ps(x + 32 * b), x1 = _mm512_loadu_ps(x + 32 * b + 16);
        const __m512 m = _mm512_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), zero), _mm512_max_ps(_mm512_abs_ps(x1), zero));
        const float amax = _mm512_reduce_max_ps(m);
        d[b] = amax / 127.0f;
        const __m512 id = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
        const __m512 v0 = _mm512_mul_ps(x0, id), v1 = _mm512_mul_ps(x1, id);
        const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
        const __m512i q0 = _mm512_min_epi32(hi, _mm512_max_epi32(lo, _mm512_maskz_cvtps_epi32(_mm512_cmp_ps_mask(v0, v0, _CMP_ORD_Q), v0)));
        const __m512i q1 = _mm512_min_epi32(hi, _mm512_max_epi32(lo, _mm512_maskz_cvtps_epi32(_mm512_cmp_ps_mask(v1, v1, _CMP_ORD_Q), v1)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 32 * b), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 32 * b + 16), _mm512_cvtepi32_epi8(q1));
        sum[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

float max_f32(const float* x, int64_t n) {
    __m512 mv = _mm512_set1_ps(-__builtin_inff());
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        mv = _mm512_mask_max_ps(mv, m, mv, _mm512_maskz_loadu_ps(m, x + i));
    }
    return _mm512_reduce_max_ps(mv);
}

float sum_sq(const float* x, int64_t n) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        s = _mm512_fmadd_ps(v, v, s);
    }
    return _mm512_reduce_add_ps(s);
}

void scale_mul(const float* x, const float* w, float sc, float* y, int64_t n) {
    const __m512 vs = _mm512_set1_ps(sc);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs), _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 u = _mm512_maskz_loadu_ps(m, up + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), u));
    }
}

// 6 x 64 register tile: 24 zmm accumulators, 4 panel loads + 6 broadcasts per 24 FMAs.
void gemm_probe(const float* a, const float* b, int64_t K, float* c) {
    __m512 acc[6][4];
    for (auto& row : acc)
        for (auto& v : row) v = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
        const __m512 b0 = _mm512_loadu_ps(b + k * 64), b1 = _mm512_loadu_ps(b + k * 64 + 16);
        const __m512 b2 = _mm512_loadu_ps(b + k * 64 + 32), b3 = _mm512_loadu_ps(b + k * 64 + 48);
        for (int i = 0; i < 6; ++i) {
            const __m512 ai = _mm512_set1_ps(a[k * 6 + i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(ai, b2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(ai, b3, acc[i][3]);
        }
    }
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 4; ++j)
            _mm512_storeu_ps(c + i * 64 + j * 16, _mm512_add_ps(_mm512_loadu_ps(c + i * 64 + j * 16), acc[i][j]));
}

// GEMM micro-kernel: up to 6 rows x 64 columns, 24 zmm accumulators, as in the peak probe
// above; V (1..4) vectors of columns so a narrow panel (few tokens) skips the empty ones.
constexpr int kAvx512GemmNr = 64;

template <int R, int V>
void gemm_tile_rv(int64_t kc, const float* A, int64_t lda, const float* Bp, int n, float* C, int64_t ldc,
                  bool load_c) {
    __mmask16 mask[V];
    for (int v = 0; v < V; ++v) {
        const int left = n - 16 * v;
        mask[v] = left >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << left) - 1u);
    }
    __m512 acc[R][V];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v)
            acc[r][v] = load_c ? _mm512_maskz_loadu_ps(mask[v], C + r * ldc + 16 * v) : _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        __m512 b[V];
        for (int v = 0; v < V; ++v) b[v] = _mm512_load_ps(Bp + p * kAvx512GemmNr + 16 * v);
        for (int r = 0; r < R; ++r) {
            const __m512 a = _mm512_set1_ps(A[r * lda + p]);
            for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(C + r * ldc + 16 * v, mask[v], acc[r][v]);
}

template <int V>
void gemm_tile_v(int64_t kc, const float* A, int64_t lda, const float* Bp, int R, int n, float* C, int64_t ldc,
                 bool load_c) {
    with_gemm_rows(R, [&]<int Rows>() { gemm_tile_rv<Rows, V>(kc, A, lda, Bp, n, C, ldc, load_c); });
}

void gemm_tile(int64_t kc, const float* A, int64_t lda, const float* Bp, int R, int n, float* C, int64_t ldc,
               bool load_c) {
    switch ((n + 15) / 16) {
        case 1: return gemm_tile_v<1>(kc, A, lda, Bp, R, n, C, ldc, load_c);
        case 2: return gemm_tile_v<2>(kc, A, lda, Bp, R, n, C, ldc, load_c);
        case 3: return gemm_tile_v<3>(kc, A, lda, Bp, R, n, C, ldc, load_c);
        default: return gemm_tile_v<4>(kc, A, lda, Bp, R, n, C, ldc, load_c);
    }
}

// 16 x 16 blocks through registers: unpack pairs of rows, then pairs of pairs (each 128-bit lane
// then holds 4 rows of one column), then a 4 x 4 transpose of the lanes. Edge blocks load the
// rows and columns that exist under masks (zeros elsewhere) and store the same way.
void transpose_block16(const float* in, int rows, int cols, int64_t ld_in, float* out, int64_t ld_out) {
    const __mmask16 row_mask = rows == 16 ? __mmask16{0xFFFF} : tail_mask(rows);
    const __mmask16 col_mask = cols == 16 ? __mmask16{0xFFFF} : tail_mask(cols);
    __m512 v[16], t[16];
    for (int i = 0; i < 16; ++i) v[i] = i < rows ? _mm512_maskz_loadu_ps(col_mask, in + i * ld_in) : _mm512_setzero_ps();
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int g = 0; g < 4; ++g) {  // lane L of v[4g + j]: column 4L + j, rows 4g..4g+3
        const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        v[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        v[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        v[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        v[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int j = 0; j < 4; ++j) {
        const __m512 lo01 = _mm512_shuffle_f32x4(v[j], v[4 + j], 0x44);  // lanes 0,1 of row groups 0,1
        const __m512 hi01 = _mm512_shuffle_f32x4(v[j], v[4 + j], 0xEE);  // lanes 2,3 of row groups 0,1
        const __m512 lo23 = _mm512_shuffle_f32x4(v[8 + j], v[12 + j], 0x44);
        const __m512 hi23 = _mm512_shuffle_f32x4(v[8 + j], v[12 + j], 0xEE);
        const __m512 col[4] = {_mm512_shuffle_f32x4(lo01, lo23, 0x88), _mm512_shuffle_f32x4(lo01, lo23, 0xDD),
                               _mm512_shuffle_f32x4(hi01, hi23, 0x88), _mm512_shuffle_f32x4(hi01, hi23, 0xDD)};
        for (int L = 0; L < 4; ++L)
            if (4 * L + j < cols) _mm512_mask_storeu_ps(out + (4 * L + j) * ld_out, row_mask, col[L]);
    }
}

void transpose_f32(const float* in, int64_t R, int64_t C, int64_t ld_in, float* out, int64_t ld_out) {
    for_transpose_blocks<16>(R, C, ld_in, ld_out, [&](int64_t r0, int64_t c0) {
        transpose_block16(in + r0 * ld_in + c0, static_cast<int>(std::min<int64_t>(16, R - r0)),
                          static_cast<int>(std::min<int64_t>(16, C - c0)), ld_in, out + c0 * ld_out + r0, ld_out);
    });
}

// KernelTable::div_minmax. vmaxps(v, h) is v > h ? v : h, the portable select itself (a NaN v
// keeps h); the tail lanes load NaN, which neither extreme takes. The lanes' extremes are
// combined with the same selects: the largest and smallest of a set do not depend on the order
// (a +0/-0 tie may come out either way, and both give the sampler the same buckets and weights).
void div_minmax(const float* x, int64_t n, float t, float* out, float* hi, float* lo) {
    const __m512 vt = _mm512_set1_ps(t), ninf = _mm512_set1_ps(-INFINITY), nan = _mm512_set1_ps(NAN);
    __m512 vh = ninf, vl = _mm512_set1_ps(INFINITY);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
        const __m512 v = _mm512_div_ps(_mm512_mask_loadu_ps(nan, m, x + i), vt);
        _mm512_mask_storeu_ps(out + i, m, v);
        vh = _mm512_max_ps(v, vh);
        const __mmask16 lower = _mm512_cmp_ps_mask(v, vl, _CMP_LT_OQ) & _mm512_cmp_ps_mask(v, ninf, _CMP_GT_OQ);
        vl = _mm512_mask_mov_ps(vl, lower, v);
    }
    alignas(64) float hs[16], ls[16];
    _mm512_store_ps(hs, vh);
    _mm512_store_ps(ls, vl);
    float h = hs[0], l = ls[0];
    for (int k = 1; k < 16; ++k) {
        h = hs[k] > h ? hs[k] : h;
        l = (ls[k] < l && ls[k] > -INFINITY) ? ls[k] : l;
    }
    *hi = h;
    *lo = l;
}

// KernelTable::dist_bins: buckets and weights 16 at a time with the portable version's
// operations (vmaxps is its selects, vcvttps its truncations; no fma to contract), then the
// histogram's adds one at a time into four copies, candidate i into copy i % 4, so a run of
// candidates in one bucket (a peaked row's far tail) does not chain each add on the last one's
// store.
uint64_t dist_bins(const float* l, const float* e, int64_t n, float hi, float lo, float scale, float unit,
                   uint16_t* bucket, uint64_t* mass, int n_buckets) {
    constexpr int kMaxLocal = 1024, kCopies = 4;
    if (n_buckets > kMaxLocal) return dist_bins_portable(l, e, n, hi, lo, scale, unit, bucket, mass, n_buckets);
    alignas(64) uint64_t copies[kCopies][kMaxLocal];
    std::memset(copies, 0, sizeof(uint64_t) * kCopies * static_cast<size_t>(kMaxLocal));
    const __m512 vhi = _mm512_set1_ps(hi), vlo = _mm512_set1_ps(lo), vscale = _mm512_set1_ps(scale),
                 vunit = _mm512_set1_ps(unit), zero = _mm512_setzero_ps();
    alignas(64) int32_t b[16];
    alignas(64) uint64_t w[16];
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_max_ps(_mm512_loadu_ps(l + i), vlo);
        const __m512i bi = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_sub_ps(vhi, v), vscale));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(bucket + i), _mm512_cvtepi32_epi16(bi));
        _mm512_store_si512(b, bi);
        const __m512 wf = _mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(e + i), vunit), zero);
        _mm512_store_si512(w, _mm512_cvttps_epi64(_mm512_castps512_ps256(wf)));
        _mm512_store_si512(w + 8, _mm512_cvttps_epi64(_mm512_extractf32x8_ps(wf, 1)));
        for (int k = 0; k < 16; ++k) copies[k % kCopies][b[k]] += w[k];
    }
    uint64_t total = dist_bins_portable(l + i, e + i, n - i, hi, lo, scale, unit, bucket + i, mass, n_buckets);
    for (int k = 0; k < n_buckets; ++k) {
        const uint64_t m = copies[0][k] + copies[1][k] + copies[2][k] + copies[3][k];
        mass[k] += m;
        total += m;
    }
    return total;
}

// KernelTable::indices_eq_u16: 32 values a compare, their matches' indices compressed out.
int64_t indices_eq_u16(const uint16_t* v, int64_t n, uint16_t value, int32_t* out) {
    const __m512i want = _mm512_set1_epi16(static_cast<short>(value)), step = _mm512_set1_epi32(16);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t k = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        const __mmask32 m = _mm512_cmpeq_epi16_mask(_mm512_loadu_si512(v + i), want);
        const __m512i next = _mm512_add_epi32(idx, step);
        if (m != 0) {
            const auto m0 = static_cast<__mmask16>(m), m1 = static_cast<__mmask16>(m >> 16);
            _mm512_mask_compressstoreu_epi32(out + k, m0, idx);
            k += __builtin_popcount(m0);
            _mm512_mask_compressstoreu_epi32(out + k, m1, next);
            k += __builtin_popcount(m1);
        }
        idx = _mm512_add_epi32(next, step);
    }
    for (; i < n; ++i)
        if (v[i] == value) out[k++] = static_cast<int32_t>(i);
    return k;
}

}  // namespace

const KernelTable* avx512_table() {
    static const KernelTable* t = [] {
        static KernelTable k{};
        const KernelTable* a2 = avx2_table();
        k = *a2;  // K-quants from the AVX2 file
        k.isa = Isa::Avx512;
        k.name = "avx512";
        k.mat_f32 = mat_f32;
        k.mat_f16 = mat_f16;
        k.mat_bf16 = mat_bf16;
        k.mat_q8_0 = mat_q8_0;
        k.mat_q4_0 = mat_q4_0;
        k.mat_q4_0_r16 = mat_q4_0_r16;
        k.mat_q8_0_r16 = mat_q8_0_r16;
        k.dot_f32 = dot_f32;
        k.axpy_f32 = axpy_f32;
        k.attn_scores = attn_scores;
        k.attn_values = attn_values;
        k.dot_f16 = dot_f16_kv;
        k.axpy_f16 = axpy_f16;
        k.attn_scores_f16 = attn_scores_f16;
        k.attn_values_f16 = attn_values_f16;  // f32_to_f16: the AVX2 one (F16C)
        k.quantize_act_q8 = quantize_act_q8;
        k.exp_sub_sum = exp_sub_sum;
        k.max_f32 = max_f32;
        k.sum_sq = sum_sq;
        k.scale_mul = scale_mul;
        k.silu_mul = silu_mul;
        k.gemm_probe = gemm_probe;
        k.gemm_tile = gemm_tile;
        k.gemm_nr = kAvx512GemmNr;
        k.transpose_f32 = transpose_f32;
        k.div_minmax = div_minmax;
        k.dist_bins = dist_bins;
        k.indices_eq_u16 = indices_eq_u16;
        k.dot_q8kv = dot_q8kv;
        k.axpy_q8kv = axpy_q8kv;
        k.attn_scores_q8kv = attn_scores_q8kv;
        k.attn_values_q8kv = attn_values_q8kv;
        return &k;
    }();
    return t;
}

}  // namespace lyra::core::kern

#else  // built without the ISA flags (not x86): the variant is absent

namespace lyra::core::kern {
const KernelTable* avx512_table() { return nullptr; }
}  // namespace lyra::core::kern

#endif
