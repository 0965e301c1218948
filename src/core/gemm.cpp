#include "core/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <vector>

#include "core/check.h"
#include "core/kernels/kernels.h"

namespace lyra::core {
namespace {

// Depth of a packed panel: 128 x 64 floats = 32 KiB, so the panel and the 6 rows' 128-float
// pieces of A stay in L1 while the tile runs. 256 deep (64 KiB, streamed from L2) measured
// 65-70% of the peak probe against 75-80% at 128 on one thread.
constexpr int64_t kKc = 128;
// Rows of A (and C) per work item, a multiple of the micro-kernel's 6: enough rows that packing
// a panel (kc x nr copies) is well under 1% of the multiply-adds that reuse it. Measured on the
// bench shapes (2 threads): 48 rows 69-79% of the peak probe, 96 rows 72-74%, 192-384 rows
// 73-79% for the prompt matmul and 82-92% for training's products.
constexpr int64_t kRowChunk = 192;
// A product with few work items leaves threads idle: a training dW product (C or F rows, 4096
// deep) is 3-9 items of 64 columns × 192 rows, so 16 threads ran it on 3-9 of them and 2 threads
// split 3 items 2:1. Such products halve the row chunk, down to this, until each thread has about
// four items (packing then costs ~2% of the multiply-adds instead of ~0.5%). Every element is
// still one chain over k in order, so the result does not change.
constexpr int64_t kMinRowChunk = 48;
constexpr int64_t kItemsPerThread = 4;
// Below this many multiply-adds the product runs inline: waking the pool costs microseconds.
constexpr double kMinParallelMacs = 1 << 18;
constexpr int64_t kMaxTileRows = 6;

// gemm_f32_wt's blocking. Its weight rows are read in place, so a tile's 6 rows must be long
// sequential streams for the hardware prefetchers: depth blocks of up to 1024 (the whole K of
// the bench model's products) measured 95-100% of the peak probe on one thread where 128-deep
// blocks (512-byte row pieces, 32 KiB panels in L1) reached 84-88%, or 92% with software
// prefetch; the token panel then streams from L2 (up to 256 KiB), and each accumulator tile is
// loaded and stored once per 1024 multiply-adds instead of once per 128. Chunks of 96 rows keep
// a chunk's rows of the block (384 KiB) in L2 for the second token panel.
constexpr int64_t kWtDepth = 1024;
constexpr int64_t kWtChunkRows = 96;
// Features per block when packing tokens: 256 x 64 floats (64 KiB) of a panel per work item.
constexpr int64_t kPackDepth = 256;

// The calling thread's panel (or result block) buffer, 64-byte aligned for the micro-kernel's
// aligned loads.
float* panel_buffer(size_t floats) {
    thread_local std::vector<float> buf;
    if (buf.size() < floats + 16) buf.assign(floats + 16, 0.0f);
    auto addr = reinterpret_cast<uintptr_t>(buf.data());
    return reinterpret_cast<float*>((addr + 63) & ~uintptr_t{63});
}

// panel[p * nr + c] = B[p * ldb + c] for c < n, 0 for n <= c < nr.
void pack_panel(const float* B, int64_t ldb, int64_t kc, int64_t n, int64_t nr, float* panel) {
    for (int64_t p = 0; p < kc; ++p) {
        float* dst = panel + p * nr;
        std::memcpy(dst, B + p * ldb, static_cast<size_t>(n) * sizeof(float));
        if (n < nr) std::memset(dst + n, 0, static_cast<size_t>(nr - n) * sizeof(float));
    }
}

}  // namespace

void gemm_f32(ThreadPool& pool, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
              int64_t ldb, float* C, int64_t ldc, bool accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, static_cast<size_t>(N) * sizeof(float));
        return;
    }
    const kern::KernelTable& k = kern::active_table();
    const int64_t nr = k.gemm_nr;
    const int64_t want_items = pool.size() > 1 ? kItemsPerThread * pool.size() : 1;
    int64_t row_chunk = kRowChunk;
    while (row_chunk > kMinRowChunk && ((N + nr - 1) / nr) * ((M + row_chunk - 1) / row_chunk) < want_items)
        row_chunk /= 2;  // 192 → 96 → 48, multiples of the tile's 6 rows
    const int64_t n_panels = (N + nr - 1) / nr, n_chunks = (M + row_chunk - 1) / row_chunk;
    // Consecutive work items share whichever operand is larger, so it is read from memory once
    // and the smaller one is what gets re-read from cache: panel-major when A is the smaller
    // (each panel of B meets every row chunk of A), chunk-major otherwise.
    const bool panel_major = M <= N;
    const auto work = [&](int64_t w0, int64_t w1) {
        float* panel = panel_buffer(static_cast<size_t>(kKc * nr));
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t jp = panel_major ? w / n_chunks : w % n_panels;
            const int64_t ic = panel_major ? w % n_chunks : w / n_panels;
            const int64_t j0 = jp * nr, n = std::min(nr, N - j0);
            const int64_t m0 = ic * row_chunk, m1 = std::min(M, m0 + row_chunk);
            for (int64_t pc = 0; pc < K; pc += kKc) {
                const int64_t kc = std::min(kKc, K - pc);
                pack_panel(B + pc * ldb + j0, ldb, kc, n, nr, panel);
                for (int64_t i = m0; i < m1; i += kMaxTileRows) {
                    const int rows = static_cast<int>(std::min(kMaxTileRows, m1 - i));
                    k.gemm_tile(kc, A + i * lda + pc, lda, panel, rows, static_cast<int>(n), C + i * ldc + j0, ldc,
                                accumulate || pc > 0);
                }
            }
        }
    };
    const int64_t items = n_panels * n_chunks;
    if (pool.size() == 1 || items == 1 || static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) < kMinParallelMacs)
        work(0, items);
    else
        pool.parallel_for(items, work);
}

