// Training kernels (see kernels.h). Legend: M rows (B·T), K in, N out, C channels, B batch,
// T tokens, H query heads, G kv heads, D head dim, V vocab.
#include "train/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/gemm.h"
#include "core/ops.h"

namespace lyra::train::kern {

namespace {
// Runs fn over [0, n) on the pool, or inline when the work (n · cost_per_item, roughly in
// multiply-adds) is too small to pay for waking the workers: a region costs microseconds, and
// much more when the machine is busy.
constexpr double kMinParallelWork = 32768.0;
template <typename Fn>
void parallel(core::ThreadPool& pool, int64_t n, double cost_per_item, Fn&& fn) {
    if (pool.size() == 1 || static_cast<double>(n) * cost_per_item < kMinParallelWork) {
        fn(int64_t{0}, n);
        return;
    }
    pool.parallel_for(n, fn);
}

// Column reductions over rows (a norm's dw, the embedding gradient) split the columns into blocks
// one cache line wide. A thread summing into memory shared with another thread's columns would
// bounce that line between cores on every row (false sharing): harmless at 2 threads, where a
// thread owns C/2 columns, but at 16 a thread of C = 192 owned 12 columns, under one line.
constexpr int64_t kColBlock = 16;
int64_t col_blocks(int64_t C) { return (C + kColBlock - 1) / kColBlock; }
}  // namespace

// -------------------------------------------------------------------------------------------
// gemm: the blocked SGEMM in core (packed panels, one multiply-add chain per element).

const char* gemm_isa() { return core::kernel_isa(); }

void gemm(core::ThreadPool& pool, int64_t M, int64_t N, int64_t K, const float* A,
          const float* B, float* C, bool accumulate) {
    core::gemm_f32(pool, M, N, K, A, K, B, N, C, N, accumulate);
}

void gemm_ref(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C,
              bool accumulate) {
    for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
            double s = accumulate ? static_cast<double>(C[i * N + j]) : 0.0;
            for (int64_t p = 0; p < K; ++p)
                s += static_cast<double>(A[i * K + p]) * static_cast<double>(B[p * N + j]);
            C[i * N + j] = static_cast<float>(s);
        }
    }
}

void transpose(core::ThreadPool& pool, const float* in, int64_t R, int64_t C, float* out) {
    core::transpose_f32(pool, in, R, C, C, out, R);
}

// -------------------------------------------------------------------------------------------
// linear: y[M, N] = x[M, K] · w[N, K]^T + b

void linear_forward(core::ThreadPool& pool, const float* x, const float* w, const float* b,
                    float* y, int64_t M, int64_t K, int64_t N, float* wt_scratch) {
    transpose(pool, w, N, K, wt_scratch);  // wt[K, N]
    gemm(pool, M, N, K, x, wt_scratch, y, false);
    if (b != nullptr) {
        parallel(pool, M, static_cast<double>(N), [&](int64_t m0, int64_t m1) {
            for (int64_t m = m0; m < m1; ++m)
                for (int64_t n = 0; n < N; ++n) y[m * N + n] += b[n];
        });
    }
}

void linear_backward(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db, int64_t M, int64_t K, int64_t N,
                     float* scratch) {
    // forward: y[m, n] = Σ_k x[m, k] w[n, k] + b[n]
    // dx[m, k] += Σ_n dy[m, n] w[n, k]
    if (dx != nullptr) gemm(pool, M, K, N, dy, w, dx, true);
    if (dw == nullptr && db == nullptr) return;  // a frozen weight (LoRA): only dx
    // dw[n, k] += Σ_m dy[m, n] x[m, k]    (dy^T [N, M] · x [M, K])
    transpose(pool, dy, M, N, scratch);
    if (dw != nullptr) gemm(pool, N, K, M, scratch, x, dw, true);
    // db[n] += Σ_m dy[m, n]   (rows of dy^T are contiguous)
    if (db != nullptr) {
        parallel(pool, N, static_cast<double>(M), [&](int64_t n0, int64_t n1) {
            for (int64_t n = n0; n < n1; ++n) {
                float s = 0.0f;
                for (int64_t m = 0; m < M; ++m) s += scratch[n * M + m];
                db[n] += s;
            }
        });
    }
}

void zero(core::ThreadPool& pool, float* x, int64_t n) {
    parallel(pool, n, 1.0, [&](int64_t i0, int64_t i1) {
        std::memset(x + i0, 0, static_cast<size_t>(i1 - i0) * sizeof(float));
    });
}

// -------------------------------------------------------------------------------------------
// embeddings

