// The machine-readable shape of a generation (DESIGN.md "Machine-readable results"), shared by
// `lyra generate --json`, `lyra demo` and (later) the server. Pure functions; never throw.
#pragma once

#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "generate/generator.h"

namespace lyra::gen {

// {"t_prefill_us","t_decode_us","n_prompt","n_gen","prefill_tok_s","decode_tok_s"}
nlohmann::json timings_to_json(const Timings& t);

// A float option as the shortest decimal that reads back as the same float (0.05f is written
// 0.05, not 0.05000000074505806), so recorded options read well and still reproduce the run.
nlohmann::json float_json(float f);

// The options that reproduce a result (with the seed): max_tokens, temperature, top_k, ...
// (and logit_bias when there is one).
nlohmann::json options_to_json(const GenerateOptions& o);

// OpenAI's logit_bias object: {"<token id>": bias, ...}.
nlohmann::json logit_bias_json(std::span<const LogitBias> biases);

// {"text","tokens","finish_reason","timings","seed","model","sampler","options",
//  "candidates":[{"text","tokens","finish_reason","seed"}...]}; the top-level text, tokens
// and finish_reason are candidate 0's.
nlohmann::json result_to_json(const GenerateResult& r, const GenerateOptions& o,
                              const std::string& model_path);

// dump() that never throws on text that is not valid UTF-8 (a model can emit stray bytes):
// such bytes become U+FFFD. indent < 0 = one line.
std::string dump_json(const nlohmann::json& j, int indent = -1);

}  // namespace lyra::gen
