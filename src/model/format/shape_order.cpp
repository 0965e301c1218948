#include "model/format/shape_order.h"

#include "core/check.h"

namespace lyra::model {

std::array<int64_t, core::kMaxDims> shape_from_gguf_ne(std::span<const int64_t> ne) {
    LYRA_CHECK(!ne.empty() && ne.size() <= static_cast<size_t>(core::kMaxDims),
               "GGUF ne has {} dims; expected 1..{}", ne.size(), core::kMaxDims);
    std::array<int64_t, core::kMaxDims> shape{};
    const size_t n = ne.size();
    for (size_t i = 0; i < n; ++i) shape[i] = ne[n - 1 - i];
    return shape;
}

std::vector<int64_t> gguf_ne_from_shape(const core::Tensor& t) {
    LYRA_CHECK(t.n_dims >= 1 && t.n_dims <= core::kMaxDims, "tensor has {} dims; expected 1..{}",
               t.n_dims, core::kMaxDims);
    const auto n = static_cast<size_t>(t.n_dims);
    std::vector<int64_t> ne(n);
    for (size_t i = 0; i < n; ++i) ne[i] = t.shape[n - 1 - i];
    return ne;
}

}  // namespace lyra::model