void embed_forward(core::ThreadPool& pool, const int32_t* ids, const float* wte, const float* wpe,
                   float* out, int64_t M, int64_t T, int64_t C) {
    parallel(pool, M, static_cast<double>(C), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            const float* e = wte + static_cast<int64_t>(ids[m]) * C;
            float* o = out + m * C;
            if (wpe != nullptr) {
                const float* p = wpe + (m % T) * C;
                for (int64_t c = 0; c < C; ++c) o[c] = e[c] + p[c];
            } else {
                std::memcpy(o, e, static_cast<size_t>(C) * sizeof(float));
            }
        }
    });
}

void embed_backward(core::ThreadPool& pool, const float* dout, const int32_t* ids, float* dwte,
                    float* dwpe, int64_t M, int64_t T, int64_t C) {
    // forward: out[m, c] = wte[ids[m], c] + wpe[m % T, c]
    if (dwte == nullptr) return;  // frozen embeddings (LoRA): nothing flows further back
    // Threads own column blocks, so rows sharing a token never race (and, a block being a cache
    // line wide, two threads rarely write the same line).
    parallel(pool, col_blocks(C), static_cast<double>(M * kColBlock), [&](int64_t b0, int64_t b1) {
        const int64_t c0 = b0 * kColBlock, c1 = std::min(C, b1 * kColBlock);
        for (int64_t m = 0; m < M; ++m) {
            const float* d = dout + m * C;
            float* gt = dwte + static_cast<int64_t>(ids[m]) * C;
            for (int64_t c = c0; c < c1; ++c) gt[c] += d[c];
            if (dwpe != nullptr) {
                float* gp = dwpe + (m % T) * C;
                for (int64_t c = c0; c < c1; ++c) gp[c] += d[c];
            }
        }
    });
}

// -------------------------------------------------------------------------------------------
// norms

void rmsnorm_forward(core::ThreadPool& pool, const float* x, const float* w, float* y,
                     float* rstd, int64_t M, int64_t C, float eps) {
    parallel(pool, M, 4.0 * static_cast<double>(C), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            const float* xr = x + m * C;
            float ss = 0.0f;
            for (int64_t c = 0; c < C; ++c) ss += xr[c] * xr[c];
            const float r = 1.0f / std::sqrt(ss / static_cast<float>(C) + eps);
            rstd[m] = r;
            for (int64_t c = 0; c < C; ++c) y[m * C + c] = xr[c] * r * w[c];
        }
    });
}

void rmsnorm_backward(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                      const float* rstd, float* dx, float* dw, int64_t M, int64_t C) {
    // forward: y[c] = x[c] · r · w[c],  r = (mean(x²) + eps)^(-1/2),  dr/dx[c] = -r³ x[c] / C
    // dx[c] += r · dy[c] w[c] - r³/C · x[c] · Σ_j dy[j] w[j] x[j]
    parallel(pool, M, 4.0 * static_cast<double>(C), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            const float* xr = x + m * C;
            const float* d = dy + m * C;
            const float r = rstd[m];
            float dot = 0.0f;
            for (int64_t c = 0; c < C; ++c) dot += d[c] * w[c] * xr[c];
            const float k = r * r * r * dot / static_cast<float>(C);
            for (int64_t c = 0; c < C; ++c) dx[m * C + c] += r * d[c] * w[c] - k * xr[c];
        }
    });
    // dw[c] += Σ_m dy[m, c] · x[m, c] · r[m]   (threads own column blocks, summed over m in order)
    if (dw == nullptr) return;  // a frozen norm (LoRA): only dx
    parallel(pool, col_blocks(C), 2.0 * static_cast<double>(M * kColBlock), [&](int64_t b0, int64_t b1) {
        for (int64_t blk = b0; blk < b1; ++blk) {
            const int64_t c0 = blk * kColBlock, n = std::min(kColBlock, C - c0);
            float acc[kColBlock];
            std::copy(dw + c0, dw + c0 + n, acc);
            for (int64_t m = 0; m < M; ++m) {
                const float r = rstd[m];
                for (int64_t j = 0; j < n; ++j) acc[j] += dy[m * C + c0 + j] * x[m * C + c0 + j] * r;
            }
            std::copy(acc, acc + n, dw + c0);
        }
    });
}

