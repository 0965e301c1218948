// OpenAI request/response shapes (api.h).
#include "server/api.h"

#include <algorithm>
#include <cctype>
#include <system_error>

#include <fmt/format.h>

#include "generate/constraint/constraint.h"
#include "generate/result_json.h"

namespace lyra::server {

namespace {

ApiError bad(std::string_view param, const std::string& message) {
    return ApiError(400, "invalid_request_error", message, std::string(param));
}

std::string type_name(const json& v) {
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
    if (v.is_number()) return "a number";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "null";
}

// A value as an error message shows it: a scalar as JSON (a string cut at 60 bytes), an array
// or object by its kind only, so no message walks (or repeats) a whole request.
std::string brief(const json& v) {
    if (v.is_array() || v.is_object()) return type_name(v);
    if (v.is_string() && v.get_ref<const std::string&>().size() > 60)
        return json(v.get_ref<const std::string&>().substr(0, 60)).dump(-1, ' ', false, json::error_handler_t::replace) +
               "...";
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// obj[key] when obj is an object holding a string there, else "" (json::value would throw
// type_error on a key that holds a number or null).
std::string string_at(const json& obj, const char* key) {
    if (!obj.is_object()) return {};
    const auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The value of `key`, or nullptr when absent or null (OpenAI clients send null for "unset").
const json* field(const json& body, std::string_view key) {
    auto it = body.find(std::string(key));
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

double number(const json& body, std::string_view key, double fallback, double lo, double hi) {
    const json* v = field(body, key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) {
        throw bad(key, fmt::format("{}: expected a number, got {}", key, type_name(*v)));
    }
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi)) {
        throw bad(key, fmt::format("{}: out of range; expected {} to {}, got {}", key, lo, hi, x));
    }
    return x;
}

int64_t integer(const json& body, std::string_view key, int64_t fallback, int64_t lo, int64_t hi,
                std::string_view hint = {}) {
    const json* v = field(body, key);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer() && !v->is_number_unsigned()) {
        throw bad(key, fmt::format("{}: expected an integer, got {}", key, type_name(*v)));
    }
    const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX
                          ? INT64_MAX
                          : v->get<int64_t>();
    if (x < lo || x > hi) {
        throw bad(key, fmt::format("{}: out of range; expected {} to {}, got {}{}", key, lo, hi, x,
                                   hint));
    }
    return x;
}

bool boolean(const json& body, std::string_view key, bool fallback) {
    const json* v = field(body, key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) {
        throw bad(key, fmt::format("{}: expected a boolean, got {}", key, type_name(*v)));
    }
    return v->get<bool>();
}

void check_known(const json& body, std::initializer_list<std::string_view> known) {
    for (auto it = body.begin(); it != body.end(); ++it) {
        if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
            throw bad(it.key(), fmt::format("{}: unrecognized request argument; expected one of "
                                            "the documented keys (docs/server.md), got '{}'",
                                            it.key(), it.key()));
        }
    }
}

void check_prompt_size(std::string_view param, const std::string& text, const Limits& limits) {
    if (text.size() > limits.max_prompt_bytes) {
        throw ApiError(400, "invalid_request_error",
                       fmt::format("{}: too long; expected at most {} bytes, got {}", param,
                                   limits.max_prompt_bytes, text.size()),
                       std::string(param), "context_length_exceeded");
    }
}

// OpenAI's logit_bias: {"<token id>": bias from -100 to 100, ...} (null or {} = none). Ids past
// the model's vocabulary are refused when the request reaches its model (gen::check_logit_bias).
std::vector<gen::LogitBias> logit_bias(const json& v, const Limits& limits) {
    std::vector<gen::LogitBias> out;
    if (v.is_null()) return out;
    if (!v.is_object()) {
        throw bad("logit_bias", fmt::format("logit_bias: expected an object of token id -> bias, got {}",
                                            type_name(v)));
    }
    if (static_cast<int>(v.size()) > limits.max_logit_bias) {
        throw bad("logit_bias", fmt::format("logit_bias: too many tokens; expected at most {}, got {}",
                                            limits.max_logit_bias, v.size()));
    }
    for (const auto& [key, value] : v.items()) {
        const bool digits = !key.empty() && key.size() <= 9 &&
                            key.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) {
            throw bad("logit_bias", fmt::format("logit_bias: expected token ids as keys (\"50256\"), "
                                                "got {}", brief(json(key))));
        }
        if (!value.is_number() || !(value.get<double>() >= -100.0 && value.get<double>() <= 100.0)) {
            throw bad("logit_bias", fmt::format("logit_bias: token {}: expected a bias from -100 to "
                                                "100, got {}", key, brief(value)));
        }
        out.push_back({static_cast<gen::TokenId>(std::stol(key)), static_cast<float>(value.get<double>())});
    }
    return out;
}

