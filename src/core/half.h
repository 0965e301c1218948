// IEEE half (f16) and bfloat16 conversions, exact and branch-light (scalar reference; the
// kernels use F16C / AVX-512 BF16 instructions where the CPU has them).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace lyra::core {

// f16 -> f32, exact for every input including subnormals, inf and NaN.
inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);  // inf / NaN
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);  // normal: rebias 15 -> 127
    } else if (mant == 0) {
        bits = sign;  // signed zero
    } else {
        // Subnormal: shift the mantissa up until the implicit bit appears.
        exp = 113;
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            --exp;
        }
        bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
    return std::bit_cast<float>(bits);
}

// f32 -> f16 with round-to-nearest-even, saturating to inf, NaN kept quiet.
inline uint16_t fp32_to_fp16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
    if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (absx < 0x38800000u) {
        // Result is subnormal or zero: add as float so the FPU does the rounding.
        const float magic = std::bit_cast<float>(0x3f000000u);  // 0.5, aligns bit 0 of f16 subnormal
        const float v = std::bit_cast<float>(absx) + magic;
        return static_cast<uint16_t>(sign | (std::bit_cast<uint32_t>(v) - 0x3f000000u));
    }
    // Normal: rebias exponent, round mantissa to 10 bits (nearest even).
    uint32_t r = absx - 0x38000000u;  // (127 - 15) << 23
    r += 0xfffu + ((r >> 13) & 1u);
    return static_cast<uint16_t>(sign | (r >> 13));
}

inline float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// f32 -> bf16 with round-to-nearest-even; NaN stays NaN.
inline uint16_t fp32_to_bf16(float f) {
    uint32_t x = std::bit_cast<uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>(x >> 16);
}

}  // namespace lyra::core
