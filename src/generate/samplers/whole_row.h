// The sampler chain's shortcut for its commonest shape (private to generate/samplers/): an
// OpenAI-style request with a temperature and no truncation, penalty or constraint runs
// [temperature ->] dist over the whole vocabulary, and the draw can read the logits row directly
// instead of a CandidateSet built from it (pick.cpp).
#pragma once

#include <memory>
#include <span>

#include "generate/sampler.h"

namespace lyra::gen {

// When `chain` is exactly [dist] or [temperature, dist], draws from `row` into `out` and returns
// true: the same token, and the same draw from the dist sampler's generator, as running the
// chain over a CandidateSet reset from `row`. Otherwise returns false and changes nothing.
bool sample_whole_row(std::span<const std::unique_ptr<Sampler>> chain, std::span<const float> row,
                      TokenId& out);

}  // namespace lyra::gen
