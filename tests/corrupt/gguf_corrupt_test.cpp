// Corrupt-input generator for GGUF: builds a small valid file byte by byte (checked to be
// identical to what GgufWriter writes), then writes one file per named defect and expects
// GgufFile::open to refuse each with the right ErrorKind and a message naming the defect and
// the file. Set LYRA_CORRUPT_OUT=<dir> to keep the files (they seed the fuzzer).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/format/gguf.h"
#include "unit/format/format_test_util.h"

namespace lyra::model {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
void put(Bytes& out, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}
void put_str(Bytes& out, const std::string& s) {
    put<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}
Bytes str_bytes(const std::string& s) {
    Bytes b;
    put_str(b, s);
    return b;
}
Bytes u32_bytes(uint32_t v) {
    Bytes b;
    put(b, v);
    return b;
}

struct RawKv {
    std::string key;
    uint32_t type;
    Bytes value;  // the encoded value after the type
};
struct RawTensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t offset;
    std::optional<uint32_t> n_dims;  // overrides ne.size()
};

// A GGUF file spelled out field by field, so each defect is a one-line change.
struct RawGguf {
    uint32_t magic = 0x46554747;
    uint32_t version = 3;
    std::optional<uint64_t> n_tensors, n_kv;  // override the true counts
    std::vector<RawKv> kvs;
    std::vector<RawTensor> tensors;
    uint64_t pad_alignment = 32;
    Bytes data;
    std::map<std::string, size_t> marks;  // filled by bytes(): offsets of named fields

    Bytes bytes() {
        Bytes b;
        put(b, magic);
        put(b, version);
        put<uint64_t>(b, n_tensors.value_or(tensors.size()));
        put<uint64_t>(b, n_kv.value_or(kvs.size()));
        for (size_t i = 0; i < kvs.size(); ++i) {
            marks["kv" + std::to_string(i)] = b.size();
            put_str(b, kvs[i].key);
            put(b, kvs[i].type);
            marks["kv" + std::to_string(i) + ".value"] = b.size();
            b.insert(b.end(), kvs[i].value.begin(), kvs[i].value.end());
        }
        for (size_t i = 0; i < tensors.size(); ++i) {
            const RawTensor& t = tensors[i];
            marks["tensor" + std::to_string(i)] = b.size();
            put_str(b, t.name);
            put<uint32_t>(b, t.n_dims.value_or(static_cast<uint32_t>(t.ne.size())));
            marks["tensor" + std::to_string(i) + ".ne"] = b.size();
            for (uint64_t d : t.ne) put(b, d);
            put(b, t.type);
            marks["tensor" + std::to_string(i) + ".offset"] = b.size();
            put(b, t.offset);
        }
        marks["header_end"] = b.size();
        while (b.size() % pad_alignment) b.push_back(0);
        marks["data"] = b.size();
        b.insert(b.end(), data.begin(), data.end());
        marks["end"] = b.size();
        return b;
    }
};

constexpr uint32_t kString = 8, kArray = 9, kU32 = 4, kBool = 7;
constexpr uint32_t kF32 = 0, kQ4_0 = 2;

// general.architecture, general.alignment, a string array, a bool; tensors a (f32 [2,3]) and
// b (q4_0 [2,32]).
RawGguf valid_raw() {
    RawGguf g;
    g.kvs.push_back({"general.architecture", kString, str_bytes("test")});
    g.kvs.push_back({"general.alignment", kU32, u32_bytes(32)});
    Bytes arr;
    put<uint32_t>(arr, kString);
    put<uint64_t>(arr, 2);
    put_str(arr, "ab");
    put_str(arr, "c");
    g.kvs.push_back({"tokenizer.ggml.tokens", kArray, arr});
    g.kvs.push_back({"test.flag", kBool, Bytes{1}});
    g.tensors.push_back({"a", {3, 2}, kF32, 0, std::nullopt});
    g.tensors.push_back({"b", {32, 2}, kQ4_0, 32, std::nullopt});
    for (int i = 0; i < 6; ++i) put<float>(g.data, static_cast<float>(i));
    g.data.resize(32, 0);
    for (int i = 0; i < 36; ++i) g.data.push_back(static_cast<uint8_t>(i));
    g.data.resize(96, 0);
    return g;
}