// One token-id prompt: a non-empty array of ids (range-checked against the model later, by the
// scheduler), at most limits.max_prompt_tokens long.
std::vector<gen::TokenId> token_prompt(const json& a, const Limits& limits) {
    if (a.empty()) throw bad("prompt", "prompt: empty token array; expected at least one token id");
    if (a.size() > limits.max_prompt_tokens) {
        throw ApiError(400, "invalid_request_error",
                       fmt::format("prompt: too many tokens; expected at most {}, got {}",
                                   limits.max_prompt_tokens, a.size()),
                       "prompt", "context_length_exceeded");
    }
    std::vector<gen::TokenId> ids;
    for (const auto& t : a) {
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX) {
            throw bad("prompt", fmt::format("prompt: expected token ids (integers from 0), got {}",
                                            brief(t)));
        }
        ids.push_back(static_cast<gen::TokenId>(t.get<int64_t>()));
    }
    return ids;
}

// OpenAI's four prompt shapes: "text", ["text", ...], [id, ...] and [[id, ...], ...].
void read_prompts(const json& p, const Limits& limits, CompletionRequest& r) {
    if (p.is_string()) {
        r.prompts.push_back(p.get<std::string>());
    } else if (!p.is_array()) {
        throw bad("prompt", fmt::format("prompt: expected a string, an array of strings or token "
                                        "ids, got {}",
                                        type_name(p)));
    } else if (p.empty()) {
        throw bad("prompt", "prompt: empty array; expected at least one prompt");
    } else if (p[0].is_number()) {
        r.token_prompts.push_back(token_prompt(p, limits));
    } else {
        if (static_cast<int>(p.size()) > limits.max_prompts) {
            throw bad("prompt", fmt::format("prompt: too many prompts; expected at most {}, got {}",
                                            limits.max_prompts, p.size()));
        }
        const bool strings = p[0].is_string();
        for (const auto& e : p) {
            if (strings && e.is_string()) {
                r.prompts.push_back(e.get<std::string>());
            } else if (!strings && e.is_array()) {
                r.token_prompts.push_back(token_prompt(e, limits));
            } else {
                throw bad("prompt", fmt::format("prompt: expected an array of strings or an array "
                                                "of token-id arrays, not a mix; got an element "
                                                "that is {}",
                                                type_name(e)));
            }
        }
    }
    for (const auto& s : r.prompts) check_prompt_size("prompt", s, limits);
}

// OpenAI's response_format: {"type":"text"} (the default), {"type":"json_object"} (any JSON
// object) or {"type":"json_schema","json_schema":{"name","schema","strict","description"}}: the
// text must be JSON the schema allows, which grammar-constrained decoding guarantees
// (json_schema_to_gbnf; docs/formats/gbnf.md has the schema subset).
std::shared_ptr<const gen::constraint::Grammar> response_format(const json& v) {
    if (!v.is_object()) {
        throw bad("response_format", fmt::format("response_format: expected an object such as "
                                                 "{{\"type\": \"json_object\"}}, got {}",
                                                 type_name(v)));
    }
    const json* type = field(v, "type");
    const std::string t = type != nullptr && type->is_string() ? type->get<std::string>() : "";
    std::string schema;
    if (t == "text") return nullptr;
    if (t == "json_object") {
        schema = R"({"type": "object"})";
    } else if (t == "json_schema") {
        const json* js = field(v, "json_schema");
        const json* s = js != nullptr && js->is_object() ? field(*js, "schema") : nullptr;
        if (s == nullptr || !s->is_object()) {
            throw bad("response_format", "response_format.json_schema: expected an object with a "
                                         "\"schema\" object (and a \"name\")");
        }
        schema = s->dump();
    } else {
        throw bad("response_format", fmt::format("response_format.type: expected text, json_object or "
                                                 "json_schema, got {}",
                                                 type != nullptr ? brief(*type) : "none"));
    }
    try {
        return std::make_shared<const gen::constraint::Grammar>(
            gen::constraint::compile_gbnf(gen::constraint::json_schema_to_gbnf(schema), "response_format"));
    } catch (const Error& e) {
        throw bad("response_format", fmt::format("response_format: {}", e.what()));
    }
}

