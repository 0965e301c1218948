// GGUF reader and writer. Layout (docs/formats/gguf.md, after the GGUF spec in the ggml repo):
//   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x { string key | u32 value_type | value }
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   zero padding to `general.alignment` (default 32) | tensor data (each offset aligned)
// Strings are u64 length + bytes (no NUL). Arrays are u32 elem_type + u64 count + items.
// Everything is little-endian. Version 2 has the same layout; version 1 had 32-bit counts.
#include "model/format/gguf.h"

#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "core/atomic_file.h"
#include "core/check.h"
#include "core/error.h"
#include "model/format/shape_order.h"

namespace lyra::model {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr int kMaxArrayDepth = 8;
// Bounds every metadata array element ever materialised for one file, so a small file cannot
// ask for gigabytes of GgufValue objects. Real vocabularies are < 1M tokens (+ merges).
constexpr uint64_t kMaxMetadataElements = uint64_t{1} << 24;

// Bytes a value of `t` occupies at minimum in the file (used to reject absurd counts before
// allocating). Arrays: u32 type + u64 count; strings: u64 length.
size_t min_value_bytes(GgufType t) {
    switch (t) {
        case GgufType::Uint8:
        case GgufType::Int8:
        case GgufType::Bool: return 1;
        case GgufType::Uint16:
        case GgufType::Int16: return 2;
        case GgufType::Uint32:
        case GgufType::Int32:
        case GgufType::Float32: return 4;
        case GgufType::Uint64:
        case GgufType::Int64:
        case GgufType::Float64:
        case GgufType::String: return 8;
        case GgufType::Array: return 12;
    }
    return 1;
}

bool is_known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::Float64); }

bool is_integer(GgufType t) {
    switch (t) {
        case GgufType::Uint8:
        case GgufType::Int8:
        case GgufType::Uint16:
        case GgufType::Int16:
        case GgufType::Uint32:
        case GgufType::Int32:
        case GgufType::Uint64:
        case GgufType::Int64: return true;
        default: return false;
    }
}

const char* type_name(GgufType t) {
    switch (t) {
        case GgufType::Uint8: return "uint8";
        case GgufType::Int8: return "int8";
        case GgufType::Uint16: return "uint16";
        case GgufType::Int16: return "int16";
        case GgufType::Uint32: return "uint32";
        case GgufType::Int32: return "int32";
        case GgufType::Float32: return "float32";
        case GgufType::Bool: return "bool";
        case GgufType::String: return "string";
        case GgufType::Array: return "array";
        case GgufType::Uint64: return "uint64";
        case GgufType::Int64: return "int64";
        case GgufType::Float64: return "float64";
    }
    return "?";
}

// Bounds-checked little-endian cursor over the mapped bytes. Every read names what it reads so
// a truncation error says where the file ended.
class Cursor {
public:
    Cursor(const uint8_t* data, size_t size, const std::string& path)
        : data_(data), size_(size), path_(path) {}

    size_t pos() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }

    void need(size_t n, std::string_view what) const {
        if (n > remaining())
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': truncated while reading {} at byte {}; expected {} more "
                        "bytes, got {}",
                        path_, what, pos_, n, remaining());
    }

    template <typename T>
    T read(std::string_view what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    std::string read_string(std::string_view what) {
        const auto len = read<uint64_t>(what);
        if (len > remaining())
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': string length of {} at byte {} is larger than the rest "
                        "of the file; expected at most {}, got {}",
                        path_, what, pos_ - 8, remaining(), len);
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
        pos_ += static_cast<size_t>(len);
        return s;
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    const std::string& path_;
};

struct ValueParser {
    Cursor& cur;
    const std::string& path;
    const std::string& key;
    uint64_t elements = 0;

