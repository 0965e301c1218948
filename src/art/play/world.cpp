// World files (world.h): TOML or JSON to a checked World. TOML is turned into the same JSON
// first (remembering where each value was written), so one checker serves both formats and its
// errors point into the file the user wrote.
#include "art/play/world.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <queue>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "art/common/text.h"
#include "art/common/unicode.h"
#include "core/error.h"
#include "core/mmap.h"

namespace lyra::art::play {

namespace {

const char kDefaultWorld[] = R"lyra(# The Lantern Keep: Lyra's built-in default world (lyra play with no --world).
# The same text is compiled into the program (src/art/play/world.cpp); a unit test keeps the
# two equal. Format: docs/play.md "World files".
title = "The Lantern Keep"
setting = "A ruined keep on a sea cliff, where a drowned king's crown is said to lie in the vault below."
start = "gate"
health = 10
inventory = []
flags = []

[locations.gate]
name = "Castle Gate"
description = "A broken portcullis under a grey sky. Gulls cry over the cliff."
exits = { north = "hall" }
items = ["lantern"]

[locations.hall]
name = "Great Hall"
description = "Long tables rot under a fallen roof. A ghost drifts by the cold hearth."
exits = { south = "gate", east = "chapel", down = { to = "vault", requires_flag = "vault_open", blocked = "A stone slab seals the stair down; a keyhole is cut into it." } }

[locations.chapel]
name = "Chapel"
description = "Salt has eaten the pews. Something glints on the altar."
exits = { west = "hall" }
items = ["key"]
danger = 1

[locations.vault]
name = "Vault"
description = "A dark, dripping vault. Upon a plinth rests the drowned king's crown."
exits = { up = "hall" }
items = ["crown"]

[items.lantern]
name = "brass lantern"
description = "An old brass lantern, still half full of oil."

[items.key]
name = "iron key"
description = "A heavy iron key crusted with salt."

[items.crown]
name = "drowned crown"
description = "A crown of green gold, cold as the sea."

[characters.ghost]
name = "Sir Aldric's ghost"
description = "A pale knight who mourns his king."
location = "hall"

[[uses]]
item = "key"
location = "hall"
sets = "vault_open"
consumes = true
text = "The iron key turns in the slab; it grinds aside and the stair down lies open."

[[uses]]
item = "lantern"
sets = "lantern_lit"
text = "The lantern's wick catches and warm light spills around you."

[[goals]]
id = "crown"
description = "Find the drowned crown."
items = ["crown"]

[[goals]]
id = "escape"
description = "Bring the crown back out through the gate."
items = ["crown"]
location = "gate"

[[lore]]
keys = ["ghost", "hall"]
text = "Sir Aldric swore to guard the king's crown until the sea gave back the king."

[[lore]]
keys = ["key", "chapel"]
text = "The chapel priests kept the vault key upon the altar, under the salt."

[[lore]]
keys = ["crown", "vault"]
text = "The crown was hidden in the vault when the king's ship went down."

[[lore]]
keys = ["lantern", "dark"]
text = "No one walks the vault without light; the stair is steep and wet."
)lyra";

// Where values were written in a TOML file: JSON pointer -> "line L, column C".
using Positions = std::map<std::string, std::string>;

json toml_node_to_json(const toml::node& n, const std::string& path, Positions* pos) {
    if (pos != nullptr) {
        const auto& src = n.source();
        (*pos)[path] = fmt::format("line {}, column {}", src.begin.line, src.begin.column);
    }
    if (const auto* t = n.as_table()) {
        json o = json::object();
        for (const auto& [k, v] : *t) {
            const std::string key(k.str());
            o[key] = toml_node_to_json(v, path + "/" + key, pos);
        }
        return o;
    }
    if (const auto* a = n.as_array()) {
        json arr = json::array();
        for (size_t i = 0; i < a->size(); ++i) {
            arr.push_back(toml_node_to_json(*a->get(i), path + "/" + std::to_string(i), pos));
        }
        return arr;
    }
    if (const auto* s = n.as_string()) return s->get();
    if (const auto* i = n.as_integer()) return i->get();
    if (const auto* f = n.as_floating_point()) return f->get();
    if (const auto* b = n.as_boolean()) return b->get();
    // dates and times have no meaning in a world file
    return "(a date or time)";
}

json parse_toml(std::string_view text, std::string_view source, Positions* pos) {
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(source));
    } catch (const toml::parse_error& e) {
        throw_error(ErrorKind::Corrupt, "world '{}': line {}, column {}: {}", source,
                    e.source().begin.line, e.source().begin.column, e.description());
    }
    return toml_node_to_json(root, "", pos);
}