// An assistant message's tool_calls as the text the model sees: one {"name", "arguments"} JSON
// object per call (the shape a forced call is generated in).
std::string tool_calls_text(const json& calls, const std::string& param) {
    if (!calls.is_array()) {
        throw bad(param + ".tool_calls", fmt::format("{}.tool_calls: expected an array, got {}", param,
                                                     type_name(calls)));
    }
    std::string out;
    for (const auto& c : calls) {
        const json* fn = c.is_object() ? field(c, "function") : nullptr;
        const json* name = fn != nullptr && fn->is_object() ? field(*fn, "name") : nullptr;
        if (name == nullptr || !name->is_string()) {
            throw bad(param + ".tool_calls", fmt::format("{}.tool_calls: expected "
                                                         "{{\"type\":\"function\",\"function\":{{\"name\",\"arguments\"}}}}, "
                                                         "got {}",
                                                         param, brief(c)));
        }
        json arguments = json::object();
        if (const json* a = field(*fn, "arguments"); a != nullptr && a->is_string()) {
            // The arguments JSON the client sent back, as an object when it parses (and is not
            // nested deeper than a body may be), else as the string it is.
            const std::string& text = a->get_ref<const std::string&>();
            const json parsed = json_depth(text) <= kMaxJsonDepth ? json::parse(text, nullptr, false)
                                                                  : json(json::value_t::discarded);
            arguments = parsed.is_discarded() ? json(text) : parsed;
        }
        out += json{{"name", *name}, {"arguments", arguments}}.dump();
    }
    return out;
}