    GgufType read_type(std::string_view what) {
        const auto t = cur.read<uint32_t>(what);
        if (!is_known_type(t))
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': key '{}' has unknown value type; expected 0..12, got {}",
                        path, key, t);
        return static_cast<GgufType>(t);
    }

    GgufValue parse(GgufType t, int depth) {
        GgufValue v;
        v.type = t;
        switch (t) {
            case GgufType::Uint8: v.v = uint64_t{cur.read<uint8_t>("a uint8 value")}; break;
            case GgufType::Int8: v.v = int64_t{cur.read<int8_t>("an int8 value")}; break;
            case GgufType::Uint16: v.v = uint64_t{cur.read<uint16_t>("a uint16 value")}; break;
            case GgufType::Int16: v.v = int64_t{cur.read<int16_t>("an int16 value")}; break;
            case GgufType::Uint32: v.v = uint64_t{cur.read<uint32_t>("a uint32 value")}; break;
            case GgufType::Int32: v.v = int64_t{cur.read<int32_t>("an int32 value")}; break;
            case GgufType::Uint64: v.v = cur.read<uint64_t>("a uint64 value"); break;
            case GgufType::Int64: v.v = cur.read<int64_t>("an int64 value"); break;
            case GgufType::Float32:
                v.v = static_cast<double>(cur.read<float>("a float32 value"));
                break;
            case GgufType::Float64: v.v = cur.read<double>("a float64 value"); break;
            case GgufType::Bool: {
                const auto b = cur.read<uint8_t>("a bool value");
                if (b > 1)
                    throw_error(ErrorKind::Corrupt,
                                "GGUF file '{}': key '{}' has a bool byte that is not 0 or 1; "
                                "expected 0 or 1, got {}",
                                path, key, b);
                v.v = b == 1;
                break;
            }
            case GgufType::String: v.v = cur.read_string("a string value"); break;
            case GgufType::Array: v.v = parse_array(depth + 1); break;
        }
        return v;
    }

    GgufArray parse_array(int depth) {
        if (depth > kMaxArrayDepth)
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': key '{}' nests arrays too deeply; expected at most {} "
                        "levels, got more",
                        path, key, kMaxArrayDepth);
        GgufArray a;
        a.elem_type = read_type("an array element type");
        const auto count = cur.read<uint64_t>("an array count");
        const size_t min_bytes = min_value_bytes(a.elem_type);
        if (count > cur.remaining() / min_bytes)
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': key '{}' has an array count larger than the rest of the "
                        "file can hold; expected at most {}, got {}",
                        path, key, cur.remaining() / min_bytes, count);
        elements += count;
        if (elements > kMaxMetadataElements)
            throw_error(ErrorKind::Unsupported,
                        "GGUF file '{}': key '{}' brings the metadata array elements past Lyra's "
                        "limit; expected at most {}, got {}",
                        path, key, kMaxMetadataElements, elements);
        a.items.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) a.items.push_back(parse(a.elem_type, depth));
        return a;
    }
};

[[noreturn]] void throw_conversion(const std::string& path, std::string_view key,
                                   std::string_view want, GgufType got) {
    throw_error(ErrorKind::Corrupt, "GGUF file '{}': key '{}' has the wrong type; expected {}, got {}",
                path, key, want, type_name(got));
}

// Integer value of an integer-typed GgufValue, if it fits in int64.
std::optional<int64_t> as_int64(const GgufValue& v) {
    if (!is_integer(v.type)) return std::nullopt;
    if (const auto* u = std::get_if<uint64_t>(&v.v)) {
        if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return static_cast<int64_t>(*u);
    }
    if (const auto* s = std::get_if<int64_t>(&v.v)) return *s;
    return std::nullopt;
}

std::optional<double> as_double(const GgufValue& v) {
    if (v.type == GgufType::Float32 || v.type == GgufType::Float64) return std::get<double>(v.v);
    if (is_integer(v.type)) {
        if (const auto* u = std::get_if<uint64_t>(&v.v)) return static_cast<double>(*u);
        if (const auto* s = std::get_if<int64_t>(&v.v)) return static_cast<double>(*s);
    }
    return std::nullopt;
}

// --- writer helpers ---

void put_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
    put_bytes(out, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, std::string_view s) {
    put<uint64_t>(out, s.size());
    put_bytes(out, s.data(), s.size());
}