// Reads values out of the world JSON with errors that say where the value is.
class Reader {
public:
    Reader(std::string_view source, const Positions* pos) : source_(source), pos_(pos) {}

    [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
        std::string where;
        if (pos_ != nullptr) {
            // the value's own position, or its nearest parent's
            std::string p = path;
            while (true) {
                auto it = pos_->find(p);
                if (it != pos_->end() && !p.empty()) {
                    where = it->second + " (" + path + ")";
                    break;
                }
                const size_t slash = p.rfind('/');
                if (slash == std::string::npos || p.empty()) break;
                p = p.substr(0, slash);
            }
        }
        if (where.empty()) where = "at " + (path.empty() ? std::string("/") : path);
        throw_error(ErrorKind::Corrupt, "world '{}': {}: {}", source_, where, problem);
    }

    std::string str(const json& o, const std::string& path, const char* key, bool required,
                    std::string fallback = {}) const {
        const std::string p = path + "/" + key;
        if (!o.contains(key)) {
            if (required) fail(path, fmt::format("missing '{}'; expected a string", key));
            return fallback;
        }
        const json& v = o.at(key);
        if (!v.is_string()) fail(p, fmt::format("expected a string, got {}", v.dump()));
        return v.get<std::string>();
    }
    int integer(const json& o, const std::string& path, const char* key, int fallback, int lo,
                int hi) const {
        if (!o.contains(key)) return fallback;
        const json& v = o.at(key);
        const std::string p = path + "/" + key;
        if (!v.is_number_integer()) fail(p, fmt::format("expected an integer, got {}", v.dump()));
        const int64_t x = v.get<int64_t>();
        if (x < lo || x > hi) fail(p, fmt::format("expected {}..{}, got {}", lo, hi, x));
        return static_cast<int>(x);
    }
    bool boolean(const json& o, const std::string& path, const char* key, bool fallback) const {
        if (!o.contains(key)) return fallback;
        const json& v = o.at(key);
        if (!v.is_boolean()) fail(path + "/" + key, fmt::format("expected true or false, got {}", v.dump()));
        return v.get<bool>();
    }
    std::vector<std::string> strings(const json& o, const std::string& path, const char* key) const {
        std::vector<std::string> out;
        if (!o.contains(key)) return out;
        const json& v = o.at(key);
        const std::string p = path + "/" + key;
        if (!v.is_array()) fail(p, fmt::format("expected an array of strings, got {}", v.dump()));
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string()) {
                fail(p + "/" + std::to_string(i), fmt::format("expected a string, got {}", v[i].dump()));
            }
            out.push_back(v[i].get<std::string>());
        }
        return out;
    }
    const json& table(const json& o, const std::string& path, const char* key, bool required) const {
        static const json empty = json::object();
        if (!o.contains(key)) {
            if (required) fail(path, fmt::format("missing '{}'; expected a table", key));
            return empty;
        }
        const json& v = o.at(key);
        if (!v.is_object()) fail(path + "/" + key, fmt::format("expected a table, got {}", v.dump()));
        return v;
    }
    const json& array(const json& o, const std::string& path, const char* key) const {
        static const json empty = json::array();
        if (!o.contains(key)) return empty;
        const json& v = o.at(key);
        if (!v.is_array()) fail(path + "/" + key, fmt::format("expected an array of tables, got {}", v.dump()));
        return v;
    }
    void known_keys(const json& o, const std::string& path,
                    std::initializer_list<std::string_view> keys) const {
        for (const auto& [k, v] : o.items()) {
            if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
                std::string list;
                for (std::string_view x : keys) list += (list.empty() ? "" : ", ") + std::string(x);
                fail(path + "/" + k, fmt::format("unknown key '{}'; expected one of {}", k, list));
            }
        }
    }

private:
    std::string source_;
    const Positions* pos_;
};

constexpr const char* kIdRule = "1-40 bytes of lower-case letters (or letters of another script), digits, _ or -";

template <typename Map>
std::string id_list(const Map& m) {
    std::string s;
    for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
    return s;
}

