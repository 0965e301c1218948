// safetensors: u64 little-endian header size N | N bytes of JSON | data. The JSON maps each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data
// start) plus an optional "__metadata__" string map. See docs/formats/safetensors.md.
#include "model/format/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"

namespace lyra::model {
namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr int kMaxJsonDepth = 16;

struct DTypeInfo {
    std::string_view name;
    size_t bytes;
    std::optional<core::DType> dtype;
};

// Every dtype the safetensors spec names; only the float types Lyra computes in map to a DType.
constexpr DTypeInfo kDTypes[] = {
    {"F32", 4, core::DType::F32}, {"F16", 2, core::DType::F16}, {"BF16", 2, core::DType::BF16},
    {"F64", 8, std::nullopt},     {"I64", 8, std::nullopt},     {"U64", 8, std::nullopt},
    {"I32", 4, std::nullopt},     {"U32", 4, std::nullopt},     {"I16", 2, std::nullopt},
    {"U16", 2, std::nullopt},     {"I8", 1, std::nullopt},      {"U8", 1, std::nullopt},
    {"BOOL", 1, std::nullopt},    {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
};

const DTypeInfo* find_dtype(std::string_view name) {
    for (const auto& d : kDTypes)
        if (d.name == name) return &d;
    return nullptr;
}

// Parses the header JSON, refusing duplicate top-level names (nlohmann keeps the last one
// silently) and absurd nesting.
json parse_header(std::string_view text, const std::string& path) {
    std::set<std::string> seen;
    auto cb = [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > kMaxJsonDepth)
            throw_error(ErrorKind::Corrupt,
                        "safetensors file '{}': header JSON nests too deeply; expected at most {} "
                        "levels, got more",
                        path, kMaxJsonDepth);
        if (event == json::parse_event_t::key && depth == 1) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!seen.insert(key).second)
                throw_error(ErrorKind::Corrupt, "safetensors file '{}': duplicate tensor name '{}'",
                            path, key);
        }
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), cb);
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "safetensors file '{}': bad JSON header: {}", path, e.what());
    }
}

uint64_t get_u64(const json& j, const std::string& path, const std::string& name,
                 std::string_view field) {
    if (!j.is_number_unsigned())
        throw_error(ErrorKind::Corrupt,
                    "safetensors file '{}': tensor '{}' has a bad {}; expected a non-negative "
                    "integer, got {}",
                    path, name, field, j.dump());
    return j.get<uint64_t>();
}

}  // namespace

int64_t SafetensorsEntry::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    core::MappedFile mapped(path);
    std::unique_ptr<SafetensorsFile> f(new SafetensorsFile(std::move(mapped)));
    f->parse();
    return f;
}

