#include "core/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

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

// The calling thread's panel buffer, 64-byte aligned for the micro-kernel's aligned loads.
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

void transpose_f32(ThreadPool& pool, const float* in, int64_t R, int64_t C, int64_t ld_in, float* out,
                   int64_t ld_out) {
    // 16 x 16 tiles: a tile's 16 source rows and 16 destination rows each stay in L1.
    constexpr int64_t kTile = 16;
    const int64_t row_tiles = (R + kTile - 1) / kTile;
    const auto tiles = [&](int64_t t0, int64_t t1) {
        for (int64_t tr = t0; tr < t1; ++tr) {
            const int64_t r0 = tr * kTile, r1 = std::min(R, r0 + kTile);
            for (int64_t c0 = 0; c0 < C; c0 += kTile) {
                const int64_t c1 = std::min(C, c0 + kTile);
                for (int64_t c = c0; c < c1; ++c)
                    for (int64_t r = r0; r < r1; ++r) out[c * ld_out + r] = in[r * ld_in + c];
            }
        }
    };
    if (pool.size() == 1 || R * C < (int64_t{1} << 16)) tiles(0, row_tiles);
    else pool.parallel_for(row_tiles, tiles);
}

}  // namespace lyra::core
