#include "core/dtype.h"

#include <array>
#include <cctype>
#include <string>

#include "core/check.h"

namespace lyra::core {
namespace {

struct Entry {
    DType type;
    DTypeTraits traits;
};

// Block byte sizes follow the GGUF block structs (see docs/formats/quant.md):
// q4_0 = f16 d + 16 nibble bytes; q8_0 = f16 d + 32 int8; q4_k = 2 f16 + 12 scale bytes + 128;
// q5_k = 2 f16 + 12 + 32 high bits + 128; q6_k = 128 low + 64 high + 16 int8 scales + f16 d;
// q8_k = f32 d + 256 int8 + 16 int16 block sums.
constexpr std::array<Entry, 14> kTable = {{
    {DType::F32, {"f32", 1, 4, false}},
    {DType::F16, {"f16", 1, 2, false}},
    {DType::Q4_0, {"q4_0", kQk4_0, 2 + 16, true}},
    {DType::Q8_0, {"q8_0", kQk8_0, 2 + 32, true}},
    {DType::Q4_K, {"q4_k", kQkK, 2 + 2 + 12 + 128, true}},
    {DType::Q5_K, {"q5_k", kQkK, 2 + 2 + 12 + 32 + 128, true}},
    {DType::Q6_K, {"q6_k", kQkK, 128 + 64 + 16 + 2, true}},
    {DType::Q8_K, {"q8_k", kQkK, 4 + 256 + 2 * 16, true}},
    {DType::I8, {"i8", 1, 1, false}},
    {DType::I16, {"i16", 1, 2, false}},
    {DType::I32, {"i32", 1, 4, false}},
    {DType::BF16, {"bf16", 1, 2, false}},
    // Packed 16 rows at a time (a Q4_0 block's 16 rows share 288 bytes), a row still averages
    // its source type's bytes a block.
    {DType::Q4_0_R16, {"q4_0_r16", kQk4_0, 2 + 16, true}},
    {DType::Q8_0_R16, {"q8_0_r16", kQk8_0, 2 + 32, true}},
}};

// The packed types of core/packed_weights.h: no file holds them and no --type names them.
bool in_memory_only(DType t) { return t == DType::Q4_0_R16 || t == DType::Q8_0_R16; }

const Entry* find(DType t) {
    for (const auto& e : kTable)
        if (e.type == t) return &e;
    return nullptr;
}

}  // namespace

const DTypeTraits& dtype_traits(DType t) {
    const Entry* e = find(t);
    LYRA_CHECK(e != nullptr, "unknown dtype id {}", static_cast<uint32_t>(t));
    return e->traits;
}

std::optional<DType> dtype_from_gguf_id(uint32_t id) {
    const Entry* e = find(static_cast<DType>(id));
    if (!e || in_memory_only(e->type)) return std::nullopt;
    return e->type;
}

std::optional<DType> dtype_from_name(std::string_view name) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& e : kTable)
        if (e.traits.name == lower && !in_memory_only(e.type)) return e.type;
    return std::nullopt;
}

size_t row_bytes(DType t, int64_t n) {
    const auto& tr = dtype_traits(t);
    LYRA_CHECK(n % tr.block_size == 0, "{} elements is not a multiple of the {} block size {}", n,
               tr.name, tr.block_size);
    return static_cast<size_t>(n / tr.block_size) * tr.block_bytes;
}

}  // namespace lyra::core