void SafetensorsFile::parse() {
    const std::string& p = file_.path();
    const size_t size = file_.size();
    if (size < 8)
        throw_error(ErrorKind::Corrupt,
                    "safetensors file '{}': truncated header size; expected 8 bytes, got {}", p,
                    size);
    uint64_t header_bytes = 0;
    std::memcpy(&header_bytes, file_.data(), 8);
    if (header_bytes > size - 8)
        throw_error(ErrorKind::Corrupt,
                    "safetensors file '{}': header size is larger than the file; expected at most "
                    "{}, got {}",
                    p, size - 8, header_bytes);
    if (header_bytes > kMaxHeaderBytes)
        throw_error(ErrorKind::Corrupt,
                    "safetensors file '{}': header size is too large; expected at most {}, got {}",
                    p, kMaxHeaderBytes, header_bytes);
    const std::string_view text(reinterpret_cast<const char*>(file_.data() + 8),
                                static_cast<size_t>(header_bytes));
    const json header = parse_header(text, p);
    if (!header.is_object())
        throw_error(ErrorKind::Corrupt,
                    "safetensors file '{}': header is not a JSON object; expected {{...}}, got {}",
                    p, header.type_name());

    const uint8_t* data = file_.data() + 8 + header_bytes;
    const uint64_t data_size = size - 8 - header_bytes;
    for (const auto& [name, value] : header.items()) {
        if (name == "__metadata__") {
            if (!value.is_object())
                throw_error(ErrorKind::Corrupt,
                            "safetensors file '{}': __metadata__ is not an object; got {}", p,
                            value.type_name());
            for (const auto& [k, v] : value.items()) {
                if (!v.is_string())
                    throw_error(ErrorKind::Corrupt,
                                "safetensors file '{}': __metadata__ value '{}' is not a string; "
                                "got {}",
                                p, k, v.type_name());
                metadata_.emplace(k, v.get<std::string>());
            }
            continue;
        }
        if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
            !value.contains("data_offsets"))
            throw_error(ErrorKind::Corrupt,
                        "safetensors file '{}': tensor '{}' lacks fields; expected an object with "
                        "dtype, shape and data_offsets, got {}",
                        p, name, value.dump().substr(0, 200));
        const json& jd = value["dtype"];
        const json& js = value["shape"];
        const json& jo = value["data_offsets"];
        if (!jd.is_string())
            throw_error(ErrorKind::Corrupt, "safetensors file '{}': tensor '{}' has a bad dtype; "
                        "expected a string, got {}", p, name, jd.dump());
        const std::string dname = jd.get<std::string>();
        const DTypeInfo* dt = find_dtype(dname);
        if (!dt)
            throw_error(ErrorKind::Unsupported,
                        "safetensors file '{}': tensor '{}' has an unknown dtype; expected F32, "
                        "F16, BF16 or another safetensors dtype, got '{}'",
                        p, name, dname);
        if (!js.is_array())
            throw_error(ErrorKind::Corrupt, "safetensors file '{}': tensor '{}' has a bad shape; "
                        "expected an array, got {}", p, name, js.dump());
        SafetensorsEntry e;
        e.name = name;
        e.dtype_name = dname;
        e.dtype = dt->dtype;
        uint64_t numel = 1;
        for (const auto& d : js) {
            const uint64_t dim = get_u64(d, p, name, "shape dimension");
            if (__builtin_mul_overflow(numel, dim, &numel) || numel > (uint64_t{1} << 60))
                throw_error(ErrorKind::Corrupt,
                            "safetensors file '{}': tensor '{}' has an element count that "
                            "overflows; expected at most 2^60 elements",
                            p, name);
            e.shape.push_back(static_cast<int64_t>(dim));
        }
        if (!jo.is_array() || jo.size() != 2)
            throw_error(ErrorKind::Corrupt,
                        "safetensors file '{}': tensor '{}' has bad data_offsets; expected "
                        "[begin, end], got {}",
                        p, name, jo.dump());
        const uint64_t begin = get_u64(jo[0], p, name, "data offset");
        const uint64_t end = get_u64(jo[1], p, name, "data offset");
        if (begin > end || end > data_size)
            throw_error(ErrorKind::Corrupt,
                        "safetensors file '{}': tensor '{}' data offsets are out of bounds; "
                        "expected 0 <= begin <= end <= {}, got [{}, {}]",
                        p, name, data_size, begin, end);
        const uint64_t want = numel * dt->bytes;  // numel <= 2^60, bytes <= 8: no overflow
        if (end - begin != want)
            throw_error(ErrorKind::Corrupt,
                        "safetensors file '{}': tensor '{}' data size does not match its shape "
                        "and dtype; expected {} bytes, got {}",
                        p, name, want, end - begin);
        e.data = data + begin;
        e.nbytes = static_cast<size_t>(want);
        entries_.push_back(std::move(e));
    }

    // Overlap check: sort by start, every tensor must begin at or after the previous end.
    std::vector<const SafetensorsEntry*> by_offset;
    by_offset.reserve(entries_.size());
    for (const auto& e : entries_) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
        return a->data != b->data ? a->data < b->data : a->nbytes < b->nbytes;
    });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const auto* prev = by_offset[i - 1];
        const auto* cur = by_offset[i];
        if (cur->data < prev->data + prev->nbytes)
            throw_error(ErrorKind::Corrupt,
                        "safetensors file '{}': tensors '{}' and '{}' overlap; expected disjoint "
                        "data_offsets",
                        p, prev->name, cur->name);
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
}

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
    const auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                                     [](const SafetensorsEntry& e, std::string_view n) { return e.name < n; });
    return it != entries_.end() && it->name == name ? &*it : nullptr;
}

core::Tensor SafetensorsFile::tensor(std::string_view name) const {
    const SafetensorsEntry* e = find(name);
    if (!e)
        throw_error(ErrorKind::NotFound, "safetensors file '{}': no tensor named '{}'", path(), name);
    if (!e->dtype)
        throw_error(ErrorKind::Unsupported,
                    "safetensors file '{}': tensor '{}' has dtype {}; expected F32, F16 or BF16",
                    path(), name, e->dtype_name);
    if (e->shape.size() > static_cast<size_t>(core::kMaxDims))
        throw_error(ErrorKind::Unsupported,
                    "safetensors file '{}': tensor '{}' has too many dims; expected at most {}, "
                    "got {}",
                    path(), name, core::kMaxDims, e->shape.size());
    core::Tensor t;
    t.dtype = *e->dtype;
    if (e->shape.empty()) {
        t.n_dims = 1;
        t.shape[0] = 1;
    } else {
        for (int64_t d : e->shape) t.shape[static_cast<size_t>(t.n_dims++)] = d;
    }
    t.data = e->data;
    return t;
}

