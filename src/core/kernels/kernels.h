// Internal to core/: the table of kernel variants dispatch.cpp picks from (scalar, AVX2, AVX-512)
// and the activation formats the quantized dot products take. Not included outside core/.
//
// ISA files (kernels/x86/*.cpp) are compiled with extra -m flags; they include only this header,
// blocks.h and <immintrin.h>, and keep every helper in an anonymous namespace, so no inline
// function compiled for AVX-512 can be picked by the linker for a portable caller.
//
// Legend: T tokens, K input channels (the reduction), N output channels (weight rows).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/kernels/blocks.h"

namespace lyra::core::kern {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// One activation row quantized in blocks of 32 for Q8_0/Q4_0 weights: value = qs[j] * d[j/32].
// bias4[8b] = -8 * sum(block b), bias8[8b] = -128 * sum(block b), other 7 lanes 0: added to the
// first int32 lane of a block's integer dot so the weight side can stay unsigned
// (Q4_0: q in 0..15 stands for q - 8; Q8_0: w ^ 0x80 = w + 128).
struct ActQ8 {
    const int8_t* qs;      // [K]
    const float* d;        // [K/32]
    const int32_t* sum;    // [K/32]
    const int32_t* bias4;  // [K/32 * 8]
    const int32_t* bias8;  // [K/32 * 8]
    const float* dlanes;   // [K/32 * 8]: d[b] repeated in the 8 lanes of block b
    // Quads of blocks 4q..4q+3 (q < K/128) laid out for the AVX-512 Q8_0/Q4_0 kernels' 4 blocks
    // per zmm, 256 bytes per quad, everything a quad needs in four consecutive cache lines (one
    // pointer per token keeps a multi-token tile's pointers in registers): bytes 0-127 are the
    // quad's first halves [b0[0:16] b1[0:16] b2[0:16] b3[0:16]] then its second halves; bytes
    // 128-191 the int32 bias lanes of the weight type the row was quantized for (bias4 or bias8's
    // value; block k of the quad owns lanes 4k..4k+3, the bias in 4k); bytes 192-255 the f32
    // scale lanes (d of block k in lanes 4k..4k+3).
    static constexpr size_t kQuadBytes = 256;
    const uint8_t* quads;  // [K/128 * 256], 64-byte aligned
    // Rows quantized for Q4_0_R16 / Q8_0_R16 weights only (null otherwise): block b's record at
    // blocks + kBlockBytes * b holds its 32 qs, then the int32 bias of the weight type (bias4 or
    // bias8's lane 0), then the f32 d. One pointer per token: with three (qs, d, bias) an 8-token
    // tile needed 24 registers and the AVX-512 packed kernel spilled them on every block.
    static constexpr size_t kBlockBytes = 40;
    const uint8_t* blocks;  // [K/32 * 40]
};

// rows of w (stride `w_stride` bytes) x activation rows; writes y[t * ldy + r] for r in
// [0, n_rows), t in [0, T). `act` points at T activation rows of the type's activation format,
// each `act_stride` bytes apart (f32 rows for float weights, ActQ8 structs, or Q8_K rows).
using MatKernel = void (*)(const uint8_t* w, size_t w_stride, int64_t n_rows, const void* act,
                           size_t act_stride, int64_t T, int64_t K, float* y, int64_t ldy);

struct KernelTable {
    Isa isa;
    const char* name;
    MatKernel mat_f32, mat_f16, mat_bf16, mat_q8_0, mat_q4_0, mat_q4_k, mat_q5_k, mat_q6_k;
    float (*dot_f32)(const float* a, const float* b, int64_t n);
    void (*axpy_f32)(float a, const float* x, float* y, int64_t n);
    // Softmax helper: x[i] = exp(x[i] - mx), returns the sum (in f32 lanes, then added up).
    float (*exp_sub_sum)(float* x, int64_t n, float mx);
    float (*max_f32)(const float* x, int64_t n);
    float (*sum_sq)(const float* x, int64_t n);
    void (*scale_mul)(const float* x, const float* w, float s, float* y, int64_t n);  // y = x*s*w
    void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n);
    // Peak probe: c[6 x 64] += a[K x 6]^T-broadcast * b[K x 64] from L1-resident packed panels,
    // the inner loop of a blocked SGEMM (2 * 6 * 64 * K flops). Used by core/roofline.cpp.
    void (*gemm_probe)(const float* a, const float* b, int64_t K, float* c);
    // Attention for one query head over n cached rows `stride` floats apart: sc[j] =
    // dot_f32(q, keys + j*stride, D) * scale, and o[0..D) = sum_j p[j] * (values + j*stride)
    // accumulated in j order. Bit-identical to dot_f32 per key and to zeroing o and calling
    // axpy_f32 per value; the SIMD variants only keep more in registers.
    void (*attn_scores)(const float* q, const float* keys, int64_t stride, int64_t n, int64_t D, float scale,
                        float* sc);
    void (*attn_values)(const float* p, const float* values, int64_t stride, int64_t n, int64_t D, float* o);
    // The integer half of an ActQ8 row, nb blocks of 32: d[b] = amax/127, qs = round-to-nearest-even
    // of x * 127/amax (NaN -> 0) clamped to [-127, 127], sum[b] = the block's sum of qs. Every
    // variant gives the same bytes (the scalar loop in scalar.cpp is the definition).
    void (*quantize_act_q8)(const float* x, int64_t nb, int8_t* qs, float* d, int32_t* sum);
    // SGEMM micro-kernel (core/gemm.cpp packs and blocks around it): for r < R (1..6) and
    // c < n (1..gemm_nr), C[r*ldc + c] = (load_c ? C[r*ldc + c] : 0) + sum over p < kc of
    // A[r*lda + p] * Bp[p*gemm_nr + c]. Bp is a packed panel, gemm_nr floats per p, 64-byte
    // aligned, zero past column n. Each C element is one multiply-add chain in p order, so a
    // result does not depend on R, n or how the caller splits the work.
    void (*gemm_tile)(int64_t kc, const float* A, int64_t lda, const float* Bp, int R, int n, float* C,
                      int64_t ldc, bool load_c);
    int gemm_nr;  // the packed panel's width in floats
    // out[i] = the f16 h[i] as f32 (exact; F16 weights are widened this way for the GEMM).
    void (*f16_to_f32)(const uint16_t* h, float* out, int64_t n);
    // The f16 KV cache (issue 2): keys and values stored as IEEE half and widened in registers
    // as they are read, so attention streams half the bytes. dot_f16 = sum q[i] * k[i] (f32
    // arithmetic on the exact widened k); axpy_f16: y[i] += a * x[i]. attn_scores_f16 and
    // attn_values_f16 are attn_scores/attn_values over f16 rows, bit-identical to dot_f16 per key
    // and to zeroing o and calling axpy_f16 per value, as the f32 pair is to dot_f32/axpy_f32.
    float (*dot_f16)(const float* q, const uint16_t* k, int64_t n);
    void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n);
    void (*attn_scores_f16)(const float* q, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                            float scale, float* sc);
    void (*attn_values_f16)(const float* p, const uint16_t* values, int64_t stride, int64_t n, int64_t D,
                            float* o);
    // out[i] = x[i] rounded to f16, nearest even, overflow to inf (fp32_to_fp16 in half.h; the
    // F16C instruction agrees with it on every input but NaN payloads). Writes the KV cache.
    void (*f32_to_f16)(const float* x, uint16_t* out, int64_t n);
    // out[c * ld_out + r] = in[r * ld_in + c] for r < R, c < C (out = in^T; no overlap). The GEMM's
    // operands and results change between token-major and feature-major through it (core/gemm.cpp),
    // so a scalar element-at-a-time copy cost ~7% of a prompt's time; the SIMD variants move
    // 16 x 16 (8 x 8) blocks through registers.
    void (*transpose_f32)(const float* in, int64_t R, int64_t C, int64_t ld_in, float* out, int64_t ld_out);
    // Q4_0_R16 / Q8_0_R16 weights (core/packed_weights.h) x ActQ8 rows: n_rows a multiple of 16,
    // w at a group, w_stride the source type's row bytes (a group is 16 of them). Per output: for
    // each block b in order, the exact integer dot (the bias4 / bias8 lane + unsigned weights x
    // qs) as f32, times the activation's d[b], then fma'd with the row's scale into one f32
    // accumulator. Every variant and every token count does exactly that: they all give the same
    // bits.
    MatKernel mat_q4_0_r16, mat_q8_0_r16;
    // The passes of the sampler's draw over a whole vocabulary (generate/samplers/pick.cpp), each
    // defined by its portable version below, which every variant matches bit for bit:
    // out[i] = x[i] / t (out may be x), *hi = the largest out[i] that is not NaN (-inf if none),
    // *lo = the smallest above -inf (+inf if none).
    void (*div_minmax)(const float* x, int64_t n, float t, float* out, float* hi, float* lo);
    // For each i: bucket[i] = (int)((hi - (l[i] > lo ? l[i] : lo)) * scale), which must lie in
    // [0, n_buckets), and mass[bucket[i]] += (uint64)(int64)(e[i] * unit, or 0 unless that is
    // > 0); returns the sum of those weights. Integer sums: the order they are added in does not
    // matter.
    uint64_t (*dist_bins)(const float* l, const float* e, int64_t n, float hi, float lo, float scale, float unit,
                          uint16_t* bucket, uint64_t* mass, int n_buckets);
    // Writes every i < n with v[i] == value to out, in increasing order; returns how many.
    int64_t (*indices_eq_u16)(const uint16_t* v, int64_t n, uint16_t value, int32_t* out);
    // The Q8_0 KV cache: int8 rows with one f32 scale per 32 elements (kd / vd; row j's first at
    // j * stride / 32, so stride is a multiple of 32, and n is where a row is read). Element i
    // of a row is read as d[i / 32] * (float)q[i], one rounding, and from there the arithmetic is
    // the f32 functions' on those values: dot_q8kv as dot_f32, axpy_q8kv as axpy_f32, and
    // attn_scores_q8kv / attn_values_q8kv bit-identical to them per key and per value.
    float (*dot_q8kv)(const float* q, const int8_t* k, const float* kd, int64_t n);
    void (*axpy_q8kv)(float a, const int8_t* x, const float* xd, float* y, int64_t n);
    void (*attn_scores_q8kv)(const float* q, const int8_t* keys, const float* kd, int64_t stride, int64_t n,
                             int64_t D, float scale, float* sc);
    void (*attn_values_q8kv)(const float* p, const int8_t* values, const float* vd, int64_t stride, int64_t n,
                             int64_t D, float* o);
};