// The same file through GgufWriter.
void write_valid_with_writer(const std::string& path) {
    GgufWriter w;
    w.set_string("general.architecture", "test");
    w.set_u32("general.alignment", 32);
    w.set_string_array("tokenizer.ggml.tokens", {"ab", "c"});
    w.set_bool("test.flag", true);
    std::vector<float> a = {0, 1, 2, 3, 4, 5};
    w.add_tensor("a", core::make_tensor(core::DType::F32, {2, 3}, a.data()));
    std::vector<uint8_t> b(36);
    for (int i = 0; i < 36; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    w.add_tensor("b", core::make_tensor(core::DType::Q4_0, {2, 32}, b.data()));
    w.write(path);
}

struct Defect {
    std::string name;
    std::function<Bytes()> make;
    ErrorKind kind;
    std::string needle;  // must appear in the message
};

Bytes truncated_at(const std::string& mark, int64_t delta) {
    RawGguf g = valid_raw();
    Bytes b = g.bytes();
    const auto n = static_cast<size_t>(static_cast<int64_t>(g.marks.at(mark)) + delta);
    b.resize(n);
    return b;
}

Bytes with(const std::function<void(RawGguf&)>& edit) {
    RawGguf g = valid_raw();
    edit(g);
    return g.bytes();
}

Bytes nested_arrays(int depth) {
    Bytes inner;
    put<uint32_t>(inner, kU32);
    put<uint64_t>(inner, 1);
    put<uint32_t>(inner, 7);
    for (int i = 1; i < depth; ++i) {
        Bytes outer;
        put<uint32_t>(outer, kArray);
        put<uint64_t>(outer, 1);
        outer.insert(outer.end(), inner.begin(), inner.end());
        inner = outer;
    }
    return inner;
}

std::vector<Defect> defects() {
    using K = ErrorKind;
    std::vector<Defect> d = {
        {"empty_file", [] { return Bytes{}; }, K::Corrupt, "truncated while reading the magic"},
        {"bad_magic", [] { return with([](RawGguf& g) { g.magic = 0x46554746; }); }, K::Corrupt,
         "bad magic"},
        {"version_1", [] { return with([](RawGguf& g) { g.version = 1; }); }, K::Unsupported,
         "unsupported version"},
        {"version_99", [] { return with([](RawGguf& g) { g.version = 99; }); }, K::Unsupported,
         "unsupported version"},
        {"version_big_endian", [] { return with([](RawGguf& g) { g.version = 0x03000000; }); },
         K::Unsupported, "big-endian"},
        // Ten truncation points, from the header to the last tensor's bytes.
        {"truncated_in_magic", [] { return truncated_at("kv0", -21); }, K::Corrupt, "truncated"},
        {"truncated_in_version", [] { return truncated_at("kv0", -18); }, K::Corrupt, "truncated"},
        {"truncated_in_counts", [] { return truncated_at("kv0", -3); }, K::Corrupt, "truncated"},
        {"truncated_in_key_length", [] { return truncated_at("kv0", 4); }, K::Corrupt, "truncated"},
        {"truncated_in_key", [] { return truncated_at("kv3", 12); }, K::Corrupt, "string length"},
        {"truncated_in_value_type", [] { return truncated_at("kv1.value", -2); }, K::Corrupt,
         "truncated"},
        {"truncated_in_array", [] { return truncated_at("kv3", -3); }, K::Corrupt, "truncated"},
        {"truncated_in_tensor_dims", [] { return truncated_at("tensor1.ne", 5); }, K::Corrupt,
         "truncated while reading a tensor dimension"},
        {"truncated_in_tensor_offset", [] { return truncated_at("tensor1.offset", 7); },
         K::Corrupt, "truncated while reading a tensor data offset"},
        {"truncated_before_data", [] { return truncated_at("header_end", 0); }, K::Corrupt,
         "truncated before the tensor data section"},
        {"truncated_in_data", [] { return truncated_at("end", -40); }, K::Corrupt, "out of bounds"},
        {"kv_count_huge", [] { return with([](RawGguf& g) { g.n_kv = uint64_t{1} << 60; }); },
         K::Corrupt, "metadata count"},
        {"tensor_count_huge", [] { return with([](RawGguf& g) { g.n_tensors = ~uint64_t{0}; }); },
         K::Corrupt, "tensor count"},
        {"tensor_count_one_too_many", [] { return with([](RawGguf& g) { g.n_tensors = 3; }); },
         K::Corrupt, ""},
        {"key_length_huge",
         [] {
             RawGguf g = valid_raw();
             Bytes b = g.bytes();
             const uint64_t huge = uint64_t{1} << 62;
             std::memcpy(b.data() + g.marks.at("kv1"), &huge, 8);
             return b;
         },
         K::Corrupt, "string length of a metadata key"},
        {"string_length_huge",
         [] {
             return with([](RawGguf& g) {
                 g.kvs[0].value.clear();
                 put<uint64_t>(g.kvs[0].value, ~uint64_t{0} - 4);
                 put<uint32_t>(g.kvs[0].value, 0);
             });
         },
         K::Corrupt, "string length of a string value"},
        {"tensor_name_length_huge",
         [] {
             RawGguf g = valid_raw();
             Bytes b = g.bytes();
             const uint64_t huge = uint64_t{1} << 40;
             std::memcpy(b.data() + g.marks.at("tensor1"), &huge, 8);
             return b;
         },
         K::Corrupt, "string length of a tensor name"},
        {"array_count_huge",
         [] {
             return with([](RawGguf& g) {
                 std::memset(g.kvs[2].value.data() + 4, 0xff, 8);  // the count
             });
         },
         K::Corrupt, "array count"},
        {"array_count_one_too_many",
         [] {
             return with([](RawGguf& g) {
                 g.kvs[2].value[4] = 3;  // 3 strings declared, 2 present: reads into the next key
             });
         },
         K::Corrupt, ""},
        {"arrays_nested_too_deep",
         [] { return with([](RawGguf& g) { g.kvs.push_back({"deep", kArray, nested_arrays(12)}); }); },
         K::Corrupt, "nests arrays too deeply"},
        {"unknown_value_type",
         [] { return with([](RawGguf& g) { g.kvs[3].type = 13; }); }, K::Corrupt,
         "unknown value type"},
        {"unknown_array_element_type",
         [] { return with([](RawGguf& g) { g.kvs[2].value[0] = 99; }); }, K::Corrupt,
         "unknown value type"},
        {"bool_not_0_or_1", [] { return with([](RawGguf& g) { g.kvs[3].value[0] = 2; }); },
         K::Corrupt, "bool byte"},
        {"duplicate_key",
         [] { return with([](RawGguf& g) { g.kvs[3].key = "general.architecture"; }); },
         K::Corrupt, "duplicate metadata key 'general.architecture'"},
        {"alignment_3",
         [] { return with([](RawGguf& g) { g.kvs[1].value = u32_bytes(3); }); }, K::Corrupt,
         "not a power of two"},
        {"alignment_0",
         [] { return with([](RawGguf& g) { g.kvs[1].value = u32_bytes(0); }); }, K::Corrupt,
         "not a power of two"},
        {"alignment_is_a_string",
         [] {
             return with([](RawGguf& g) {
                 g.kvs[1].type = kString;
                 g.kvs[1].value = str_bytes("32");
             });
         },
         K::Corrupt, "general.alignment has the wrong type"},
        {"duplicate_tensor_name", [] { return with([](RawGguf& g) { g.tensors[1].name = "a"; }); },
         K::Corrupt, "duplicate tensor name 'a'"},
        {"n_dims_0", [] { return with([](RawGguf& g) { g.tensors[0].n_dims = 0; }); }, K::Corrupt,
         "bad dimension count"},
        {"n_dims_5",
         [] { return with([](RawGguf& g) { g.tensors[0].ne = {3, 2, 1, 1, 1}; }); }, K::Corrupt,
         "bad dimension count"},
        {"zero_dim", [] { return with([](RawGguf& g) { g.tensors[0].ne = {3, 0}; }); },
         K::Corrupt, "bad dimension ne[1]"},
        {"dim_above_int64",
         [] { return with([](RawGguf& g) { g.tensors[0].ne = {3, uint64_t{1} << 63}; }); },
         K::Corrupt, "bad dimension"},
        {"shape_overflow",
         [] {
             return with([](RawGguf& g) {
                 g.tensors[0].ne = {uint64_t{1} << 32, uint64_t{1} << 32, uint64_t{1} << 32};
             });
         },
         K::Corrupt, "overflows"},
        {"unknown_ggml_type", [] { return with([](RawGguf& g) { g.tensors[0].type = 9999; }); },
         K::Unsupported, "unsupported weight type"},
        {"unsupported_ggml_type_q2_k",
         [] { return with([](RawGguf& g) { g.tensors[0].type = 10; }); }, K::Unsupported,
         "ggml type id 10"},
        {"q8_k_in_file", [] { return with([](RawGguf& g) { g.tensors[1].type = 15; }); },
         K::Unsupported, "unsupported weight type"},
        {"q4_0_row_not_multiple_of_32",
         [] { return with([](RawGguf& g) { g.tensors[1].ne = {16, 4}; }); }, K::Corrupt,
         "not a multiple of the q4_0 block size"},
        {"tensor_offset_past_end",
         [] { return with([](RawGguf& g) { g.tensors[1].offset = 4096; }); }, K::Corrupt,
         "'b' data is out of bounds"},
        {"tensor_offset_wraps_around",
         [] { return with([](RawGguf& g) { g.tensors[1].offset = ~uint64_t{0} - 31; }); },
         K::Corrupt, "out of bounds"},
        {"tensor_size_past_end",
         [] { return with([](RawGguf& g) { g.tensors[1].ne = {64, 4}; }); }, K::Corrupt,
         "out of bounds"},
        {"misaligned_tensor_offset",
         [] { return with([](RawGguf& g) { g.tensors[1].offset = 36; }); }, K::Corrupt,
         "misaligned data offset"},
    };
    return d;
}

class GgufCorrupt : public ::testing::TestWithParam<Defect> {};

TEST(GgufCorruptGenerator, RawBuilderMatchesGgufWriterByteForByte) {
    testing_util::TempDir dir;
    write_valid_with_writer(dir.file("writer.gguf"));
    RawGguf g = valid_raw();
    EXPECT_EQ(testing_util::read_bytes(dir.file("writer.gguf")), g.bytes());
    testing_util::write_bytes(dir.file("raw.gguf"), g.bytes());
    if (const char* keep = std::getenv("LYRA_CORRUPT_OUT"))
        testing_util::write_bytes(std::string(keep) + "/valid.gguf", g.bytes());
    const auto f = GgufFile::open(dir.file("raw.gguf"));
    EXPECT_EQ(f->tensors().size(), 2u);
    EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"ab", "c"}));
}

TEST_P(GgufCorrupt, IsRefusedWithTheRightKindAndMessage) {
    const Defect& d = GetParam();
    testing_util::TempDir dir;
    const std::string path = dir.file(d.name + ".gguf");
    const Bytes bytes = d.make();
    testing_util::write_bytes(path, bytes);
    if (const char* keep = std::getenv("LYRA_CORRUPT_OUT"))
        testing_util::write_bytes(std::string(keep) + "/" + d.name + ".gguf", bytes);
    try {
        (void)GgufFile::open(path);
        FAIL() << d.name << ": opened without error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(e.kind(), d.kind) << d.name << ": " << msg;
        EXPECT_NE(msg.find(d.needle), std::string::npos)
            << d.name << ": message lacks '" << d.needle << "': " << msg;
        EXPECT_NE(msg.find(path), std::string::npos) << d.name << ": message lacks the path";
    }
}

INSTANTIATE_TEST_SUITE_P(Defects, GgufCorrupt, ::testing::ValuesIn(defects()),
                         [](const ::testing::TestParamInfo<Defect>& p) { return p.param.name; });

}  // namespace
}  // namespace lyra::model
