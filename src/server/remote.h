// Remote models: `-m openai:MODEL@BASE_URL` sends the work to an OpenAI-compatible server — a
// `lyra serve` elsewhere or another engine — so a command can use a model too large for this
// machine (issue #10). Text continuations go to POST /v1/completions with every sampling option
// spelled out (a `lyra serve` then gives, for the same seed, the text the local model would);
// art works go to a `lyra serve`'s POST /v1/art/{form}, where the form's constraints run token by
// token next to the model, and the artifacts come back into the local out dir.
//
// The API key, when the remote needs one, comes from $LYRA_API_KEY (else $OPENAI_API_KEY); the
// time limit per request from $LYRA_REMOTE_TIMEOUT (seconds, default 600). Every failure is one
// lyra::Error that names the remote: Io for a refused connection or a timeout, Corrupt for an
// answer that is not the JSON expected, and the remote's own message (InvalidArgument for 4xx,
// NotFound for 404, Io for 5xx) when it answered with an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "art/common/art.h"
#include "generate/generator.h"

namespace lyra::server {

struct RemoteModel {
    std::string model;     // the model name the remote knows
    std::string base_url;  // "http://host:port" (a trailing "/v1" or "/" is dropped)
    std::string api_key;   // "" = send no Authorization header
    int timeout_s = 600;
    std::string spec() const { return "openai:" + model + "@" + base_url; }
};

constexpr std::string_view kRemotePrefix = "openai:";
inline bool is_remote_model(std::string_view spec) { return spec.rfind(kRemotePrefix, 0) == 0; }

// Parses "openai:MODEL@BASE_URL" and reads the key and timeout from the environment. Throws
// Error(Usage) naming what is wrong (no '@', empty model, a URL that is not http://).
RemoteModel parse_remote_model(std::string_view spec);

// POSTs `body` as JSON to base_url + path and returns the parsed answer (throws as above).
nlohmann::json remote_post(const RemoteModel& remote, const std::string& path,
                           const nlohmann::json& body);

// Continues `prompt` on the remote with opt's sampling options (candidates: "n", seed, seed+1,
// ...). Options a remote cannot take (a constraint, repeat_last_n other than 64, add_bos off) are
// refused with Error(Unsupported) naming them. Timings and token ids are not known remotely.
// With on_text, the request streams (server-sent events) and each piece is handed on as it
// arrives; on_text returning false cancels (the connection is closed). A stream that breaks off,
// an event that is not JSON or an error event is one clear Error.
// `response_format` (null = none) is sent as OpenAI's response_format: a JSON schema the remote
// keeps by its own constrained decoding, as lyra serve does.
gen::GenerateResult remote_generate(const RemoteModel& remote, const std::string& prompt,
                                    const gen::GenerateOptions& opt, const gen::StreamFn& on_text = {},
                                    const nlohmann::json& response_format = nullptr);

// Runs art form `form` on a remote `lyra serve` with `request` (its "model" replaced by the
// remote's model name); the artifacts are downloaded into out_dir (when not empty) under their
// own file names and the result's files point at them. A remote without Lyra's art API (404):
// a poem is written by generate-check-regenerate over its /v1/completions (art/poetry/retry.h;
// the result's scores say "fallback_attempts"/"fallback_valid", poem.txt goes to out_dir); the
// other forms give Error(Unsupported) that says so.
art::ArtResult remote_art(const RemoteModel& remote, std::string_view form,
                          nlohmann::json request, const std::string& out_dir);

}  // namespace lyra::server