uint64_t unsigned_of(const GgufValue& v) {
    if (const auto* u = std::get_if<uint64_t>(&v.v)) return *u;
    if (const auto* s = std::get_if<int64_t>(&v.v)) return static_cast<uint64_t>(*s);
    LYRA_CHECK(false, "GGUF value of type {} holds no integer", type_name(v.type));
    return 0;
}

double double_of(const GgufValue& v) {
    const auto d = as_double(v);
    LYRA_CHECK(d.has_value(), "GGUF value of type {} holds no number", type_name(v.type));
    return *d;
}

void put_value(std::vector<uint8_t>& out, const GgufValue& v) {
    switch (v.type) {
        case GgufType::Uint8:
        case GgufType::Int8: put<uint8_t>(out, static_cast<uint8_t>(unsigned_of(v))); break;
        case GgufType::Uint16:
        case GgufType::Int16: put<uint16_t>(out, static_cast<uint16_t>(unsigned_of(v))); break;
        case GgufType::Uint32:
        case GgufType::Int32: put<uint32_t>(out, static_cast<uint32_t>(unsigned_of(v))); break;
        case GgufType::Uint64:
        case GgufType::Int64: put<uint64_t>(out, unsigned_of(v)); break;
        case GgufType::Float32: put<float>(out, static_cast<float>(double_of(v))); break;
        case GgufType::Float64: put<double>(out, double_of(v)); break;
        case GgufType::Bool: {
            const auto* b = std::get_if<bool>(&v.v);
            LYRA_CHECK(b != nullptr, "GGUF bool value holds no bool");
            put<uint8_t>(out, *b ? 1 : 0);
            break;
        }
        case GgufType::String: {
            const auto* s = std::get_if<std::string>(&v.v);
            LYRA_CHECK(s != nullptr, "GGUF string value holds no string");
            put_string(out, *s);
            break;
        }
        case GgufType::Array: {
            const auto* a = std::get_if<GgufArray>(&v.v);
            LYRA_CHECK(a != nullptr, "GGUF array value holds no array");
            put<uint32_t>(out, static_cast<uint32_t>(a->elem_type));
            put<uint64_t>(out, a->items.size());
            for (const auto& item : a->items) {
                LYRA_CHECK(item.type == a->elem_type, "GGUF array of {} holds a {}",
                           type_name(a->elem_type), type_name(item.type));
                put_value(out, item);
            }
            break;
        }
    }
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

// ------------------------------------------------------------------------------------------
// GgufFile

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
    core::MappedFile mapped(path);
    std::unique_ptr<GgufFile> f(new GgufFile(std::move(mapped)));
    f->parse();
    return f;
}

