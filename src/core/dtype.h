// Element types of tensors, numbered exactly as GGUF/ggml number them (docs/formats/gguf.md),
// so a DType converts to and from a file's type id by a cast. Quantized types pack `block_size`
// elements into `block_bytes` bytes; rows of a quantized tensor are whole blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lyra::core {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,  // activation-side format used by K-quant dot products; not stored in files we write
    I8 = 24,
    I16 = 25,
    I32 = 26,
    BF16 = 30,
    // In-memory only, never a file's type: Q4_0 and Q8_0 weights repacked 16 rows at a time for
    // the AVX-512 kernels (core/packed_weights.h). Numbered far past any ggml type id (0x10000 +
    // the source type's), and refused by dtype_from_gguf_id and dtype_from_name.
    Q4_0_R16 = 0x10002,
    Q8_0_R16 = 0x10008,
};

struct DTypeTraits {
    std::string_view name;  // "f32", "q4_k", ... (lower case, as `--type` takes it)
    int64_t block_size;     // elements per block (1 for plain types)
    size_t block_bytes;     // bytes per block
    bool is_quantized;
};

// Traits of a supported dtype. LYRA_CHECKs that `t` is a known value.
const DTypeTraits& dtype_traits(DType t);
inline std::string_view dtype_name(DType t) { return dtype_traits(t).name; }

// The DType a GGUF type id names, or nullopt when Lyra does not support it.
std::optional<DType> dtype_from_gguf_id(uint32_t id);
// Parses a lower- or upper-case name ("q8_0", "Q4_K", "f16").
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes of `n` elements; `n` must be a multiple of the block size (checked).
size_t row_bytes(DType t, int64_t n);

// Block sizes shared by the quantized formats (ggml's QK4_0, QK8_0, QK_K).
inline constexpr int64_t kQk4_0 = 32;
inline constexpr int64_t kQk8_0 = 32;
inline constexpr int64_t kQkK = 256;

}  // namespace lyra::core