// OpenAI's tools and tool_choice. "none", and "auto" (the default with tools: Lyra's models are
// not trained to decide on a call, so they answer in text), change nothing. "required" or a
// named function forces a call: the text is generated as {"name": <a tool>, "arguments": <that
// tool's parameters schema>} under a grammar, and returned as the message's tool_calls.
void parse_tools(const json& body, CompletionRequest& r) {
    std::vector<std::pair<std::string, json>> tools;  // name, parameters schema
    // The API before tools: functions [{name, description, parameters}] and function_call
    // "none" | "auto" | {"name"}, answered with message.function_call. Read as the tools they are.
    json legacy_tools, legacy_choice;
    if (const json* fns = field(body, "functions")) {
        if (field(body, "tools") != nullptr) throw bad("functions", "functions: expected tools or functions, not both");
        if (!fns->is_array()) throw bad("functions", fmt::format("functions: expected an array, got {}", type_name(*fns)));
        legacy_tools = json::array();
        for (const auto& fn : *fns) legacy_tools.push_back({{"type", "function"}, {"function", fn}});
        r.legacy_functions = true;
    }
    if (const json* fc = field(body, "function_call")) {
        if (field(body, "tool_choice") != nullptr) {
            throw bad("function_call", "function_call: expected tool_choice or function_call, not both");
        }
        legacy_choice = fc->is_object() ? json{{"type", "function"}, {"function", *fc}} : *fc;
        r.legacy_functions = true;
    }
    const json* tools_field = legacy_tools.is_null() ? field(body, "tools") : &legacy_tools;
    const json* choice_field = legacy_choice.is_null() ? field(body, "tool_choice") : &legacy_choice;
    if (const json* t = tools_field) {
        if (!t->is_array() || t->size() > 128) {
            throw bad("tools", fmt::format("tools: expected an array of at most 128 functions, got {}",
                                           t->is_array() ? fmt::format("{} entries", t->size()) : type_name(*t)));
        }
        for (const auto& tool : *t) {
            const json* fn = tool.is_object() ? field(tool, "function") : nullptr;
            const json* name = fn != nullptr && fn->is_object() ? field(*fn, "name") : nullptr;
            const std::string n = name != nullptr && name->is_string() ? name->get<std::string>() : "";
            const bool plain = !n.empty() && n.size() <= 64 &&
                               n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                                   std::string::npos;
            if (string_at(tool, "type") != "function" || !plain) {
                throw bad("tools", fmt::format("tools: expected {{\"type\":\"function\",\"function\":{{\"name\"}}}} "
                                               "with a name of 1-64 letters, digits, _ or -, got {}",
                                               brief(tool)));
            }
            const json* params = field(*fn, "parameters");
            if (params != nullptr && !params->is_object()) {
                throw bad("tools", fmt::format("tools: function {}: parameters: expected a JSON schema object", n));
            }
            for (const auto& [seen, unused] : tools) {
                if (seen == n) throw bad("tools", fmt::format("tools: function {} is given twice", n));
            }
            tools.emplace_back(n, params != nullptr ? *params : json{{"type", "object"}});
        }
    }
    std::string forced;  // "" = no call forced; "*" = any tool
    if (const json* c = choice_field) {
        if (c->is_string() && (*c == "none" || *c == "auto")) {
        } else if (c->is_string() && *c == "required") {
            forced = "*";
        } else if (string_at(*c, "type") == "function" && c->contains("function") &&
                   !string_at((*c)["function"], "name").empty()) {
            forced = (*c)["function"]["name"].get<std::string>();
            if (std::none_of(tools.begin(), tools.end(), [&](const auto& t) { return t.first == forced; })) {
                throw bad("tool_choice", fmt::format("tool_choice: function {} is not among the tools", forced));
            }
        } else {
            throw bad("tool_choice", fmt::format("tool_choice: expected none, auto, required or "
                                                 "{{\"type\":\"function\",\"function\":{{\"name\"}}}}, got {}",
                                                 brief(*c)));
        }
    }
    if (forced.empty()) return;
    if (tools.empty()) throw bad("tool_choice", "tool_choice: a call is required but there are no tools");
    if (r.grammar) throw bad("tool_choice", "tool_choice: a forced tool call and response_format: expected one of them");
    json calls = json::array();
    for (const auto& [name, params] : tools) {
        if (forced != "*" && forced != name) continue;
        calls.push_back({{"type", "object"},
                         {"properties", {{"name", {{"const", name}}}, {"arguments", params}}},
                         {"required", {"name", "arguments"}}});
    }
    const json schema = calls.size() == 1 ? calls[0] : json{{"anyOf", calls}};
    try {
        r.grammar = std::make_shared<const gen::constraint::Grammar>(
            gen::constraint::compile_gbnf(gen::constraint::json_schema_to_gbnf(schema.dump()), "tools"));
    } catch (const Error& e) {
        throw bad("tools", fmt::format("tools: {}", e.what()));
    }
    r.tool_call = true;
}