// Two ids of one table the player's words cannot tell apart: words and ids are compared
// case-folded and in NFKC (rules.h), so "Église" and "église", or "café" written precomposed
// and with a combining accent, would name the same thing.
template <typename Map>
void check_ids_fold_apart(const Map& m, const std::string& table, const Reader& r) {
    std::map<std::string, std::string> seen;  // folded -> the first id
    for (const auto& [id, v] : m) {
        const auto [it, fresh] = seen.emplace(fold_text(id), id);
        if (!fresh) {
            r.fail("/" + table + "/" + id, fmt::format("id '{}' reads as '{}' to the player (their words are compared "
                                                       "case-folded); expected ids that differ beyond case and accent "
                                                       "encoding", id, it->second));
        }
    }
}

// Every lock has a key, and one the player can walk up to can be opened: some use of an item
// sets its flag (or the flag is set at the start), and for a lock in a reachable place that
// item is obtainable, and the use's place reachable, without passing the lock. The reach is a
// fixpoint from the start, so a key lying only behind its own lock never counts. A lock in a
// place nobody reaches only needs a key (a misspelt flag is caught wherever it is).
void check_locks(const World& w, const Reach& reach, const Reader& r) {
    for (const auto& [id, l] : w.locations) {
        for (const auto& [dir, e] : l.exits) {
            if (e.requires_flag.empty() || reach.flags.count(e.requires_flag)) continue;
            const bool has_key = std::any_of(w.uses.begin(), w.uses.end(),
                                             [&flag = e.requires_flag](const Use& u) { return u.sets == flag; });
            if (has_key && !reach.places.count(id)) continue;
            std::string why = fmt::format("no use of an item sets its flag '{}'", e.requires_flag);
            for (const Use& u : w.uses) {
                if (u.sets != e.requires_flag) continue;
                if (reach.items.count(u.item)) {  // then only the use's place is out of reach
                    why = fmt::format("its key '{}' opens it at '{}', which cannot be reached", u.item, u.location);
                    continue;
                }
                // with this lock open the key can be had: it lies behind the lock
                World open = w;
                open.flags.push_back(e.requires_flag);
                why = reachable(open).items.count(u.item)
                          ? fmt::format("its key '{}' cannot be obtained before it (it lies behind the lock)", u.item)
                          : fmt::format("its key '{}' cannot be obtained at all (not carried at the start, nor lying "
                                        "portable in a place reachable from '{}')", u.item, w.start);
            }
            r.fail("/locations/" + id + "/exits/" + dir,
                   fmt::format("the lock cannot be opened: {}; expected a key the player can get without passing it", why));
        }
    }
}

// Every goal must be possible from the start (reachable() below): its location reachable,
// its items obtainable and its flags settable.
void check_goals_reachable(const World& w, const Reach& reach, const Reader& r) {
    const std::set<std::string>& places = reach.places;
    const std::set<std::string>& items = reach.items;
    const std::set<std::string>& flags = reach.flags;
    for (size_t i = 0; i < w.goals.size(); ++i) {
        const Goal& g = w.goals[i];
        const std::string p = "/goals/" + std::to_string(i);
        if (!g.location.empty() && !places.count(g.location)) {
            r.fail(p + "/location", fmt::format("goal '{}' cannot be done: location '{}' cannot be reached from "
                                                "the start '{}'", g.id, g.location, w.start));
        }
        for (size_t k = 0; k < g.items.size(); ++k) {
            if (!items.count(g.items[k])) {
                r.fail(p + "/items/" + std::to_string(k),
                       fmt::format("goal '{}' cannot be done: item '{}' cannot be obtained (not carried at the start, "
                                   "nor lying portable in a place reachable from '{}')", g.id, g.items[k], w.start));
            }
        }
        for (size_t k = 0; k < g.flags.size(); ++k) {
            if (!flags.count(g.flags[k])) {
                r.fail(p + "/flags/" + std::to_string(k),
                       fmt::format("goal '{}' cannot be done: flag '{}' is never set (no use of an obtainable item "
                                   "in a reachable place sets it)", g.id, g.flags[k]));
            }
        }
    }
}

