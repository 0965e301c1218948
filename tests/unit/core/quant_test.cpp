// Quantization formats: known-answer tests built from the documented GGUF bit layouts
// (docs/formats/quant.md) — block bytes are written by hand here and the expected floats come from
// the format's formula, independent of quant.cpp — plus dequantize(quantize(x)) error bounds on
// random and adversarial rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "core/quant.h"

namespace lyra::core {
namespace {

// Little-endian helpers for building block bytes by hand.
void put_u16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v & 0xFF);
    b[at + 1] = static_cast<uint8_t>(v >> 8);
}
void put_f32(std::vector<uint8_t>& b, size_t at, float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(u >> (8 * i));
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> b(n);
    for (auto& v : b) v = static_cast<uint8_t>(rng() & 0xFF);
    return b;
}

std::vector<float> dequant(DType t, const std::vector<uint8_t>& bytes, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_row(t, bytes.data(), y.data(), n);
    return y;
}

// Scale j and min j of a Q4_K/Q5_K block, read from the 12 scale bytes as the format documents:
// bytes 0-3 low 6 bits: scales 0-3; bytes 4-7 low 6 bits: mins 0-3; byte 8+k (k = 0..3) low
// nibble: low 4 bits of scale 4+k, high nibble: low 4 bits of min 4+k; the top 2 bits of byte k
// are bits 4-5 of scale 4+k and the top 2 bits of byte 4+k are bits 4-5 of min 4+k.
int doc_scale(const uint8_t* s, int j) {
    return j < 4 ? (s[j] & 0x3F) : ((s[8 + j - 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
}
int doc_min(const uint8_t* s, int j) {
    return j < 4 ? (s[4 + j] & 0x3F) : ((s[8 + j - 4] >> 4) | ((s[4 + j - 4] >> 6) << 4));
}

// ---- known answers --------------------------------------------------------------------------

TEST(QuantLayout, Q4_0LowNibblesFirstHalfHighNibblesSecondHalf) {
    // Two blocks: d = 0.5 (f16 0x3800) and d = -2 (f16 0xC000).
    std::vector<uint8_t> b(36);
    put_u16(b, 0, 0x3800);
    put_u16(b, 18, 0xC000);
    for (int j = 0; j < 16; ++j) {
        b[2 + static_cast<size_t>(j)] = static_cast<uint8_t>(j | ((15 - j) << 4));
        b[20 + static_cast<size_t>(j)] = static_cast<uint8_t>(((j * 5) & 15) | (((j * 3 + 1) & 15) << 4));
    }
    const auto y = dequant(DType::Q4_0, b, 64);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[static_cast<size_t>(j)], static_cast<float>(j - 8) * 0.5f);
        EXPECT_EQ(y[static_cast<size_t>(j + 16)], static_cast<float>((15 - j) - 8) * 0.5f);
        EXPECT_EQ(y[static_cast<size_t>(32 + j)], static_cast<float>(((j * 5) & 15) - 8) * -2.0f);
        EXPECT_EQ(y[static_cast<size_t>(48 + j)], static_cast<float>(((j * 3 + 1) & 15) - 8) * -2.0f);
    }
    EXPECT_EQ(y[0], -4.0f);  // spot check: q = 0 -> -8 * 0.5
}

TEST(QuantLayout, Q8_0IsSignedBytesTimesHalfScale) {
    std::vector<uint8_t> b(34);
    put_u16(b, 0, 0x3400);  // 0.25
    for (int j = 0; j < 32; ++j) b[2 + static_cast<size_t>(j)] = static_cast<uint8_t>(static_cast<int8_t>(j * 7 - 100));
    const auto y = dequant(DType::Q8_0, b, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[static_cast<size_t>(j)], static_cast<float>(j * 7 - 100) * 0.25f);
    EXPECT_EQ(y[31], 117.0f * 0.25f);
}

TEST(QuantLayout, Q4_KSixBitScalesAndMinsAndNibbleChunks) {
    // 144 bytes: d (f16), dmin (f16), 12 scale bytes, 128 nibble bytes.
    std::vector<uint8_t> b = random_bytes(144, 11);
    put_u16(b, 0, 0x2E00);  // d = 0.09375
    put_u16(b, 2, 0x2A00);  // dmin = 0.046875
    const float d = 0.09375f, dmin = 0.046875f;
    // Explicit literal for sub-block 5: scale 0b110101 = 53, min 0b100110 = 38.
    b[4 + 9] = static_cast<uint8_t>(0x5 | (0x6 << 4));            // low nibbles of scale 5 / min 5
    b[4 + 1] = static_cast<uint8_t>((b[4 + 1] & 0x3F) | (0x3 << 6));  // top bits of scale 5
    b[4 + 5] = static_cast<uint8_t>((b[4 + 5] & 0x3F) | (0x2 << 6));  // top bits of min 5
    const uint8_t* sc = b.data() + 4;
    ASSERT_EQ(doc_scale(sc, 5), 53);
    ASSERT_EQ(doc_min(sc, 5), 38);
    const uint8_t* qs = b.data() + 16;
    const auto y = dequant(DType::Q4_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int s = e / 32, chunk = e / 64, l = e % 32;
        const int q = (e % 64) < 32 ? (qs[32 * chunk + l] & 0xF) : (qs[32 * chunk + l] >> 4);
        const float expect = d * static_cast<float>(doc_scale(sc, s)) * static_cast<float>(q) -
                             dmin * static_cast<float>(doc_min(sc, s));
        EXPECT_FLOAT_EQ(y[static_cast<size_t>(e)], expect) << "element " << e;
    }
    // Element 160 (sub-block 5 = high nibbles of chunk 2) from the literal scale/min and byte 64.
    EXPECT_FLOAT_EQ(y[160], d * 53.0f * static_cast<float>(qs[64] >> 4) - dmin * 38.0f);
}

TEST(QuantLayout, Q5_KHighBitPlaneSelectsBitBySubBlock) {
    // 176 bytes: d, dmin, 12 scale bytes, 32 high-bit bytes, 128 nibble bytes.
    std::vector<uint8_t> b = random_bytes(176, 12);
    put_u16(b, 0, 0x3000);  // d = 0.125
    put_u16(b, 2, 0x2C00);  // dmin = 0.0625
    const float d = 0.125f, dmin = 0.0625f;
    const uint8_t* sc = b.data() + 4;
    const uint8_t* qh = b.data() + 16;
    const uint8_t* qs = b.data() + 48;
    const auto y = dequant(DType::Q5_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int s = e / 32, chunk = e / 64, l = e % 32;
        const int lo = (e % 64) < 32 ? (qs[32 * chunk + l] & 0xF) : (qs[32 * chunk + l] >> 4);
        const int hi = (qh[l] >> s) & 1;  // bit s of qh[l] is the 5th bit of element l of sub-block s
        const int q = lo + 16 * hi;
        const float expect = d * static_cast<float>(doc_scale(sc, s)) * static_cast<float>(q) -
                             dmin * static_cast<float>(doc_min(sc, s));
        EXPECT_FLOAT_EQ(y[static_cast<size_t>(e)], expect) << "element " << e;
    }
}

TEST(QuantLayout, Q6_KLowNibblesHighPairsAndSignedScales) {
    // 210 bytes: 128 ql, 64 qh, 16 int8 scales, f16 d (last).
    std::vector<uint8_t> b = random_bytes(210, 13);
    put_u16(b, 208, 0xB800);  // d = -0.5
    const float d = -0.5f;
    const uint8_t* ql = b.data();
    const uint8_t* qh = b.data() + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(b.data() + 192);
    const auto y = dequant(DType::Q6_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        // Element e = 128 h + 32 i + l: low 4 bits in ql[64h + l + 32 (i & 1)], low nibble when
        // i < 2 else high; high 2 bits are bits 2i, 2i+1 of qh[32h + l]; scale index e / 16.
        const int h = e / 128, i = (e % 128) / 32, l = e % 32;
        const uint8_t lb = ql[64 * h + l + 32 * (i & 1)];
        const int low = i < 2 ? (lb & 0xF) : (lb >> 4);
        const int high = (qh[32 * h + l] >> (2 * i)) & 3;
        const int q = (low | (high << 4)) - 32;
        const float expect = d * static_cast<float>(scales[e / 16]) * static_cast<float>(q);
        EXPECT_FLOAT_EQ(y[static_cast<size_t>(e)], expect) << "element " << e;
    }
}

TEST(QuantLayout, Q8_KIsF32ScaleTimesSignedBytes) {
    std::vector<uint8_t> b = random_bytes(292, 14);
    put_f32(b, 0, 0.015625f);
    const auto y = dequant(DType::Q8_K, b, 256);
    for (int e = 0; e < 256; ++e)
        EXPECT_EQ(y[static_cast<size_t>(e)], 0.015625f * static_cast<float>(static_cast<int8_t>(b[4 + static_cast<size_t>(e)])));
}

TEST(QuantLayout, Q8_KBlockSumsAreSumsOfSixteenQuants) {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    std::vector<float> x(512);
    for (auto& v : x) v = nd(rng);
    std::vector<uint8_t> b(row_bytes(DType::Q8_K, 512));
    quantize_row(DType::Q8_K, x.data(), b.data(), 512);
    for (int blk = 0; blk < 2; ++blk) {
        const uint8_t* p = b.data() + 292 * blk;
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += static_cast<int8_t>(p[4 + 16 * g + l]);
            const int16_t stored = static_cast<int16_t>(p[260 + 2 * g] | (p[261 + 2 * g] << 8));
            EXPECT_EQ(stored, sum);
        }
    }
}