// The keys completions and chat share.
void parse_sampling(const json& body, const Limits& limits, uint64_t seed_fallback,
                    int default_max_tokens, CompletionRequest& r) {
    if (const json* v = field(body, "model")) {
        if (!v->is_string()) {
            throw bad("model", fmt::format("model: expected a string, got {}", type_name(*v)));
        }
        r.model = v->get<std::string>();
    }
    const std::string hint = "; the server's limit is set by --max-tokens";
    r.opt.max_tokens = static_cast<int>(
        integer(body, "max_tokens", default_max_tokens, 1, limits.max_tokens, hint));
    r.opt.max_tokens = static_cast<int>(
        integer(body, "max_completion_tokens", r.opt.max_tokens, 1, limits.max_tokens, hint));
    // OpenAI's defaults: temperature 1, top_p 1, no top-k/min-p truncation.
    r.opt.temperature = static_cast<float>(number(body, "temperature", 1.0, 0.0, 2.0));
    r.opt.top_p = static_cast<float>(number(body, "top_p", 1.0, 0.0, 1.0));
    r.opt.top_k = static_cast<int>(integer(body, "top_k", 0, 0, 1 << 20));
    r.opt.min_p = static_cast<float>(number(body, "min_p", 0.0, 0.0, 1.0));
    r.opt.repeat_penalty = static_cast<float>(number(body, "repeat_penalty", 1.0, 0.01, 10.0));
    r.opt.presence_penalty = static_cast<float>(number(body, "presence_penalty", 0.0, -2.0, 2.0));
    r.opt.frequency_penalty =
        static_cast<float>(number(body, "frequency_penalty", 0.0, -2.0, 2.0));
    r.n = static_cast<int>(integer(body, "n", 1, 1, limits.max_n,
                                   "; the server's limit is set by --max-n"));
    r.best_of = r.n;  // completions may ask for more (best_of)
    r.stream = boolean(body, "stream", false);
    if (const json* v = field(body, "stream_options")) {
        if (!v->is_object()) {
            throw bad("stream_options",
                      fmt::format("stream_options: expected an object, got {}", type_name(*v)));
        }
        r.include_usage = boolean(*v, "include_usage", false);
    }
    if (const json* v = field(body, "seed")) {
        if (!v->is_number_integer() && !v->is_number_unsigned()) {
            throw bad("seed", fmt::format("seed: expected an integer, got {}", type_name(*v)));
        }
        r.opt.seed = v->is_number_unsigned() ? v->get<uint64_t>()
                                             : static_cast<uint64_t>(v->get<int64_t>());
    } else {
        r.opt.seed = seed_fallback;
    }
    if (const json* v = field(body, "stop")) {
        std::vector<std::string> stops;
        if (v->is_string()) {
            stops.push_back(v->get<std::string>());
        } else if (v->is_array()) {
            if (v->size() > 4) {
                throw bad("stop", fmt::format("stop: too many stop sequences; expected at most 4, "
                                              "got {}", v->size()));
            }
            for (const auto& s : *v) {
                if (!s.is_string()) {
                    throw bad("stop", fmt::format("stop: expected strings, got {}", type_name(s)));
                }
                stops.push_back(s.get<std::string>());
            }
        } else {
            throw bad("stop", fmt::format("stop: expected a string or an array of strings, got {}",
                                          type_name(*v)));
        }
        r.opt.stop = std::move(stops);
    }
    if (const json* v = field(body, "logit_bias")) r.opt.logit_bias = logit_bias(*v, limits);
    if (const json* v = field(body, "response_format")) r.grammar = response_format(*v);
}

}  // namespace

int json_depth(std::string_view text) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

EmbeddingRequest parse_embedding_request(const json& body, const Limits& limits) {
    if (!body.is_object()) {
        throw bad("", fmt::format("request body: expected a JSON object, got {}", type_name(body)));
    }
    check_known(body, {"model", "input", "encoding_format", "dimensions", "user"});
    EmbeddingRequest r;
    if (const json* m = field(body, "model")) {
        if (!m->is_string()) throw bad("model", fmt::format("model: expected a string, got {}", type_name(*m)));
        r.model = m->get<std::string>();
    }
    const json* in = field(body, "input");
    if (in == nullptr) throw bad("input", "input: missing; expected a string, an array of strings or of token ids");
    CompletionRequest prompts;  // the same four shapes as a completion's prompt
    try {
        read_prompts(*in, limits, prompts);
    } catch (const ApiError& e) {
        std::string message = e.what();
        if (message.rfind("prompt", 0) == 0) message.replace(0, 6, "input");
        throw ApiError(e.status(), e.type(), message, "input", e.code());
    }
    r.texts = std::move(prompts.prompts);
    r.tokens = std::move(prompts.token_prompts);
    for (const auto& t : r.texts) {
        if (t.empty()) throw bad("input", "input: an empty string; expected text to embed");
    }
    if (const json* f = field(body, "encoding_format")) {
        if (*f != "float" && *f != "base64") {
            throw bad("encoding_format", fmt::format("encoding_format: expected float or base64, got {}", brief(*f)));
        }
        r.base64 = *f == "base64";
    }
    if (field(body, "dimensions") != nullptr) {
        throw ApiError(400, "invalid_request_error",
                       "dimensions: not supported by Lyra's encoders (no shortened embeddings); expected it absent",
                       "dimensions", "unsupported_parameter");
    }
    return r;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (size_t i = 0; i < bytes.size(); i += 3) {
        const size_t n = std::min<size_t>(3, bytes.size() - i);
        uint32_t v = 0;
        for (size_t k = 0; k < 3; ++k)
            v = v << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
        for (size_t k = 0; k < 4; ++k) out += k <= n ? kDigits[(v >> (18 - 6 * k)) & 63] : '=';
    }
    return out;
}