// The exact check (plan_win) after the generous ones: every goal in one game, where one-way
// exits can shut the player in and used-up items are gone, and the safest way to do them
// survives a narrator that takes the most health it may every turn.
void check_winnable(const World& w, const Reader& r) {
    const WinPlan plan = plan_win(w);
    if (!plan.searched) return;  // too many states to search: the generous checks stand alone
    if (!plan.winnable) {
        std::string used;
        for (size_t i = 0; i < w.uses.size(); ++i) {
            if (w.uses[i].consumes) used += fmt::format("{}'{}' by /uses/{}", used.empty() ? "" : ", ", w.uses[i].item, i);
        }
        const std::string cause = fmt::format("one-way exits or items used up ({}) stand in the way, though each part "
                                              "of it can be reached on its own", used.empty() ? "none" : used);
        for (size_t i = 0; i < w.goals.size(); ++i) {
            if (!plan.goals_possible.count(w.goals[i].id)) {
                r.fail("/goals/" + std::to_string(i),
                       fmt::format("goal '{}' cannot be done in any order of moves: {}", w.goals[i].id, cause));
            }
        }
        r.fail("/goals", fmt::format("the goals cannot all be done in one game (each can on its own): {}",
                                     cause.substr(0, cause.find(", though"))));
    }
    if (plan.worst_damage >= w.health) {
        std::map<std::string, int> turns;  // dangerous turns on the safest way, by place
        for (const std::string& p : plan.places) {
            if (w.locations.at(p).danger > 0) ++turns[p];
        }
        std::string where;
        for (const auto& [p, n] : turns) {
            where += fmt::format("{}{} ending in '{}' (danger {})", where.empty() ? "" : ", ",
                                 n == 1 ? std::string("1 turn") : fmt::format("{} turns", n), p, w.locations.at(p).danger);
        }
        r.fail("/health", fmt::format("the world cannot be won safely: the safest way to every goal ({} moves) has {}, "
                                      "where the narrator may take up to {} health, and the player has {}; expected "
                                      "health above {}, or less danger",
                                      plan.moves.size(), where, plan.worst_damage, w.health, plan.worst_damage));
    }
}

