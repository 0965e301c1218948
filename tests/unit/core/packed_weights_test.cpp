// Q4_0 and Q8_0 weights repacked 16 rows at a time (core/packed_weights.h): the packed matmul
// against the f64 reference on the unpacked weights, every kernel variant against the portable
// one bit for bit (they promise the same arithmetic), each row of a batch against the row alone
// (issue 9's batched decode), matmul_group, and the types' refusal to come from a file or a
// --type name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/kernels/kernels.h"
#include "core/matmul_group.h"
#include "core/ops.h"
#include "core/packed_weights.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "unit/core/isa_fixture.h"

namespace lyra::core {
namespace {

class PackedWeights : public IsaRestoringTest {};

constexpr DType kTypes[] = {DType::Q4_0, DType::Q8_0};

// A random [N, K] weight of `type` and its packed copy (storage kept alive by the struct).
struct Weight {
    std::vector<uint8_t> quantized;
    std::vector<uint8_t> packed;
    Tensor plain, r16;

    Weight(DType type, int64_t N, int64_t K, uint32_t seed) {
        const auto wf = randn(static_cast<size_t>(N * K), seed);
        quantized.resize(row_bytes(type, K) * static_cast<size_t>(N));
        quantize_matrix(type, wf.data(), quantized.data(), N, K);
        plain = make_tensor(type, {N, K}, quantized.data());
        packed.resize(plain.nbytes());
        r16 = pack_rows16(plain, packed.data());
    }
};

std::vector<float> run(ThreadPool& pool, const std::vector<float>& x, int64_t T, const Tensor& w) {
    std::vector<float> y(static_cast<size_t>(T * w.rows()), -1.0f);
    matmul(pool, x.data(), T, w, y.data());
    return y;
}

TEST_F(PackedWeights, PackingKeepsShapeAndBytesAndRefusesWhatItCannotPack) {
    for (DType type : kTypes) {
        const Weight w(type, 48, 96, 1);
        EXPECT_EQ(w.r16.dtype, rows16_type(type));
        EXPECT_EQ(w.r16.rows(), 48);
        EXPECT_EQ(w.r16.cols(), 96);
        EXPECT_EQ(w.r16.nbytes(), w.plain.nbytes());
        EXPECT_TRUE(can_pack_rows16(w.plain));
        EXPECT_FALSE(can_pack_rows16(w.r16));
    }
    EXPECT_EQ(rows16_type(DType::Q4_0), DType::Q4_0_R16);
    EXPECT_EQ(rows16_type(DType::Q8_0), DType::Q8_0_R16);
    EXPECT_EQ(rows16_type(DType::Q4_K), DType::Q4_K);
    std::vector<uint8_t> q(row_bytes(DType::Q6_K, 256) * 20);
    EXPECT_FALSE(can_pack_rows16(make_tensor(DType::Q4_0, {20, 64}, q.data())));  // 20 rows
    EXPECT_FALSE(can_pack_rows16(make_tensor(DType::Q8_0, {8, 64}, q.data())));
    EXPECT_FALSE(can_pack_rows16(make_tensor(DType::Q6_K, {16, 256}, q.data())));
    EXPECT_FALSE(can_pack_rows16(make_tensor(DType::F32, {16, 64}, q.data())));
    EXPECT_DEATH(pack_rows16(make_tensor(DType::Q4_0, {20, 64}, q.data()), q.data()),
                 "is not Q4_0 or Q8_0 with rows a multiple of 16");
}

TEST_F(PackedWeights, AreNeverAFileTypeNorATypeName) {
    for (DType t : {DType::Q4_0_R16, DType::Q8_0_R16}) {
        EXPECT_FALSE(dtype_from_gguf_id(static_cast<uint32_t>(t)).has_value());
        EXPECT_FALSE(dtype_from_name(dtype_name(t)).has_value());
    }
    EXPECT_FALSE(dtype_from_name("Q4_0_R16").has_value());
    EXPECT_EQ(dtype_from_name("q4_0"), DType::Q4_0);
    EXPECT_EQ(dtype_from_name("q8_0"), DType::Q8_0);
}

// Against the f64 reference on the Q4_0 / Q8_0 weights it came from, with the plain kernels'
// tolerance; K covers one block, odd block counts (a lone last block after the pairs) and 33
// blocks; every variant gives the portable kernel's bits; 1-3 threads give the same bits.
TEST_F(PackedWeights, MatchTheReferenceAndEveryVariantGivesThePortableBits) {
    ThreadPool p1(1), p2(2), p3(3);
    uint32_t seed = 10;
    for (DType type : kTypes)
    for (int64_t K : {32, 96, 160, 768, 1056}) {
        for (int64_t N : {16, 48, 320}) {
            const Weight w(type, N, K, seed++);
            for (int64_t T : {1, 3, 8, 13, 70}) {
                const auto x = randn(static_cast<size_t>(T * K), seed++);
                std::vector<float> ref(static_cast<size_t>(T * N));
                matmul_ref(x.data(), T, w.plain, ref.data());
                double se = 0.0, me = 0.0, ss = 0.0;
                for (float v : ref) ss += static_cast<double>(v) * static_cast<double>(v);
                const double scale = std::sqrt(ss / static_cast<double>(ref.size())) + 1e-9;
                std::vector<float> portable;
                for (const auto& isa : available_isas()) {
                    ASSERT_TRUE(force_kernel_isa(isa));
                    const std::string what = isa + " " + std::string(dtype_name(type)) + " K=" + std::to_string(K) + " N=" + std::to_string(N) +
                                             " T=" + std::to_string(T);
                    const auto y = run(p1, x, T, w.r16);
                    se = me = 0.0;
                    for (size_t i = 0; i < y.size(); ++i) {
                        const double e = static_cast<double>(y[i]) - static_cast<double>(ref[i]);
                        se += e * e;
                        me = std::max(me, std::fabs(e));
                    }
                    EXPECT_LT(std::sqrt(se / static_cast<double>(y.size())) / scale, 2e-2) << what;
                    EXPECT_LT(me / scale, 8e-2) << what;
                    EXPECT_EQ(run(p2, x, T, w.r16), y) << what << " threads=2";
                    EXPECT_EQ(run(p3, x, T, w.r16), y) << what << " threads=3";
                    if (portable.empty()) portable = y;
                    else EXPECT_EQ(y, portable) << what << " vs the first variant";
                }
            }
        }
    }
}

// Row t of a T-token product is the 1-token product of x_t, bit for bit: T = 1 .. 17 runs every
// token tile width (1 .. 8) and tiles after a full one, on 1, 2 and 4 threads (from 5 rows the
// activation rows are quantized inside the matmul's region, claimed by the threads).
TEST_F(PackedWeights, RowsOfABatchEqualEachRowAloneBitForBit) {
    ThreadPool p1(1), p2(2), p4(4);
    const int64_t N = 304, K = 768;
    for (DType type : kTypes)
    for (const auto& isa : available_isas()) {
        const Weight w(type, N, K, 77);
        const auto x = randn(static_cast<size_t>(17 * K), 78);
        ASSERT_TRUE(force_kernel_isa(isa));
        std::vector<std::vector<float>> alone;
        for (int64_t t = 0; t < 17; ++t)
            alone.push_back(run(p1, std::vector<float>(x.begin() + t * K, x.begin() + (t + 1) * K), 1, w.r16));
        for (int64_t T = 1; T <= 17; ++T) {
            const std::vector<float> xs(x.begin(), x.begin() + T * K);
            for (ThreadPool* pool : {&p1, &p2, &p4}) {
                const auto y = run(*pool, xs, T, w.r16);
                for (int64_t t = 0; t < T; ++t)
                    ASSERT_EQ(std::vector<float>(y.begin() + t * N, y.begin() + (t + 1) * N),
                              alone[static_cast<size_t>(t)])
                        << isa << " " << dtype_name(type) << " T=" << T << " row " << t << " threads=" << pool->size();
            }
        }
    }
}

// q/k/v-style groups of packed weights (row counts 16, 64, 48: the shared row range splits
// inside and between targets) give each target its own matmul's bits; a packed weight grouped
// with a plain one runs as separate products.
TEST_F(PackedWeights, MatmulGroupEqualsSeparateMatmulsBitForBit) {
    ThreadPool p1(1), p3(3);
    const int64_t K = 160;
    for (DType type : kTypes) {
    const Weight a(type, 16, K, 5), b(type, 64, K, 6), c(type, 48, K, 7);
    for (int64_t T : {1, 6, 40}) {
        const auto x = randn(static_cast<size_t>(T * K), 8);
        for (ThreadPool* pool : {&p1, &p3}) {
            std::vector<float> ya(static_cast<size_t>(T * 16)), yb(static_cast<size_t>(T * 64)),
                yc(static_cast<size_t>(T * 48));
            const MatmulTarget targets[] = {{&a.r16, ya.data()}, {&b.r16, yb.data()}, {&c.plain, yc.data()}};
            matmul_group(*pool, x.data(), T, targets);
            EXPECT_EQ(ya, run(*pool, x, T, a.r16)) << "T=" << T;
            EXPECT_EQ(yb, run(*pool, x, T, b.r16)) << "T=" << T;
            EXPECT_EQ(yc, run(*pool, x, T, c.plain)) << "T=" << T;
        }
    }
    }
}

TEST_F(PackedWeights, PaysOnlyOnAvx512AndNotWhenSwitchedOff) {
    const bool has_avx512 = force_kernel_isa("avx512");
    EXPECT_EQ(packing_pays(), has_avx512);
    ASSERT_TRUE(force_kernel_isa("scalar"));
    EXPECT_FALSE(packing_pays());
    if (has_avx512) {
        ASSERT_TRUE(force_kernel_isa("avx512"));
        ASSERT_EQ(setenv("LYRA_REPACK", "off", 1), 0);
        EXPECT_FALSE(packing_pays());
        ASSERT_EQ(unsetenv("LYRA_REPACK"), 0);
        EXPECT_TRUE(packing_pays());
    }
}

}  // namespace
}  // namespace lyra::core