void layernorm_forward(core::ThreadPool& pool, const float* x, const float* w, const float* b,
                       float* y, float* mean, float* rstd, int64_t M, int64_t C, float eps) {
    parallel(pool, M, 4.0 * static_cast<double>(C), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            const float* xr = x + m * C;
            float s = 0.0f;
            for (int64_t c = 0; c < C; ++c) s += xr[c];
            const float mu = s / static_cast<float>(C);
            float v = 0.0f;
            for (int64_t c = 0; c < C; ++c) v += (xr[c] - mu) * (xr[c] - mu);
            const float r = 1.0f / std::sqrt(v / static_cast<float>(C) + eps);
            mean[m] = mu;
            rstd[m] = r;
            for (int64_t c = 0; c < C; ++c) y[m * C + c] = (xr[c] - mu) * r * w[c] + b[c];
        }
    });
}

void layernorm_backward(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                        const float* mean, const float* rstd, float* dx, float* dw, float* db,
                        int64_t M, int64_t C) {
    // forward: xhat = (x - mean) · rstd;  y = xhat · w + b
    // dxhat = dy · w;  dx += rstd · (dxhat - mean(dxhat) - xhat · mean(dxhat · xhat))
    parallel(pool, M, 4.0 * static_cast<double>(C), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            const float* xr = x + m * C;
            const float* d = dy + m * C;
            const float mu = mean[m], r = rstd[m];
            float s1 = 0.0f, s2 = 0.0f;
            for (int64_t c = 0; c < C; ++c) {
                const float dxh = d[c] * w[c];
                s1 += dxh;
                s2 += dxh * (xr[c] - mu) * r;
            }
            s1 /= static_cast<float>(C);
            s2 /= static_cast<float>(C);
            for (int64_t c = 0; c < C; ++c) {
                const float xh = (xr[c] - mu) * r;
                dx[m * C + c] += r * (d[c] * w[c] - s1 - xh * s2);
            }
        }
    });
    // dw[c] += Σ_m dy · xhat;  db[c] += Σ_m dy   (both null for a frozen norm, LoRA; threads own
    // column blocks, summed over m in order)
    if (dw == nullptr) return;
    parallel(pool, col_blocks(C), 3.0 * static_cast<double>(M * kColBlock), [&](int64_t b0, int64_t b1) {
        for (int64_t blk = b0; blk < b1; ++blk) {
            const int64_t c0 = blk * kColBlock, n = std::min(kColBlock, C - c0);
            float acc_w[kColBlock], acc_b[kColBlock];
            std::copy(dw + c0, dw + c0 + n, acc_w);
            std::copy(db + c0, db + c0 + n, acc_b);
            for (int64_t m = 0; m < M; ++m) {
                const float mu = mean[m], r = rstd[m];
                for (int64_t j = 0; j < n; ++j) {
                    const int64_t i = m * C + c0 + j;
                    acc_w[j] += dy[i] * (x[i] - mu) * r;
                    acc_b[j] += dy[i];
                }
            }
            std::copy(acc_w, acc_w + n, dw + c0);
            std::copy(acc_b, acc_b + n, db + c0);
        }
    });
}

// -------------------------------------------------------------------------------------------
// RoPE, interleaved pairs: for pair i of a head at position p, θ = p · base^(-2i/D),
//   y0 = x0 cos θ - x1 sin θ,   y1 = x0 sin θ + x1 cos θ.
// Its backward is the inverse rotation (θ → -θ):  dx0 = dy0 cos + dy1 sin, dx1 = -dy0 sin + dy1 cos.

void rope_apply(core::ThreadPool& pool, float* x, int64_t row_stride, int64_t M, int64_t T,
                int64_t H, int64_t D, float freq_base, bool inverse) {
    parallel(pool, M, static_cast<double>(H * D) * 4.0 + 40.0 * static_cast<double>(D), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            const float pos = static_cast<float>(m % T);
            for (int64_t i = 0; i < D / 2; ++i) {
                const float freq = std::pow(freq_base, -2.0f * static_cast<float>(i) /
                                                           static_cast<float>(D));
                const float theta = pos * freq;
                const float c = std::cos(theta);
                const float s = inverse ? -std::sin(theta) : std::sin(theta);
                for (int64_t h = 0; h < H; ++h) {
                    float* p = x + m * row_stride + h * D + 2 * i;
                    const float x0 = p[0], x1 = p[1];
                    p[0] = x0 * c - x1 * s;
                    p[1] = x0 * s + x1 * c;
                }
            }
        }
    });
}

// -------------------------------------------------------------------------------------------
// attention

namespace {
inline float dot(const float* a, const float* b, int64_t n) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}
inline void axpy(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
}  // namespace

