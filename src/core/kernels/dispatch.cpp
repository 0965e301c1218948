// Picks kernel variants once from the CPU's features (LYRA_ISA=scalar|avx2|avx512 forces one) and
// drives matmul: activation rows are converted once per call (to Q8_0-style blocks for Q8_0/Q4_0
// weights, to Q8_K for K-quants), then output rows N are split across the pool's threads — never
// the reduction K, so results do not depend on the thread count.
// Legend: T tokens, K input channels, N output channels (weight rows).
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/attention.h"
#include "core/check.h"
#include "core/clock.h"
#include "core/cpu_relax.h"
#include "core/gemm.h"
#include "core/kernels/kernels.h"
#include "core/matmul_group.h"
#include "core/ops.h"
#include "core/packed_weights.h"
#include "core/quant.h"
#include "core/share_claims.h"

namespace lyra::core {
namespace {

using kern::ActQ8;
using kern::Isa;
using kern::KernelTable;

#if defined(__x86_64__) || defined(__i386__)
// F16C straight from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports has no "f16c".
bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
}
#endif

bool cpu_has(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    switch (isa) {
        case Isa::Scalar: return true;
        case Isa::Avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
        case Isa::Avx512:
            return cpu_has(Isa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    }
    return false;
#else
    return isa == Isa::Scalar;
#endif
}

const KernelTable* table_for(Isa isa) {
    switch (isa) {
        case Isa::Avx512: return kern::avx512_table();
        case Isa::Avx2: return kern::avx2_table();
        case Isa::Scalar: return &kern::scalar_table();
    }
    return &kern::scalar_table();
}

// The best variant this CPU runs, or the one LYRA_ISA names if the CPU has it.
const KernelTable* pick_table() {
    Isa want = Isa::Avx512;
    if (const char* env = std::getenv("LYRA_ISA")) {
        const std::string_view v(env);
        if (v == "scalar") want = Isa::Scalar;
        else if (v == "avx2") want = Isa::Avx2;
    }
    for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Scalar})
        if (static_cast<int>(isa) <= static_cast<int>(want) && cpu_has(isa)) return table_for(isa);
    return &kern::scalar_table();
}

std::atomic<const KernelTable*> g_table{nullptr};

const KernelTable& table() {
    const KernelTable* t = g_table.load(std::memory_order_acquire);
    if (!t) {
        t = pick_table();
        g_table.store(t, std::memory_order_release);
    }
    return *t;
}

// Per-thread scratch for converted activations, grown (rarely) and then reused: no allocation
// in the steady state.
uint8_t* scratch(size_t bytes) {
    thread_local std::vector<uint8_t> buf;
    if (buf.size() < bytes + 64) buf.resize(bytes + 64);
    auto p = reinterpret_cast<uintptr_t>(buf.data());
    return reinterpret_cast<uint8_t*>((p + 63) & ~uintptr_t{63});
}

inline size_t round64(size_t n) { return (n + 63) & ~size_t{63}; }

// Bytes of one Q8 activation row's data (qs, d, sum, bias4, bias8, dlanes and the quads),
// 64-aligned.
size_t act_q8_row_bytes(int64_t K) {
    const auto nb = static_cast<size_t>(K / 32), nq = static_cast<size_t>(K / 128);
    return round64(static_cast<size_t>(K)) + round64(nb * 4) + round64(nb * 4) + 3 * round64(nb * 32) +
           nq * ActQ8::kQuadBytes + round64(nb * ActQ8::kBlockBytes);
}