void GgufFile::parse() {
    const std::string& p = file_.path();
    Cursor cur(file_.data(), file_.size(), p);

    const auto magic = cur.read<uint32_t>("the magic");
    if (magic != kMagic)
        throw_error(ErrorKind::Corrupt,
                    "GGUF file '{}': bad magic; expected 'GGUF' (0x{:08x}), got 0x{:08x}", p,
                    kMagic, magic);
    version_ = cur.read<uint32_t>("the version");
    if (version_ != 2 && version_ != 3) {
        const uint32_t swapped_version = __builtin_bswap32(version_);
        const bool swapped = swapped_version == 2 || swapped_version == 3;
        throw_error(ErrorKind::Unsupported, "GGUF file '{}': unsupported version; expected 2 or 3, got {}{}",
                    p, version_, swapped ? " (a big-endian file?)" : "");
    }
    const auto n_tensors = cur.read<uint64_t>("the tensor count");
    const auto n_kv = cur.read<uint64_t>("the metadata count");
    // A key-value pair takes at least 8 + 4 + 1 bytes; a tensor info at least 8 + 4 + 8 + 4 + 8.
    if (n_kv > cur.remaining() / 13)
        throw_error(ErrorKind::Corrupt,
                    "GGUF file '{}': metadata count larger than the file can hold; expected at "
                    "most {}, got {}",
                    p, cur.remaining() / 13, n_kv);
    if (n_tensors > cur.remaining() / 32)
        throw_error(ErrorKind::Corrupt,
                    "GGUF file '{}': tensor count larger than the file can hold; expected at "
                    "most {}, got {}",
                    p, cur.remaining() / 32, n_tensors);

    uint64_t elements = 0;
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key = cur.read_string("a metadata key");
        if (kv_.count(key))
            throw_error(ErrorKind::Corrupt, "GGUF file '{}': duplicate metadata key '{}'", p, key);
        ValueParser vp{cur, p, key, elements};
        const GgufType t = vp.read_type("a metadata value type");
        GgufValue v = vp.parse(t, 0);
        elements = vp.elements;
        kv_.emplace(std::move(key), std::move(v));
    }

    if (const GgufValue* a = find("general.alignment")) {
        const auto al = as_int64(*a);
        if (!al)
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': general.alignment has the wrong type; expected an "
                        "integer, got {}",
                        p, type_name(a->type));
        if (*al <= 0 || !std::has_single_bit(static_cast<uint64_t>(*al)))
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': general.alignment is not a power of two; expected 1, 2, "
                        "4, ..., got {}",
                        p, *al);
        alignment_ = static_cast<uint64_t>(*al);
    } else {
        alignment_ = kDefaultAlignment;
    }

    struct RawInfo {
        std::string name;
        std::vector<int64_t> ne;
        core::DType dtype;
        uint64_t offset;
        size_t nbytes;
    };
    std::vector<RawInfo> infos;
    infos.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        RawInfo info;
        info.name = cur.read_string("a tensor name");
        const std::string& name = info.name;
        if (tensor_index_.count(name))
            throw_error(ErrorKind::Corrupt, "GGUF file '{}': duplicate tensor name '{}'", p, name);
        tensor_index_.emplace(name, infos.size());
        const auto n_dims = cur.read<uint32_t>("a tensor dimension count");
        if (n_dims == 0 || n_dims > static_cast<uint32_t>(core::kMaxDims))
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': tensor '{}' has a bad dimension count; expected 1..{}, "
                        "got {}",
                        p, name, core::kMaxDims, n_dims);
        uint64_t numel = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const auto ne = cur.read<uint64_t>("a tensor dimension");
            if (ne == 0 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw_error(ErrorKind::Corrupt,
                            "GGUF file '{}': tensor '{}' has a bad dimension ne[{}]; expected "
                            "1..2^63-1, got {}",
                            p, name, d, ne);
            if (__builtin_mul_overflow(numel, ne, &numel) ||
                numel > (uint64_t{1} << 60))
                throw_error(ErrorKind::Corrupt,
                            "GGUF file '{}': tensor '{}' has an element count that overflows; "
                            "expected at most 2^60 elements",
                            p, name);
            info.ne.push_back(static_cast<int64_t>(ne));
        }
        const auto type_id = cur.read<uint32_t>("a tensor type");
        const auto dtype = core::dtype_from_gguf_id(type_id);
        if (!dtype || *dtype == core::DType::Q8_K)
            throw_error(ErrorKind::Unsupported,
                        "GGUF file '{}': tensor '{}' has an unsupported weight type; expected one "
                        "of f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k, i8, i16, i32, got ggml "
                        "type id {}",
                        p, name, type_id);
        info.dtype = *dtype;
        const auto& traits = core::dtype_traits(*dtype);
        if (info.ne[0] % traits.block_size != 0)
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': tensor '{}' has a row length that is not a multiple of "
                        "the {} block size; expected a multiple of {}, got {}",
                        p, name, traits.name, traits.block_size, info.ne[0]);
        // numel <= 2^60 and block_bytes / block_size <= 4, so this cannot overflow.
        info.nbytes = static_cast<size_t>(numel / static_cast<uint64_t>(traits.block_size) *
                                          traits.block_bytes);
        info.offset = cur.read<uint64_t>("a tensor data offset");
        if (info.offset % alignment_ != 0)
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': tensor '{}' has a misaligned data offset; expected a "
                        "multiple of {}, got {}",
                        p, name, alignment_, info.offset);
        infos.push_back(std::move(info));
    }

    const uint64_t data_start = align_up(cur.pos(), alignment_);
    const uint64_t data_size = data_start <= file_.size() ? file_.size() - data_start : 0;
    if (!infos.empty() && data_start > file_.size())
        throw_error(ErrorKind::Corrupt,
                    "GGUF file '{}': truncated before the tensor data section; expected it at "
                    "byte {}, got a {}-byte file",
                    p, data_start, file_.size());
    tensors_.reserve(infos.size());
    for (auto& info : infos) {
        if (info.offset > data_size || info.nbytes > data_size - info.offset)
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': tensor '{}' data is out of bounds; expected bytes "
                        "[{}, {}) within the {}-byte data section",
                        p, info.name, info.offset, info.offset + info.nbytes, data_size);
        GgufTensorInfo t;
        t.name = std::move(info.name);
        t.offset = info.offset;
        t.tensor.dtype = info.dtype;
        t.tensor.n_dims = static_cast<int>(info.ne.size());
        t.tensor.shape = shape_from_gguf_ne(info.ne);
        t.tensor.data = file_.data() + data_start + info.offset;
        tensors_.push_back(std::move(t));
    }
}