int64_t packed_tokens_size(int64_t T, int64_t K) {
    const int64_t nr = kern::active_table().gemm_nr;
    return (T + nr - 1) / nr * nr * K;
}

void pack_tokens(ThreadPool& pool, const float* x, int64_t T, int64_t K, float* packed) {
    const kern::KernelTable& k = kern::active_table();
    const int64_t nr = k.gemm_nr, n_panels = (T + nr - 1) / nr, depth_blocks = (K + kPackDepth - 1) / kPackDepth;
    // Panel jp is packed[jp * K * nr + p * nr + c] = x[(jp * nr + c) * K + p], zero past the last
    // token: the micro-kernel's B operand for every depth block, already in place.
    const auto blocks = [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
            const int64_t jp = b / depth_blocks, p0 = b % depth_blocks * kPackDepth;
            const int64_t kb = std::min(kPackDepth, K - p0), j0 = jp * nr, n = std::min(nr, T - j0);
            float* dst = packed + jp * K * nr + p0 * nr;
            k.transpose_f32(x + j0 * K + p0, n, kb, K, dst, nr);
            if (n < nr)
                for (int64_t p = 0; p < kb; ++p)
                    std::memset(dst + p * nr + n, 0, static_cast<size_t>(nr - n) * sizeof(float));
        }
    };
    const int64_t items = n_panels * depth_blocks;
    if (pool.size() == 1 || items == 1 || T * K < (int64_t{1} << 16)) blocks(0, items);
    else pool.parallel_for(items, blocks);
}

