// ops: the front door to Lyra's numeric kernels. Models and the trainer call only these.
// Activations are contiguous f32; weights are Tensor views of any supported DType.
// Shapes checked with LYRA_CHECK (a mismatch is a bug in the caller, not bad input).
// Each op has a scalar reference (kernels/ref_*.cpp) and, where it pays, SIMD variants picked
// once at start-up by CPU features (kernels/dispatch.cpp). Kernels never allocate or throw.
//
// Legend: T tokens (rows), K input channels, N output channels, C channels, H heads, D head dim.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace lyra::core {

// y[T, N] = x[T, K] · w[N, K]^T   (w of any DType; accumulates in f32).
void matmul(ThreadPool& pool, const float* x, int64_t T, const Tensor& w, float* y);

// The scalar reference for matmul, used by tests and to check fast paths.
void matmul_ref(const float* x, int64_t T, const Tensor& w, float* y);

// y[t, :] += b[:] for each of T rows of N.
void add_bias(float* y, const float* b, int64_t T, int64_t N);

// out[i, :] = dequantized row ids[i] of the embedding table w[V, C].
void get_rows(const Tensor& w, const int32_t* ids, int64_t n, float* out);

// RMSNorm: y = x / sqrt(mean(x²) + eps) * w, per row of C. y may alias x.
void rmsnorm(const float* x, const float* w, float* y, int64_t T, int64_t C, float eps);

// LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b, per row of C. y may alias x.
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t T, int64_t C,
               float eps);

// How a RoPE rotates pairs of a head's dimensions.
enum class RopeStyle {
    Interleaved,  // pairs (0,1), (2,3), …: GGUF llama files (q/k weights are permuted on export)
    Neox,         // pairs (i, i + n_rot/2): qwen2, gpt-neox and HF layout
};

struct RopeParams {
    int64_t n_rot = 0;            // rotated dims per head (≤ D, even); 0 = D
    float freq_base = 10000.0f;   // θ base
    float freq_scale = 1.0f;      // linear position scaling (1 / factor)
    const float* freq_factors = nullptr;  // optional [n_rot/2] divisors (Llama 3.1 "rope_freqs")
    RopeStyle style = RopeStyle::Interleaved;
};

// Rotates x[T, H, D] in place; token t sits at position pos[t].
void rope(float* x, int64_t T, int64_t H, int64_t D, const int32_t* pos, const RopeParams& p);

// Softmax over n values in place (max-subtracted).
void softmax(float* x, int64_t n);

// x[i] = exp(x[i] - mx) in place (SIMD exp, the same value for an element wherever it sits);
// returns the sum in f32 lanes.
float exp_sub_sum(float* x, int64_t n, float mx);

// The passes of a sampler's draw over a whole vocabulary (generate/samplers/pick.cpp), SIMD where
// the CPU has it, the same results everywhere (core/kernels/kernels.h defines them):
// div_minmax: out[i] = x[i] / t (out may be x); *hi = the largest out[i] that is not NaN (-inf if
// none), *lo = the smallest above -inf (+inf if none).
void div_minmax(const float* x, int64_t n, float t, float* out, float* hi, float* lo);
// bucket[i] = (int)((hi - (l[i] > lo ? l[i] : lo)) * scale), which must lie in [0, n_buckets), and
// mass[bucket[i]] += the weight (uint64)(int64)(e[i] * unit, or 0 unless that is > 0); returns
// the weights' sum.
uint64_t dist_bins(const float* l, const float* e, int64_t n, float hi, float lo, float scale, float unit,
                   uint16_t* bucket, uint64_t* mass, int n_buckets);
// Writes every i < n with v[i] == value to out, in increasing order; returns how many.
int64_t indices_eq_u16(const uint16_t* v, int64_t n, uint16_t value, int32_t* out);

// log(sum(exp(x[i]))) over n > 0 values without writing them, computed as mx + log(sum(exp(x[i] -
// mx))) with mx = max(x) stored in *max_out: the log-probability of i is x[i] - result. SIMD exp
// (relative error ~2e-7 per term); -inf entries add 0. All -inf gives -inf.
double log_sum_exp(const float* x, int64_t n, float* max_out);

// out[i] = silu(gate[i]) * up[i]   (SwiGLU). out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// x[i] = gelu(x[i]) with the tanh approximation GPT-2 uses.
void gelu(float* x, int64_t n);

// x[i] = x[i] * Phi(x[i]), the exact (erf) GELU of BERT and RoBERTa (HF "gelu").
void gelu_erf(float* x, int64_t n);

