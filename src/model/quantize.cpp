#include "model/quantize.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/quant.h"
#include "model/format/gguf.h"

namespace lyra::model {

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

core::DType weight_type_for(std::string_view name, const core::Tensor& t, core::DType target,
                            std::string* note) {
    // Norms, biases and 1-D tensors stay f32: they are tiny and precision-sensitive.
    if (t.n_dims != 2 || !ends_with(name, ".weight") || ends_with(name, "_norm.weight"))
        return core::DType::F32;
    const int64_t cols = t.cols();
    const auto& tr = core::dtype_traits(target);
    if (cols % tr.block_size == 0) return target;
    const core::DType fallback = cols % core::kQk8_0 == 0 ? core::DType::Q8_0 : core::DType::F16;
    if (note)
        *note = fmt::format("rows of {} elements don't fit {} blocks of {}; such tensors are stored as {}",
                            cols, tr.name, tr.block_size, core::dtype_name(fallback));
    return fallback;
}

void add_converted_tensor(GgufWriter& w, const std::string& name, const core::Tensor& t,
                          core::DType type) {
    if (type == t.dtype) {
        w.add_tensor(name, t);
        return;
    }
    const int64_t rows = t.rows(), cols = t.cols();
    std::vector<float> f32(static_cast<size_t>(cols));
    core::Tensor out = t;
    out.dtype = type;
    std::vector<uint8_t> bytes(out.nbytes());
    const size_t rb = out.row_bytes();
    for (int64_t r = 0; r < rows; ++r) {
        core::dequantize_row(t.dtype, t.row(r), f32.data(), cols);
        core::quantize_row(type, f32.data(), bytes.data() + static_cast<size_t>(r) * rb, cols);
    }
    out.data = bytes.data();
    w.add_tensor(name, out);
}

uint32_t gguf_file_type(core::DType target) {
    switch (target) {
        case core::DType::F32: return 0;
        case core::DType::F16: return 1;
        case core::DType::Q4_0: return 2;
        case core::DType::Q8_0: return 7;
        case core::DType::Q4_K: return 14;  // Q4_K_S: every eligible tensor q4_k
        case core::DType::Q5_K: return 16;  // Q5_K_S
        case core::DType::Q6_K: return 18;
        case core::DType::BF16: return 32;
        default: return 0;
    }
}

QuantizeReport quantize_file(const std::string& in, const std::string& out, core::DType target) {
    std::error_code ec;
    if (std::filesystem::equivalent(in, out, ec))
        throw_error(ErrorKind::InvalidArgument,
                    "quantize: output '{}' is the input file; expected a different path", out);
    auto src = GgufFile::open(in);
    GgufWriter w;
    for (const auto& [key, value] : src->metadata()) {
        if (key == "general.file_type" || key == "general.quantization_version") continue;
        w.set(key, value);
    }
    w.set_u32("general.file_type", gguf_file_type(target));
    if (core::dtype_traits(target).is_quantized) w.set_u32("general.quantization_version", 2);
    QuantizeReport report;
    for (const auto& info : src->tensors()) {
        std::string note;
        const core::DType type = weight_type_for(info.name, info.tensor, target, &note);
        if (!note.empty() && std::find(report.notes.begin(), report.notes.end(), note) == report.notes.end())
            report.notes.push_back(note);
        add_converted_tensor(w, info.name, info.tensor, type);
        ++report.tensors_per_type[type];
        report.bytes_in += info.tensor.nbytes();
        core::Tensor t = info.tensor;
        t.dtype = type;
        report.bytes_out += t.nbytes();
    }
    w.write(out);
    return report;
}

}  // namespace lyra::model
