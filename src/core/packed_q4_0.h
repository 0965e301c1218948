// Q4_0 weights repacked for the AVX-512 matmul (DType::Q4_0_R16, an in-memory type only).
//
// Why: the plain Q4_0 kernel gives each weight row's 32-weight blocks their own SIMD lanes, so
// every 128 weights and every token cost a convert, a scale multiply, an fma and, at the end of a
// row, a horizontal sum. A batched decode step (8 tokens) is bound by that arithmetic, not by
// memory. Repacked, one 512-bit vpdpbusd lane is one row: 16 rows move through a register side
// by side, the activation's 4 bytes are broadcast to all of them, and a block's integer dot
// ends in one lane ready for its scales. That is a convert, a multiply and an fma per 512
// weights and token, results come out as 16 consecutive floats, and no horizontal sums are left.
// (One thread, 8 tokens, K = 768 out of cache: 146 -> 190 Gmac/s.)
//
// Layout of a [N, K] weight (N a multiple of 16, nb = K / 32 blocks a row): group g (rows 16g ..
// 16g+15) takes 16 * row_bytes(Q4_0, K) = nb * 288 bytes at g * nb * 288. Inside a group, blocks
// go in pairs, 576 bytes a pair (the last block alone, 288 bytes, when nb is odd):
//   [256 bytes: block 2u's weights][256: block 2u+1's][32: block 2u's 16 f16 scales][32: 2u+1's]
// A block's 256 weight bytes are four 64-byte chunks; in chunk c, bytes 4r .. 4r+3 are row r's
// Q4_0 bytes qs[4c .. 4c+3] unchanged: their low nibbles are weights 4c .. 4c+3 of the block,
// their high nibbles weights 16+4c .. 16+4c+3. The scales are row 0's d first. Pairs keep every
// weight chunk on a 64-byte boundary and the stream one sequential run.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace lyra::core {

// Rows are packed this many at a time; a weight whose row count is not a multiple stays Q4_0.
inline constexpr int64_t kQ4_0R16Rows = 16;

// Whether Q4_0 weights should be packed on this machine: the active kernel table is AVX-512's
// (elsewhere Q4_0_R16 runs on the portable kernel, which is correct but slow) and LYRA_REPACK is
// not "off" (which keeps plain Q4_0, for side-by-side measurements).
bool q4_0_r16_pays();

// Whether w is a Q4_0 weight that pack_q4_0_r16 takes: 2-D, rows a multiple of 16.
bool q4_0_r16_packable(const Tensor& w);

// Writes w (q4_0_r16_packable) into dst, w.nbytes() bytes (64-byte aligned for the kernel's best
// speed), and returns the Q4_0_R16 view of dst with w's shape.
Tensor pack_q4_0_r16(const Tensor& w, void* dst);

}  // namespace lyra::core
