// Corrupt-input generator for safetensors: one file per named defect, each must be refused by
// SafetensorsFile::open (or SafetensorsModel::open_dir for index defects) with the right
// ErrorKind and a message naming the defect. LYRA_CORRUPT_OUT=<dir> keeps the files.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/format/safetensors.h"
#include "unit/format/format_test_util.h"

namespace lyra::model {
namespace {

using Bytes = std::vector<uint8_t>;
using testing_util::make_safetensors;

Bytes data_bytes(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i);
    return b;
}

struct StDefect {
    std::string name;
    Bytes bytes;
    ErrorKind kind;
    std::string needle;
};

Bytes with_header(const std::string& header, size_t data = 24) {
    return make_safetensors(header, data_bytes(data));
}

std::vector<StDefect> st_defects() {
    using K = ErrorKind;
    const std::string ok = R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
    Bytes huge_size = with_header("{" + ok + "}");
    huge_size[7] = 0x7f;
    Bytes size_past_end = with_header("{" + ok + "}");
    size_past_end[1] = static_cast<uint8_t>(size_past_end[1] + 1);  // +256 bytes
    std::string deep;
    for (int i = 0; i < 40; ++i) deep += "[";
    for (int i = 0; i < 40; ++i) deep += "]";
    return {
        {"empty_file", {}, K::Corrupt, "truncated header size"},
        {"header_size_only_4_bytes", Bytes{1, 0, 0, 0}, K::Corrupt, "truncated header size"},
        {"header_size_huge", huge_size, K::Corrupt, "header size is larger than the file"},
        {"header_size_past_end", size_past_end, K::Corrupt, "header size is larger than the file"},
        {"bad_json", with_header("{" + ok + ","), K::Corrupt, "bad JSON header"},
        {"json_not_utf8", with_header("{\"\xff\xfe\":1}"), K::Corrupt, "bad JSON header"},
        {"header_not_object", with_header("[1,2]"), K::Corrupt, "not a JSON object"},
        {"json_nested_too_deep", with_header("{\"a\":" + deep + "}"), K::Corrupt, "nests too deeply"},
        {"metadata_not_object", with_header("{\"__metadata__\":3," + ok + "}"), K::Corrupt,
         "__metadata__ is not an object"},
        {"metadata_value_not_string", with_header("{\"__metadata__\":{\"k\":1}," + ok + "}"),
         K::Corrupt, "__metadata__ value 'k'"},
        {"tensor_not_object", with_header(R"({"a":5})"), K::Corrupt, "lacks fields"},
        {"tensor_missing_offsets", with_header(R"({"a":{"dtype":"F32","shape":[6]}})"), K::Corrupt,
         "lacks fields"},
        {"dtype_not_string", with_header(R"({"a":{"dtype":1,"shape":[6],"data_offsets":[0,24]}})"),
         K::Corrupt, "bad dtype"},
        {"unknown_dtype", with_header(R"({"a":{"dtype":"F99","shape":[6],"data_offsets":[0,24]}})"),
         K::Unsupported, "unknown dtype"},
        {"shape_not_array", with_header(R"({"a":{"dtype":"F32","shape":6,"data_offsets":[0,24]}})"),
         K::Corrupt, "bad shape"},
        {"negative_dim", with_header(R"({"a":{"dtype":"F32","shape":[-6],"data_offsets":[0,24]}})"),
         K::Corrupt, "bad shape dimension"},
        {"float_dim", with_header(R"({"a":{"dtype":"F32","shape":[6.5],"data_offsets":[0,24]}})"),
         K::Corrupt, "bad shape dimension"},
        {"shape_overflow",
         with_header(
             R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,24]}})"),
         K::Corrupt, "overflows"},
        {"offsets_wrong_length",
         with_header(R"({"a":{"dtype":"F32","shape":[6],"data_offsets":[0]}})"), K::Corrupt,
         "bad data_offsets"},
        {"offsets_negative",
         with_header(R"({"a":{"dtype":"F32","shape":[6],"data_offsets":[-4,20]}})"), K::Corrupt,
         "bad data offset"},
        {"offsets_reversed",
         with_header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[24,0]}})"), K::Corrupt,
         "out of bounds"},
        {"offsets_past_end",
         with_header(R"({"a":{"dtype":"F32","shape":[6],"data_offsets":[4,28]}})"), K::Corrupt,
         "out of bounds"},
        {"offsets_huge",
         with_header(
             R"({"a":{"dtype":"F32","shape":[6],"data_offsets":[18446744073709551600,18446744073709551615]}})"),
         K::Corrupt, "out of bounds"},
        {"size_mismatch", with_header(R"({"a":{"dtype":"F32","shape":[5],"data_offsets":[0,24]}})"),
         K::Corrupt, "does not match its shape"},
        {"bf16_size_mismatch",
         with_header(R"({"a":{"dtype":"BF16","shape":[6],"data_offsets":[0,24]}})"), K::Corrupt,
         "expected 12 bytes, got 24"},
        {"overlap",
         with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})"),
         K::Corrupt, "overlap"},
        {"duplicate_name",
         with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"),
         K::Corrupt, "duplicate tensor name 'a'"},
    };
}

