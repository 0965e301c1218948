// The "text" art form: plain continuation of a prompt with a text model (the shipped
// tiny-shakespeare-char by default). It is the demo's oldest part and the one form that works on
// a fresh checkout before any art model is trained, so the gallery, --rerun and the server's art
// API can always be exercised. Request keys: "prompt" (required, non-empty), "max_tokens"
// (1..2048, default 120), plus the common keys (n candidates ranked by log-likelihood per token).
#pragma once

#include <nlohmann/json.hpp>

#include "art/common/art.h"

namespace lyra::studio {

art::ArtResult run_text(const nlohmann::json& request, art::Context& ctx);

}  // namespace lyra::studio
