// A game world (docs/play.md "World files"): setting, locations with exits, items,
// characters, item uses, goals, lore and the starting state. Read from TOML or JSON; every
// error names where in the file it is: "world 'castle.toml': line 12, column 3: ..." for
// TOML syntax, "world 'x.json': at /locations/hall/exits/north: unknown location 'attic';
// expected one of ..." for checks on the content (the path of the bad value).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lyra::art::play {

using nlohmann::json;

struct Exit {
    std::string to = {};            // location id
    std::string requires_flag = {};  // "" = always open
    std::string blocked = {};       // told when the flag is not set
};

struct Location {
    std::string id = {};
    std::string name = {};
    std::string description = {};
    std::map<std::string, Exit> exits = {};  // direction -> exit
    std::vector<std::string> items = {};     // items lying here at the start
    int danger = 0;  // the narrator's update may take up to this much health per turn here
};

struct Item {
    std::string id = {};
    std::string name = {};
    std::string description = {};
    bool portable = true;
};

struct Character {
    std::string id = {};
    std::string name = {};
    std::string description = {};
    std::string location = {};
};

// Using `item` at `location` ("" = anywhere) sets `sets` (a flag); consumes removes the item.
struct Use {
    std::string item = {};
    std::string location = {};
    std::string sets = {};
    bool consumes = false;
    std::string text = {};
};

// Done when every listed flag is set, every listed item carried, and the player is at
// `location` (when given).
struct Goal {
    std::string id = {};
    std::string description = {};
    std::vector<std::string> flags = {};
    std::vector<std::string> items = {};
    std::string location = {};
};

// Put into the narrator's prompt when any key (a location, item or character id, or a word)
// matches the state or the player's input.
struct Lore {
    std::vector<std::string> keys = {};
    std::string text = {};
};

struct World {
    std::string title = {};
    std::string setting = {};
    std::string start = {};  // starting location id
    int health = 10;         // starting (and maximum) health
    std::vector<std::string> inventory = {};  // starting inventory
    std::vector<std::string> flags = {};      // flags set at the start
    std::map<std::string, Location> locations = {};
    std::map<std::string, Item> items = {};
    std::map<std::string, Character> characters = {};
    std::vector<Use> uses = {};
    std::vector<Goal> goals = {};
    std::vector<Lore> lore = {};

    json to_json() const;
    // Every flag the world mentions (exits, uses, goals, start), sorted.
    std::vector<std::string> all_flags() const;
};

// Ids (locations, items, characters, flags) are 1-40 bytes of id characters: ASCII lower-case
// letters, digits, '_' and '-', and the letters of other scripts (Latin with accents, Greek,
// Cyrillic, Hebrew, Arabic, Indic scripts, Thai, Japanese kana, CJK ideographs, Hangul), so a
// drafted name in any of them has an id (id_from_name) the player can type. "Église" is an id
// as written; the command parser compares ids with the player's words case-folded (rules.h),
// so "go église" reaches it. The parser's words are runs of id characters, so an id is always
// one word.
bool id_char(uint32_t cp);
bool valid_id(std::string_view id);

// What a player can reach from the start: places through open exits, items carried at the
// start or lying portable in reachable places, flags set by uses of those items there (and
// the exits those flags open). world_from_json refuses a goal outside it.
struct Reach {
    std::set<std::string> places = {};
    std::set<std::string> items = {};
    std::set<std::string> flags = {};
};
Reach reachable(const World& w);

// The exact check behind the generous one: a search over what one game can do, move by move
// (go through an open exit, take an item lying here, use a carried item: the first use of it
// here whose flag is not set, as the rules pick it), with items a use consumes gone for good and
// health counted: each turn may cost up to the danger of the place it ends in (the most the
// narrator's update may take). Dropping is left out, as it never helps: a dropped item lies
// where the player stands and can be taken again, and no goal or use asks for empty hands. Among
// the ways that do every goal it finds one that risks the least health (Dijkstra over the
// states), so `worst_damage` is what the narrator could take at most on the safest way.
struct WinPlan {
    bool searched = false;   // false: no goals, or more than max_states states (nothing known)
    bool winnable = false;   // some order of moves does every goal
    int worst_damage = 0;    // winnable: the most health the narrator may take on `moves`
    std::vector<std::string> moves = {};   // the safest way: "go north", "take key", "use key"
    std::vector<std::string> places = {};  // where each move ends
    std::set<std::string> goals_possible = {};  // goals some order of moves does (all when winnable)
};
WinPlan plan_win(const World& w, size_t max_states = 200000);

// Parses and checks a world given as JSON; `source` names it in errors. Throws
// Error(Corrupt) with the JSON path of the problem. Besides the shape of every value, it checks
// that every lock (an exit with requires_flag) has a key (a use that sets the flag, or the flag
// set at the start) and, in a place the player can reach, that the key can be had without going
// through that lock; that every goal can be done (reachable()); then, with plan_win, that all
// goals can be done in one game with used-up items gone, and that the safest way to do them
// leaves the player alive even if the narrator takes the most health every turn. With
// `check_playable` false only the shape is checked (ids, references, types), not the locks,
// goals and danger: for the world of a saved game, checked when that game began, so a check
// added since never locks a player out of a save.
World world_from_json(const json& j, std::string_view source, bool check_playable = true);
// Reads a world file: .toml or .json (by extension; otherwise by content). Throws
// Error(NotFound) for a missing file, Error(Corrupt) with the line/column or path of the problem.
World load_world_file(const std::string& path);
// Parses TOML text into the world JSON (numbers, strings, booleans, arrays, tables); errors
// carry the line and column.
json toml_to_json(std::string_view text, std::string_view source);
// The built-in default world ("The Lantern Keep"); the same text as worlds/lantern-keep.toml.
World default_world();
std::string_view default_world_toml();

}  // namespace lyra::art::play