World parse_world(const json& j, std::string_view source, const Positions* pos, bool check_playable = true) {
    const Reader r(source, pos);
    if (!j.is_object()) r.fail("", fmt::format("expected a table/object, got {}", j.dump().substr(0, 40)));
    r.known_keys(j, "", {"title", "setting", "start", "health", "inventory", "flags", "locations",
                         "items", "characters", "uses", "goals", "lore"});
    World w;
    w.title = r.str(j, "", "title", true);
    w.setting = r.str(j, "", "setting", false);
    w.start = r.str(j, "", "start", true);
    w.health = r.integer(j, "", "health", 10, 1, 1000);
    w.inventory = r.strings(j, "", "inventory");
    w.flags = r.strings(j, "", "flags");

    const json& items = r.table(j, "", "items", false);
    for (const auto& [id, v] : items.items()) {
        const std::string p = "/items/" + id;
        if (!valid_id(id)) r.fail(p, fmt::format("bad id '{}'; expected {}", id, kIdRule));
        if (!v.is_object()) r.fail(p, "expected a table");
        r.known_keys(v, p, {"name", "description", "portable"});
        Item it{.id = id, .name = r.str(v, p, "name", false, id),
                .description = r.str(v, p, "description", false),
                .portable = r.boolean(v, p, "portable", true)};
        w.items.emplace(id, std::move(it));
    }
    auto check_item = [&](const std::string& item, const std::string& p) {
        if (!w.items.count(item)) {
            r.fail(p, fmt::format("unknown item '{}'; expected one of: {}", item, id_list(w.items)));
        }
    };

    const json& locs = r.table(j, "", "locations", true);
    if (locs.empty()) r.fail("/locations", "expected at least one location");
    for (const auto& [id, v] : locs.items()) {
        const std::string p = "/locations/" + id;
        if (!valid_id(id)) r.fail(p, fmt::format("bad id '{}'; expected {}", id, kIdRule));
        if (!v.is_object()) r.fail(p, "expected a table");
        r.known_keys(v, p, {"name", "description", "exits", "items", "danger"});
        Location l{.id = id, .name = r.str(v, p, "name", false, id),
                   .description = r.str(v, p, "description", false)};
        l.items = r.strings(v, p, "items");
        l.danger = r.integer(v, p, "danger", 0, 0, 100);
        w.locations.emplace(id, std::move(l));
    }
    std::set<std::string> placed;
    for (const auto& [id, v] : locs.items()) {
        const std::string p = "/locations/" + id;
        Location& l = w.locations.at(id);
        for (size_t i = 0; i < l.items.size(); ++i) {
            const std::string ip = p + "/items/" + std::to_string(i);
            check_item(l.items[i], ip);
            if (!placed.insert(l.items[i]).second) r.fail(ip, fmt::format("item '{}' is placed twice", l.items[i]));
        }
        const json& exits = r.table(v, p, "exits", false);
        for (const auto& [dir, e] : exits.items()) {
            const std::string ep = p + "/exits/" + dir;
            Exit x;
            if (e.is_string()) {
                x.to = e.get<std::string>();
            } else if (e.is_object()) {
                r.known_keys(e, ep, {"to", "requires_flag", "blocked"});
                x.to = r.str(e, ep, "to", true);
                x.requires_flag = r.str(e, ep, "requires_flag", false);
                x.blocked = r.str(e, ep, "blocked", false);
            } else {
                r.fail(ep, fmt::format("expected a location id or a table {{to = ...}}, got {}", e.dump()));
            }
            if (!w.locations.count(x.to)) {
                r.fail(ep, fmt::format("unknown location '{}'; expected one of: {}", x.to, id_list(w.locations)));
            }
            l.exits.emplace(dir, std::move(x));
        }
    }
    if (!w.locations.count(w.start)) {
        r.fail("/start", fmt::format("unknown location '{}'; expected one of: {}", w.start, id_list(w.locations)));
    }
    for (size_t i = 0; i < w.inventory.size(); ++i) {
        const std::string ip = "/inventory/" + std::to_string(i);
        check_item(w.inventory[i], ip);
        if (!placed.insert(w.inventory[i]).second) r.fail(ip, fmt::format("item '{}' is placed twice", w.inventory[i]));
    }

    const json& chars = r.table(j, "", "characters", false);
    for (const auto& [id, v] : chars.items()) {
        const std::string p = "/characters/" + id;
        if (!valid_id(id)) r.fail(p, fmt::format("bad id '{}'; expected {}", id, kIdRule));
        if (!v.is_object()) r.fail(p, "expected a table");
        r.known_keys(v, p, {"name", "description", "location"});
        Character c{.id = id, .name = r.str(v, p, "name", false, id),
                    .description = r.str(v, p, "description", false),
                    .location = r.str(v, p, "location", false)};
        if (!c.location.empty() && !w.locations.count(c.location)) {
            r.fail(p + "/location", fmt::format("unknown location '{}'; expected one of: {}", c.location, id_list(w.locations)));
        }
        w.characters.emplace(id, std::move(c));
    }

    check_ids_fold_apart(w.locations, "locations", r);
    check_ids_fold_apart(w.items, "items", r);
    check_ids_fold_apart(w.characters, "characters", r);

    const json& uses = r.array(j, "", "uses");
    for (size_t i = 0; i < uses.size(); ++i) {
        const std::string p = "/uses/" + std::to_string(i);
        const json& v = uses[i];
        if (!v.is_object()) r.fail(p, "expected a table");
        r.known_keys(v, p, {"item", "location", "sets", "consumes", "text"});
        Use u{.item = r.str(v, p, "item", true), .location = r.str(v, p, "location", false),
              .sets = r.str(v, p, "sets", true), .consumes = r.boolean(v, p, "consumes", false),
              .text = r.str(v, p, "text", false)};
        check_item(u.item, p + "/item");
        if (!u.location.empty() && !w.locations.count(u.location)) {
            r.fail(p + "/location", fmt::format("unknown location '{}'; expected one of: {}", u.location, id_list(w.locations)));
        }
        if (!valid_id(u.sets)) r.fail(p + "/sets", fmt::format("bad flag '{}'; expected {}", u.sets, kIdRule));
        w.uses.push_back(std::move(u));
    }

    const json& goals = r.array(j, "", "goals");
    for (size_t i = 0; i < goals.size(); ++i) {
        const std::string p = "/goals/" + std::to_string(i);
        const json& v = goals[i];
        if (!v.is_object()) r.fail(p, "expected a table");
        r.known_keys(v, p, {"id", "description", "flags", "items", "location"});
        Goal g{.id = r.str(v, p, "id", true), .description = r.str(v, p, "description", false),
               .flags = r.strings(v, p, "flags"), .items = r.strings(v, p, "items"),
               .location = r.str(v, p, "location", false)};
        for (size_t k = 0; k < g.items.size(); ++k) check_item(g.items[k], p + "/items/" + std::to_string(k));
        if (!g.location.empty() && !w.locations.count(g.location)) {
            r.fail(p + "/location", fmt::format("unknown location '{}'; expected one of: {}", g.location, id_list(w.locations)));
        }
        w.goals.push_back(std::move(g));
    }

    if (check_playable) {
        // the root causes first: a lock that cannot be opened makes goals behind it unreachable
        const Reach reach = reachable(w);
        check_locks(w, reach, r);
        check_goals_reachable(w, reach, r);
        check_winnable(w, r);
    }

    const json& lore = r.array(j, "", "lore");
    for (size_t i = 0; i < lore.size(); ++i) {
        const std::string p = "/lore/" + std::to_string(i);
        const json& v = lore[i];
        if (!v.is_object()) r.fail(p, "expected a table");
        r.known_keys(v, p, {"keys", "text"});
        Lore l{.keys = r.strings(v, p, "keys"), .text = r.str(v, p, "text", true)};
        w.lore.push_back(std::move(l));
    }
    return w;
}