TEST(SafetensorsCorruptGenerator, TheBaseFileIsValid) {
    testing_util::TempDir dir;
    const Bytes ok = make_safetensors(
        R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
        R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},"c":{"dtype":"I64","shape":[],"data_offsets":[28,36]}})",
        data_bytes(36));
    testing_util::write_bytes(dir.file("ok.safetensors"), ok);
    if (const char* keep = std::getenv("LYRA_CORRUPT_OUT"))
        testing_util::write_bytes(std::string(keep) + "/valid.safetensors", ok);
    const auto f = SafetensorsFile::open(dir.file("ok.safetensors"));
    EXPECT_EQ(f->entries().size(), 3u);
}

class SafetensorsCorrupt : public ::testing::TestWithParam<StDefect> {};

TEST_P(SafetensorsCorrupt, IsRefusedWithTheRightKindAndMessage) {
    const StDefect& d = GetParam();
    testing_util::TempDir dir;
    const std::string path = dir.file(d.name + ".safetensors");
    testing_util::write_bytes(path, d.bytes);
    if (const char* keep = std::getenv("LYRA_CORRUPT_OUT"))
        testing_util::write_bytes(std::string(keep) + "/" + d.name + ".safetensors", d.bytes);
    try {
        (void)SafetensorsFile::open(path);
        FAIL() << d.name << ": opened without error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(e.kind(), d.kind) << d.name << ": " << msg;
        EXPECT_NE(msg.find(d.needle), std::string::npos)
            << d.name << ": message lacks '" << d.needle << "': " << msg;
        EXPECT_NE(msg.find(path), std::string::npos) << d.name << ": message lacks the path";
    }
}

INSTANTIATE_TEST_SUITE_P(Defects, SafetensorsCorrupt, ::testing::ValuesIn(st_defects()),
                         [](const ::testing::TestParamInfo<StDefect>& p) { return p.param.name; });

// Index defects need a directory, not one file.
void expect_index_refused(const std::string& index_json, const std::string& needle) {
    testing_util::TempDir dir;
    testing_util::write_bytes(
        dir.file("a.safetensors"),
        make_safetensors(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data_bytes(4)));
    testing_util::write_bytes(
        dir.file("b.safetensors"),
        make_safetensors(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data_bytes(4)));
    core::write_file_atomic(dir.file("model.safetensors.index.json"), index_json);
    try {
        (void)SafetensorsModel::open_dir(dir.path());
        ADD_FAILURE() << "index " << index_json << " opened without error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(SafetensorsIndexCorrupt, BadJson) { expect_index_refused("{", "bad JSON"); }
TEST(SafetensorsIndexCorrupt, NoWeightMap) { expect_index_refused("{}", "no weight_map"); }
TEST(SafetensorsIndexCorrupt, ShardOutsideTheDirectory) {
    expect_index_refused(R"({"weight_map":{"x":"../a.safetensors"}})", "not a plain file name");
}
TEST(SafetensorsIndexCorrupt, ShardNameNotAString) {
    expect_index_refused(R"({"weight_map":{"x":1}})", "non-string");
}
TEST(SafetensorsIndexCorrupt, TensorInTwoShards) {
    expect_index_refused(R"({"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})",
                         "more than one shard");
}
TEST(SafetensorsIndexCorrupt, MissingShardIsNotFound) {
    testing_util::TempDir dir;
    core::write_file_atomic(dir.file("model.safetensors.index.json"),
                            R"({"weight_map":{"x":"gone.safetensors"}})");
    try {
        (void)SafetensorsModel::open_dir(dir.path());
        FAIL() << "expected NotFound";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NotFound) << e.what();
    }
}

}  // namespace
}  // namespace lyra::model
