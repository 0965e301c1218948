// The game's rules (rules.h): parsing player lines, refusing impossible actions, the update
// schema per action and the checks an update passes before it is applied.
#include "art/play/rules.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "art/common/text.h"
#include "art/common/unicode.h"
#include "core/error.h"

namespace lyra::art::play {

namespace {

// The words of a line, folded (NFKC and case folding, art/common/unicode.h: "TAKE LAMPE",
// full-width "ｔａｋｅ" and a decomposed "Tür" read as "take lampe", "take", "tür"): runs
// of id characters (world.h), so every id, in any script, is one word; spaces, punctuation (a
// Chinese comma too) and invalid bytes split words.
std::vector<std::string> words(std::string_view s) {
    const std::string low = fold_text(s);
    std::vector<std::string> out;
    std::string cur;
    for (size_t i = 0; i < low.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_char_at(low, i, cp);
        if (n > 0 && id_char(cp)) {
            cur.append(low, i, n);
        } else if (!cur.empty()) {
            out.push_back(std::move(cur));
            cur.clear();
        }
        i += std::max<size_t>(n, 1);
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : std::string(sep)) + x;
    return s;
}

const std::map<std::string, std::string>& direction_aliases() {
    static const std::map<std::string, std::string> m = {
        {"n", "north"}, {"s", "south"}, {"e", "east"}, {"w", "west"}, {"u", "up"}, {"d", "down"},
        {"ne", "northeast"}, {"nw", "northwest"}, {"se", "southeast"}, {"sw", "southwest"},
        {"north", "north"}, {"south", "south"}, {"east", "east"}, {"west", "west"}, {"up", "up"},
        {"down", "down"}, {"northeast", "northeast"}, {"northwest", "northwest"},
        {"southeast", "southeast"}, {"southwest", "southwest"}, {"in", "in"}, {"out", "out"}};
    return m;
}

// The item a word list names: an item id or any word of its name ("key", "iron"). Items the
// player carries or that are here win over others.
std::string match_item(const World& w, const State& s, const std::vector<std::string>& ws,
                       size_t from) {
    std::string best;
    int best_rank = -1;
    for (size_t i = from; i < ws.size(); ++i) {
        if (ws[i] == "on" || ws[i] == "with") break;
        for (const auto& [id, it] : w.items) {
            const std::vector<std::string> name = words(it.name);
            const bool hit = ws[i] == fold_text(id) || std::find(name.begin(), name.end(), ws[i]) != name.end();
            if (!hit) continue;
            auto at = s.item_at.find(id);
            const int rank = s.carries(id) ? 2 : (at != s.item_at.end() && at->second == s.location) ? 1 : 0;
            if (rank > best_rank) {
                best = id;
                best_rank = rank;
            }
        }
    }
    return best;
}

// The direction of the exit here to the place the words name ("go hall", "go to the great
// hall", "go 大厅"): by its id or the words of its name. The place most words name wins, and
// of two named alike the one named whole ("go café" to Café, not to Café Noir); ties go to the
// first direction in order. "" when no exit's place is named.
std::string match_exit(const World& w, const State& s, const std::vector<std::string>& ws,
                       size_t from) {
    std::string best;
    size_t best_score = 0;
    for (const auto& [dir, e] : w.locations.at(s.location).exits) {
        const std::vector<std::string> name = words(w.locations.at(e.to).name);
        size_t hits = 0;
        for (size_t i = from; i < ws.size(); ++i) {
            if (ws[i] == fold_text(e.to) || std::find(name.begin(), name.end(), ws[i]) != name.end()) ++hits;
        }
        const bool whole = std::all_of(name.begin(), name.end(), [&](const std::string& x) {
            return std::find(ws.begin() + static_cast<std::ptrdiff_t>(from), ws.end(), x) != ws.end();
        });
        const size_t score = hits == 0 ? 0 : 2 * hits + (whole ? 1 : 0);
        if (score > best_score) {
            best = dir;
            best_score = score;
        }
    }
    return best;
}

// The exit here whose direction folds to `word` ("Nord" for "nord", "北" for "北"), so a world
// file's directions are typed in any case or width; "" when none does.
std::string exit_named(const World& w, const State& s, const std::string& word) {
    for (const auto& [dir, e] : w.locations.at(s.location).exits) {
        if (fold_text(dir) == word) return dir;
    }
    return {};
}

const Use* find_use(const World& w, const State& s, const std::string& item) {
    for (const Use& u : w.uses) {
        if (u.item == item && (u.location.empty() || u.location == s.location) && !s.flags.count(u.sets)) {
            return &u;
        }
    }
    return nullptr;
}

std::vector<std::string> items_here(const State& s) {
    std::vector<std::string> out;
    for (const auto& [item, loc] : s.item_at) {
        if (loc == s.location) out.push_back(item);
    }
    return out;
}

bool goal_done(const Goal& g, const State& s) {
    for (const std::string& f : g.flags) {
        if (!s.flags.count(f)) return false;
    }
    for (const std::string& i : g.items) {
        if (!s.carries(i)) return false;
    }
    return g.location.empty() || g.location == s.location;
}

json string_array(const std::vector<std::string>& allowed, size_t min_items, size_t max_items) {
    json items = allowed.empty() ? json{{"type", "string"}} : json{{"enum", allowed}};
    return {{"type", "array"}, {"items", items}, {"minItems", min_items}, {"maxItems", max_items}};
}

}  // namespace

bool State::carries(std::string_view item) const {
    return std::find(inventory.begin(), inventory.end(), item) != inventory.end();
}

json State::to_json() const {
    return {{"location", location}, {"inventory", inventory}, {"flags", flags},
            {"health", health}, {"item_at", item_at}, {"goals_done", goals_done},
            {"visited", visited}, {"turn", turn}};
}

State State::from_json(const json& j) {
    try {
        State s;
        s.location = j.at("location").get<std::string>();
        s.inventory = j.at("inventory").get<std::vector<std::string>>();
        s.flags = j.at("flags").get<std::set<std::string>>();
        s.health = j.at("health").get<int>();
        s.item_at = j.at("item_at").get<std::map<std::string, std::string>>();
        s.goals_done = j.at("goals_done").get<std::vector<std::string>>();
        s.visited = j.at("visited").get<std::set<std::string>>();
        s.turn = j.at("turn").get<int>();
        return s;
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "game state: {}; expected the fields of State::to_json", e.what());
    }
}

