// Training kernels: forward passes that save what backward needs, and the hand-written backward
// of each (llm.c style: every backward quotes the forward line it differentiates). All buffers
// are contiguous row-major f32 owned by the caller; kernels never allocate, throw or log.
// Thread safety: each call uses the pool it is given; buffers must not be shared across calls
// running at the same time. Gradients are ACCUMULATED (+=) into d* buffers unless noted.
//
// Legend: M rows (= B·T), K input channels, N output channels, C channels, B batch, T tokens,
// H query heads, G kv heads, D head dim, V vocab, F feed-forward width.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace lyra::train::kern {

// C[M, N] = (accumulate ? C : 0) + A[M, K] · B[K, N]: core::gemm_f32 (core/gemm.h) on
// contiguous matrices, so deterministic whatever the thread count.
void gemm(core::ThreadPool& pool, int64_t M, int64_t N, int64_t K, const float* A,
          const float* B, float* C, bool accumulate);
// The plain triple loop gemm is checked against.
void gemm_ref(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C,
              bool accumulate);
// out[C, R] = in[R, C]^T.
void transpose(core::ThreadPool& pool, const float* in, int64_t R, int64_t C, float* out);
// Which kernel variant the gemm runs on here ("avx512", "avx2", "scalar").
const char* gemm_isa();

// y[M, N] = x[M, K] · w[N, K]^T + b[N] (b may be null). wt_scratch holds K·N floats.
void linear_forward(core::ThreadPool& pool, const float* x, const float* w, const float* b,
                    float* y, int64_t M, int64_t K, int64_t N, float* wt_scratch);
// dx[M, K] += dy · w; dw[N, K] += dy^T · x; db[N] += Σ_m dy (dx, dw and db may each be null).
// scratch holds max(M·N, M·K) floats.
void linear_backward(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db, int64_t M, int64_t K, int64_t N,
                     float* scratch);

// x[0, n) = 0, spread over the pool when large (gradient buffers before they accumulate).
void zero(core::ThreadPool& pool, float* x, int64_t n);

// out[m, :] = wte[ids[m], :] (+ wpe[m % T, :] when wpe is non-null).
void embed_forward(core::ThreadPool& pool, const int32_t* ids, const float* wte, const float* wpe,
                   float* out, int64_t M, int64_t T, int64_t C);
// dwte null: frozen embeddings, nothing to do.
void embed_backward(core::ThreadPool& pool, const float* dout, const int32_t* ids, float* dwte,
                    float* dwpe, int64_t M, int64_t T, int64_t C);

// RMSNorm: y = x · rstd · w, rstd = 1/sqrt(mean(x²) + eps); saves rstd[M].
void rmsnorm_forward(core::ThreadPool& pool, const float* x, const float* w, float* y,
                     float* rstd, int64_t M, int64_t C, float eps);
// dx += ∂; dw += ∂ unless dw is null (a frozen norm).
void rmsnorm_backward(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                      const float* rstd, float* dx, float* dw, int64_t M, int64_t C);

// LayerNorm: y = (x - mean) · rstd · w + b; saves mean[M], rstd[M].
void layernorm_forward(core::ThreadPool& pool, const float* x, const float* w, const float* b,
                       float* y, float* mean, float* rstd, int64_t M, int64_t C, float eps);
// dx += ∂; dw, db += ∂ unless dw is null (a frozen norm: db must be null too).
void layernorm_backward(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                        const float* mean, const float* rstd, float* dx, float* dw, float* db,
                        int64_t M, int64_t C);

// Interleaved RoPE (pairs (0,1), (2,3), … as GGUF llama files), in place on x[M, H, D] (rows
// `row_stride` floats apart) where row m sits at position m % T. inverse = true applies the
// transposed rotation, which is RoPE's backward.
void rope_apply(core::ThreadPool& pool, float* x, int64_t row_stride, int64_t M, int64_t T,
                int64_t H, int64_t D, float freq_base, bool inverse);

// Causal multi-head attention with grouped-query heads. q[M, H·D] (row stride qs), k, v
// [M, G·D] (row strides ks, vs), out[M, H·D]; saves att[B, H, T, T] (softmax probabilities).
struct AttnShape {
    int64_t B, T, H, G, D;
    int64_t q_stride, k_stride, v_stride;  // floats between rows of q, k and v
};
void attention_forward(core::ThreadPool& pool, const AttnShape& s, const float* q, const float* k,
                       const float* v, float* att, float* out);
// dq, dk, dv (same strides as q, k, v) are accumulated; datt_scratch holds pool.size()·T floats.
void attention_backward(core::ThreadPool& pool, const AttnShape& s, const float* dout,
                        const float* q, const float* k, const float* v, const float* att,
                        float* dq, float* dk, float* dv, float* datt_scratch);

// SwiGLU: h = silu(g) · u.   dg, du are overwritten (either may alias dh).
void swiglu_forward(core::ThreadPool& pool, const float* g, const float* u, float* h, int64_t n);
void swiglu_backward(core::ThreadPool& pool, const float* dh, const float* g, const float* u,
                     float* dg, float* du, int64_t n);
// GELU (tanh approximation): y = gelu(x).   dx is overwritten.
void gelu_forward(core::ThreadPool& pool, const float* x, float* y, int64_t n);
void gelu_backward(core::ThreadPool& pool, const float* dy, const float* x, float* dx, int64_t n);

// y[i] = a[i] + b[i] (y may alias a).
void add(core::ThreadPool& pool, const float* a, const float* b, float* y, int64_t n);

// Cross-entropy: per row, loss[m] = -log softmax(logits[m])[targets[m]]. Returns the mean over
// rows whose target is ≥ 0 (rows with target < 0 are ignored and get zero gradient).
float cross_entropy_forward(core::ThreadPool& pool, const float* logits, const int32_t* targets,
                            float* losses, int64_t M, int64_t V);
// Overwrites logits[M, V] with d(mean loss)/d logits · scale (the softmax is recomputed).
void cross_entropy_backward(core::ThreadPool& pool, float* logits, const int32_t* targets,
                            int64_t M, int64_t V, float scale);

}  // namespace lyra::train::kern
