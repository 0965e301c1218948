// JSON for generation results (result_json.h).
#include "generate/result_json.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace lyra::gen {

nlohmann::json timings_to_json(const Timings& t) {
    return {{"t_prefill_us", t.t_prefill_us}, {"t_decode_us", t.t_decode_us},
            {"n_prompt", t.n_prompt},         {"n_gen", t.n_gen},
            {"prefill_tok_s", t.prefill_tok_s()}, {"decode_tok_s", t.decode_tok_s()}};
}

nlohmann::json float_json(float f) {
    if (!std::isfinite(f)) return f;  // nlohmann writes these as null, as before
    return std::strtod(fmt::format("{}", f).c_str(), nullptr);
}

nlohmann::json options_to_json(const GenerateOptions& o) {
    nlohmann::json j = {{"max_tokens", o.max_tokens},
            {"temperature", float_json(o.temperature)},
            {"top_k", o.top_k},
            {"top_p", float_json(o.top_p)},
            {"min_p", float_json(o.min_p)},
            {"repeat_penalty", float_json(o.repeat_penalty)},
            {"repeat_last_n", o.repeat_last_n},
            {"frequency_penalty", float_json(o.frequency_penalty)},
            {"presence_penalty", float_json(o.presence_penalty)},
            {"stop", o.stop},
            {"n", o.n_candidates},
            {"seed", o.seed},
            {"kv_type", model::kv_type_name(o.kv_type)}};
    if (!o.logit_bias.empty()) j["logit_bias"] = logit_bias_json(o.logit_bias);
    return j;
}

nlohmann::json logit_bias_json(std::span<const LogitBias> biases) {
    nlohmann::json j = nlohmann::json::object();
    for (const LogitBias& b : biases) j[std::to_string(b.id)] = float_json(b.bias);
    return j;
}

nlohmann::json result_to_json(const GenerateResult& r, const GenerateOptions& o,
                              const std::string& model_path) {
    nlohmann::json j;
    nlohmann::json cands = nlohmann::json::array();
    for (const auto& c : r.candidates) {
        cands.push_back({{"text", c.text},
                         {"tokens", c.tokens},
                         {"finish_reason", finish_reason_name(c.finish)},
                         {"seed", c.seed}});
    }
    if (!r.candidates.empty()) {
        const auto& first = r.candidates.front();
        j["text"] = first.text;
        j["tokens"] = first.tokens;
        j["finish_reason"] = finish_reason_name(first.finish);
    }
    j["timings"] = timings_to_json(r.timings);
    j["seed"] = o.seed;
    j["model"] = model_path;
    j["sampler"] = r.sampler;
    j["options"] = options_to_json(o);
    j["candidates"] = std::move(cands);
    return j;
}

std::string dump_json(const nlohmann::json& j, int indent) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lyra::gen
