// Tensor: a non-owning view of typed, contiguous data (a weight in a memory map, an activation
// buffer). Shapes are in PyTorch order — the last dimension is contiguous — so a weight is
// [out, in] and a quantized row is whole blocks along `in`. GGUF's reversed `ne` order is
// converted in exactly one place (model/format/shape_order.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace lyra::core {

inline constexpr int kMaxDims = 4;

struct Tensor {
    DType dtype = DType::F32;
    int n_dims = 0;                           // 0 = empty view
    std::array<int64_t, kMaxDims> shape{};    // shape[0..n_dims), outermost first
    const void* data = nullptr;               // not owned

    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < n_dims; ++i) n *= shape[static_cast<size_t>(i)];
        return n_dims == 0 ? 0 : n;
    }
    // Size of dimension i; negative i counts from the end (dim(-1) is the contiguous one).
    int64_t dim(int i) const { return shape[static_cast<size_t>(i < 0 ? n_dims + i : i)]; }
    int64_t cols() const { return n_dims == 0 ? 0 : dim(-1); }
    int64_t rows() const { return cols() == 0 ? 0 : numel() / cols(); }
    size_t row_bytes() const { return core::row_bytes(dtype, cols()); }
    size_t nbytes() const { return static_cast<size_t>(rows()) * row_bytes(); }
    const uint8_t* row(int64_t r) const {
        return static_cast<const uint8_t*>(data) + static_cast<size_t>(r) * row_bytes();
    }
    const float* f32() const { return static_cast<const float*>(data); }
};

// "[768, 32000]"-style text for messages.
std::string shape_string(const Tensor& t);

inline Tensor make_tensor(DType dtype, std::initializer_list<int64_t> shape, const void* data) {
    Tensor t;
    t.dtype = dtype;
    for (int64_t d : shape) t.shape[static_cast<size_t>(t.n_dims++)] = d;
    t.data = data;
    return t;
}

}  // namespace lyra::core