void attention_forward(core::ThreadPool& pool, const AttnShape& s, const float* q, const float* k,
                       const float* v, float* att, float* out) {
    const int64_t T = s.T, D = s.D, H = s.H, group = s.H / s.G;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    parallel(pool, s.B * H, static_cast<double>(T * T * D), [&](int64_t w0, int64_t w1) {
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t b = w / H, h = w % H, g = h / group;
            for (int64_t t = 0; t < T; ++t) {
                const float* qt = q + (b * T + t) * s.q_stride + h * D;
                float* a = att + ((b * H + h) * T + t) * T;
                float mx = -INFINITY;
                for (int64_t u = 0; u <= t; ++u) {
                    a[u] = dot(qt, k + (b * T + u) * s.k_stride + g * D, D) * scale;
                    mx = std::max(mx, a[u]);
                }
                float sum = 0.0f;
                for (int64_t u = 0; u <= t; ++u) {
                    a[u] = std::exp(a[u] - mx);
                    sum += a[u];
                }
                const float inv = 1.0f / sum;
                for (int64_t u = 0; u <= t; ++u) a[u] *= inv;
                for (int64_t u = t + 1; u < T; ++u) a[u] = 0.0f;
                float* o = out + (b * T + t) * H * D + h * D;
                std::fill(o, o + D, 0.0f);
                for (int64_t u = 0; u <= t; ++u) axpy(a[u], v + (b * T + u) * s.v_stride + g * D, o, D);
            }
        }
    });
}

void attention_backward(core::ThreadPool& pool, const AttnShape& s, const float* dout,
                        const float* q, const float* k, const float* v, const float* att,
                        float* dq, float* dk, float* dv, float* datt_scratch) {
    const int64_t T = s.T, D = s.D, H = s.H, G = s.G, group = s.H / s.G;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    // Work items are (batch, kv head) so dk/dv rows of one kv head are written by one thread.
    auto body = [&](int ith, int nth) {
        int64_t w0 = 0, w1 = 0;
        core::split_range(s.B * G, ith, nth, &w0, &w1);
        float* dp = datt_scratch + static_cast<int64_t>(ith) * T;
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t b = w / G, g = w % G;
            for (int64_t h = g * group; h < (g + 1) * group; ++h) {
                for (int64_t t = 0; t < T; ++t) {
                    const float* a = att + ((b * H + h) * T + t) * T;
                    const float* dot_ = dout + (b * T + t) * H * D + h * D;
                    // forward: out[t] = Σ_u a[t, u] v[u]
                    //   da[t, u] = dout[t] · v[u];   dv[u] += a[t, u] dout[t]
                    float sum = 0.0f;
                    for (int64_t u = 0; u <= t; ++u) {
                        const float* vu = v + (b * T + u) * s.v_stride + g * D;
                        dp[u] = dot(dot_, vu, D);
                        sum += dp[u] * a[u];
                        axpy(a[u], dot_, dv + (b * T + u) * s.v_stride + g * D, D);
                    }
                    // forward: a[t, :] = softmax(score[t, :])
                    //   dscore[u] = a[u] (da[u] - Σ_j a[j] da[j])
                    // forward: score[t, u] = scale · q[t] · k[u]
                    //   dq[t] += scale · dscore[u] k[u];   dk[u] += scale · dscore[u] q[t]
                    const float* qt = q + (b * T + t) * s.q_stride + h * D;
                    float* dqt = dq + (b * T + t) * s.q_stride + h * D;
                    for (int64_t u = 0; u <= t; ++u) {
                        const float ds = a[u] * (dp[u] - sum) * scale;
                        axpy(ds, k + (b * T + u) * s.k_stride + g * D, dqt, D);
                        axpy(ds, qt, dk + (b * T + u) * s.k_stride + g * D, D);
                    }
                }
            }
        }
    };
    const double work = static_cast<double>(s.B * H * T * T * D) * 2.0;
    if (pool.size() == 1 || work < kMinParallelWork) {
        body(0, 1);
    } else {
        pool.run(body);
    }
}

// -------------------------------------------------------------------------------------------
// pointwise

void swiglu_forward(core::ThreadPool& pool, const float* g, const float* u, float* h, int64_t n) {
    parallel(pool, n, 20.0, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) h[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
    });
}

