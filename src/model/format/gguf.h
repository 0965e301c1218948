// GGUF v3 reading and writing (spec: docs/formats/gguf.md). GgufFile memory-maps a file and
// validates all of it up front — header, every metadata value, every tensor info, alignment,
// bounds and duplicates — so later accessors never read out of bounds. Tensor views point into
// the map (no copy); the GgufFile must outlive them. GgufWriter builds a file in memory order
// and writes it atomically (core::AtomicFile).
// Throws lyra::Error(NotFound/Io/Corrupt/Unsupported) naming the file and the defect.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/mmap.h"
#include "core/tensor.h"

namespace lyra::model {

// Metadata value types, numbered as in the GGUF spec.
enum class GgufType : uint32_t {
    Uint8 = 0, Int8 = 1, Uint16 = 2, Int16 = 3, Uint32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, Uint64 = 10, Int64 = 11, Float64 = 12,
};

struct GgufValue;
struct GgufArray {
    GgufType elem_type = GgufType::Uint8;
    std::vector<GgufValue> items;
};

// One metadata value. Integers of every width are held as int64/uint64 with `type` recording
// the width the file used, so a value can be written back unchanged.
struct GgufValue {
    GgufType type = GgufType::Uint8;
    std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;
};

struct GgufTensorInfo {
    std::string name;
    core::Tensor tensor;  // PyTorch-order shape; data points into the map
    uint64_t offset = 0;  // relative to the start of the data section
};

class GgufFile {
public:
    // Opens, maps and validates `path`.
    static std::unique_ptr<GgufFile> open(const std::string& path);

    const std::string& path() const { return file_.path(); }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }

    const std::map<std::string, GgufValue, std::less<>>& metadata() const { return kv_; }
    const GgufValue* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Typed getters: nullopt when the key is absent; throw Error(Corrupt) when present with a
    // type that cannot convert (any integer width converts to any other if the value fits).
    std::optional<std::string> get_string(std::string_view key) const;
    std::optional<int64_t> get_int(std::string_view key) const;
    std::optional<double> get_float(std::string_view key) const;
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
    std::optional<std::vector<float>> get_float_array(std::string_view key) const;
    std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(std::string_view name) const;

    // A tensor of this file whose bytes a copy now stands in for (packed weights): its whole
    // pages leave the process's memory and come back from the file if read again
    // (core::MappedFile::release_pages), so tensors() stays valid.
    void release_pages(const core::Tensor& t) const { file_.release_pages(t.data, t.nbytes()); }

private:
    explicit GgufFile(core::MappedFile file) : file_(std::move(file)) {}
    void parse();

    core::MappedFile file_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    std::map<std::string, GgufValue, std::less<>> kv_;
    std::vector<GgufTensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

class GgufWriter {
public:
    void set(std::string key, GgufValue value);
    void set_string(std::string key, std::string value);
    void set_u32(std::string key, uint32_t value);
    void set_i32(std::string key, int32_t value);
    void set_u64(std::string key, uint64_t value);
    void set_f32(std::string key, float value);
    void set_bool(std::string key, bool value);
    void set_string_array(std::string key, const std::vector<std::string>& values);
    void set_f32_array(std::string key, const std::vector<float>& values);
    void set_i32_array(std::string key, const std::vector<int32_t>& values);

    // Adds a tensor whose bytes are copied now (so callers may free their buffer).
    void add_tensor(std::string name, const core::Tensor& tensor);

    // Writes the file atomically (temp + fsync + rename). Alignment from general.alignment or 32.
    void write(const std::string& path) const;

private:
    struct PendingTensor {
        std::string name;
        core::Tensor shape_and_type;  // data unused; bytes below
        std::vector<uint8_t> bytes;
    };
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::vector<PendingTensor> tensors_;
};

}  // namespace lyra::model