namespace {

// One product's rows [m0, m1) of W: chunks of kWtChunkRows; in each, depth blocks of kWtDepth,
// and in each block every token panel meets the chunk's rows (read from memory for the first
// panel, from L2 for the others). y is token-major (ldy floats a row) or, with ldy = 0, in the
// packed-token layout; token-major results gather feature-major in the thread's buffer and are
// transposed into y once the chunk is complete.
void wt_rows(const GemmWtProduct& g, int64_t T, int64_t K, const float* packed, int64_t m0, int64_t m1) {
    const kern::KernelTable& k = kern::active_table();
    const bool to_packed = g.ldy == 0;
    const int64_t nr = k.gemm_nr, n_panels = (T + nr - 1) / nr, ldc = n_panels * nr;
    float* ct = panel_buffer(static_cast<size_t>(kWtChunkRows * ldc));
    for (int64_t c0 = m0; c0 < m1; c0 += kWtChunkRows) {
        const int64_t c1 = std::min(m1, c0 + kWtChunkRows);
        for (int64_t pc = 0; pc < K; pc += kWtDepth) {
            const int64_t kc = std::min(kWtDepth, K - pc);
            for (int64_t jp = 0; jp < n_panels; ++jp) {
                const float* panel = packed + jp * K * nr + pc * nr;
                const int n = static_cast<int>(std::min(nr, T - jp * nr));
                for (int64_t i = c0; i < c1; i += kMaxTileRows) {
                    // Packed output: row i of panel jp is y[jp * N * nr + i * nr], nr floats.
                    float* c = to_packed ? g.y + jp * g.N * nr + i * nr : ct + (i - c0) * ldc + jp * nr;
                    k.gemm_tile(kc, g.W + i * g.ldw + pc, g.ldw, panel, static_cast<int>(std::min(kMaxTileRows, c1 - i)),
                                n, c, to_packed ? nr : ldc, pc > 0);
                }
            }
        }
        if (!to_packed) k.transpose_f32(ct, c1 - c0, T, ldc, g.y + c0, g.ldy);
    }
}

// Runs work(t0, t1) over whole 6-row tiles [0, ends.back()) of a row space, claimed by the
// threads as they go (guided): a grab is 1/(2·nth) of the tiles left, at most one chunk, at least
// one tile, and never past the next of `ends` (ascending product boundaries), so the first grabs
// are whole chunks and the last ones single tiles. With an even static split of each product, a
// thread that lost its core for a moment, or ran a little slower, left the other waiting at the
// end of every product; now the other takes over the rest. Which thread computes a row does not
// change its bits.
template <class Fn>
void claim_tiles(ThreadPool& pool, std::span<const int64_t> ends, const Fn& work) {
    constexpr int64_t kChunkTiles = kWtChunkRows / kMaxTileRows;
    const int64_t tiles = ends.back();
    std::atomic<int64_t> next{0};
    pool.run([&](int, int nth) {
        int64_t t0 = next.load(std::memory_order_relaxed);
        while (t0 < tiles) {
            const int64_t end = *std::upper_bound(ends.begin(), ends.end(), t0);
            const int64_t take = std::min(end - t0, std::clamp<int64_t>((tiles - t0) / (2 * nth), 1, kChunkTiles));
            if (!next.compare_exchange_weak(t0, t0 + take, std::memory_order_relaxed)) continue;
            work(t0, t0 + take);
            t0 = next.load(std::memory_order_relaxed);
        }
    });
}

int64_t tiles_of(int64_t rows) { return (rows + kMaxTileRows - 1) / kMaxTileRows; }

bool run_inline(const ThreadPool& pool, int64_t tiles, int64_t rows, int64_t T, int64_t K) {
    return pool.size() == 1 || tiles <= 1 ||
           static_cast<double>(rows) * static_cast<double>(T) * static_cast<double>(K) < kMinParallelMacs;
}

void zero_outputs(const GemmWtProduct& g, int64_t T) {
    if (g.ldy == 0) std::memset(g.y, 0, static_cast<size_t>(packed_tokens_size(T, g.N)) * sizeof(float));
    else
        for (int64_t t = 0; t < T; ++t) std::memset(g.y + t * g.ldy, 0, static_cast<size_t>(g.N) * sizeof(float));
}

void gemm_wt(ThreadPool& pool, int64_t T, int64_t K, const float* packed, std::span<const GemmWtProduct> products) {
    if (T <= 0 || products.empty()) return;
    if (K <= 0) {
        for (const GemmWtProduct& g : products) zero_outputs(g, T);
        return;
    }
    // Whole 6-row tiles of every product, end to end.
    thread_local std::vector<int64_t> ends;
    ends.clear();
    int64_t rows = 0;
    for (const GemmWtProduct& g : products) {
        ends.push_back((ends.empty() ? 0 : ends.back()) + tiles_of(g.N));
        rows += g.N;
    }
    if (run_inline(pool, ends.back(), rows, T, K)) {
        for (const GemmWtProduct& g : products) wt_rows(g, T, K, packed, 0, g.N);
        return;
    }
    // A thread_local named inside the lambda would be each worker's own: pass a span.
    const std::span<const int64_t> bounds(ends);
    claim_tiles(pool, bounds, [&](int64_t t0, int64_t t1) {
        const size_t p = static_cast<size_t>(std::upper_bound(bounds.begin(), bounds.end(), t0) - bounds.begin());
        const int64_t first = p == 0 ? 0 : bounds[p - 1];
        const GemmWtProduct& g = products[p];
        const int64_t m0 = (t0 - first) * kMaxTileRows;
        wt_rows(g, T, K, packed, m0, std::min(g.N, (t1 - first) * kMaxTileRows));
    });
}

}  // namespace