const GgufValue* GgufFile::find(std::string_view key) const {
    const auto it = kv_.find(key);
    return it == kv_.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::String) throw_conversion(path(), key, "string", v->type);
    return std::get<std::string>(v->v);
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    const auto i = as_int64(*v);
    if (!i) {
        if (is_integer(v->type))
            throw_error(ErrorKind::Corrupt,
                        "GGUF file '{}': key '{}' does not fit in a signed 64-bit integer; "
                        "expected at most 2^63-1, got {}",
                        path(), key, std::get<uint64_t>(v->v));
        throw_conversion(path(), key, "an integer", v->type);
    }
    return i;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    const auto d = as_double(*v);
    if (!d) throw_conversion(path(), key, "a number", v->type);
    return d;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::Bool) throw_conversion(path(), key, "bool", v->type);
    return std::get<bool>(v->v);
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::Array || std::get<GgufArray>(v->v).elem_type != GgufType::String)
        throw_conversion(path(), key, "array of string", v->type);
    std::vector<std::string> out;
    const auto& items = std::get<GgufArray>(v->v).items;
    out.reserve(items.size());
    for (const auto& item : items) out.push_back(std::get<std::string>(item.v));
    return out;
}

std::optional<std::vector<float>> GgufFile::get_float_array(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::Array) throw_conversion(path(), key, "array of numbers", v->type);
    const auto& a = std::get<GgufArray>(v->v);
    std::vector<float> out;
    out.reserve(a.items.size());
    for (const auto& item : a.items) {
        const auto d = as_double(item);
        if (!d) throw_conversion(path(), key, "array of numbers", a.elem_type);
        out.push_back(static_cast<float>(*d));
    }
    return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::Array) throw_conversion(path(), key, "array of integers", v->type);
    const auto& a = std::get<GgufArray>(v->v);
    std::vector<int64_t> out;
    out.reserve(a.items.size());
    for (const auto& item : a.items) {
        const auto i = as_int64(item);
        if (!i) throw_conversion(path(), key, "array of integers", a.elem_type);
        out.push_back(*i);
    }
    return out;
}

// ------------------------------------------------------------------------------------------
// GgufWriter

