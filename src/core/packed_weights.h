// Q4_0 and Q8_0 weights repacked for the AVX-512 matmul, 16 rows at a time (DType::Q4_0_R16 and
// DType::Q8_0_R16, in-memory types only; WeightBinder::for_matmul packs a model's weights at load).
//
// Why: the plain kernels give each weight row's 32-weight blocks their own SIMD lanes, so every
// 128 weights and every token cost a convert, a scale multiply, an fma and, at the end of a row, a
// horizontal sum. A batched decode step (8 tokens) and a prompt are bound by that arithmetic, not
// by memory. Repacked, one 512-bit vpdpbusd lane is one row: 16 rows move through a register side
// by side, the activation's 4 bytes are broadcast to all of them, and a block's integer dot ends
// in one lane ready for its scales. That is a convert, a multiply and an fma per 512 weights and
// token, results leave as 16 consecutive floats, and no horizontal sums are left. (Q4_0, one
// thread, 8 tokens, K = 768, 35 MB of weights: 146 -> 190 Gmac/s.)
//
// Layout of a [N, K] weight (N a multiple of 16, nb = K / 32 blocks a row): group g (rows 16g ..
// 16g+15) takes 16 * row_bytes(type, K) bytes at g times that. Inside a group, blocks go in pairs
// (the last block alone when nb is odd): a pair is block 2u's weight bytes, block 2u+1's, then
// 32 bytes of block 2u's 16 f16 scales (row 0's first) and 32 of block 2u+1's. That keeps every
// 64-byte chunk of weights on a cache line boundary and the group one sequential run. A block's
// weight bytes are 64-byte chunks; in chunk c, bytes 4r .. 4r+3 belong to row r:
//   Q4_0 (4 chunks, 256 bytes): row r's Q4_0 bytes qs[4c .. 4c+3] as they are, so their low
//        nibbles are weights 4c .. 4c+3 of the block and their high nibbles 16+4c .. 16+4c+3;
//   Q8_0 (8 chunks, 512 bytes): row r's weights 4c .. 4c+3 plus 128, as unsigned bytes (the
//        operand vpdpbusd takes; the activation's block sum times -128 takes the 128 back off).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace lyra::core {

// Rows are packed this many at a time; a weight whose row count is not a multiple stays as it is.
inline constexpr int64_t kPackedRows = 16;

// Whether weights should be packed on this machine: the active kernel table is AVX-512's
// (elsewhere the packed types run on the portable kernel, which is correct but slow) and
// LYRA_REPACK is not "off" (which keeps the file's layout, for side-by-side measurements).
bool packing_pays();

// Whether pack_rows16 takes w: Q4_0 or Q8_0, 2-D, rows a multiple of 16.
bool can_pack_rows16(const Tensor& w);

// The packed type of Q4_0 (Q4_0_R16) or Q8_0 (Q8_0_R16); any other type is returned unchanged.
DType rows16_type(DType t);

// Whether t is one of the packed types (their kernels walk 16-row groups).
inline bool is_rows16(DType t) { return t == DType::Q4_0_R16 || t == DType::Q8_0_R16; }

// Writes w (can_pack_rows16) into dst, w.nbytes() bytes (64-byte aligned for the kernel's best
// speed), and returns the packed view of dst with w's shape.
Tensor pack_rows16(const Tensor& w, void* dst);

// pack_rows16 into `store` (a std::vector of any trivial element, resized here), starting on a
// cache line within it: every 64-byte chunk the kernel loads is then one line. The returned view
// lives as long as the vector is neither resized nor destroyed.
template <class Vector>
Tensor pack_rows16_into(const Tensor& w, Vector& store) {
    using Elem = typename Vector::value_type;
    store.resize((w.nbytes() + 64) / sizeof(Elem) + 1);
    const auto at = (reinterpret_cast<uintptr_t>(store.data()) + 63) & ~uintptr_t{63};
    return pack_rows16(w, reinterpret_cast<void*>(at));
}

// Where block b of a 16-row group starts, relative to the group, for a type whose blocks take
// `weight_bytes` bytes of weights a group (256 for Q4_0, 512 for Q8_0) in nb blocks: its weight
// bytes at .weights, its 16 scales at .scales. The layout above, in one place for the packer and
// the kernels.
struct Rows16Block {
    int64_t weights, scales;
};
inline Rows16Block rows16_block(int64_t b, int64_t nb, int64_t weight_bytes) {
    const int64_t pair = (b / 2) * (2 * weight_bytes + 64), in_pair = b % 2;
    const int64_t pair_blocks = nb - 2 * (b / 2) >= 2 ? 2 : 1;
    return {pair + weight_bytes * in_pair, pair + weight_bytes * pair_blocks + 32 * in_pair};
}

}  // namespace lyra::core