void swiglu_backward(core::ThreadPool& pool, const float* dh, const float* g, const float* u,
                     float* dg, float* du, int64_t n) {
    // forward: h = g · σ(g) · u
    //   du = dh · g σ(g);   dg = dh · u · σ(g) (1 + g (1 - σ(g)))
    parallel(pool, n, 20.0, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const float d = dh[i], gi = g[i], ui = u[i];  // read first: du/dg may alias dh
            const float sg = 1.0f / (1.0f + std::exp(-gi));
            du[i] = d * gi * sg;
            dg[i] = d * ui * sg * (1.0f + gi * (1.0f - sg));
        }
    });
}

namespace {
constexpr float kGeluS = 0.7978845608028654f;  // sqrt(2/π)
constexpr float kGeluA = 0.044715f;
}  // namespace

// The forward is inference's GELU (core::gelu: x σ(2u) through the SIMD exp), run on a copy.
void gelu_forward(core::ThreadPool& pool, const float* x, float* y, int64_t n) {
    parallel(pool, n, 20.0, [&](int64_t i0, int64_t i1) {
        std::copy(x + i0, x + i1, y + i0);
        core::gelu(y + i0, i1 - i0);
    });
}

// The derivative in the same form: its exponentials e^(-2u) through core's SIMD exp (over dx as
// scratch) rather than a libm tanh per element, which took a tenth of a training step.
void gelu_backward(core::ThreadPool& pool, const float* dy, const float* x, float* dx, int64_t n) {
    // forward: y = ½ x (1 + th), th = tanh(s (x + a x³)) = 2σ - 1 with σ = σ(2 s (x + a x³))
    //   dy/dx = ½ (1 + th) + ½ x (1 - th²) s (1 + 3 a x²) = σ + 2 x σ (1 - σ) s (1 + 3 a x²)
    parallel(pool, n, 20.0, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) dx[i] = -2.0f * kGeluS * (x[i] + kGeluA * x[i] * x[i] * x[i]);
        core::exp_sub_sum(dx + i0, i1 - i0, 0.0f);  // dx = e^(-2u), then the gradient in place
        for (int64_t i = i0; i < i1; ++i) {
            const float xi = x[i];
            const float sg = 1.0f / (1.0f + dx[i]);
            const float d = sg + 2.0f * xi * sg * (1.0f - sg) * kGeluS * (1.0f + 3.0f * kGeluA * xi * xi);
            dx[i] = dy[i] * d;
        }
    });
}

void add(core::ThreadPool& pool, const float* a, const float* b, float* y, int64_t n) {
    parallel(pool, n, 20.0, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) y[i] = a[i] + b[i];
    });
}

// -------------------------------------------------------------------------------------------
// cross-entropy

float cross_entropy_forward(core::ThreadPool& pool, const float* logits, const int32_t* targets,
                            float* losses, int64_t M, int64_t V) {
    parallel(pool, M, 3.0 * static_cast<double>(V), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            if (targets[m] < 0) {
                losses[m] = 0.0f;
                continue;
            }
            const float* l = logits + m * V;
            float mx;  // log-sum-exp through core's SIMD exp (libm's was ~5% of a step)
            losses[m] = static_cast<float>(core::log_sum_exp(l, V, &mx) - static_cast<double>(l[targets[m]]));
        }
    });
    double total = 0.0;
    int64_t n = 0;
    for (int64_t m = 0; m < M; ++m) {
        if (targets[m] < 0) continue;
        total += static_cast<double>(losses[m]);
        ++n;
    }
    return n == 0 ? 0.0f : static_cast<float>(total / static_cast<double>(n));
}

void cross_entropy_backward(core::ThreadPool& pool, float* logits, const int32_t* targets,
                            int64_t M, int64_t V, float scale) {
    int64_t n_valid = 0;
    for (int64_t m = 0; m < M; ++m) n_valid += targets[m] >= 0 ? 1 : 0;
    const float k = n_valid == 0 ? 0.0f : scale / static_cast<float>(n_valid);
    // forward: loss = mean_m (logsumexp(l[m]) - l[m, target])
    //   dl[m, i] = (softmax(l[m])_i - [i == target]) / n_valid
    parallel(pool, M, 3.0 * static_cast<double>(V), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            float* l = logits + m * V;
            if (targets[m] < 0) {
                std::fill(l, l + V, 0.0f);
                continue;
            }
            float mx = l[0];
            for (int64_t i = 1; i < V; ++i) mx = std::max(mx, l[i]);
            const float sum = core::exp_sub_sum(l, V, mx);  // l = exp(l - mx), SIMD
            const float inv = 1.0f / sum;
            for (int64_t i = 0; i < V; ++i) l[i] = l[i] * inv * k;
            l[targets[m]] -= k;
        }
    });
}

}  // namespace lyra::train::kern
