#include "core/packed_q4_0.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/check.h"
#include "core/kernels/blocks.h"
#include "core/kernels/kernels.h"

namespace lyra::core {

bool q4_0_r16_pays() {
    if (const char* env = std::getenv("LYRA_REPACK"); env && std::string_view(env) == "off") return false;
    return kern::active_table().isa == kern::Isa::Avx512;
}

bool q4_0_r16_packable(const Tensor& w) {
    return w.dtype == DType::Q4_0 && w.n_dims == 2 && w.rows() > 0 && w.rows() % kQ4_0R16Rows == 0;
}

Tensor pack_q4_0_r16(const Tensor& w, void* dst) {
    LYRA_CHECK(q4_0_r16_packable(w), "pack_q4_0_r16: weight {} of type {} is not Q4_0 with rows a multiple of 16",
               shape_string(w), dtype_name(w.dtype));
    const int64_t nb = w.cols() / kQk4_0;
    const size_t ws = w.row_bytes();
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t g = 0; g < w.rows() / kQ4_0R16Rows; ++g) {
        uint8_t* group = out + static_cast<size_t>(g) * kQ4_0R16Rows * ws;
        for (int64_t r = 0; r < kQ4_0R16Rows; ++r) {
            const auto* row = reinterpret_cast<const detail::BlockQ4_0*>(w.row(g * kQ4_0R16Rows + r));
            for (int64_t b = 0; b < nb; ++b) {
                // Block b of the pair starting at 2 * (b / 2): weights at 256 * (b % 2), scales
                // after the pair's weights (one block's 256 bytes when it is the last, odd one).
                uint8_t* pair = group + static_cast<size_t>(b / 2) * 576;
                const int64_t in_pair = b % 2, pair_blocks = std::min<int64_t>(2, nb - 2 * (b / 2));
                uint8_t* weights = pair + 256 * in_pair;
                uint8_t* scales = pair + 256 * pair_blocks + 32 * in_pair;
                for (int c = 0; c < 4; ++c) std::memcpy(weights + 64 * c + 4 * r, row[b].qs + 4 * c, 4);
                std::memcpy(scales + 2 * r, &row[b].d, 2);
            }
        }
    }
    Tensor packed = w;
    packed.dtype = DType::Q4_0_R16;
    packed.data = dst;
    return packed;
}

}  // namespace lyra::core