// ------------------------------------------------------------------------------------------

SafetensorsModel SafetensorsModel::open_file(const std::string& path) {
    SafetensorsModel m;
    m.source_ = path;
    m.files_.push_back(SafetensorsFile::open(path));
    for (const auto& e : m.files_.back()->entries()) m.index_.emplace(e.name, &e);
    return m;
}

SafetensorsModel SafetensorsModel::open_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    const fs::path single = fs::path(dir) / "model.safetensors";
    const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
    if (!fs::exists(index_path)) {
        if (!fs::exists(single))
            throw_error(ErrorKind::NotFound,
                        "model directory '{}': no weights; expected model.safetensors or "
                        "model.safetensors.index.json",
                        dir);
        SafetensorsModel m = open_file(single.string());
        m.source_ = dir;
        return m;
    }

    const std::string ip = index_path.string();
    json index;
    try {
        index = json::parse(core::read_file(ip));
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "safetensors index '{}': bad JSON: {}", ip, e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        throw_error(ErrorKind::Corrupt,
                    "safetensors index '{}': no weight_map; expected an object mapping tensor "
                    "names to shard files",
                    ip);
    const json& wm = index["weight_map"];
    SafetensorsModel m;
    m.source_ = dir;
    std::map<std::string, size_t> shard_ids;
    for (const auto& [name, shard] : wm.items()) {
        if (!shard.is_string())
            throw_error(ErrorKind::Corrupt,
                        "safetensors index '{}': tensor '{}' maps to a non-string; got {}", ip,
                        name, shard.dump());
        const std::string file = shard.get<std::string>();
        if (file.empty() || file.find('/') != std::string::npos || file == "." || file == ".." ||
            file.find('\\') != std::string::npos)
            throw_error(ErrorKind::Corrupt,
                        "safetensors index '{}': shard name '{}' is not a plain file name in the "
                        "model directory",
                        ip, file);
        if (!shard_ids.count(file)) {
            shard_ids.emplace(file, m.files_.size());
            m.files_.push_back(SafetensorsFile::open((fs::path(dir) / file).string()));
        }
    }
    // Every shard's tensors join the model; a name in two shards is a defect.
    for (const auto& f : m.files_) {
        for (const auto& e : f->entries()) {
            if (!m.index_.emplace(e.name, &e).second)
                throw_error(ErrorKind::Corrupt,
                            "safetensors index '{}': tensor '{}' appears in more than one shard",
                            ip, e.name);
        }
    }
    for (const auto& [name, shard] : wm.items()) {
        const auto& f = m.files_[shard_ids.at(shard.get<std::string>())];
        if (!f->find(name))
            throw_error(ErrorKind::Corrupt,
                        "safetensors index '{}': tensor '{}' is mapped to shard '{}', which lacks "
                        "it",
                        ip, name, shard.get<std::string>());
    }
    return m;
}

const SafetensorsEntry* SafetensorsModel::find(std::string_view name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
}

const SafetensorsEntry& SafetensorsModel::get(std::string_view name) const {
    const SafetensorsEntry* e = find(name);
    if (!e)
        throw_error(ErrorKind::Corrupt, "model '{}': missing tensor '{}'", source_, name);
    return *e;
}

std::vector<std::string> SafetensorsModel::names() const {
    std::vector<std::string> out;
    out.reserve(index_.size());
    for (const auto& [k, v] : index_) out.push_back(k);
    return out;
}

std::vector<float> safetensors_to_f32(const SafetensorsEntry& e) {
    if (!e.dtype)
        throw_error(ErrorKind::Unsupported, "tensor '{}' has dtype {}; expected F32, F16 or BF16",
                    e.name, e.dtype_name);
    const auto n = static_cast<size_t>(e.numel());
    std::vector<float> out(n);
    switch (*e.dtype) {
        case core::DType::F32: std::memcpy(out.data(), e.data, n * 4); break;
        case core::DType::F16:
        case core::DType::BF16:
            for (size_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, e.data + 2 * i, 2);
                out[i] = *e.dtype == core::DType::F16 ? core::fp16_to_fp32(h) : core::bf16_to_fp32(h);
            }
            break;
        default:
            throw_error(ErrorKind::Unsupported, "tensor '{}' has dtype {}; expected F32, F16 or BF16",
                        e.name, e.dtype_name);
    }
    return out;
}

}  // namespace lyra::model