State initial_state(const World& w) {
    State s;
    s.location = w.start;
    s.inventory = w.inventory;
    s.flags.insert(w.flags.begin(), w.flags.end());
    s.health = w.health;
    for (const auto& [id, l] : w.locations) {
        for (const std::string& item : l.items) s.item_at[item] = id;
    }
    s.visited.insert(w.start);
    for (const Goal& g : w.goals) {
        if (goal_done(g, s)) s.goals_done.push_back(g.id);
    }
    return s;
}

Action parse_action(const World& w, const State& s, std::string_view input) {
    Action a;
    a.said = std::string(input);
    std::vector<std::string> ws = words(input);
    // drop articles so "take the key" and "take key" read the same
    std::erase_if(ws, [](const std::string& x) { return x == "the" || x == "a" || x == "an"; });
    if (ws.empty()) return a;
    const auto& dirs = direction_aliases();
    const std::string& v = ws[0];
    if (ws.size() == 1 && (dirs.count(v) || !exit_named(w, s, v).empty())) {
        a.verb = Verb::Go;
        a.object = dirs.count(v) ? dirs.at(v) : exit_named(w, s, v);
        return a;
    }
    if (v == "go" || v == "walk" || v == "move" || v == "run" || v == "climb") {
        a.verb = Verb::Go;
        for (size_t i = 1; i < ws.size(); ++i) {
            if (dirs.count(ws[i])) {
                a.object = dirs.at(ws[i]);
                break;
            }
        }
        for (size_t i = 1; i < ws.size() && a.object.empty(); ++i) a.object = exit_named(w, s, ws[i]);
        if (a.object.empty()) a.object = match_exit(w, s, ws, 1);
        if (a.object.empty() && ws.size() > 1) a.object = ws.back();
        return a;
    }
    if (v == "take" || v == "get" || v == "grab" || (v == "pick" && ws.size() > 1)) {
        a.verb = Verb::Take;
        const size_t from = (v == "pick" && ws[1] == "up") ? 2 : 1;
        a.object = match_item(w, s, ws, from);
        if (a.object.empty() && from < ws.size()) a.object = ws[from];
        return a;
    }
    if (v == "drop" || v == "discard") {
        a.verb = Verb::Drop;
        a.object = match_item(w, s, ws, 1);
        if (a.object.empty() && ws.size() > 1) a.object = ws[1];
        return a;
    }
    if (v == "use" || v == "light" || v == "unlock" || v == "open") {
        a.verb = Verb::Use;
        a.object = match_item(w, s, ws, 1);
        if (a.object.empty() && v == "use" && ws.size() > 1) a.object = ws[1];
        if (a.object.empty()) a.verb = Verb::Free;  // "open the door" with no item named
        return a;
    }
    return a;
}