// Quantizes x[0..K) into the ActQ8 view whose arrays live at `mem`. The quads carry the lane
// bias of the weight type they will meet (Q4_0: -8, Q8_0: -128 times the block sum).
void quantize_act_q8(const KernelTable& k, const float* x, int64_t K, uint8_t* mem, ActQ8* a, DType weights) {
    const int32_t quad_bias = weights == DType::Q8_0 || weights == DType::Q8_0_R16 ? -128 : -8;
    const auto nb = static_cast<size_t>(K / 32);
    auto* qs = reinterpret_cast<int8_t*>(mem);
    mem += round64(static_cast<size_t>(K));
    auto* d = reinterpret_cast<float*>(mem);
    mem += round64(nb * 4);
    auto* sum = reinterpret_cast<int32_t*>(mem);
    mem += round64(nb * 4);
    auto* b4 = reinterpret_cast<int32_t*>(mem);
    mem += round64(nb * 32);
    auto* b8 = reinterpret_cast<int32_t*>(mem);
    mem += round64(nb * 32);
    auto* dl = reinterpret_cast<float*>(mem);
    mem += round64(nb * 32);
    const auto nq = static_cast<size_t>(K / 128);
    uint8_t* quad = mem;
    uint8_t* blocks = mem + nq * ActQ8::kQuadBytes;
    k.quantize_act_q8(x, static_cast<int64_t>(nb), qs, d, sum);
    if (is_rows16(weights)) {
        // The packed kernels read qs, d and the bias of their weight type at lane 0 of each
        // block, nothing else (the portable one from the arrays, the AVX-512 one from the block
        // records): the lane arrays and quads the plain kernels take are left out (null, so a
        // kernel that wanted them would fail at once rather than read stale bytes).
        int32_t* bias = weights == DType::Q8_0_R16 ? b8 : b4;
        for (size_t b = 0; b < nb; ++b) {
            bias[8 * b] = quad_bias * sum[b];
            uint8_t* record = blocks + ActQ8::kBlockBytes * b;
            std::memcpy(record, qs + 32 * b, 32);
            std::memcpy(record + 32, &bias[8 * b], 4);
            std::memcpy(record + 36, &d[b], 4);
        }
        *a = ActQ8{qs, d, sum, weights == DType::Q4_0_R16 ? b4 : nullptr, weights == DType::Q8_0_R16 ? b8 : nullptr,
                   nullptr, nullptr, blocks};
        return;
    }
    for (size_t b = 0; b < nb; ++b)
        for (int l = 0; l < 8; ++l) {
            b4[8 * b + static_cast<size_t>(l)] = l == 0 ? -8 * sum[b] : 0;
            b8[8 * b + static_cast<size_t>(l)] = l == 0 ? -128 * sum[b] : 0;
            dl[8 * b + static_cast<size_t>(l)] = d[b];
        }
    for (size_t q = 0; q < nq; ++q) {
        uint8_t* out = quad + q * ActQ8::kQuadBytes;
        int32_t bias[16];
        float scale[16];
        for (size_t k4 = 0; k4 < 4; ++k4) {
            const size_t b = 4 * q + k4;
            std::memcpy(out + 16 * k4, qs + 32 * b, 16);
            std::memcpy(out + 64 + 16 * k4, qs + 32 * b + 16, 16);
            for (size_t l = 0; l < 4; ++l) {
                bias[4 * k4 + l] = l == 0 ? quad_bias * sum[b] : 0;
                scale[4 * k4 + l] = d[b];
            }
        }
        std::memcpy(out + 128, bias, sizeof bias);
        std::memcpy(out + 192, scale, sizeof scale);
    }
    *a = ActQ8{qs, d, sum, b4, b8, dl, quad, nullptr};
}

// Weight types whose dot products take ActQ8 activation rows.
bool takes_act_q8(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || is_rows16(t); }

// A thread waiting in matmul_group for activation rows another thread claimed starts timing the
// wait after this many spins (tens of microseconds); the rows themselves take about one.
constexpr int kSpinsBeforeTimingAWait = 2048;

// Batches of up to this many rows quantize their Q8 activations inside the matmul's region
// (matmul_group); longer ones (prompts) in a region of their own, where every thread quantizes
// a contiguous slice of rows rather than claiming them one at a time.
constexpr int64_t kFusedActMaxRows = 16;