// ---- round trips ---------------------------------------------------------------------------

struct Err {
    double nmse;      // sum (y - x)^2 / sum x^2
    double max_abs;   // max |y - x|
};

Err roundtrip(DType t, const std::vector<float>& x, std::vector<float>* out = nullptr) {
    const auto n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> q(row_bytes(t, n));
    quantize_row(t, x.data(), q.data(), n);
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), n);
    double se = 0.0, sx = 0.0, mx = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double e = static_cast<double>(y[i]) - static_cast<double>(x[i]);
        se += e * e;
        sx += static_cast<double>(x[i]) * static_cast<double>(x[i]);
        mx = std::max(mx, std::fabs(e));
    }
    if (out) *out = y;
    return {sx > 0.0 ? se / sx : se, mx};
}

std::vector<float> gaussian(int64_t n, float sigma, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, sigma);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = nd(rng);
    return x;
}

// NMSE bounds for N(0, 1) rows, per type (measured values are about half of these).
struct Bound {
    DType type;
    double nmse;
};
const Bound kBounds[] = {
    {DType::F16, 1e-7},  {DType::BF16, 1e-5}, {DType::Q8_0, 1e-4}, {DType::Q8_K, 1e-4},
    {DType::Q6_K, 6e-4}, {DType::Q5_K, 2.5e-3}, {DType::Q4_K, 1e-2}, {DType::Q4_0, 1.5e-2},
};