json error_json(const ApiError& e) {
    return json{{"error",
                 {{"message", e.what()},
                  {"type", e.type()},
                  {"param", e.param().empty() ? json(nullptr) : json(e.param())},
                  {"code", e.code().empty() ? json(nullptr) : json(e.code())}}}};
}

ApiError to_api_error(const Error& e) {
    switch (e.kind()) {
        case ErrorKind::InvalidArgument:
        case ErrorKind::Usage:
            return ApiError(400, "invalid_request_error", e.what());
        case ErrorKind::ContextFull:
            return ApiError(400, "invalid_request_error", e.what(), "prompt",
                            "context_length_exceeded");
        case ErrorKind::NotFound:
            return ApiError(404, "not_found_error", e.what());
        case ErrorKind::Unsupported:
            return ApiError(501, "not_implemented", e.what());
        case ErrorKind::Corrupt:
        case ErrorKind::Io:
            break;
    }
    return ApiError(500, "server_error", e.what());
}

CompletionRequest parse_completion_request(const json& body, const Limits& limits,
                                           uint64_t seed_fallback) {
    if (!body.is_object()) {
        throw bad("", fmt::format("request body: expected a JSON object, got {}", type_name(body)));
    }
    check_known(body, {"model", "prompt", "max_tokens", "temperature", "top_p", "n", "stop",
                       "stream", "stream_options", "seed", "logprobs", "echo", "presence_penalty",
                       "frequency_penalty", "best_of", "suffix", "logit_bias", "user", "top_k", "response_format",
                       "min_p", "repeat_penalty"});
    CompletionRequest r;
    const json* max_tokens = field(body, "max_tokens");
    if (max_tokens != nullptr && max_tokens->is_number_integer() && max_tokens->get<int64_t>() == 0) {
        r.score_only = true;  // checked against echo and stream below
        json rest = body;
        rest.erase("max_tokens");
        parse_sampling(rest, limits, seed_fallback, std::min(16, limits.max_tokens), r);
    } else {
        parse_sampling(body, limits, seed_fallback, std::min(16, limits.max_tokens), r);
    }
    const json* p = field(body, "prompt");
    if (p == nullptr) {
        throw bad("prompt", "prompt: missing; expected a string, an array of strings, an array of "
                            "token ids or an array of such arrays");
    }
    read_prompts(*p, limits, r);
    if (const json* v = field(body, "best_of"); v != nullptr && !v->is_null()) {
        r.best_of = static_cast<int>(integer(body, "best_of", r.n, r.n, limits.max_best_of));
        if (r.best_of > r.n && r.stream) {
            throw bad("best_of", fmt::format("best_of: {} with stream; expected no streaming when "
                                             "best_of is more than n ({}), since the best are "
                                             "known only at the end",
                                             r.best_of, r.n));
        }
    }
    const int64_t n_prompts = static_cast<int64_t>(r.prompts.size() + r.token_prompts.size());
    const int64_t choices = n_prompts * r.best_of;
    if (choices > limits.max_choices) {
        throw bad(r.best_of > r.n ? "best_of" : "n",
                  fmt::format("{}: too many choices; expected prompts x {} at most {}, got {}",
                              r.best_of > r.n ? "best_of" : "n", r.best_of > r.n ? "best_of" : "n",
                              limits.max_choices, choices));
    }
    r.echo = boolean(body, "echo", false);
    if (r.score_only && (!r.echo || r.stream)) {
        throw bad("max_tokens", "max_tokens: 0 generates nothing; expected at least 1, or 0 with "
                                "echo true and no stream to score the prompt");
    }
    if (field(body, "logprobs") != nullptr) {
        r.logprobs = static_cast<int>(integer(body, "logprobs", 0, 0, 5));
        r.opt.top_logprobs = *r.logprobs;
    }
    if (const json* v = field(body, "suffix"); v != nullptr && !(v->is_string() && v->empty())) {
        throw ApiError(400, "invalid_request_error",
                       "suffix: not supported by Lyra (no fill-in-the-middle); expected it absent",
                       "suffix", "unsupported_parameter");
    }
    return r;
}