// x[i] = max(x[i], 0).
void relu(float* x, int64_t n);

// x[i] = tanh(x[i]) (the BERT pooler's activation).
void tanh_inplace(float* x, int64_t n);

// y[i] += x[i].
void add_inplace(float* y, const float* x, int64_t n);

// Dot product of two f32 vectors (SIMD where available); used by attention.
float dot_f32(const float* a, const float* b, int64_t n);
// y[i] += a * x[i].
void axpy_f32(float a, const float* x, float* y, int64_t n);

// One query head of scaled dot-product attention over n cached rows `stride` floats apart:
// scores[j] = softmax_j(dot(q, keys + j*stride) * scale), out[0..D) = sum_j scores[j] * (values
// + j*stride). The same arithmetic as dot_f32 per key, softmax, and axpy_f32 per value into a
// zeroed out, so every caller (single or batched decode, prefill) gets identical numbers.
void attention_head(const float* q, const float* keys, const float* values, int64_t stride, int64_t n, int64_t D,
                    float scale, float* scores, float* out);

// A K or V cache as attention reads it (issue 2): rows of f32, f16 (IEEE half, widened to f32
// in registers as they are read) or Q8_0 (int8, one f32 scale per 32 elements in `scales`, row
// j's at j * stride / 32; element i read as scale * int8), row j at element j * stride. `data`
// points at row 0's first element of the head being read; row(j) is that element of row j.
struct KvView {
    const void* data = nullptr;
    DType type = DType::F32;  // F32, F16 or Q8_0
    int64_t stride = 0;       // elements from one row to the next (a multiple of 32 for Q8_0)
    const float* scales = nullptr;  // Q8_0 only

    static int64_t elem_bytes(DType t) { return t == DType::F16 ? 2 : t == DType::Q8_0 ? 1 : 4; }
    const void* row(int64_t j) const {
        return static_cast<const uint8_t*>(data) + j * stride * elem_bytes(type);
    }
    // Q8_0: row j's scales.
    const float* row_scales(int64_t j) const { return scales + j * (stride / 32); }
    // The same rows starting at element `off` (a head's slice; a multiple of 32 for Q8_0) and
    // row `first`.
    KvView at(int64_t first, int64_t off) const {
        const auto* base = static_cast<const uint8_t*>(row(first));
        return {base + off * elem_bytes(type), type, stride,
                type == DType::Q8_0 ? row_scales(first) + off / 32 : nullptr};
    }
};

// dot(q, row j of k) over n elements: dot_f32 for an f32 view, the f16 or Q8_0 kernel otherwise.
float dot_kv(const float* q, const KvView& k, int64_t j, int64_t n);
// y[i] += a * (row j of v)[i], likewise.
void axpy_kv(float a, const KvView& v, int64_t j, float* y, int64_t n);

// attention_head over KV views of any of the three types: for f32 views exactly the function
// above; for f16 and Q8_0 their kernels, bit-identical to dot_kv per key and axpy_kv per value.
void attention_head(const float* q, const KvView& keys, const KvView& values, int64_t n, int64_t D, float scale,
                    float* scores, float* out);

// out[i] = x[i] rounded to IEEE half, nearest even (F16C where the CPU has it): the f16 KV
// cache's writes.
void f32_to_f16(const float* x, uint16_t* out, int64_t n);
// The Q8_0 KV cache's writes: n (a multiple of 32) values as int8 q with one scale per 32,
// d[b] = amax / 127 and q = x * 127 / amax rounded to nearest even (NaN -> 0), as the Q8
// activations of the quantized matmuls are made.
void quantize_kv_q8(const float* x, int64_t n, int8_t* q, float* d);

// Which kernel variants dispatch picked ("avx512", "avx2", "scalar"), for bench/info output.
// The environment variable LYRA_ISA=scalar|avx2|avx512 caps the choice at start-up.
const char* kernel_isa();

// Switches every op to the named variant ("scalar", "avx2", "avx512") for tests and benchmarks;
// returns false (and changes nothing) when the name is unknown or this CPU lacks the variant.
// Not safe while another thread is inside an op.
bool force_kernel_isa(std::string_view name);

// Scalar references (double accumulation) of the SIMD-dispatched ops above, for tests.
void rmsnorm_ref(const float* x, const float* w, float* y, int64_t T, int64_t C, float eps);
void softmax_ref(float* x, int64_t n);
void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n);

}  // namespace lyra::core