TEST(QuantRoundTrip, GaussianRowsStayWithinPerTypeNmse) {
    for (const auto& bd : kBounds) {
        for (uint32_t seed = 1; seed <= 3; ++seed) {
            const auto x = gaussian(4096, 1.0f, seed);
            const Err e = roundtrip(bd.type, x);
            EXPECT_LT(e.nmse, bd.nmse) << dtype_name(bd.type) << " seed " << seed;
        }
    }
}

TEST(QuantRoundTrip, UniformAndSkewedRowsStayWithinPerTypeNmse) {
    // Rows with a non-zero mean exercise the K-quant mins.
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> ud(0.5f, 3.0f);
    std::vector<float> x(2048);
    for (auto& v : x) v = ud(rng);
    for (const auto& bd : kBounds) EXPECT_LT(roundtrip(bd.type, x).nmse, bd.nmse) << dtype_name(bd.type);
}

TEST(QuantRoundTrip, Q8_0AndQ4_0ErrorsAreWithinHalfAStepPerBlock) {
    const auto x = gaussian(1024, 2.0f, 4);
    std::vector<float> y8, y4;
    roundtrip(DType::Q8_0, x, &y8);
    roundtrip(DType::Q4_0, x, &y4);
    for (size_t blk = 0; blk < x.size() / 32; ++blk) {
        float amax = 0.0f;
        for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * blk + j]));
        for (size_t j = 0; j < 32; ++j) {
            const size_t i = 32 * blk + j;
            // Q8_0: step amax/127, error <= half a step (+ f16 scale rounding).
            EXPECT_LE(std::fabs(y8[i] - x[i]), 0.5f * amax / 127.0f * 1.01f + 1e-6f) << i;
            // Q4_0: step amax/8; the positive end is one step short when the max is negative.
            EXPECT_LE(std::fabs(y4[i] - x[i]), amax / 8.0f * 1.01f + 1e-6f) << i;
        }
    }
}

TEST(QuantRoundTrip, ZerosStayExactlyZero) {
    const std::vector<float> x(512, 0.0f);
    for (const auto& bd : kBounds) {
        std::vector<float> y;
        roundtrip(bd.type, x, &y);
        for (float v : y) EXPECT_EQ(v, 0.0f) << dtype_name(bd.type);
    }
}

