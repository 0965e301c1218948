// Whole-file weight conversion: `lyra model quantize IN OUT --type T`. Which tensors get the
// target type is decided by one rule shared with random init (init.h): 2-D weight matrices whose
// row length is a multiple of the type's block size get it; norms, biases and other 1-D tensors
// stay f32; a row that doesn't fit 256-element K-quant blocks falls back to q8_0 (or f16 when
// it doesn't fit 32 either), and the fallback is reported as a note.
// Metadata is copied unchanged except general.file_type; the output is written atomically.
// Throws lyra::Error(NotFound/Corrupt/Io/InvalidArgument).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace lyra::model {

class GgufWriter;

// The type tensor `name` of shape `t` gets when a file is converted to `target`. When it can't
// take `target`, *note (if given) says why and what it got instead.
core::DType weight_type_for(std::string_view name, const core::Tensor& t, core::DType target,
                            std::string* note = nullptr);

// Converts `t` (any type, any shape) to `type` and adds it to `w` under `name`.
void add_converted_tensor(GgufWriter& w, const std::string& name, const core::Tensor& t,
                          core::DType type);

// GGUF general.file_type (llama.cpp's LLAMA_FTYPE numbering) for a whole-file target type.
uint32_t gguf_file_type(core::DType target);

struct QuantizeReport {
    std::map<core::DType, int> tensors_per_type;  // how many tensors ended up as each type
    std::vector<std::string> notes;               // fallbacks, one line each (deduplicated)
    uint64_t bytes_in = 0, bytes_out = 0;         // tensor data bytes before/after
};

// Reads `in`, converts its weights to `target`, writes `out`. `in` and `out` may not be the
// same path (Error(InvalidArgument)).
QuantizeReport quantize_file(const std::string& in, const std::string& out, core::DType target);

}  // namespace lyra::model
