// The OpenAI-compatible request and response shapes, free of HTTP: parsing a /v1/completions or
// /v1/chat/completions body into generation options (with the server's limits), the error
// object every endpoint answers with, SSE framing, and the path check that guards /files.
// Pure functions; thread-safe. Parsing throws ApiError (status 400 + the offending param).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "generate/constraint/grammar.h"
#include "generate/generator.h"
#include "model/chat_template.h"

namespace lyra::server {

using nlohmann::json;

// An error as OpenAI reports it: HTTP status + {"error":{"message","type","param","code"}}.
class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string type, const std::string& message, std::string param = {},
             std::string code = {})
        : std::runtime_error(message),
          status_(status),
          type_(std::move(type)),
          param_(std::move(param)),
          code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& type() const { return type_; }
    const std::string& param() const { return param_; }  // "" = null
    const std::string& code() const { return code_; }    // "" = null

private:
    int status_;
    std::string type_, param_, code_;
};

json error_json(const ApiError& e);
// 400 invalid_request_error (InvalidArgument, Usage, ContextFull: code
// "context_length_exceeded"), 404 not_found_error (NotFound), 501 not_implemented (Unsupported),
// 500 server_error (Corrupt, Io).
ApiError to_api_error(const Error& e);

struct Limits {
    size_t max_body_bytes = 1 << 20;      // request body
    int max_tokens = 1024;                // per choice
    int max_n = 8;                        // choices per prompt
    size_t max_prompt_bytes = 16 << 10;   // per prompt (chat: the rendered conversation)
    size_t max_prompt_tokens = 4096;      // per token-id prompt
    int max_prompts = 16;                 // entries of a prompt list
    int max_choices = 32;                 // prompts x n (x best_of)
    int max_logit_bias = 300;             // entries of logit_bias
    int max_best_of = 20;                 // candidates per prompt that best_of may ask for
};

struct CompletionRequest {
    std::string model;                      // "" = the server's default model
    std::vector<std::string> prompts;       // completions: each prompt (a string is one)
    // Completions whose prompt is token ids (an array of integers is one prompt, an array of
    // such arrays several), taken as they are: no BOS added. When set, `prompts` is empty.
    std::vector<std::vector<gen::TokenId>> token_prompts;
    std::vector<model::ChatMessage> messages;  // chat
    gen::GenerateOptions opt;               // max_tokens, temperature, top_p, stop, seed, ...
    int n = 1;
    // Completions: candidates generated per prompt, of which the n with the highest mean
    // log-probability per token are returned (OpenAI's best_of; >= n, no streaming).
    int best_of = 1;
    bool stream = false;
    bool echo = false;
    // Completions with max_tokens 0 and echo: the prompt comes back with its logprobs (when
    // asked for) and nothing is generated, the legacy API's way to score a text.
    bool score_only = false;
    bool include_usage = false;             // stream_options.include_usage
    // response_format json_object / json_schema: the grammar every choice's text must follow
    // (null = free text). Compiled at parse time, so a schema Lyra cannot follow is a 400.
    std::shared_ptr<const gen::constraint::Grammar> grammar;
    // Chat with tool_choice "required" or a named function: the grammar writes {"name",
    // "arguments"} and the answer carries it as tool_calls (finish_reason "tool_calls").
    bool tool_call = false;
    bool legacy_functions = false;  // asked with functions / function_call: answered with function_call
    // Log-probabilities asked for: completions `logprobs: K` (0..5), chat `logprobs: true` with
    // `top_logprobs: K` (0..20); K alternatives per token go to opt.top_logprobs.
    std::optional<int> logprobs;
};

// Parses a /v1/completions body. `seed_fallback` is used when the body has no seed. Unknown
// keys, wrong types and values past `limits` throw ApiError 400 naming the param.
CompletionRequest parse_completion_request(const json& body, const Limits& limits,
                                           uint64_t seed_fallback);
// Parses a /v1/chat/completions body (messages instead of prompt).
CompletionRequest parse_chat_request(const json& body, const Limits& limits,
                                     uint64_t seed_fallback);

// POST /v1/embeddings: `input` as texts or token-id arrays (each one embedding), the model by
// name, floats or base64 (little-endian f32, what the official clients ask for by default).
struct EmbeddingRequest {
    std::string model;
    std::vector<std::string> texts;                 // or
    std::vector<std::vector<gen::TokenId>> tokens;  // token-id inputs, taken as they are
    bool base64 = false;
};
EmbeddingRequest parse_embedding_request(const json& body, const Limits& limits);

// How deeply `text` nests arrays and objects (brackets inside strings do not count). The server
// refuses bodies deeper than kMaxJsonDepth before parsing them: printing, freeing or turning into
// a grammar a value nested 100,000 deep (a 1 MB body allows it) would recurse past the stack.
int json_depth(std::string_view text);
inline constexpr int kMaxJsonDepth = 128;

// Standard base64 (RFC 4648, with padding) of `bytes`.
std::string base64_encode(std::string_view bytes);

// "data: <json>\n\n" (invalid UTF-8 from a model becomes U+FFFD).
std::string sse_data(const json& j);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// OpenAI's finish_reason for ours: stop/eos -> "stop", length -> "length",
// cancelled -> "cancelled".
const char* openai_finish_reason(gen::FinishReason r);

// The model name a GGUF file is listed under: its file name without ".gguf".
std::string model_name(const std::filesystem::path& file);
// True when `name` is a plain model name (letters, digits, '.', '-', '_'; no path parts).
bool is_plain_name(std::string_view name);

// root / rel when `rel` stays inside `root` (no "..", no absolute path, no NUL, and the
// resolved path, symlinks followed, is under root's resolved path); std::nullopt otherwise.
std::optional<std::filesystem::path> safe_join(const std::filesystem::path& root,
                                               std::string_view rel);

// The Content-Type for a served file, by extension ("application/octet-stream" otherwise).
std::string mime_type(const std::filesystem::path& file);

}  // namespace lyra::server