// The portable packed kernels (scalar.cpp): the scalar table's, and the AVX2 table's too (no
// machine without AVX-512 packs weights, so only a forced ISA switch ever runs them there).
void mat_q4_0_r16_portable(const uint8_t* w, size_t w_stride, int64_t n_rows, const void* act, size_t act_stride,
                           int64_t T, int64_t K, float* y, int64_t ldy);
void mat_q8_0_r16_portable(const uint8_t* w, size_t w_stride, int64_t n_rows, const void* act, size_t act_stride,
                           int64_t T, int64_t K, float* y, int64_t ldy);
// The sampler passes' definitions (KernelTable::div_minmax, dist_bins, indices_eq_u16): the
// scalar and AVX2 tables' too.
void div_minmax_portable(const float* x, int64_t n, float t, float* out, float* hi, float* lo);
uint64_t dist_bins_portable(const float* l, const float* e, int64_t n, float hi, float lo, float scale, float unit,
                            uint16_t* bucket, uint64_t* mass, int n_buckets);
int64_t indices_eq_u16_portable(const uint16_t* v, int64_t n, uint16_t value, int32_t* out);
// The Q8_0 KV cache's portable kernels (KernelTable::dot_q8kv ...): the scalar and AVX2 tables'.
float dot_q8kv_portable(const float* q, const int8_t* k, const float* kd, int64_t n);
void axpy_q8kv_portable(float a, const int8_t* x, const float* xd, float* y, int64_t n);
void attn_scores_q8kv_portable(const float* q, const int8_t* keys, const float* kd, int64_t stride, int64_t n,
                               int64_t D, float scale, float* sc);
