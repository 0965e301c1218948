// The one place where GGUF's dimension order meets Lyra's. GGUF (like ggml) lists dimensions
// innermost first: ne[0] is the contiguous one, so a [out, in] weight is stored as ne = {in, out}.
// core::Tensor uses PyTorch order: shape[n_dims - 1] is contiguous. Both directions are a
// reversal; the two names exist so call sites say which way they go. Pure functions, no errors:
// callers validate counts (1..kMaxDims) before calling (LYRA_CHECK otherwise).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"

namespace lyra::model {

// GGUF ne (innermost first) -> PyTorch shape (outermost first), padded with zeros to kMaxDims.
std::array<int64_t, core::kMaxDims> shape_from_gguf_ne(std::span<const int64_t> ne);

// PyTorch-order shape of `t` -> GGUF ne (innermost first), t.n_dims entries.
std::vector<int64_t> gguf_ne_from_shape(const core::Tensor& t);

}  // namespace lyra::model