// From this many tokens on, F32, F16 and BF16 matmuls take the blocked GEMM (gemm.h).
constexpr int64_t kGemmMinTokens = 32;

kern::MatKernel kernel_for(const KernelTable& k, DType t) {
    switch (t) {
        case DType::F32: return k.mat_f32;
        case DType::F16: return k.mat_f16;
        case DType::BF16: return k.mat_bf16;
        case DType::Q8_0: return k.mat_q8_0;
        case DType::Q4_0: return k.mat_q4_0;
        case DType::Q4_0_R16: return k.mat_q4_0_r16;
        case DType::Q8_0_R16: return k.mat_q8_0_r16;
        case DType::Q4_K: return k.mat_q4_k;
        case DType::Q5_K: return k.mat_q5_k;
        case DType::Q6_K: return k.mat_q6_k;
        default: return nullptr;
    }
}

}  // namespace

const KernelTable& kern::active_table() { return table(); }

bool force_kernel_isa(std::string_view name) {
    Isa isa;
    if (name == "scalar") isa = Isa::Scalar;
    else if (name == "avx2") isa = Isa::Avx2;
    else if (name == "avx512") isa = Isa::Avx512;
    else return false;
    if (!cpu_has(isa)) return false;
    g_table.store(table_for(isa), std::memory_order_release);
    return true;
}

const char* kernel_isa() { return table().name; }

void matmul(ThreadPool& pool, const float* x, int64_t T, const Tensor& w, float* y) {
    const MatmulTarget one{&w, y};
    matmul_group(pool, x, T, std::span(&one, 1));
}

namespace {

struct Activations {
    const void* data;
    size_t stride;  // bytes from one token's row to the next
};

// T activation rows in ActQ8 form for Q8_0/Q4_0 weights, laid out in the caller's scratch;
// quantize(t) fills row t (rows are independent, so any thread may fill any row).
struct ActQ8Rows {
    const KernelTable* k;
    const float* x;
    int64_t K;
    DType dtype;
    uint8_t* mem;  // T ActQ8 heads, then the rows' data
    size_t head, row;

    ActQ8Rows(const KernelTable& kt, const float* x_, int64_t T, int64_t K_, DType dt)
        : k(&kt), x(x_), K(K_), dtype(dt), row(act_q8_row_bytes(K_)) {
        LYRA_CHECK(K % 32 == 0, "matmul: K = {} is not a multiple of 32", K);
        head = round64(static_cast<size_t>(T) * sizeof(ActQ8));
        mem = scratch(head + static_cast<size_t>(T) * row);
    }
    ActQ8* heads() const { return reinterpret_cast<ActQ8*>(mem); }
    void quantize(int64_t t) const {
        quantize_act_q8(*k, x + t * K, K, mem + head + static_cast<size_t>(t) * row, &heads()[t], dtype);
    }
};

// Up to this many Q8 activation rows are quantized by the caller alone, before the matmul's
// region: a few rows take well under a microsecond, not worth waking the pool for. More rows (a
// batched decode step's 8) are quantized inside the matmul's own region (matmul_group).
constexpr int64_t kInlineActRows = 4;

// The activations in the format the weight type's dot product takes (in per-thread scratch).
Activations convert_activations(ThreadPool& pool, const KernelTable& k, const float* x, int64_t T, int64_t K,
                                DType dtype) {
    if (takes_act_q8(dtype)) {
        const ActQ8Rows rows(k, x, T, K, dtype);
        const auto quantize_rows = [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) rows.quantize(t);
        };
        if (T <= kInlineActRows) quantize_rows(0, T);
        else pool.parallel_for(T, quantize_rows);
        return {rows.heads(), sizeof(ActQ8)};
    }
    if (dtype == DType::Q4_K || dtype == DType::Q5_K || dtype == DType::Q6_K) {
        const size_t row = row_bytes(DType::Q8_K, K);
        uint8_t* mem = scratch(static_cast<size_t>(T) * row);
        pool.parallel_for(T, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) quantize_row(DType::Q8_K, x + t * K, mem + static_cast<size_t>(t) * row, K);
        });
        return {mem, row};
    }
    return {x, static_cast<size_t>(K) * sizeof(float)};
}

