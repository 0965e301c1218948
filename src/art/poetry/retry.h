// Generate-check-regenerate (issue 10): how `lyra poem` keeps its form with a model whose
// decoding Lyra cannot constrain token by token — a remote OpenAI-compatible server that has no
// Lyra art API. Each try continues the form's usual prompt (zh_prompt / en::make_prompt) with a
// fresh seed; the continuation is cut where the poem ends (a blank line or the next "形式:" /
// "form:" header) and checked with check_poem; tries go on until `n` poems keep the form or the
// budget of tries is spent. The result says so: every candidate's scores carry
// "fallback": "generate-check-regenerate" and "attempt", the result's scores "fallback_attempts"
// and "fallback_valid". A poem that breaks its form is never returned as the work.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "art/common/art.h"

namespace lyra::art::poetry {

// Continues `prompt` with sampling seed `seed`, at most `max_tokens` tokens.
using CompleteFn = std::function<std::string(const std::string& prompt, uint64_t seed, int max_tokens)>;

// The tries a request gets: max(8, 4 n).
int retry_budget(int n);

// Request keys as write_poem ("form", "theme"/"title", "acrostic", "rhyme", the common keys;
// "n" poems wanted). Throws Error(InvalidArgument) for a bad request and Error(NotFound) when
// no try keeps the form, naming the tries and the best try's faults.
ArtResult write_poem_by_retry(const nlohmann::json& request, const CompleteFn& complete);

}  // namespace lyra::art::poetry