CompletionRequest parse_chat_request(const json& body, const Limits& limits,
                                     uint64_t seed_fallback) {
    if (!body.is_object()) {
        throw bad("", fmt::format("request body: expected a JSON object, got {}", type_name(body)));
    }
    check_known(body, {"model", "messages", "max_tokens", "max_completion_tokens", "temperature",
                       "top_p", "n", "stop", "stream", "stream_options", "seed", "logprobs",
                       "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "response_format",
                       "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
                       "user", "top_k", "min_p", "repeat_penalty"});
    CompletionRequest r;
    parse_sampling(body, limits, seed_fallback, std::min(256, limits.max_tokens), r);
    parse_tools(body, r);
    (void)boolean(body, "parallel_tool_calls", true);  // accepted: a forced call is one call
    const json* m = field(body, "messages");
    if (m == nullptr || !m->is_array() || m->empty()) {
        throw bad("messages", fmt::format("messages: expected a non-empty array of "
                                          "{{role, content}} objects, got {}",
                                          m == nullptr ? "none" : type_name(*m)));
    }
    size_t total = 0;
    for (size_t i = 0; i < m->size(); ++i) {
        const json& msg = (*m)[i];
        const std::string param = fmt::format("messages[{}]", i);
        if (!msg.is_object()) {
            throw bad(param, fmt::format("{}: expected an object, got {}", param, type_name(msg)));
        }
        const json* role = field(msg, "role");
        if (role == nullptr || !role->is_string()) {
            throw bad(param + ".role", fmt::format("{}.role: expected a string, got {}", param,
                                                   role == nullptr ? "none" : type_name(*role)));
        }
        const std::string rs = role->get<std::string>();
        if (rs != "system" && rs != "user" && rs != "assistant" && rs != "developer" && rs != "tool" &&
            rs != "function") {
            throw bad(param + ".role",
                      fmt::format("{}.role: unknown role; expected system, developer, user, "
                                  "assistant, tool or function, got '{}'",
                                  param, rs));
        }
        model::ChatMessage cm{.role = rs == "developer" ? "system" : rs, .content = {}};
        const json* content = field(msg, "content");
        const json* calls = rs == "assistant" ? field(msg, "tool_calls") : nullptr;
        json legacy_call;  // an assistant's function_call, read as a one-call tool_calls
        if (rs == "assistant" && calls == nullptr) {
            if (const json* fc = field(msg, "function_call")) {
                legacy_call = json::array({{{"type", "function"}, {"function", *fc}}});
                calls = &legacy_call;
            }
        }
        if (calls != nullptr) {
            // An assistant turn that called tools (an earlier answer of this API): the calls
            // are shown to the model as the JSON it wrote.
            cm.content = content != nullptr && content->is_string() ? content->get<std::string>() : "";
            cm.content += tool_calls_text(*calls, param);
            total += cm.content.size();
            r.messages.push_back(std::move(cm));
            continue;
        }
        if (content == nullptr) {
            throw bad(param + ".content", fmt::format("{}.content: missing; expected a string",
                                                      param));
        }
        if (content->is_string()) {
            cm.content = content->get<std::string>();
        } else if (content->is_array()) {
            for (const auto& part : *content) {
                if (!part.is_object() || string_at(part, "type") != "text" ||
                    !part.contains("text") || !part["text"].is_string()) {
                    throw bad(param + ".content",
                              fmt::format("{}.content: expected a string or text parts "
                                          "{{\"type\":\"text\",\"text\":...}}, got {}",
                                          param, brief(part)));
                }
                cm.content += part["text"].get<std::string>();
            }
        } else {
            throw bad(param + ".content", fmt::format("{}.content: expected a string, got {}",
                                                      param, type_name(*content)));
        }
        if (rs == "tool" || rs == "function") {
            // A tool's result. Chat templates differ on a tool role (Llama 2 and Mistral render
            // only user and assistant turns), so it goes to the model as a user turn that says so.
            const json* id = field(msg, rs == "tool" ? "tool_call_id" : "name");
            cm.role = "user";
            cm.content = fmt::format("Tool result{}: {}",
                                     id != nullptr && id->is_string() ? " (" + id->get<std::string>() + ")" : "",
                                     cm.content);
        }
        total += cm.content.size();
        r.messages.push_back(std::move(cm));
    }
    if (total > limits.max_prompt_bytes) {
        throw ApiError(400, "invalid_request_error",
                       fmt::format("messages: too long; expected at most {} bytes of content, "
                                   "got {}",
                                   limits.max_prompt_bytes, total),
                       "messages", "context_length_exceeded");
    }
    const int top = static_cast<int>(integer(body, "top_logprobs", 0, 0, 20));
    if (boolean(body, "logprobs", false)) {
        r.logprobs = top;
        r.opt.top_logprobs = top;
    } else if (top > 0) {
        // As OpenAI: alternatives are part of the log-probability report, which must be on.
        throw bad("top_logprobs",
                  "top_logprobs: needs \"logprobs\": true; expected logprobs true or "
                  "top_logprobs absent");
    }
    return r;
}

