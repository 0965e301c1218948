// Block quantization formats, bit-exact with the GGUF block layouts (docs/formats/quant.md):
// Q4_0, Q8_0, Q4_K, Q5_K, Q6_K (and Q8_K for activations), plus F16/BF16 rows.
// quantize_row/dequantize_row are the scalar references every fast kernel is tested against.
// `n` is a multiple of the type's block size (LYRA_CHECKed). No allocation, no throwing.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace lyra::core {

// dst[0..n) = the values the encoded row src represents. Supports every DType with traits.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// Encodes n floats into type's layout (dst must hold row_bytes(type, n) bytes). For K-quants
// this picks scales and mins by a small search that minimises the squared error per sub-block.
void quantize_row(DType type, const float* src, void* dst, int64_t n);

// Quantizes a [rows, cols] f32 matrix row by row; returns bytes written.
size_t quantize_matrix(DType type, const float* src, void* dst, int64_t rows, int64_t cols);

}  // namespace lyra::core