// Float weights and a prompt's worth of tokens: the blocked GEMM with the weight rows as the
// broadcast operand and the tokens, packed once for every target, as the panel operand
// (gemm_f32_wt_group). F32 rows are read in place; F16 and BF16 rows are widened to f32 (exactly) a
// slice at a time, in parallel, so each slice is still in cache when the GEMM reads it. Either
// way a result is the F32 GEMM's on the same values.
void matmul_group_gemm(ThreadPool& pool, const KernelTable& k, const float* x, int64_t T, int64_t K,
                       std::span<const MatmulTarget> targets) {
    auto* packed = reinterpret_cast<float*>(scratch(static_cast<size_t>(packed_tokens_size(T, K)) * sizeof(float)));
    pack_tokens(pool, x, T, K, packed);
    // Rows widened per slice: about 1 MiB of f32.
    const int64_t slice_rows = std::max<int64_t>(6, (int64_t{1} << 18) / K);
    thread_local std::vector<float> wide;
    if (targets[0].w->dtype == DType::F32) {  // every target is (matmul_group's one type)
        // All of them in one region (q/k/v): one wake-up and one wait for the last thread.
        thread_local std::vector<GemmWtProduct> products;
        products.clear();
        for (const MatmulTarget& t : targets)
            if (t.w->rows() > 0)
                products.push_back({t.w->rows(), static_cast<const float*>(t.w->data), K, t.y, t.w->rows()});
        gemm_f32_wt_group(pool, T, K, packed, products);
        return;
    }
    for (const MatmulTarget& t : targets) {
        const int64_t N = t.w->rows();
        wide.resize(static_cast<size_t>(std::min(slice_rows, N) * K));
        // A thread_local named inside the lambda would be each worker's own: pass the pointer.
        float* const slice = wide.data();
        for (int64_t r0 = 0; r0 < N; r0 += slice_rows) {
            const int64_t rows = std::min(slice_rows, N - r0);
            pool.parallel_for(rows, [&](int64_t a, int64_t b) {
                for (int64_t r = a; r < b; ++r) {
                    float* out = slice + r * K;
                    const auto* in = reinterpret_cast<const uint16_t*>(t.w->row(r0 + r));
                    if (t.w->dtype == DType::F16) {
                        k.f16_to_f32(in, out, K);
                    } else {  // BF16: the top half of an f32
                        for (int64_t i = 0; i < K; ++i) {
                            const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
                            std::memcpy(out + i, &bits, sizeof bits);
                        }
                    }
                }
            });
            gemm_f32_wt(pool, rows, T, K, slice, K, packed, t.y + r0, N);
        }
    }
}

}  // namespace

bool swiglu_gemm_applies(int64_t T, const Tensor& w_gate, const Tensor& w_up, const Tensor& w_down) {
    return T >= kGemmMinTokens && w_gate.dtype == DType::F32 && w_up.dtype == DType::F32 && w_down.dtype == DType::F32;
}