TEST(QuantRoundTrip, ConstantRowsAreNearlyExact) {
    for (float c : {1.0f, -3.5f, 0.01f, 200.0f}) {
        const std::vector<float> x(512, c);
        for (const auto& bd : kBounds) {
            std::vector<float> y;
            roundtrip(bd.type, x, &y);
            // At c = 0.01 the Q6_K super-block scale (c/32/128) is an f16 subnormal with ~1% steps.
            const float tol = std::fabs(c) >= 0.1f ? 4e-3f : 1e-2f;
            for (float v : y) EXPECT_NEAR(v, c, std::fabs(c) * tol) << dtype_name(bd.type) << " c=" << c;
        }
    }
}

TEST(QuantRoundTrip, OneOutlierIsKeptAndOtherBlocksAreUnharmed) {
    auto x = gaussian(1024, 0.01f, 6);
    x[300] = 100.0f;  // in the second 256-block
    for (const auto& bd : kBounds) {
        std::vector<float> y;
        roundtrip(bd.type, x, &y);
        EXPECT_NEAR(y[300], 100.0f, 100.0f * 0.01f) << dtype_name(bd.type);
        // Blocks that do not contain the outlier keep their usual accuracy.
        std::vector<float> xs(x.begin() + 512, x.end());
        EXPECT_LT(roundtrip(bd.type, xs).nmse, bd.nmse) << dtype_name(bd.type);
        // The outlier's own 32-block is dominated by it, but the error stays below its step.
        double worst = 0.0;
        for (size_t i = 288; i < 320; ++i) worst = std::max(worst, static_cast<double>(std::fabs(y[i] - x[i])));
        EXPECT_LT(worst, 100.0 / 6.0) << dtype_name(bd.type);
    }
}

TEST(QuantRoundTrip, TinyAndHugeMagnitudesScale) {
    // The stored f16 scales cover roughly 1e-3 .. 1e4 per element without loss of relative
    // accuracy (below that the f16 super-block scales turn subnormal; docs/formats/quant.md).
    for (float sigma : {1e-3f, 1e4f}) {
        for (const auto& bd : kBounds) {
            if (bd.type == DType::F16 && sigma > 1e3f) continue;  // 4-sigma tails overflow f16
            const auto x = gaussian(2048, sigma, 7);
            const double slack = sigma < 1.0f ? 2.0 : 1.0;  // subnormal f16 scales round coarser
            EXPECT_LT(roundtrip(bd.type, x).nmse, bd.nmse * slack) << dtype_name(bd.type) << " sigma " << sigma;
        }
    }
}

TEST(QuantRoundTrip, F16AndBf16RoundToNearestRelativeBounds) {
    const auto x = gaussian(4096, 10.0f, 8);
    std::vector<float> yh, yb;
    roundtrip(DType::F16, x, &yh);
    roundtrip(DType::BF16, x, &yb);
    for (size_t i = 0; i < x.size(); ++i) {
        EXPECT_LE(std::fabs(yh[i] - x[i]), std::fabs(x[i]) * std::ldexp(1.0f, -11) + std::ldexp(1.0f, -25));
        EXPECT_LE(std::fabs(yb[i] - x[i]), std::fabs(x[i]) * std::ldexp(1.0f, -8));
    }
}

TEST(QuantRoundTrip, KQuantSearchBeatsPlainMinMaxGrid) {
    // The searched scales must do at least as well as the naive min/max grid would on average:
    // a plain 4-bit min/max grid gives NMSE ~ 1.2e-2 on Gaussian rows; 5-bit ~ 3e-3.
    const auto x = gaussian(8192, 1.0f, 10);
    EXPECT_LT(roundtrip(DType::Q4_K, x).nmse, 9e-3);
    EXPECT_LT(roundtrip(DType::Q5_K, x).nmse, 2.2e-3);
}

TEST(QuantMatrix, QuantizesEachRowIndependently) {
    const auto x = gaussian(3 * 256, 1.0f, 12);
    std::vector<uint8_t> m(row_bytes(DType::Q4_K, 256) * 3);
    EXPECT_EQ(quantize_matrix(DType::Q4_K, x.data(), m.data(), 3, 256), m.size());
    std::vector<uint8_t> r(row_bytes(DType::Q4_K, 256));
    quantize_row(DType::Q4_K, x.data() + 256, r.data(), 256);
    EXPECT_EQ(std::memcmp(r.data(), m.data() + r.size(), r.size()), 0);
}

}  // namespace
}  // namespace lyra::core