void attn_values_q8kv_portable(const float* p, const int8_t* values, const float* vd, int64_t stride, int64_t n,
                               int64_t D, float* o);

namespace {
// Calls tile.template operator()<R>() with R = rows (1..6) as a compile-time constant: the SGEMM
// micro-kernels' row count. In an anonymous namespace so that each ISA file gets its own copy,
// compiled with that file's flags (see the top of this file).
template <typename Tile>
inline void with_gemm_rows(int rows, const Tile& tile) {
    switch (rows) {
        case 1: return tile.template operator()<1>();
        case 2: return tile.template operator()<2>();
        case 3: return tile.template operator()<3>();
        case 4: return tile.template operator()<4>();
        case 5: return tile.template operator()<5>();
        default: return tile.template operator()<6>();
    }
}
}  // namespace

namespace {
// Calls block(r0, c0) for the B x B blocks of a transpose of R x C (rows ld_in apart, into rows
// ld_out apart), the inner loop walking the side whose rows lie far apart, so each group of B of
// them is finished before the next: a GEMM result going back to token-major (8 KiB between rows
// at 2048 features) took 0.34 ns a float in the other order, 0.13 in this one.
template <int64_t B, typename Block>
inline void for_transpose_blocks(int64_t R, int64_t C, int64_t ld_in, int64_t ld_out, const Block& block) {
    if (ld_out > ld_in) {
        for (int64_t c0 = 0; c0 < C; c0 += B)
            for (int64_t r0 = 0; r0 < R; r0 += B) block(r0, c0);
    } else {
        for (int64_t r0 = 0; r0 < R; r0 += B)
            for (int64_t c0 = 0; c0 < C; c0 += B) block(r0, c0);
    }
}
}  // namespace

// The variant dispatch picked (or force_kernel_isa set).
const KernelTable& active_table();

const KernelTable& scalar_table();
const KernelTable* avx2_table();    // nullptr when not compiled in
const KernelTable* avx512_table();  // nullptr when not compiled in

}  // namespace lyra::core::kern