std::optional<std::string> refuse(const World& w, const State& s, const Action& a) {
    if (s.health <= 0) return "You have fallen; the game is over. Type undo, load or quit.";
    const Location& here = w.locations.at(s.location);
    switch (a.verb) {
        case Verb::Go: {
            std::vector<std::string> exits;
            for (const auto& [d, e] : here.exits) exits.push_back(d);
            if (a.object.empty()) {
                return fmt::format("Go where? Exits from {}: {}.", here.name, join(exits, ", "));
            }
            auto it = here.exits.find(a.object);
            if (it == here.exits.end()) {
                return fmt::format("You can't go {} from {}: there is no way through the walls. Exits: {}.",
                                   a.object, here.name, exits.empty() ? "none" : join(exits, ", "));
            }
            const Exit& e = it->second;
            if (!e.requires_flag.empty() && !s.flags.count(e.requires_flag)) {
                return e.blocked.empty() ? fmt::format("The way {} is blocked.", a.object) : e.blocked;
            }
            return std::nullopt;
        }
        case Verb::Take: {
            if (a.object.empty()) return std::string("Take what?");
            auto item = w.items.find(a.object);
            if (item == w.items.end()) return fmt::format("There is no {} here.", a.object);
            if (s.carries(a.object)) return fmt::format("You already carry the {}.", item->second.name);
            auto at = s.item_at.find(a.object);
            if (at == s.item_at.end() || at->second != s.location) {
                return fmt::format("There is no {} here.", item->second.name);
            }
            if (!item->second.portable) return fmt::format("The {} will not move.", item->second.name);
            return std::nullopt;
        }
        case Verb::Drop: {
            if (a.object.empty()) return std::string("Drop what?");
            if (!s.carries(a.object)) {
                auto item = w.items.find(a.object);
                return fmt::format("You don't have the {}.", item == w.items.end() ? a.object : item->second.name);
            }
            return std::nullopt;
        }
        case Verb::Use: {
            auto item = w.items.find(a.object);
            const std::string name = item == w.items.end() ? a.object : item->second.name;
            if (!s.carries(a.object)) return fmt::format("You don't have the {}.", name);
            if (find_use(w, s, a.object) == nullptr) {
                return fmt::format("Nothing happens: the {} has no use here.", name);
            }
            return std::nullopt;
        }
        case Verb::Free:
            return std::nullopt;
    }
    return std::nullopt;
}

