#include "core/packed_weights.h"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/check.h"
#include "core/kernels/blocks.h"
#include "core/kernels/kernels.h"

namespace lyra::core {

bool packing_pays() {
    if (const char* env = std::getenv("LYRA_REPACK"); env && std::string_view(env) == "off") return false;
    return kern::active_table().isa == kern::Isa::Avx512;
}

bool can_pack_rows16(const Tensor& w) {
    return (w.dtype == DType::Q4_0 || w.dtype == DType::Q8_0) && w.n_dims == 2 && w.rows() > 0 &&
           w.rows() % kPackedRows == 0;
}

DType rows16_type(DType t) {
    if (t == DType::Q4_0) return DType::Q4_0_R16;
    if (t == DType::Q8_0) return DType::Q8_0_R16;
    return t;
}

Tensor pack_rows16(const Tensor& w, void* dst) {
    LYRA_CHECK(can_pack_rows16(w), "pack_rows16: weight {} of type {} is not Q4_0 or Q8_0 with rows a multiple of 16",
               shape_string(w), dtype_name(w.dtype));
    const bool q4 = w.dtype == DType::Q4_0;
    const int64_t nb = w.cols() / 32, weight_bytes = q4 ? 256 : 512;
    const size_t ws = w.row_bytes();
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t g = 0; g < w.rows() / kPackedRows; ++g) {
        uint8_t* group = out + static_cast<size_t>(g) * kPackedRows * ws;
        for (int64_t r = 0; r < kPackedRows; ++r) {
            const uint8_t* row = w.row(g * kPackedRows + r);
            for (int64_t b = 0; b < nb; ++b) {
                const Rows16Block at = rows16_block(b, nb, weight_bytes);
                uint16_t d;
                if (q4) {
                    const auto& blk = reinterpret_cast<const detail::BlockQ4_0*>(row)[b];
                    for (int c = 0; c < 4; ++c) std::memcpy(group + at.weights + 64 * c + 4 * r, blk.qs + 4 * c, 4);
                    d = blk.d;
                } else {
                    const auto& blk = reinterpret_cast<const detail::BlockQ8_0*>(row)[b];
                    for (int c = 0; c < 8; ++c)
                        for (int i = 0; i < 4; ++i)
                            group[at.weights + 64 * c + 4 * r + i] = static_cast<uint8_t>(blk.qs[4 * c + i] + 128);
                    d = blk.d;
                }
                std::memcpy(group + at.scales + 2 * r, &d, 2);
            }
        }
    }
    Tensor packed = w;
    packed.dtype = rows16_type(w.dtype);
    packed.data = dst;
    return packed;
}

}  // namespace lyra::core