// Letters beyond ASCII that ids may hold, by block (with the combining marks words of those
// scripts need); punctuation and spaces of those scripts are left out, so they split words.
constexpr std::pair<uint32_t, uint32_t> kIdLetters[] = {
    {0x00C0, 0x00D6}, {0x00D8, 0x00F6}, {0x00F8, 0x024F},  // Latin-1 letters, Latin Extended-A/B
    {0x0300, 0x036F},                                      // combining accents
    {0x0386, 0x0386}, {0x0388, 0x03FF},                    // Greek
    {0x0400, 0x052F},                                      // Cyrillic
    {0x05D0, 0x05EA}, {0x0620, 0x065F},                    // Hebrew, Arabic letters and marks
    {0x0900, 0x0963}, {0x0966, 0x0DFF},                    // Indic scripts (not the dandas)
    {0x0E01, 0x0E3A}, {0x0E40, 0x0E4E},                    // Thai
    {0x1E00, 0x1EFF},                                      // Latin Extended Additional (Vietnamese)
    {0x3041, 0x3096}, {0x30A1, 0x30FA}, {0x30FC, 0x30FC},  // hiragana, katakana, the long-vowel mark
    {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},                    // CJK ideographs
    {0xAC00, 0xD7A3},                                      // Hangul syllables
};

}  // namespace

bool id_char(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '_' || cp == '-';
    return std::any_of(std::begin(kIdLetters), std::end(kIdLetters),
                       [cp](const auto& r) { return cp >= r.first && cp <= r.second; });
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 40) return false;
    for (size_t i = 0; i < id.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_char_at(id, i, cp);
        if (n == 0 || !id_char(cp)) return false;
        i += n;
    }
    return true;
}

json World::to_json() const {
    json j = {{"title", title}, {"setting", setting}, {"start", start}, {"health", health},
              {"inventory", inventory}, {"flags", flags}};
    json locs = json::object();
    for (const auto& [id, l] : locations) {
        json exits = json::object();
        for (const auto& [dir, e] : l.exits) {
            if (e.requires_flag.empty() && e.blocked.empty()) {
                exits[dir] = e.to;
            } else {
                exits[dir] = {{"to", e.to}, {"requires_flag", e.requires_flag}, {"blocked", e.blocked}};
            }
        }
        locs[id] = {{"name", l.name}, {"description", l.description}, {"exits", exits},
                    {"items", l.items}, {"danger", l.danger}};
    }
    j["locations"] = locs;
    json its = json::object();
    for (const auto& [id, it] : items) {
        its[id] = {{"name", it.name}, {"description", it.description}, {"portable", it.portable}};
    }
    j["items"] = its;
    json cs = json::object();
    for (const auto& [id, c] : characters) {
        cs[id] = {{"name", c.name}, {"description", c.description}, {"location", c.location}};
    }
    j["characters"] = cs;
    j["uses"] = json::array();
    for (const Use& u : uses) {
        j["uses"].push_back({{"item", u.item}, {"location", u.location}, {"sets", u.sets},
                             {"consumes", u.consumes}, {"text", u.text}});
    }
    j["goals"] = json::array();
    for (const Goal& g : goals) {
        j["goals"].push_back({{"id", g.id}, {"description", g.description}, {"flags", g.flags},
                              {"items", g.items}, {"location", g.location}});
    }
    j["lore"] = json::array();
    for (const Lore& l : lore) j["lore"].push_back({{"keys", l.keys}, {"text", l.text}});
    return j;
}

std::vector<std::string> World::all_flags() const {
    std::set<std::string> s(flags.begin(), flags.end());
    for (const auto& [id, l] : locations) {
        for (const auto& [d, e] : l.exits) {
            if (!e.requires_flag.empty()) s.insert(e.requires_flag);
        }
    }
    for (const Use& u : uses) s.insert(u.sets);
    for (const Goal& g : goals) s.insert(g.flags.begin(), g.flags.end());
    return {s.begin(), s.end()};
}

