// The game's rules: the state of a playthrough, how a player's line becomes an action, which
// actions are possible (an impossible one is refused with the reason), the JSON schema the
// narrator's state update must follow for an action, and the checks before an update is applied.
// The model writes updates; the rules decide what may happen (docs/play.md "Rules").
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/play/world.h"

namespace lyra::art::play {

using nlohmann::json;

struct State {
    std::string location = {};
    std::vector<std::string> inventory = {};  // in pick-up order
    std::set<std::string> flags = {};
    int health = 0;
    std::map<std::string, std::string> item_at = {};  // item -> location id (carried: absent)
    std::vector<std::string> goals_done = {};         // in completion order
    std::set<std::string> visited = {};
    int turn = 0;  // actions played

    bool carries(std::string_view item) const;
    json to_json() const;
    static State from_json(const json& j);  // throws Error(Corrupt)
    bool operator==(const State&) const = default;
};

State initial_state(const World& w);

enum class Verb { Go, Take, Drop, Use, Free };

struct Action {
    Verb verb = Verb::Free;
    std::string object = {};     // direction for Go, item id for Take/Drop/Use ("" = none)
    std::string said = {};       // the player's words
};

// Parses one line of player input into an action: "go north", "n", "north", "go hall" (the
// exit to a place named by its id or a word of its name), "take lamp", "pick up the lamp",
// "drop key", "use key", "use key on door"; anything else is Free (talk, look at, sing...).
// Item words match an item's id or any word of its name; a direction matches an exit's in any
// case ("go Nord", or "北" alone, for a world's own directions). Words are runs of id
// characters (world.h), so names in any script match, and input, ids and names are compared
// after NFKC and full case folding (art/common/unicode.h fold_text): "TAKE LAMPE" is "take
// lampe", "go ÉGLISE" reaches "Église", full-width "ｔａｋｅ　ｋｅｙ" is "take key".
Action parse_action(const World& w, const State& s, std::string_view input);

// Why the action is impossible, or nullopt when it may be played.
std::optional<std::string> refuse(const World& w, const State& s, const Action& a);

// The JSON schema the state update for `a` must follow. Keys: "loc" (location after the turn),
// "take" (items picked up), "drop" (items dropped or used up), "set" (flags set), "hp" (health
// change). Only values the rules allow for this action are in the schema.
json update_schema(const World& w, const State& s, const Action& a);

// Checks an update against the rules (locations reachable, items present or carried, flags
// the action may set, health change within the location's danger). Returns the reason when
// invalid, nullopt when it may be applied.
std::optional<std::string> check_update(const World& w, const State& s, const Action& a,
                                        const json& update);
// Applies a checked update; then marks goals done. Returns the new state.
State apply_update(const World& w, const State& s, const json& update);

// Suggested next actions (at most `max`): exits, items here, usable items, characters.
std::vector<std::string> suggest_choices(const World& w, const State& s, size_t max = 4);

// The lore entries relevant to the state and input, most relevant first, at most `max`.
std::vector<std::string> relevant_lore(const World& w, const State& s, std::string_view input,
                                       size_t max = 3);

bool all_goals_done(const World& w, const State& s);
// "Castle Gate. A portcullis... Exits: north. You see: lantern."
std::string describe_location(const World& w, const State& s);

}  // namespace lyra::art::play
