// Block structs of the quantized formats, byte for byte as GGUF files store them
// (docs/formats/quant.md). Internal to core/: quant.cpp and the kernels include it.
// All scale fields are raw f16 bits (uint16_t) except Q8_K's f32 d.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace lyra::core::detail {

// 32 elements: value_j = (q_j - 8) * d; q_j is the low nibble of qs[j] for j < 16 and the
// high nibble of qs[j - 16] for j >= 16.
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[16];
};

// 32 elements: value_j = qs[j] * d.
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[32];
};

// 256 elements in 8 sub-blocks of 32: value = d * sc_s * q - dmin * m_s, q in [0, 15].
// scales: 8 six-bit scales and 8 six-bit mins packed in 12 bytes (see scale_min_k4).
// qs: four 32-byte chunks; chunk c holds sub-block 2c in low nibbles, 2c+1 in high nibbles.
struct BlockQ4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[128];
};

// Like Q4_K with a fifth bit: bit s of qh[l] is the high bit of element l of sub-block s.
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[32];
    uint8_t qs[128];
};

// 256 elements in 16 sub-blocks of 16: value = d * scales[s] * (q - 32), q in [0, 63].
// Two halves of 128; in half h, element 32*i + l (i in 0..3, l in 0..31) takes its low 4 bits
// from ql[64h + l + 32*(i&1)] (low nibble for i < 2, high for i >= 2) and its high 2 bits from
// bits 2i..2i+1 of qh[32h + l].
struct BlockQ6_K {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;
};

// Activation format for K-quant dot products: value_j = qs[j] * d;
// bsums[i] = sum of qs[16i .. 16i+16).
struct BlockQ8_K {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block.
// Bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 hold mins 0-3 (low 6 bits); for j >= 4 the
// low 4 bits come from byte j+4 (scale: low nibble, min: high nibble) and the top 2 bits from the
// top 2 bits of byte j-4 (scale) or byte j (min).
static inline void scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

}  // namespace lyra::core::detail
