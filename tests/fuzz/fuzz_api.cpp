// libFuzzer target for the HTTP API's request parsing (server/api.h): arbitrary bytes as a
// request body, checked for depth and parsed as lyra serve does, then read as a completions, a
// chat and an embeddings request (response_format and tools compile JSON schemas into grammars).
// Each is accepted or refused with ApiError (or lyra::Error from a grammar front end). Anything
// else — a crash, a hang, a sanitizer report, another exception type — is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "server/api.h"

// libFuzzer's entry point (declared here for -Wmissing-prototypes).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace s = lyra::server;
    const std::string body(reinterpret_cast<const char*>(data), size);
    (void)s::base64_encode(body);
    if (s::json_depth(body) > s::kMaxJsonDepth) return 0;  // refused before parsing, as the server does
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) return 0;
    const s::Limits limits;
    try {
        (void)s::parse_completion_request(j, limits, 1);
    } catch (const s::ApiError&) {
    } catch (const lyra::Error&) {
    }
    try {
        (void)s::parse_chat_request(j, limits, 1);
    } catch (const s::ApiError&) {
    } catch (const lyra::Error&) {
    }
    try {
        (void)s::parse_embedding_request(j, limits);
    } catch (const s::ApiError&) {
    } catch (const lyra::Error&) {
    }
    return 0;
}
