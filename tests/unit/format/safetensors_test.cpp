#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/half.h"
#include "format_test_util.h"
#include "model/format/safetensors.h"

namespace lyra::model {
namespace {

using testing_util::make_safetensors;
using testing_util::TempDir;
using testing_util::write_bytes;

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

// Two tensors: w (F32 [2, 3]) at [0, 24), h (F16 [2]) at [24, 28), scalar s (BF16) at [28, 30),
// and an I64 buffer at [30, 38).
std::vector<uint8_t> sample_file() {
    std::vector<uint8_t> data = f32_bytes({1, 2, 3, 4, 5, 6});
    for (float f : {0.5f, -2.0f}) {
        const uint16_t h = core::fp32_to_fp16(f);
        data.push_back(static_cast<uint8_t>(h));
        data.push_back(static_cast<uint8_t>(h >> 8));
    }
    const uint16_t b = core::fp32_to_bf16(3.0f);
    data.push_back(static_cast<uint8_t>(b));
    data.push_back(static_cast<uint8_t>(b >> 8));
    for (int i = 0; i < 8; ++i) data.push_back(i == 0 ? 7 : 0);
    const std::string header = R"({"__metadata__":{"format":"pt"},)"
                               R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                               R"("h":{"dtype":"F16","shape":[2],"data_offsets":[24,28]},)"
                               R"("s":{"dtype":"BF16","shape":[],"data_offsets":[28,30]},)"
                               R"("ids":{"dtype":"I64","shape":[1],"data_offsets":[30,38]}})";
    return make_safetensors(header, data);
}

TEST(SafetensorsFile, ReadsTensorsMetadataAndValues) {
    TempDir dir;
    write_bytes(dir.file("m.safetensors"), sample_file());
    const auto f = SafetensorsFile::open(dir.file("m.safetensors"));
    EXPECT_EQ(f->metadata().at("format"), "pt");
    ASSERT_EQ(f->entries().size(), 4u);
    EXPECT_EQ(f->entries()[0].name, "h");  // sorted by name

    const core::Tensor w = f->tensor("w");
    EXPECT_EQ(w.dtype, core::DType::F32);
    EXPECT_EQ(w.n_dims, 2);
    EXPECT_EQ(w.dim(0), 2);
    EXPECT_EQ(w.dim(1), 3);
    EXPECT_EQ(safetensors_to_f32(*f->find("w")), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(safetensors_to_f32(*f->find("h")), (std::vector<float>{0.5f, -2.0f}));
    EXPECT_EQ(safetensors_to_f32(*f->find("s")), (std::vector<float>{3.0f}));
    EXPECT_EQ(f->tensor("s").n_dims, 1);  // a scalar becomes [1]
    EXPECT_EQ(f->find("ids")->dtype_name, "I64");
    EXPECT_FALSE(f->find("ids")->dtype.has_value());
}

TEST(SafetensorsFile, ReportsUnsupportedDtypeOnlyWhenUsed) {
    TempDir dir;
    write_bytes(dir.file("m.safetensors"), sample_file());
    const auto f = SafetensorsFile::open(dir.file("m.safetensors"));
    try {
        (void)f->tensor("ids");
        FAIL() << "expected Unsupported";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
        EXPECT_NE(std::string(e.what()).find("I64"), std::string::npos) << e.what();
    }
    try {
        (void)f->tensor("nope");
        FAIL() << "expected NotFound";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    }
}

TEST(SafetensorsModel, OpensASingleFileDirectory) {
    TempDir dir;
    write_bytes(dir.file("model.safetensors"), sample_file());
    const auto m = SafetensorsModel::open_dir(dir.path());
    EXPECT_EQ(m.names(), (std::vector<std::string>{"h", "ids", "s", "w"}));
    EXPECT_TRUE(m.has("w"));
    EXPECT_EQ(m.get("w").shape, (std::vector<int64_t>{2, 3}));
}

TEST(SafetensorsModel, JoinsShardsThroughTheIndex) {
    TempDir dir;
    write_bytes(dir.file("a.safetensors"),
                make_safetensors(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                 f32_bytes({1.5f})));
    write_bytes(dir.file("b.safetensors"),
                make_safetensors(R"({"y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                 f32_bytes({2.5f, 3.5f})));
    core::write_file_atomic(dir.file("model.safetensors.index.json"),
                            R"({"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
    const auto m = SafetensorsModel::open_dir(dir.path());
    EXPECT_EQ(m.names(), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(safetensors_to_f32(m.get("y")), (std::vector<float>{2.5f, 3.5f}));
}

TEST(SafetensorsModel, RefusesAnIndexThatMapsATensorToTheWrongShard) {
    TempDir dir;
    write_bytes(dir.file("a.safetensors"),
                make_safetensors(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                 f32_bytes({1.5f})));
    core::write_file_atomic(dir.file("model.safetensors.index.json"),
                            R"({"weight_map":{"x":"a.safetensors","z":"a.safetensors"}})");
    try {
        (void)SafetensorsModel::open_dir(dir.path());
        FAIL() << "expected Corrupt";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
        EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
    }
}

TEST(SafetensorsModel, MissingWeightsAreNotFound) {
    TempDir dir;
    try {
        (void)SafetensorsModel::open_dir(dir.path());
        FAIL() << "expected NotFound";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    }
}

}  // namespace
}  // namespace lyra::model