json update_schema(const World& w, const State& s, const Action& a) {
    std::string loc = s.location;
    std::vector<std::string> take, drop, set;
    if (a.verb == Verb::Go) loc = w.locations.at(s.location).exits.at(a.object).to;
    if (a.verb == Verb::Take) take = {a.object};
    if (a.verb == Verb::Drop) drop = {a.object};
    if (a.verb == Verb::Use) {
        const Use* u = find_use(w, s, a.object);
        set = {u->sets};
        if (u->consumes) drop = {a.object};
    }
    const int danger = w.locations.at(loc).danger;
    json props = json::object();
    props["loc"] = {{"type", "string"}, {"enum", {loc}}};
    props["take"] = string_array(take, take.size(), take.size());
    props["drop"] = string_array(drop, drop.size(), drop.size());
    props["set"] = string_array(set, set.size(), set.size());
    props["hp"] = {{"type", "integer"}, {"minimum", -danger}, {"maximum", 0}};
    return {{"type", "object"},
            {"properties", props},
            {"required", {"loc", "take", "drop", "set", "hp"}}};
}

std::optional<std::string> check_update(const World& w, const State& s, const Action& a,
                                        const json& u) {
    if (!u.is_object()) return std::string("the update is not a JSON object");
    for (const char* key : {"loc", "take", "drop", "set", "hp"}) {
        if (!u.contains(key)) return fmt::format("the update has no '{}'", key);
    }
    for (const auto& [k, v] : u.items()) {
        if (k != "loc" && k != "take" && k != "drop" && k != "set" && k != "hp") {
            return fmt::format("the update has an unknown key '{}'", k);
        }
    }
    if (!u["loc"].is_string()) return std::string("'loc' is not a string");
    const std::string loc = u["loc"].get<std::string>();
    if (loc != s.location) {
        if (!w.locations.count(loc)) return fmt::format("'loc': no location '{}'", loc);
        const Location& here = w.locations.at(s.location);
        bool reachable = false;
        for (const auto& [d, e] : here.exits) {
            if (e.to == loc && (e.requires_flag.empty() || s.flags.count(e.requires_flag))) reachable = true;
        }
        if (!reachable) return fmt::format("'loc': no open way from {} to {}", s.location, loc);
        if (a.verb != Verb::Go) return std::string("'loc': the player did not move");
    }
    for (const char* key : {"take", "drop", "set"}) {
        if (!u[key].is_array()) return fmt::format("'{}' is not an array", key);
        for (const json& x : u[key]) {
            if (!x.is_string()) return fmt::format("'{}' holds a non-string", key);
        }
    }
    for (const json& x : u["take"]) {
        const std::string item = x.get<std::string>();
        auto at = s.item_at.find(item);
        if (at == s.item_at.end() || at->second != s.location) return fmt::format("'take': no {} here", item);
        if (!w.items.at(item).portable) return fmt::format("'take': the {} cannot be carried", item);
        if (a.verb != Verb::Take || a.object != item) return fmt::format("'take': the player did not take the {}", item);
    }
    for (const json& x : u["drop"]) {
        const std::string item = x.get<std::string>();
        if (!s.carries(item)) return fmt::format("'drop': the player has no {}", item);
        const bool used_up = a.verb == Verb::Use && a.object == item;
        if (!(a.verb == Verb::Drop && a.object == item) && !used_up) {
            return fmt::format("'drop': the player did not drop the {}", item);
        }
    }
    for (const json& x : u["set"]) {
        const std::string flag = x.get<std::string>();
        const Use* use = a.verb == Verb::Use ? find_use(w, s, a.object) : nullptr;
        if (use == nullptr || use->sets != flag) return fmt::format("'set': nothing the player did sets '{}'", flag);
    }
    if (!u["hp"].is_number_integer()) return std::string("'hp' is not an integer");
    const int64_t hp = u["hp"].get<int64_t>();
    const int danger = w.locations.at(loc).danger;
    if (hp > 0 || hp < -danger) return fmt::format("'hp': {} is outside -{}..0 at {}", hp, danger, loc);
    return std::nullopt;
}

