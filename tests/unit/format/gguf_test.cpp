#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "format_test_util.h"
#include "model/format/gguf.h"
#include "model/format/shape_order.h"

namespace lyra::model {
namespace {

using testing_util::TempDir;

GgufValue make(GgufType t, uint64_t u) { return GgufValue{t, u}; }
GgufValue make_signed(GgufType t, int64_t i) { return GgufValue{t, i}; }
GgufValue make_double(GgufType t, double d) { return GgufValue{t, d}; }
GgufValue make_bool(bool b) {
    GgufValue v;
    v.type = GgufType::Bool;
    v.v.emplace<bool>(b);
    return v;
}
GgufValue make_array(GgufType elem, std::vector<GgufValue> items) {
    return GgufValue{GgufType::Array, GgufArray{elem, std::move(items)}};
}

// Structural equality of two values, with a path for the failure message.
void expect_same(const GgufValue& a, const GgufValue& b, const std::string& where) {
    ASSERT_EQ(a.type, b.type) << where;
    ASSERT_EQ(a.v.index(), b.v.index()) << where;
    if (const auto* arr = std::get_if<GgufArray>(&a.v)) {
        const auto& brr = std::get<GgufArray>(b.v);
        ASSERT_EQ(arr->elem_type, brr.elem_type) << where;
        ASSERT_EQ(arr->items.size(), brr.items.size()) << where;
        for (size_t i = 0; i < arr->items.size(); ++i)
            expect_same(arr->items[i], brr.items[i], where + "[" + std::to_string(i) + "]");
    } else if (const auto* u = std::get_if<uint64_t>(&a.v)) {
        EXPECT_EQ(*u, std::get<uint64_t>(b.v)) << where;
    } else if (const auto* i = std::get_if<int64_t>(&a.v)) {
        EXPECT_EQ(*i, std::get<int64_t>(b.v)) << where;
    } else if (const auto* d = std::get_if<double>(&a.v)) {
        EXPECT_EQ(*d, std::get<double>(b.v)) << where;
    } else if (const auto* f = std::get_if<bool>(&a.v)) {
        EXPECT_EQ(*f, std::get<bool>(b.v)) << where;
    } else {
        EXPECT_EQ(std::get<std::string>(a.v), std::get<std::string>(b.v)) << where;
    }
}

std::vector<std::pair<std::string, GgufValue>> every_value_type() {
    return {
        {"t.u8", make(GgufType::Uint8, 255)},
        {"t.i8", make_signed(GgufType::Int8, -128)},
        {"t.u16", make(GgufType::Uint16, 65535)},
        {"t.i16", make_signed(GgufType::Int16, -32768)},
        {"t.u32", make(GgufType::Uint32, 4000000000u)},
        {"t.i32", make_signed(GgufType::Int32, -2000000000)},
        {"t.f32", make_double(GgufType::Float32, 0.15625)},
        {"t.bool", make_bool(true)},
        {"t.string", GgufValue{GgufType::String, std::string("h\xc3\xa9llo\nworld")}},
        {"t.empty_string", GgufValue{GgufType::String, std::string()}},
        {"t.u64", make(GgufType::Uint64, std::numeric_limits<uint64_t>::max())},
        {"t.i64", make_signed(GgufType::Int64, std::numeric_limits<int64_t>::min())},
        {"t.f64", make_double(GgufType::Float64, 1.0 / 3.0)},
        {"t.arr_u8", make_array(GgufType::Uint8, {make(GgufType::Uint8, 1), make(GgufType::Uint8, 2)})},
        {"t.arr_bool", make_array(GgufType::Bool, {make_bool(false), make_bool(true)})},
        {"t.arr_empty", make_array(GgufType::Float32, {})},
        {"t.arr_str", make_array(GgufType::String, {GgufValue{GgufType::String, std::string("a")},
                                                    GgufValue{GgufType::String, std::string("")}})},
        {"t.arr_nested",
         make_array(GgufType::Array,
                    {make_array(GgufType::Int16, {make_signed(GgufType::Int16, -3)}),
                     make_array(GgufType::Array,
                                {make_array(GgufType::Float64, {make_double(GgufType::Float64, 2.5)})})})},
    };
}

TEST(GgufWriter, RoundTripsEveryValueType) {
    TempDir dir;
    GgufWriter w;
    const auto values = every_value_type();
    for (const auto& [k, v] : values) w.set(k, v);
    w.write(dir.file("v.gguf"));

    const auto f = GgufFile::open(dir.file("v.gguf"));
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->metadata().size(), values.size());
    for (const auto& [k, v] : values) {
        const GgufValue* got = f->find(k);
        ASSERT_NE(got, nullptr) << k;
        expect_same(*got, v, k);
    }
    EXPECT_TRUE(f->tensors().empty());
}

TEST(GgufWriter, ConvenienceSettersStoreTheDeclaredTypes) {
    TempDir dir;
    GgufWriter w;
    w.set_string("s", "text");
    w.set_u32("u32", 7);
    w.set_i32("i32", -7);
    w.set_u64("u64", 1ull << 40);
    w.set_f32("f32", 0.5f);
    w.set_bool("b", false);
    w.set_string_array("sa", {"x", "yz"});
    w.set_f32_array("fa", {1.5f, -2.0f});
    w.set_i32_array("ia", {-1, 0, 1});
    w.set_u32("u32", 8);  // a second set replaces, never duplicates
    w.write(dir.file("s.gguf"));

    const auto f = GgufFile::open(dir.file("s.gguf"));
    EXPECT_EQ(f->metadata().size(), 9u);
    EXPECT_EQ(f->find("u32")->type, GgufType::Uint32);
    EXPECT_EQ(f->find("i32")->type, GgufType::Int32);
    EXPECT_EQ(f->find("u64")->type, GgufType::Uint64);
    EXPECT_EQ(f->find("f32")->type, GgufType::Float32);
    EXPECT_EQ(std::get<GgufArray>(f->find("ia")->v).elem_type, GgufType::Int32);
    EXPECT_EQ(f->get_string("s"), "text");
    EXPECT_EQ(f->get_int("u32"), 8);
    EXPECT_EQ(f->get_int("i32"), -7);
    EXPECT_EQ(f->get_int("u64"), int64_t{1} << 40);
    EXPECT_EQ(f->get_float("f32"), 0.5);
    EXPECT_EQ(f->get_bool("b"), false);
    EXPECT_EQ(f->get_string_array("sa"), (std::vector<std::string>{"x", "yz"}));
    EXPECT_EQ(f->get_float_array("fa"), (std::vector<float>{1.5f, -2.0f}));
    EXPECT_EQ(f->get_int_array("ia"), (std::vector<int64_t>{-1, 0, 1}));
}

TEST(GgufFile, GettersConvertBetweenCompatibleTypes) {
    TempDir dir;
    GgufWriter w;
    for (const auto& [k, v] : every_value_type()) w.set(k, v);
    w.write(dir.file("g.gguf"));
    const auto f = GgufFile::open(dir.file("g.gguf"));

    EXPECT_EQ(f->get_int("t.u8"), 255);
    EXPECT_EQ(f->get_int("t.i8"), -128);
    EXPECT_EQ(f->get_int("t.u32"), 4000000000);
    EXPECT_EQ(f->get_int("t.i64"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(f->get_float("t.i16"), -32768.0);  // integers widen to float
    EXPECT_EQ(f->get_float("t.f64"), 1.0 / 3.0);
    EXPECT_EQ(f->get_int_array("t.arr_u8"), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(f->get_float_array("t.arr_u8"), (std::vector<float>{1.0f, 2.0f}));
    EXPECT_FALSE(f->get_int("absent").has_value());
    EXPECT_FALSE(f->get_string_array("absent").has_value());
    EXPECT_TRUE(f->has("t.bool"));
    EXPECT_FALSE(f->has("t.nope"));
}

TEST(GgufFile, GettersRefuseIncompatibleTypesWithCorrupt) {
    TempDir dir;
    GgufWriter w;
    for (const auto& [k, v] : every_value_type()) w.set(k, v);
    w.write(dir.file("g.gguf"));
    const auto f = GgufFile::open(dir.file("g.gguf"));

    auto expect_corrupt = [](auto fn, const std::string& needle) {
        try {
            fn();
            ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect_corrupt([&] { (void)f->get_string("t.u8"); }, "t.u8");
    expect_corrupt([&] { (void)f->get_int("t.f32"); }, "wrong type");
    expect_corrupt([&] { (void)f->get_int("t.u64"); }, "does not fit");
    expect_corrupt([&] { (void)f->get_float("t.string"); }, "wrong type");
    expect_corrupt([&] { (void)f->get_bool("t.u8"); }, "wrong type");
    expect_corrupt([&] { (void)f->get_string_array("t.arr_u8"); }, "array of string");
    expect_corrupt([&] { (void)f->get_int_array("t.arr_str"); }, "array of integers");
    expect_corrupt([&] { (void)f->get_float_array("t.string"); }, "array of numbers");
}

struct DTypeCase {
    core::DType dtype;
    std::vector<int64_t> shape;  // PyTorch order
};

TEST(GgufWriter, RoundTripsTensorsOfEveryDtypeAndRank) {
    using core::DType;
    const std::vector<DTypeCase> cases = {
        {DType::F32, {5}},          {DType::F32, {2, 3, 4, 5}}, {DType::F16, {3, 7}},
        {DType::BF16, {2, 1, 9}},   {DType::Q8_0, {3, 64}},     {DType::Q4_0, {2, 32}},
        {DType::Q4_K, {2, 256}},    {DType::Q5_K, {1, 512}},    {DType::Q6_K, {3, 256}},
        {DType::I32, {4}},
    };
    std::mt19937 rng(1234);
    std::vector<std::vector<uint8_t>> payloads;
    GgufWriter w;
    w.set_string("general.architecture", "test");
    for (size_t i = 0; i < cases.size(); ++i) {
        core::Tensor t;
        t.dtype = cases[i].dtype;
        for (int64_t d : cases[i].shape) t.shape[static_cast<size_t>(t.n_dims++)] = d;
        std::vector<uint8_t> bytes(t.nbytes());
        for (auto& b : bytes) b = static_cast<uint8_t>(rng());
        t.data = bytes.data();
        w.add_tensor("t" + std::to_string(i), t);
        payloads.push_back(std::move(bytes));
    }
    TempDir dir;
    w.write(dir.file("t.gguf"));
    payloads.push_back({});  // the writer copied the bytes: freeing ours must not matter

    const auto f = GgufFile::open(dir.file("t.gguf"));
    ASSERT_EQ(f->tensors().size(), cases.size());
    const auto* base = static_cast<const uint8_t*>(f->tensors()[0].tensor.data);
    for (size_t i = 0; i < cases.size(); ++i) {
        const GgufTensorInfo* info = f->find_tensor("t" + std::to_string(i));
        ASSERT_NE(info, nullptr);
        EXPECT_EQ(&f->tensors()[i], info) << "tensors keep file order";
        const core::Tensor& t = info->tensor;
        EXPECT_EQ(t.dtype, cases[i].dtype);
        ASSERT_EQ(t.n_dims, static_cast<int>(cases[i].shape.size()));
        for (int d = 0; d < t.n_dims; ++d) EXPECT_EQ(t.dim(d), cases[i].shape[static_cast<size_t>(d)]);
        EXPECT_EQ(info->offset % 32, 0u);
        EXPECT_EQ(static_cast<const uint8_t*>(t.data) - base, static_cast<ptrdiff_t>(info->offset));
        ASSERT_EQ(t.nbytes(), payloads[i].size());
        EXPECT_EQ(std::memcmp(t.data, payloads[i].data(), t.nbytes()), 0) << "tensor " << i;
    }
    EXPECT_EQ(f->find_tensor("missing"), nullptr);
}

TEST(GgufWriter, HonoursCustomAlignmentForDataStartAndOffsets) {
    TempDir dir;
    GgufWriter w;
    w.set_u32("general.alignment", 64);
    std::vector<float> a(3, 1.0f), b(5, 2.0f);
    w.add_tensor("a", core::make_tensor(core::DType::F32, {3}, a.data()));
    w.add_tensor("b", core::make_tensor(core::DType::F32, {5}, b.data()));
    w.write(dir.file("a.gguf"));

    const auto f = GgufFile::open(dir.file("a.gguf"));
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->find_tensor("a")->offset, 0u);
    EXPECT_EQ(f->find_tensor("b")->offset, 64u);
    const auto bytes = testing_util::read_bytes(dir.file("a.gguf"));
    const auto* first = static_cast<const uint8_t*>(f->find_tensor("a")->tensor.data);
    // The mapping is page aligned, so the data address modulo 64 is its file offset modulo 64.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
    EXPECT_EQ(f->find_tensor("b")->tensor.f32()[4], 2.0f);
    EXPECT_EQ(bytes.size() % 64, 0u);
}

TEST(GgufWriter, StoresDimsInnermostFirstOnDisk) {
    // A [2, 3] PyTorch-order weight is ne = {3, 2} in the file.
    TempDir dir;
    GgufWriter w;
    std::vector<float> x(6, 0.0f);
    w.add_tensor("w", core::make_tensor(core::DType::F32, {2, 3}, x.data()));
    w.write(dir.file("d.gguf"));
    const auto bytes = testing_util::read_bytes(dir.file("d.gguf"));
    // header 24 bytes, then name (8 + 1), n_dims (4), ne[0], ne[1].
    uint32_t n_dims = 0;
    uint64_t ne0 = 0, ne1 = 0;
    std::memcpy(&n_dims, bytes.data() + 24 + 9, 4);
    std::memcpy(&ne0, bytes.data() + 24 + 9 + 4, 8);
    std::memcpy(&ne1, bytes.data() + 24 + 9 + 12, 8);
    EXPECT_EQ(n_dims, 2u);
    EXPECT_EQ(ne0, 3u);
    EXPECT_EQ(ne1, 2u);
}

TEST(GgufWriter, LeavesNoFileWhenTheDirectoryIsMissing) {
    TempDir dir;
    GgufWriter w;
    w.set_u32("x", 1);
    const std::string path = dir.file("no/such/dir/x.gguf");
    try {
        w.write(path);
        FAIL() << "expected an Io error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Io);
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(GgufFile, OpenMissingFileIsNotFound) {
    try {
        (void)GgufFile::open("/nonexistent/lyra/model.gguf");
        FAIL() << "expected NotFound";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    }
}

TEST(ShapeOrder, ReversesBothWaysAndRoundTrips) {
    const std::vector<int64_t> ne = {4096, 32000};
    const auto shape = shape_from_gguf_ne(ne);
    EXPECT_EQ(shape[0], 32000);
    EXPECT_EQ(shape[1], 4096);
    EXPECT_EQ(shape[2], 0);

    core::Tensor t;
    t.n_dims = 4;
    t.shape = {2, 3, 5, 7};
    EXPECT_EQ(gguf_ne_from_shape(t), (std::vector<int64_t>{7, 5, 3, 2}));
    const auto back = shape_from_gguf_ne(gguf_ne_from_shape(t));
    EXPECT_EQ(back, t.shape);

    const std::vector<int64_t> one = {9};
    EXPECT_EQ(shape_from_gguf_ne(one)[0], 9);
}

}  // namespace
}  // namespace lyra::model