bool swiglu_gemm(ThreadPool& pool, const float* x, int64_t T, const Tensor& w_gate, const Tensor& w_up,
                 const Tensor& w_down, float* y) {
    if (!swiglu_gemm_applies(T, w_gate, w_up, w_down)) return false;
    const int64_t C = w_gate.cols(), F = w_gate.rows(), N = w_down.rows();
    LYRA_CHECK(w_up.rows() == F && w_up.cols() == C && w_down.cols() == F,
               "swiglu_gemm: gate {}, up {} and down {} do not chain", shape_string(w_gate), shape_string(w_up),
               shape_string(w_down));
    const KernelTable& k = table();
    const int64_t nr = k.gemm_nr, n_panels = (T + nr - 1) / nr, last_n = T - (n_panels - 1) * nr;
    // Packed sizes are whole panels (multiples of nr floats), so each part stays 64-byte aligned.
    const int64_t x_size = packed_tokens_size(T, C), h_size = packed_tokens_size(T, F);
    auto* xp = reinterpret_cast<float*>(scratch(static_cast<size_t>(x_size + 2 * h_size) * sizeof(float)));
    float* const gate = xp + x_size;
    float* const up = gate + h_size;
    pack_tokens(pool, x, T, C, xp);
    // silu(gate) * up on each range of hidden features as soon as both products have it, in
    // the packed layout: row r of panel jp is nr floats at (jp * F + r) * nr, of which the last
    // panel's first last_n are tokens.
    const GemmWtProduct gate_up[] = {{F, static_cast<const float*>(w_gate.data), C, gate, 0},
                                     {F, static_cast<const float*>(w_up.data), C, up, 0}};
    gemm_f32_wt_lockstep(pool, T, C, xp, gate_up, [&](int64_t m0, int64_t m1) {
        for (int64_t jp = 0; jp < n_panels; ++jp) {
            float* g = gate + (jp * F + m0) * nr;
            const float* u = up + (jp * F + m0) * nr;
            if (jp + 1 < n_panels || last_n == nr) {
                k.silu_mul(g, u, g, (m1 - m0) * nr);
            } else {
                for (int64_t r = 0; r < m1 - m0; ++r) k.silu_mul(g + r * nr, u + r * nr, g + r * nr, last_n);
            }
        }
    });
    gemm_f32_wt(pool, N, T, F, static_cast<const float*>(w_down.data), F, gate, y, N);
    return true;
}

namespace {

// Every row of a RowPrep made before the product (any split: a row's result is the same).
void prepare_rows(ThreadPool& pool, int64_t T, RowPrep prep) {
    if (prep.fn == nullptr) return;
    const auto rows = [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) prep.fn(prep.ctx, t);
    };
    // From two rows a thread (at most 16), as model/blocks.h's for_token_rows splits per-row work.
    if (pool.size() > 1 && T >= std::min<int64_t>(16, 2 * int64_t{pool.size()})) pool.parallel_for(T, rows);
    else rows(0, T);
}

}  // namespace

