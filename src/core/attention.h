// attention: core::attention_head (ops.h) split in its two halves, for attention whose scores
// are more than q·k — T5's relative position bias, Transformer-XL's and XLNet's relative
// position and segment terms. The caller computes the q·k scores with attention_scores, adds
// its own terms in place, softmaxes (core::softmax), and weights the values with
// attention_values: the same blocked kernels attention_head runs (several keys per pass, the
// output held in registers), so these architectures stream a head's cached rows as llama does.
// Pure functions: no allocation, no throwing, safe from any number of threads.
//
// Legend: n cached rows (keys), D head dim.
#pragma once

#include <cstdint>

#include "core/ops.h"

namespace lyra::core {

// scores[j] = dot(q, row j of keys) * scale for j < n (keys f32 or f16). Bit-identical to
// dot_kv(q, keys, j, D) * scale per key; with scale 1 exactly dot_kv.
void attention_scores(const float* q, const KvView& keys, int64_t n, int64_t D, float scale, float* scores);

// out[0..D) = sum over j < n of p[j] * row j of values, accumulated in j order (values f32 or
// f16; out is overwritten, n = 0 gives zeros). Bit-identical to zeroing out and calling
// axpy_kv(p[j], values, j, out, D) for j = 0 .. n-1.
void attention_values(const float* p, const KvView& values, int64_t n, int64_t D, float* out);

}  // namespace lyra::core
