// safetensors reading (spec: docs/formats/safetensors.md). SafetensorsFile memory-maps one file
// and validates its whole header up front — header size, JSON, dtypes, shapes, offsets (in
// bounds, matching shape x dtype size, not overlapping), duplicate names — so later access never
// reads out of bounds. SafetensorsModel gathers the tensors of a Hugging Face model directory:
// model.safetensors, or the shards named by model.safetensors.index.json. Tensor bytes point
// into the maps (no copy) and are NOT necessarily aligned: read them with memcpy.
// Not thread-safe to open; const access is. Throws lyra::Error(NotFound/Io/Corrupt/Unsupported)
// naming the file and the defect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mmap.h"
#include "core/tensor.h"

namespace lyra::model {

struct SafetensorsEntry {
    std::string name;
    std::string dtype_name;             // as the header spells it: "F32", "BF16", "I64", ...
    std::optional<core::DType> dtype;   // F32/F16/BF16; nullopt for types Lyra cannot use
    std::vector<int64_t> shape;         // PyTorch order, as stored; empty = scalar
    const uint8_t* data = nullptr;      // into the map; may be unaligned
    size_t nbytes = 0;
    int64_t numel() const;
};

class SafetensorsFile {
public:
    // Opens, maps and validates `path`.
    static std::unique_ptr<SafetensorsFile> open(const std::string& path);

    const std::string& path() const { return file_.path(); }
    // The optional "__metadata__" map (string -> string).
    const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }
    // Every tensor, sorted by name.
    const std::vector<SafetensorsEntry>& entries() const { return entries_; }
    const SafetensorsEntry* find(std::string_view name) const;

    // A core::Tensor view of `name` (a scalar becomes shape [1]). Throws NotFound if absent,
    // Unsupported if its dtype is not F32/F16/BF16 or it has more than 4 dims.
    core::Tensor tensor(std::string_view name) const;

private:
    explicit SafetensorsFile(core::MappedFile file) : file_(std::move(file)) {}
    void parse();

    core::MappedFile file_;
    std::map<std::string, std::string, std::less<>> metadata_;
    std::vector<SafetensorsEntry> entries_;
};

// All tensors of a model directory, possibly sharded.
class SafetensorsModel {
public:
    // `dir` holds model.safetensors, or model.safetensors.index.json plus its shards.
    // Throws NotFound if neither exists; Corrupt if the index is malformed, names a shard
    // outside `dir`, maps a tensor to a shard that lacks it, or two shards hold one name.
    static SafetensorsModel open_dir(const std::string& dir);
    // One file (no index).
    static SafetensorsModel open_file(const std::string& path);

    const SafetensorsEntry* find(std::string_view name) const;
    bool has(std::string_view name) const { return find(name) != nullptr; }
    // Throws Corrupt naming the model directory when `name` is missing.
    const SafetensorsEntry& get(std::string_view name) const;
    // Every tensor name, sorted.
    std::vector<std::string> names() const;
    const std::string& source() const { return source_; }

private:
    std::string source_;  // the directory or file, for messages
    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, const SafetensorsEntry*, std::less<>> index_;
};

// Reads any F32/F16/BF16 entry as f32 values (unaligned-safe). Throws Unsupported otherwise.
std::vector<float> safetensors_to_f32(const SafetensorsEntry& e);

}  // namespace lyra::model