void matmul_group(ThreadPool& pool, const float* x, int64_t T, std::span<const MatmulTarget> targets, RowPrep prep) {
    if (targets.empty()) {
        prepare_rows(pool, T, prep);
        return;
    }
    const Tensor& w0 = *targets[0].w;
    const int64_t K = w0.cols();
    bool shared = true;  // one type: one conversion of x, one region
    for (const MatmulTarget& t : targets) {
        LYRA_CHECK(t.w->n_dims >= 1 && t.w->cols() > 0, "matmul: weight {} is empty", shape_string(*t.w));
        LYRA_CHECK(t.w->cols() == K, "matmul_group: weight {} does not take K = {}", shape_string(*t.w), K);
        shared = shared && t.w->dtype == w0.dtype;
        LYRA_CHECK(!is_rows16(t.w->dtype) || t.w->rows() % 16 == 0,
                   "matmul: packed weight {} has rows that are not a multiple of 16", shape_string(*t.w));
    }
    if (!shared) {
        prepare_rows(pool, T, prep);
        for (const MatmulTarget& t : targets) matmul_group(pool, x, T, std::span(&t, 1));
        return;
    }
    if (T <= 0) return;
    const KernelTable& k = table();
    const kern::MatKernel kernel = kernel_for(k, w0.dtype);
    LYRA_CHECK(kernel != nullptr, "matmul: weight type {} is not supported", dtype_name(w0.dtype));
    // Fewer tokens than this stay on the dot-product kernels, whose 4-row tiles waste nothing on
    // a narrow x.
    const bool float_weights = w0.dtype == DType::F32 || w0.dtype == DType::F16 || w0.dtype == DType::BF16;
    if (float_weights && T >= kGemmMinTokens) {
        prepare_rows(pool, T, prep);
        matmul_group_gemm(pool, k, x, T, K, targets);
        return;
    }

    // 1. Activations in the format the weight type's dot product takes, once for every target.
    //    Q8 rows of a small batch (a batched decode step) are quantized in step 2's region
    //    rather than a region of their own: a batched step enters ~100 regions, and one less per
    //    matmul spares each its wake-up and its wait for the last thread.
    const bool q8_act = takes_act_q8(w0.dtype);
    const bool fuse_act = q8_act && pool.size() > 1 && T > kInlineActRows && T <= kFusedActMaxRows;
    std::optional<ActQ8Rows> pending;
    Activations act{};
    if (fuse_act) {
        pending.emplace(k, x, T, K, w0.dtype);
        act = {pending->heads(), sizeof(ActQ8)};
    } else {
        prepare_rows(pool, T, prep);
        act = convert_activations(pool, k, x, T, K, w0.dtype);
    }

    // 2. The output rows of all targets, end to end, shared out to the threads in multiples of 4
    //    (the kernels' row tile); each thread walks its rows in blocks that fit in L1/L2 and, for
    //    long prompts, tokens in tiles, so a weight block is reused from cache by every token of
    //    a tile. Each share walks a contiguous range of its own a block at a time, then takes
    //    blocks from the ranges of shares that have not finished theirs (ShareClaims). A thread
    //    that starts late (woken late, or descheduled on a busy machine) then costs the others one
    //    block of waiting rather than the whole of its share. A row's result
    //    does not depend on which thread computes it or where its block starts (the kernels are
    //    bit-identical across tile shapes), so this stays deterministic.
    const size_t wrow = w0.row_bytes();
    // Rows go out in whole tiles: 4 rows, or a packed weight's 16-row groups (every such
    // target's row count is a multiple of 16, so a group never straddles two targets).
    const int64_t granule = is_rows16(w0.dtype) ? kPackedRows : 4;
    const int64_t rows_per_block =
        std::max<int64_t>(granule, static_cast<int64_t>((32u << 10) / std::max<size_t>(wrow, 1)) & ~(granule - 1));
    constexpr int64_t kTokenTile = 64;
    const auto target_rows = [&](const MatmulTarget& tg, int64_t n0, int64_t n1) {
        const int64_t N = tg.w->rows();
        const auto* wbase = static_cast<const uint8_t*>(tg.w->data);
        for (int64_t nb = n0; nb < n1; nb += rows_per_block) {
            const int64_t nr = std::min(rows_per_block, n1 - nb);
            for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
                const int64_t tt = std::min(kTokenTile, T - t0);
                kernel(wbase + static_cast<size_t>(nb) * wrow, wrow, nr,
                       static_cast<const uint8_t*>(act.data) + static_cast<size_t>(t0) * act.stride, act.stride, tt,
                       K, tg.y + t0 * N + nb, N);
            }
        }
    };
    // Rows [r0, r1) of the targets laid end to end.
    const auto rows = [&](int64_t r0, int64_t r1) {
        int64_t first = 0;
        for (const MatmulTarget& tg : targets) {
            const int64_t N = tg.w->rows();
            const int64_t a = std::max(r0, first), b = std::min(r1, first + N);
            if (a < b) target_rows(tg, a - first, b - first);
            first += N;
            if (first >= r1) break;
        }
    };
    int64_t total = 0;
    for (const MatmulTarget& t : targets) total += t.w->rows();
    if (pool.size() == 1) {
        rows(0, total);
        return;
    }
    // The activation rows and the weight rows are each split into one range per share, claimed
    // from the share's own counter and then from the others' (core/share_claims.h), so claims cost
    // no cache-line moves between the cores until one runs out of work. act_done counts the rows
    // quantized (each share adds its count once), on a line of its own.
    thread_local ShareClaims act_claims, row_claims;
    ShareClaims* const acts = &act_claims;  // the caller's; a thread_local named in the lambda would be each worker's own
    ShareClaims* const weight_rows = &row_claims;
    if (fuse_act) acts->reset(T, pool.size(), 1);
    weight_rows->reset(total, pool.size(), granule);
    alignas(64) std::atomic<int64_t> act_done{0};
    pool.run([&](int ith, int /*nth*/) {
        if (fuse_act) {
            // Every share quantizes what it can claim, then waits for the rows others claimed.
            // Only a thread that is running a share of this region holds a claim (when the pool
            // runs the shares one after another on the caller, the first claims them all), so the
            // wait always ends; shares that arrive after the last claim only wait for the
            // quantizing in flight, about a microsecond.
            const int64_t mine = acts->run(ith, 1, [&](int64_t t0, int64_t t1) {
                for (int64_t t = t0; t < t1; ++t) {
                    if (prep.fn != nullptr) prep.fn(prep.ctx, t);
                    pending->quantize(t);
                }
            });
            if (mine > 0) act_done.fetch_add(mine, std::memory_order_release);
            // A wait past a few thousand spins means a claimant lost its core: tell the pool.
            int64_t wait_from = 0;
            for (int spins = 0; act_done.load(std::memory_order_acquire) < T; ++spins) {
                if (spins == kSpinsBeforeTimingAWait) wait_from = steady_ns();
                cpu_relax();
            }
            if (wait_from != 0) pool.report_wait_ns(steady_ns() - wait_from);
        }
        weight_rows->run(ith, rows_per_block, rows);
    });
}

