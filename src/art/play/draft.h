// A world drafted by the model for a premise (`lyra play --premise`, issue #8; docs/play.md
// "Worlds from a premise"). The model writes the world piece by piece, each piece as JSON under
// its part of the world schema (constrained decoding, so even random weights write valid JSON):
//   outline (title, setting, the names of places, items, characters) -> each place
//   (description, exits to the other places, danger) -> each item (description, an optional
//   use that sets a flag) -> each character (description, location) -> placement (start, where
//   each item lies) -> goals.
// Pieces are small so they fit a small model's context; each prompt carries the premise and
// what is drafted so far. The assembled world JSON is then checked by world_from_json (the
// rules a world file gets, goal reachability included) plus the draft's own rules (no two
// names alike, no goal done at the start). A draft that breaks a rule is drafted again with
// the next seed, at most DraftOptions.max_attempts times, then one error gives every defect.
// Stateless functions; the model is reached only through the DraftGenerate callback.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "art/common/prompt_format.h"
#include "art/play/world.h"

namespace lyra::art::play {

using nlohmann::json;

// Writes one piece: the model's text for `parts` under `schema` (a JSON schema), at most
// `max_tokens` tokens; `attempt` and `piece` (0, 1, ...) pick the seed.
using DraftGenerate = std::function<std::string(const PromptParts& parts, const json& schema,
                                                int max_tokens, int attempt, int piece)>;

struct DraftOptions {
    int max_attempts = 8;  // drafts tried before giving up (each with the next seed)
};

struct Draft {
    World world = {};
    json world_json = nullptr;               // as assembled (what world_from_json checked)
    int attempt = 0;                         // the attempt that passed (0 = the first)
    std::vector<std::string> rejected = {};  // why each earlier attempt failed
};

// Drafts a world for `premise`. Throws Error(InvalidArgument) for a premise that is empty, over
// 2000 bytes or not UTF-8, and when every attempt broke a rule (the message lists each defect).
Draft draft_world(std::string_view premise, const DraftOptions& opt, const DraftGenerate& gen);

// One attempt: the world JSON assembled from the model's pieces. Throws Error(Corrupt) when a
// piece is not the JSON its schema asks for (e.g. cut off by the context).
json draft_world_json(std::string_view premise, int attempt, const DraftGenerate& gen);

// world_from_json(j, "drafted world") plus the rules only a draft must meet. Throws
// Error(Corrupt) naming the JSON path of the defect.
World check_drafted_world(const json& j);

// "Great Hall" -> "great_hall": a world id from a drafted name (letters and spaces).
std::string id_from_name(std::string_view name);

}  // namespace lyra::art::play