// A fixpoint over open exits, portable items lying in reachable places and uses of obtainable
// items in reachable places (which set flags that open more exits). Over-approximate on
// purpose: a consumed item still counts as obtainable and health is ignored, so a goal out of
// reach is certainly impossible.
Reach reachable(const World& w) {
    Reach r{.places = {w.start}, .items = {w.inventory.begin(), w.inventory.end()},
            .flags = {w.flags.begin(), w.flags.end()}};
    for (size_t before = 0; before != r.places.size() + r.items.size() + r.flags.size();) {
        before = r.places.size() + r.items.size() + r.flags.size();
        for (const std::string& p : std::vector<std::string>(r.places.begin(), r.places.end())) {
            const Location& l = w.locations.at(p);
            for (const auto& [dir, e] : l.exits) {
                if (e.requires_flag.empty() || r.flags.count(e.requires_flag)) r.places.insert(e.to);
            }
            for (const std::string& i : l.items) {
                if (w.items.at(i).portable) r.items.insert(i);
            }
        }
        for (const Use& u : w.uses) {
            if (r.items.count(u.item) && (u.location.empty() || r.places.count(u.location))) r.flags.insert(u.sets);
        }
    }
    return r;
}

// The state of a game as far as winning goes, as bytes (so states hash and compare cheaply):
// the place (2 bytes), then one byte per item that matters (0 lying where the world put it, or
// nowhere; 1 carried; 2 used up), per flag (0/1) and per goal (1 = done, as goals stay done).
// Items no use and no goal names never matter, so the search never takes them.
WinPlan plan_win(const World& w, size_t max_states) {
    WinPlan plan;
    if (w.goals.empty() || w.locations.size() > 0xFFFF) return plan;  // the place takes 2 bytes
    std::vector<std::string> places;
    std::map<std::string, size_t> place_ix;
    for (const auto& [id, l] : w.locations) {
        place_ix[id] = places.size();
        places.push_back(id);
    }
    std::set<std::string> wanted;
    for (const Use& u : w.uses) wanted.insert(u.item);
    for (const Goal& g : w.goals) wanted.insert(g.items.begin(), g.items.end());
    const std::vector<std::string> items(wanted.begin(), wanted.end());
    const std::vector<std::string> flags = w.all_flags();
    auto index_of = [](const std::vector<std::string>& v, const std::string& x) {
        return static_cast<size_t>(std::lower_bound(v.begin(), v.end(), x) - v.begin());  // both sorted
    };
    std::vector<std::string> home(items.size());  // where each item lies at the start
    for (const auto& [id, l] : w.locations) {
        for (const std::string& it : l.items) {
            if (wanted.count(it)) home[index_of(items, it)] = id;
        }
    }
    const size_t at_items = 2, at_flags = at_items + items.size(), at_goals = at_flags + flags.size();
    auto place_of = [](const std::string& s) {
        return static_cast<size_t>(static_cast<uint8_t>(s[0])) | static_cast<size_t>(static_cast<uint8_t>(s[1])) << 8;
    };
    auto set_place = [](std::string& s, size_t p) {
        s[0] = static_cast<char>(p & 0xFF);
        s[1] = static_cast<char>(p >> 8);
    };
    auto has_flag = [&](const std::string& s, const std::string& f) { return s[at_flags + index_of(flags, f)] != 0; };
    auto mark_goals = [&](std::string& s) {  // as apply_update marks them after each turn
        for (size_t g = 0; g < w.goals.size(); ++g) {
            const Goal& goal = w.goals[g];
            bool done = goal.location.empty() || goal.location == places[place_of(s)];
            for (const std::string& f : goal.flags) done = done && has_flag(s, f);
            for (const std::string& it : goal.items) done = done && s[at_items + index_of(items, it)] == 1;
            if (done) s[at_goals + g] = 1;
        }
    };
    std::string start(at_goals + w.goals.size(), '\0');
    set_place(start, place_ix.at(w.start));
    for (const std::string& it : w.inventory) {
        if (wanted.count(it)) start[at_items + index_of(items, it)] = 1;
    }
    for (const std::string& f : w.flags) start[at_flags + index_of(flags, f)] = 1;

    // Dijkstra: the cost of a way is the health the narrator may take on it
    std::vector<std::string> states;
    std::vector<int> cost;
    std::vector<std::pair<size_t, std::string>> came;  // the state before and the move
    std::unordered_map<std::string, size_t> index;
    using Entry = std::pair<int, size_t>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> open;
    auto arrive = [&](std::string s, int c, size_t from, std::string move) {
        mark_goals(s);
        const auto [it, fresh] = index.try_emplace(s, states.size());
        if (fresh) {
            states.push_back(std::move(s));
            cost.push_back(c);
            came.emplace_back(from, std::move(move));
        } else if (c < cost[it->second]) {
            cost[it->second] = c;
            came[it->second] = {from, std::move(move)};
        } else {
            return;
        }
        open.emplace(c, it->second);
    };
    arrive(start, 0, SIZE_MAX, "");
    while (!open.empty()) {
        const auto [c, i] = open.top();
        open.pop();
        if (c > cost[i]) continue;  // reached more cheaply since
        const std::string s = states[i];  // a copy: arrive() grows `states`
        bool all = true;
        for (size_t g = 0; g < w.goals.size(); ++g) {
            if (s[at_goals + g] != 0) plan.goals_possible.insert(w.goals[g].id);
            all = all && s[at_goals + g] != 0;
        }
        if (all) {
            plan.searched = plan.winnable = true;
            plan.worst_damage = c;
            for (size_t k = i; came[k].first != SIZE_MAX; k = came[k].first) {
                plan.moves.push_back(came[k].second);
                plan.places.push_back(places[place_of(states[k])]);
            }
            std::reverse(plan.moves.begin(), plan.moves.end());
            std::reverse(plan.places.begin(), plan.places.end());
            return plan;
        }
        if (states.size() > max_states) return WinPlan{};  // too big to search: nothing known
        const Location& here = w.locations.at(places[place_of(s)]);
        for (const auto& [dir, e] : here.exits) {
            if (!e.requires_flag.empty() && !has_flag(s, e.requires_flag)) continue;
            std::string t = s;
            set_place(t, place_ix.at(e.to));
            arrive(std::move(t), c + w.locations.at(e.to).danger, i, "go " + dir);
        }
        for (size_t k = 0; k < items.size(); ++k) {
            const size_t at = at_items + k;
            if (s[at] == 0 && home[k] == here.id && w.items.at(items[k]).portable) {
                std::string t = s;
                t[at] = 1;
                arrive(std::move(t), c + here.danger, i, "take " + items[k]);
            }
            if (s[at] != 1) continue;
            // the use the rules pick (rules.cpp find_use): the first of this item, here or
            // anywhere, whose flag is not set yet
            for (const Use& u : w.uses) {
                if (u.item != items[k] || !(u.location.empty() || u.location == here.id) || has_flag(s, u.sets)) continue;
                std::string t = s;
                t[at_flags + index_of(flags, u.sets)] = 1;
                if (u.consumes) t[at] = 2;
                arrive(std::move(t), c + here.danger, i, "use " + items[k]);
                break;
            }
        }
    }
    plan.searched = true;  // every state seen, none with every goal done
    return plan;
}