void GgufWriter::set(std::string key, GgufValue value) {
    for (auto& [k, v] : kv_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    kv_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::set_string(std::string key, std::string value) {
    set(std::move(key), GgufValue{GgufType::String, std::move(value)});
}
void GgufWriter::set_u32(std::string key, uint32_t value) {
    set(std::move(key), GgufValue{GgufType::Uint32, uint64_t{value}});
}
void GgufWriter::set_i32(std::string key, int32_t value) {
    set(std::move(key), GgufValue{GgufType::Int32, int64_t{value}});
}
void GgufWriter::set_u64(std::string key, uint64_t value) {
    set(std::move(key), GgufValue{GgufType::Uint64, value});
}
void GgufWriter::set_f32(std::string key, float value) {
    set(std::move(key), GgufValue{GgufType::Float32, static_cast<double>(value)});
}
void GgufWriter::set_bool(std::string key, bool value) {
    GgufValue v;
    v.type = GgufType::Bool;
    v.v.emplace<bool>(value);
    set(std::move(key), std::move(v));
}

void GgufWriter::set_string_array(std::string key, const std::vector<std::string>& values) {
    GgufArray a{GgufType::String, {}};
    a.items.reserve(values.size());
    for (const auto& s : values) a.items.push_back(GgufValue{GgufType::String, s});
    set(std::move(key), GgufValue{GgufType::Array, std::move(a)});
}

void GgufWriter::set_f32_array(std::string key, const std::vector<float>& values) {
    GgufArray a{GgufType::Float32, {}};
    a.items.reserve(values.size());
    for (float f : values) a.items.push_back(GgufValue{GgufType::Float32, static_cast<double>(f)});
    set(std::move(key), GgufValue{GgufType::Array, std::move(a)});
}

void GgufWriter::set_i32_array(std::string key, const std::vector<int32_t>& values) {
    GgufArray a{GgufType::Int32, {}};
    a.items.reserve(values.size());
    for (int32_t i : values) a.items.push_back(GgufValue{GgufType::Int32, int64_t{i}});
    set(std::move(key), GgufValue{GgufType::Array, std::move(a)});
}

void GgufWriter::add_tensor(std::string name, const core::Tensor& tensor) {
    LYRA_CHECK(tensor.n_dims >= 1 && tensor.n_dims <= core::kMaxDims,
               "tensor '{}' has {} dims; expected 1..{}", name, tensor.n_dims, core::kMaxDims);
    for (const auto& t : tensors_)
        LYRA_CHECK(t.name != name, "tensor '{}' added twice", name);
    PendingTensor p;
    p.name = std::move(name);
    p.shape_and_type = tensor;
    p.shape_and_type.data = nullptr;
    const size_t n = tensor.nbytes();
    LYRA_CHECK(n == 0 || tensor.data != nullptr, "tensor '{}' has no data", p.name);
    const auto* b = static_cast<const uint8_t*>(tensor.data);
    p.bytes.assign(b, b + n);
    tensors_.push_back(std::move(p));
}

void GgufWriter::write(const std::string& path) const {
    uint64_t alignment = kDefaultAlignment;
    for (const auto& [k, v] : kv_) {
        if (k != "general.alignment") continue;
        const auto a = as_int64(v);
        LYRA_CHECK(a && *a > 0 && std::has_single_bit(static_cast<uint64_t>(*a)),
                   "general.alignment must be a positive power of two");
        alignment = static_cast<uint64_t>(*a);
    }

    std::vector<uint8_t> head;
    put<uint32_t>(head, kMagic);
    put<uint32_t>(head, 3);
    put<uint64_t>(head, tensors_.size());
    put<uint64_t>(head, kv_.size());
    for (const auto& [k, v] : kv_) {
        put_string(head, k);
        put<uint32_t>(head, static_cast<uint32_t>(v.type));
        put_value(head, v);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        put_string(head, t.name);
        const std::vector<int64_t> ne = gguf_ne_from_shape(t.shape_and_type);
        put<uint32_t>(head, static_cast<uint32_t>(ne.size()));
        for (int64_t d : ne) put<uint64_t>(head, static_cast<uint64_t>(d));
        put<uint32_t>(head, static_cast<uint32_t>(t.shape_and_type.dtype));
        put<uint64_t>(head, offset);
        offset = align_up(offset + t.bytes.size(), alignment);
    }

    core::AtomicFile out(path);
    out.write(head.data(), head.size());
    out.pad_to(alignment);
    const size_t data_start = out.bytes_written();
    for (const auto& t : tensors_) {
        LYRA_CHECK((out.bytes_written() - data_start) % alignment == 0, "tensor data misaligned");
        out.write(t.bytes.data(), t.bytes.size());
        out.pad_to(alignment);
    }
    out.commit();
}

}  // namespace lyra::model