float dot_f32(const float* a, const float* b, int64_t n) { return table().dot_f32(a, b, n); }

void axpy_f32(float a, const float* x, float* y, int64_t n) { table().axpy_f32(a, x, y, n); }

void attention_head(const float* q, const float* keys, const float* values, int64_t stride, int64_t n, int64_t D,
                    float scale, float* scores, float* out) {
    const KernelTable& k = table();
    k.attn_scores(q, keys, stride, n, D, scale, scores);
    softmax(scores, n);
    k.attn_values(scores, values, stride, n, D, out);
}

float dot_kv(const float* q, const KvView& k, int64_t j, int64_t n) {
    const KernelTable& t = table();
    if (k.type == DType::F16) return t.dot_f16(q, static_cast<const uint16_t*>(k.row(j)), n);
    if (k.type == DType::Q8_0) return t.dot_q8kv(q, static_cast<const int8_t*>(k.row(j)), k.row_scales(j), n);
    return t.dot_f32(q, static_cast<const float*>(k.row(j)), n);
}

void axpy_kv(float a, const KvView& v, int64_t j, float* y, int64_t n) {
    const KernelTable& t = table();
    if (v.type == DType::F16) t.axpy_f16(a, static_cast<const uint16_t*>(v.row(j)), y, n);
    else if (v.type == DType::Q8_0) t.axpy_q8kv(a, static_cast<const int8_t*>(v.row(j)), v.row_scales(j), y, n);
    else t.axpy_f32(a, static_cast<const float*>(v.row(j)), y, n);
}

void attention_scores(const float* q, const KvView& keys, int64_t n, int64_t D, float scale, float* scores) {
    const KernelTable& k = table();
    if (keys.type == DType::F16)
        k.attn_scores_f16(q, static_cast<const uint16_t*>(keys.data), keys.stride, n, D, scale, scores);
    else if (keys.type == DType::Q8_0)
        k.attn_scores_q8kv(q, static_cast<const int8_t*>(keys.data), keys.scales, keys.stride, n, D, scale, scores);
    else
        k.attn_scores(q, static_cast<const float*>(keys.data), keys.stride, n, D, scale, scores);
}

