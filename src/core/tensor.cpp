#include "core/tensor.h"

#include <fmt/format.h>

namespace lyra::core {

std::string shape_string(const Tensor& t) {
    std::string s = "[";
    for (int i = 0; i < t.n_dims; ++i) s += fmt::format("{}{}", i ? ", " : "", t.dim(i));
    return s + "]";
}

}  // namespace lyra::core