State apply_update(const World& w, const State& s, const json& u) {
    State n = s;
    n.location = u["loc"].get<std::string>();
    n.visited.insert(n.location);
    for (const json& x : u["take"]) {
        const std::string item = x.get<std::string>();
        n.item_at.erase(item);
        n.inventory.push_back(item);
    }
    for (const json& x : u["drop"]) {
        const std::string item = x.get<std::string>();
        std::erase(n.inventory, item);
        // a dropped item stays where it fell; one used up is gone
        bool used = false;
        for (const json& f : u["set"]) {
            for (const Use& use : w.uses) {
                if (use.item == item && use.sets == f.get<std::string>() && use.consumes) used = true;
            }
        }
        if (!used) n.item_at[item] = s.location;
    }
    for (const json& x : u["set"]) n.flags.insert(x.get<std::string>());
    n.health = std::max(0, n.health + u["hp"].get<int>());
    n.turn += 1;
    for (const Goal& g : w.goals) {
        if (std::find(n.goals_done.begin(), n.goals_done.end(), g.id) == n.goals_done.end() && goal_done(g, n)) {
            n.goals_done.push_back(g.id);
        }
    }
    return n;
}

std::vector<std::string> suggest_choices(const World& w, const State& s, size_t max) {
    std::vector<std::string> out;
    if (s.health <= 0) return out;
    for (const std::string& item : items_here(s)) {
        if (w.items.at(item).portable) out.push_back("take " + item);
    }
    for (const std::string& item : s.inventory) {
        if (find_use(w, s, item) != nullptr) out.push_back("use " + item);
    }
    for (const auto& [d, e] : w.locations.at(s.location).exits) {
        if (e.requires_flag.empty() || s.flags.count(e.requires_flag)) out.push_back("go " + d);
    }
    for (const auto& [id, c] : w.characters) {
        if (c.location == s.location) out.push_back("talk to " + id);
    }
    if (out.size() > max) out.resize(max);
    return out;
}

std::vector<std::string> relevant_lore(const World& w, const State& s, std::string_view input,
                                       size_t max) {
    // score = keys matching the state (location, carried items, items and characters here)
    // plus words of the input
    std::set<std::string> present = {s.location};
    present.insert(s.inventory.begin(), s.inventory.end());
    for (const std::string& i : items_here(s)) present.insert(i);
    for (const auto& [id, c] : w.characters) {
        if (c.location == s.location) present.insert(id);
    }
    // ids and keys are compared folded, as the words of the input are
    std::set<std::string> folded;
    for (const std::string& x : present) folded.insert(fold_text(x));
    for (const std::string& x : words(input)) folded.insert(x);
    std::vector<std::pair<int, size_t>> scored;
    for (size_t i = 0; i < w.lore.size(); ++i) {
        int score = 0;
        for (const std::string& k : w.lore[i].keys) score += static_cast<int>(folded.count(fold_text(k)));
        if (score > 0) scored.emplace_back(-score, i);
    }
    std::stable_sort(scored.begin(), scored.end());
    std::vector<std::string> out;
    for (const auto& [neg, i] : scored) {
        if (out.size() >= max) break;
        out.push_back(w.lore[i].text);
    }
    return out;
}

bool all_goals_done(const World& w, const State& s) {
    return !w.goals.empty() && s.goals_done.size() == w.goals.size();
}

std::string describe_location(const World& w, const State& s) {
    const Location& l = w.locations.at(s.location);
    std::string out = l.name + ". " + l.description;
    std::vector<std::string> exits;
    for (const auto& [d, e] : l.exits) exits.push_back(d);
    out += " Exits: " + (exits.empty() ? std::string("none") : join(exits, ", ")) + ".";
    std::vector<std::string> here;
    for (const std::string& i : items_here(s)) here.push_back(w.items.at(i).name);
    if (!here.empty()) out += " You see: " + join(here, ", ") + ".";
    for (const auto& [id, c] : w.characters) {
        if (c.location == s.location) out += " " + c.name + " is here.";
    }
    return out;
}

}  // namespace lyra::art::play