World world_from_json(const json& j, std::string_view source, bool check_playable) {
    return parse_world(j, source, nullptr, check_playable);
}

json toml_to_json(std::string_view text, std::string_view source) { return parse_toml(text, source, nullptr); }

World load_world_file(const std::string& path) {
    if (!std::filesystem::exists(path)) {
        throw_error(ErrorKind::NotFound, "world '{}': no such file; expected a .toml or .json world file (docs/play.md)", path);
    }
    const std::string text = core::read_file(path);
    const std::string ext = std::filesystem::path(path).extension().string();
    bool is_json = ext == ".json";
    if (ext != ".json" && ext != ".toml") {
        const size_t first = text.find_first_not_of(" \t\r\n");
        is_json = first != std::string::npos && text[first] == '{';
    }
    if (is_json) {
        json j;
        try {
            j = json::parse(text);
        } catch (const json::parse_error& e) {
            // nlohmann reports the byte offset; turn it into a line and column
            const size_t at = std::min(e.byte, text.size());
            size_t line = 1, col = 1;
            for (size_t i = 0; i + 1 < at; ++i) {
                if (text[i] == '\n') {
                    ++line;
                    col = 1;
                } else {
                    ++col;
                }
            }
            std::string what = e.what();
            const size_t colon = what.rfind(": ");
            if (colon != std::string::npos) what = what.substr(colon + 2);
            throw_error(ErrorKind::Corrupt, "world '{}': line {}, column {}: invalid JSON: {}", path, line, col, what);
        }
        return parse_world(j, path, nullptr);
    }
    Positions pos;
    const json j = parse_toml(text, path, &pos);
    return parse_world(j, path, &pos);
}

std::string_view default_world_toml() { return {kDefaultWorld, sizeof(kDefaultWorld) - 1}; }

World default_world() {
    Positions pos;
    const json j = parse_toml(default_world_toml(), "<built-in>", &pos);
    return parse_world(j, "<built-in>", &pos);
}

}  // namespace lyra::art::play
