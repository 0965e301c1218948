// A world drafted by the model for a premise (`lyra play --premise`, issue #8; docs/play.md
// "Worlds from a premise"). The model writes the world piece by piece, each piece as JSON under
// its part of the world schema (constrained decoding, so even random weights write valid JSON):
//   outline (title, setting, the names of places, items, characters) -> each place
//   (description, exits to the other places, danger) -> each item (description, an optional
//   use that sets a flag) -> each character (description, location) -> placement (start, where
//   each item lies) -> up to two locked exits (optional; each with its key) -> goals -> lore.
// Names are written in the premise's script (name_patterns). Pieces are small so they fit a
// small model's context; each prompt carries the premise and what is drafted so far. The
// assembled world JSON is then checked by world_from_json (the rules a world file gets, goal
// reachability included) plus the draft's own rules (no two names alike, every lock can be
// opened, no goal done at the start). The schemas offer only locks that can be opened and goals
// that can be done, so the checks pass on any model's draft; a draft that still breaks a rule
// is drafted again with the next seed, at most DraftOptions.max_attempts times, then one error
// gives every defect.
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

// world_from_json(j, "drafted world") (which refuses, as for any world, a locked exit that
// cannot be opened: a use of a key the player can get with the door shut, at a place the player
// can reach, must set its flag) plus the rule only a draft must meet: no goal done at the
// start. Throws Error(Corrupt) naming the JSON path of the defect.
World check_drafted_world(const json& j);

// "Great Hall" -> "great_hall", "大厅" -> "大厅", "Forêt Noire" -> "forêt_noire": a world id
// from a drafted name (its letters and digits, spaces as '_', ASCII lower-cased, at most 40
// bytes cut between characters).
std::string id_from_name(std::string_view name);

// The patterns drafted names follow: the letters of the script most of the premise's letters
// are in (a CJK or Hangul character counts three, a syllable each), so a Chinese premise drafts
// Chinese names: Latin (plain ASCII, or with accented letters when the premise has any),
// Greek, Cyrillic, Chinese (Han), Japanese (kana and Han), Korean (Hangul). A premise in any
// other script drafts Latin names. Every name these allow has a valid id (world.h).
struct NamePatterns {
    std::string script = {};  // "Latin", "Latin with accents", "Greek", "Chinese", ...
    std::string name = {};    // places, characters, the title (capitalised where the script has case)
    std::string thing = {};   // items (lower case)
};
NamePatterns name_patterns(std::string_view premise);

}  // namespace lyra::art::play
