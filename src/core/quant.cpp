#include "core/quant.h"

#include <cstring>

#include "core/check.h"
#include "core/half.h"

namespace lyra::core {

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
            return;
        }
        case DType::BF16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
            return;
        }
        default: break;
    }
    LYRA_CHECK(false, "dequantize_row: {} not implemented yet", dtype_name(type));
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
    switch (type) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
            return;
        }
        case DType::BF16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
            return;
        }
        default: break;
    }
    LYRA_CHECK(false, "quantize_row: {} not implemented yet", dtype_name(type));
}

size_t quantize_matrix(DType type, const float* src, void* dst, int64_t rows, int64_t cols) {
    const size_t rb = row_bytes(type, cols);
    for (int64_t r = 0; r < rows; ++r)
        quantize_row(type, src + r * cols, static_cast<uint8_t*>(dst) + static_cast<size_t>(r) * rb, cols);
    return rb * static_cast<size_t>(rows);
}

}  // namespace lyra::core