void gemm_f32_wt(ThreadPool& pool, int64_t N, int64_t T, int64_t K, const float* W, int64_t ldw, const float* packed,
                 float* y, int64_t ldy) {
    LYRA_CHECK(ldy >= N, "gemm_f32_wt: ldy {} is below N = {}", ldy, N);
    const GemmWtProduct g{N, W, ldw, y, ldy};
    if (N > 0) gemm_wt(pool, T, K, packed, std::span(&g, 1));
}

void gemm_f32_wt_packed(ThreadPool& pool, int64_t N, int64_t T, int64_t K, const float* W, int64_t ldw,
                        const float* packed, float* y_packed) {
    const GemmWtProduct g{N, W, ldw, y_packed, 0};
    if (N > 0) gemm_wt(pool, T, K, packed, std::span(&g, 1));
}

void gemm_f32_wt_group(ThreadPool& pool, int64_t T, int64_t K, const float* packed,
                       std::span<const GemmWtProduct> products) {
    for (const GemmWtProduct& g : products) {
        LYRA_CHECK(g.N > 0, "gemm_f32_wt_group: a product has N = {}", g.N);
        LYRA_CHECK(g.ldy == 0 || g.ldy >= g.N, "gemm_f32_wt_group: ldy {} is below N = {}", g.ldy, g.N);
    }
    gemm_wt(pool, T, K, packed, products);
}

void gemm_f32_wt_lockstep(ThreadPool& pool, int64_t T, int64_t K, const float* packed,
                          std::span<const GemmWtProduct> products, const std::function<void(int64_t, int64_t)>& then) {
    if (products.empty() || T <= 0) return;
    const int64_t N = products[0].N;
    LYRA_CHECK(K > 0, "gemm_f32_wt_lockstep: K = {}", K);
    for (const GemmWtProduct& g : products) {
        LYRA_CHECK(g.N == N && N > 0, "gemm_f32_wt_lockstep: products of {} and {} rows", N, g.N);
        LYRA_CHECK(g.ldy == 0 || g.ldy >= g.N, "gemm_f32_wt_lockstep: ldy {} is below N = {}", g.ldy, g.N);
    }
    const auto range = [&](int64_t m0, int64_t m1) {
        for (const GemmWtProduct& g : products) wt_rows(g, T, K, packed, m0, m1);
        then(m0, m1);
    };
    const int64_t tiles = tiles_of(N);
    if (run_inline(pool, tiles, N * static_cast<int64_t>(products.size()), T, K)) {
        range(0, N);
        return;
    }
    claim_tiles(pool, std::span(&tiles, 1), [&](int64_t t0, int64_t t1) {
        range(t0 * kMaxTileRows, std::min(N, t1 * kMaxTileRows));
    });
}

void transpose_f32(ThreadPool& pool, const float* in, int64_t R, int64_t C, int64_t ld_in, float* out,
                   int64_t ld_out) {
    // Blocks of 64 source rows per work item; the kernel moves 16 x 16 (or 8 x 8) pieces.
    constexpr int64_t kRows = 64;
    const kern::KernelTable& k = kern::active_table();
    const auto blocks = [&](int64_t b0, int64_t b1) {
        const int64_t r0 = b0 * kRows, r1 = std::min(R, b1 * kRows);
        k.transpose_f32(in + r0 * ld_in, r1 - r0, C, ld_in, out + r0, ld_out);
    };
    const int64_t n_blocks = (R + kRows - 1) / kRows;
    if (pool.size() == 1 || R * C < (int64_t{1} << 16)) blocks(0, n_blocks);
    else pool.parallel_for(n_blocks, blocks);
}

}  // namespace lyra::core