void attention_values(const float* p, const KvView& values, int64_t n, int64_t D, float* out) {
    const KernelTable& k = table();
    if (values.type == DType::F16)
        k.attn_values_f16(p, static_cast<const uint16_t*>(values.data), values.stride, n, D, out);
    else if (values.type == DType::Q8_0)
        k.attn_values_q8kv(p, static_cast<const int8_t*>(values.data), values.scales, values.stride, n, D, out);
    else
        k.attn_values(p, static_cast<const float*>(values.data), values.stride, n, D, out);
}

void attention_head(const float* q, const KvView& keys, const KvView& values, int64_t n, int64_t D, float scale,
                    float* scores, float* out) {
    LYRA_DCHECK(keys.type == values.type, "attention: mixed KV types");
    attention_scores(q, keys, n, D, scale, scores);
    softmax(scores, n);
    attention_values(scores, values, n, D, out);
}

void f32_to_f16(const float* x, uint16_t* out, int64_t n) { table().f32_to_f16(x, out, n); }

void quantize_kv_q8(const float* x, int64_t n, int8_t* q, float* d) {
    const KernelTable& k = table();
    int32_t sums[8];  // the kernel's block sums, which the cache does not keep
    for (int64_t b = 0; b < n / 32; b += 8) {
        const int64_t nb = std::min<int64_t>(8, n / 32 - b);
        k.quantize_act_q8(x + 32 * b, nb, q + 32 * b, d + b, sums);
    }
}

void softmax(float* x, int64_t n) {
    if (n <= 0) return;
    const KernelTable& k = table();
    const float mx = k.max_f32(x, n);
    const float sum = k.exp_sub_sum(x, n, mx);
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void div_minmax(const float* x, int64_t n, float t, float* out, float* hi, float* lo) {
    table().div_minmax(x, n, t, out, hi, lo);
}

uint64_t dist_bins(const float* l, const float* e, int64_t n, float hi, float lo, float scale, float unit,
                   uint16_t* bucket, uint64_t* mass, int n_buckets) {
    return table().dist_bins(l, e, n, hi, lo, scale, unit, bucket, mass, n_buckets);
}

int64_t indices_eq_u16(const uint16_t* v, int64_t n, uint16_t value, int32_t* out) {
    return table().indices_eq_u16(v, n, value, out);
}

float exp_sub_sum(float* x, int64_t n, float mx) { return n > 0 ? table().exp_sub_sum(x, n, mx) : 0.0f; }

double log_sum_exp(const float* x, int64_t n, float* max_out) {
    const KernelTable& k = table();
    const float mx = k.max_f32(x, n);
    *max_out = mx;
    if (!std::isfinite(mx)) return static_cast<double>(mx);
    // exp_sub_sum writes its input, so run it on stack copies: a vocabulary row is ~100 KB,
    // and these chunks stay in L1 while the row streams past once.
    constexpr int64_t kChunk = 1024;
    float buf[kChunk];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += kChunk) {
        const int64_t m = std::min(kChunk, n - i);
        std::memcpy(buf, x + i, static_cast<size_t>(m) * sizeof(float));
        sum += static_cast<double>(k.exp_sub_sum(buf, m, mx));
    }
    return static_cast<double>(mx) + std::log(sum);
}

void rmsnorm(const float* x, const float* w, float* y, int64_t T, int64_t C, float eps) {
    const KernelTable& k = table();
    for (int64_t t = 0; t < T; ++t) {
        const float ss = k.sum_sq(x + t * C, C);
        const float scale = 1.0f / std::sqrt(ss / static_cast<float>(C) + eps);
        k.scale_mul(x + t * C, w, scale, y + t * C, C);
    }
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) { table().silu_mul(gate, up, out, n); }

}  // namespace lyra::core