std::string sse_data(const json& j) { return "data: " + gen::dump_json(j) + "\n\n"; }

const char* openai_finish_reason(gen::FinishReason r) {
    switch (r) {
        case gen::FinishReason::Stop:
        case gen::FinishReason::Eos:
            return "stop";
        case gen::FinishReason::Length:
            return "length";
        case gen::FinishReason::Cancelled:
            return "cancelled";
    }
    return "stop";
}

std::string model_name(const std::filesystem::path& file) { return file.stem().string(); }

bool is_plain_name(std::string_view name) {
    if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    });
}

std::optional<std::filesystem::path> safe_join(const std::filesystem::path& root,
                                               std::string_view rel) {
    namespace fs = std::filesystem;
    if (rel.empty() || rel.find('\0') != std::string_view::npos || rel.front() == '/' ||
        rel.find('\\') != std::string_view::npos) {
        return std::nullopt;
    }
    const fs::path r(rel);
    for (const auto& part : r) {
        if (part == ".." || part == ".") return std::nullopt;
    }
    std::error_code ec;
    const fs::path base = fs::weakly_canonical(root, ec);
    if (ec) return std::nullopt;
    const fs::path full = fs::weakly_canonical(base / r, ec);
    if (ec) return std::nullopt;
    // full must be base itself or below it (compare whole path elements, not string prefixes).
    auto b = base.begin();
    auto f = full.begin();
    for (; b != base.end(); ++b, ++f) {
        if (f == full.end() || *b != *f) return std::nullopt;
    }
    return full;
}

std::string mime_type(const std::filesystem::path& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const std::pair<const char*, const char*> kTypes[] = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".css", "text/css"},                  {".js", "text/javascript"},
        {".mjs", "text/javascript"},           {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"}, {".abc", "text/vnd.abc; charset=utf-8"},
        {".svg", "image/svg+xml"},             {".png", "image/png"},
        {".wav", "audio/wav"},                 {".mid", "audio/midi"},
        {".midi", "audio/midi"},               {".fountain", "text/plain; charset=utf-8"},
        {".md", "text/markdown; charset=utf-8"}, {".pdf", "application/pdf"},
        {".ps", "application/postscript"}};
    for (const auto& [e, t] : kTypes) {
        if (ext == e) return t;
    }
    return "application/octet-stream";
}

}  // namespace lyra::server
