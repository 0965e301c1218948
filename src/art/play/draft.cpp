// Worlds drafted from a premise (draft.h): the piece schemas, the prompts, the assembly into
// world JSON, the draft's own checks and the bounded retry loop.
#include "art/play/draft.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "art/common/text.h"
#include "art/play/rules.h"
#include "core/error.h"
#include "generate/generator.h"

namespace lyra::art::play {

namespace {

// Flags are internal (never shown as names), so they stay ASCII; a lock's flag has a digit
// ("door1_open"), which an item's flag cannot, so the two never meet.
constexpr const char* kFlagPattern = "[a-z]{3,10}(_[a-z]{3,10})?";
const std::vector<std::string> kDirections = {"north", "south", "east", "west", "up", "down"};
constexpr const char* kCarried = "carried";
constexpr const char* kAnywhere = "anywhere";

constexpr int kMaxLocks = 2;

// Token budgets per piece: room for the longest text each schema allows (strings are capped),
// so with a byte or char vocabulary every piece finishes (GrammarOptions.max_tokens).
constexpr int kOutlineTokens = 240, kPlaceTokens = 170, kItemTokens = 190, kCharacterTokens = 110,
              kPlacementTokens = 130, kLockTokens = 260, kGoalsTokens = 260, kLoreTokens = 330;

// Letter classes of the scripts names are drafted in (name_patterns).
struct Letters {
    const char* script;
    const char* upper;  // a name's first letter ("" = the script has no case)
    const char* lower;  // the other letters
    bool spaced;        // words are separated by spaces
};
constexpr Letters kAscii{"Latin", "A-Z", "a-z", true};
constexpr Letters kLatin{"Latin with accents", "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ", true};
constexpr Letters kGreek{"Greek", "Α-ΡΣ-Ω", "ά-ώ", true};
constexpr Letters kCyrillic{"Cyrillic", "А-ЯЁ", "а-яё", true};
constexpr Letters kChinese{"Chinese", "", "一-龥", false};
constexpr Letters kJapanese{"Japanese", "", "ぁ-ゖァ-ヺー一-龥", false};
constexpr Letters kKorean{"Korean", "", "가-힣", true};

json text(int max_length) {
    return {{"type", "string"}, {"minLength", 1}, {"maxLength", max_length}};
}
json pattern(const std::string& p) {
    return {{"type", "string"}, {"pattern", p}};
}
json one_of(const std::vector<std::string>& values) {
    return {{"enum", values}};
}
json list(json items, int lo, int hi) {
    return {{"type", "array"}, {"items", std::move(items)}, {"minItems", lo}, {"maxItems", hi}};
}
json object(json props, const std::vector<std::string>& required) {
    return {{"type", "object"}, {"properties", std::move(props)}, {"required", required}};
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

// What the model has drafted so far, and the prompts that show it.
struct Drafting {
    std::string premise;
    NamePatterns names = {};
    int attempt = 0;
    const DraftGenerate* gen = nullptr;
    int piece = 0;
    std::vector<std::string> known = {};  // head lines: the draft so far ("Places: A, B.")

    json ask(const std::string& what, const std::string& cue, const json& schema, int max_tokens) {
        const PromptParts parts{.system =
                                    "You design the world of a text adventure for the player's "
                                    "premise: places joined by exits, "
                                    "items, characters and goals. Answer with one JSON object that "
                                    "follows the requested shape, "
                                    "and nothing else.",
                                .head = head(),
                                .tail = cue,
                                .ask = "Write " + what + " as JSON."};
        const std::string raw = (*gen)(parts, schema, max_tokens, attempt, piece++);
        try {
            json j = json::parse(raw);
            if (!j.is_object()) throw_error(ErrorKind::Corrupt, "not an object");
            return j;
        } catch (const std::exception&) {
            throw_error(ErrorKind::Corrupt,
                        "drafted world: {} is not complete JSON (cut off by the context?): {}",
                        what, raw.substr(0, 120));
        }
    }
    // the premise last: a prompt that does not fit loses its oldest lines first
    std::vector<std::string> head() const {
        std::vector<std::string> h = known;
        h.push_back("Premise: " + premise + "\n");
        return h;
    }
};

// Ids for drafted names, in order; a name twice is a defect the checks report (same id).
std::vector<std::string> ids_of(const json& names) {
    std::vector<std::string> ids;
    for (const json& n : names) ids.push_back(id_from_name(n.get<std::string>()));
    return ids;
}

std::vector<std::string> but(std::vector<std::string> v, const std::string& x) {
    std::erase(v, x);
    return v;
}

// Gives every exit a way back, so no place is a trap: an exit p -> q with no exit of q to p
// gets q -> p in the opposite direction, else in the first free one, else in place of one of
// q's exits to a place q has two ways to (six exits to at most three other places: there is
// always one). Drafted items are never used up and flags never unset, so in a map without traps
// the places, items and flags the world check counts as reachable can all be had in one game,
// and a world that passes the check can be won. Returns the ways added (" up to nave;").
std::string add_ways_back(json& locations) {
    static const std::map<std::string, std::string> opposite = {
        {"north", "south"}, {"south", "north"}, {"east", "west"}, {"west", "east"}, {"up", "down"}, {"down", "up"}};
    std::string added;
    for (const auto& [p, place] : locations.items()) {
        for (const auto& [dir, to] : place.at("exits").items()) {
            json& exits = locations.at(to.get<std::string>()).at("exits");
            std::map<std::string, int> ways;  // q's destinations, how many exits lead to each
            for (const auto& [d2, x] : exits.items()) ++ways[x.get<std::string>()];
            if (ways.count(p)) continue;
            std::string way = opposite.at(dir);
            for (size_t k = 0; exits.contains(way) && k < kDirections.size(); ++k) way = kDirections[k];
            for (size_t k = 0; exits.contains(way) && ways[exits.at(way).get<std::string>()] < 2 && k < kDirections.size(); ++k)
                way = kDirections[k];
            exits[way] = p;
            added += fmt::format(" {} {} to {};", to.get<std::string>(), way, p);
        }
    }
    return added;
}

// The world drafted so far, checked (no goals yet).
World so_far(const json& w) {
    json partial = w;
    partial["goals"] = json::array();
    return world_from_json(partial, "drafted world");
}

// The exits between places a and b, both ways (a door is locked on both sides, so a lock never
// shuts the way back from where the player stands: the map stays one where every way can be
// walked back, and the reach the world check computes stays what one game can have).
std::vector<Exit*> door(World& w, const std::string& a, const std::string& b) {
    std::vector<Exit*> out;
    for (auto& [dir, e] : w.locations.at(a).exits) {
        if (e.to == b) out.push_back(&e);
    }
    for (auto& [dir, e] : w.locations.at(b).exits) {
        if (e.to == a) out.push_back(&e);
    }
    return out;
}

// The locks the player could open, as the schemas of a lock piece: a door (not yet locked) of
// a place the player can reach, with the keys the player can still get when that door is shut
// (the same reachability as the world check, so a key behind its own door is never offered;
// the door's place must stay reachable too, since the key is used there). The keys sorted:
// "at" (the place), "exit", "key", "locked" and "opened" (what the player is told).
json lock_options(const json& w) {
    const World now = so_far(w);
    json options = json::array();
    for (const std::string& at : reachable(now).places) {
        for (const auto& [dir, e] : now.locations.at(at).exits) {
            if (!e.requires_flag.empty()) continue;
            World shut = now;
            for (Exit* x : door(shut, at, e.to)) x->requires_flag = "door_never_open";  // set by no use
            const Reach r = reachable(shut);
            if (!r.places.count(at) || r.items.empty()) continue;
            options.push_back(object({{"at", {{"const", at}}},
                                      {"exit", {{"const", dir}}},
                                      {"key", one_of(std::vector<std::string>(r.items.begin(), r.items.end()))},
                                      {"locked", text(60)},
                                      {"opened", text(60)}},
                                     {"at", "exit", "key", "locked", "opened"}));
        }
    }
    return options;
}

json draft_pieces(Drafting& d) {
    // 1. the outline: names only, so the later pieces can point at them
    const json outline =
        d.ask("the outline (title, setting, names of 3-5 places, 1-3 items, 0-2 characters)",
              "World outline: ",
              object({{"title", pattern(d.names.name)},
                      {"setting", text(100)},
                      {"places", list(pattern(d.names.name), 3, 5)},
                      {"items", list(pattern(d.names.thing), 1, 3)},
                      {"characters", list(pattern(d.names.name), 0, 2)}},
                     {"title", "setting", "places", "items", "characters"}),
              kOutlineTokens);
    const std::vector<std::string> places = ids_of(outline.at("places")),
                                   items = ids_of(outline.at("items")),
                                   characters = ids_of(outline.at("characters"));
    // two names alike would share an id (and the JSON object would merge them)
    const auto unique = [&outline](const char* kind, const std::vector<std::string>& ids) {
        for (size_t i = 0; i < ids.size(); ++i) {
            if (std::count(ids.begin(), ids.end(), ids[i]) > 1) {
                throw_error(ErrorKind::Corrupt,
                            "world 'drafted world': at /{}/{}: two {} are named '{}'", kind, i,
                            kind, outline.at(kind)[i].get<std::string>());
            }
        }
    };
    unique("places", places);
    unique("items", items);
    unique("characters", characters);
    json w = {{"title", outline.at("title")}, {"setting", outline.at("setting")},
              {"locations", json::object()},  {"items", json::object()},
              {"characters", json::object()}, {"uses", json::array()}};
    d.known.push_back("Title: " + outline.at("title").get<std::string>() + ". " +
                      outline.at("setting").get<std::string>() + "\n");
    d.known.push_back("Places (ids): " + join(places) + ". Items: " + join(items) +
                      ". Characters: " + (characters.empty() ? "none" : join(characters)) + ".\n");

    // 2. each place: its description, its exits to the other places, how dangerous it is
    for (size_t i = 0; i < places.size(); ++i) {
        json exits = json::object();
        for (const std::string& dir : kDirections) exits[dir] = one_of(but(places, places[i]));
        const json p =
            d.ask("the place '" + places[i] + "' (description, exits, danger)",
                  "Place " + places[i] + ": ",
                  object({{"description", text(90)},
                          {"exits", object(exits, {})},
                          {"danger", {{"type", "integer"}, {"minimum", 0}, {"maximum", 2}}}},
                         {"description", "exits", "danger"}),
                  kPlaceTokens);
        std::string way;
        for (const auto& [dir, to] : p.at("exits").items())
            way += fmt::format(" {} to {};", dir, to.get<std::string>());
        d.known.push_back(places[i] + " exits:" + (way.empty() ? " none;" : way) + "\n");
        w["locations"][places[i]] = {{"name", outline.at("places")[i]},
                                     {"description", p.at("description")},
                                     {"exits", p.at("exits")},
                                     {"danger", p.at("danger")},
                                     {"items", json::array()}};
    }
    const std::string back = add_ways_back(w["locations"]);
    if (!back.empty()) d.known.push_back("Ways back:" + back + "\n");

    // 3. each item: a description and maybe a use that sets a flag (somewhere, or anywhere)
    std::vector<std::string> flags;
    std::vector<std::string> where = places;
    where.push_back(kAnywhere);
    for (size_t i = 0; i < items.size(); ++i) {
        const json use =
            object({{"at", one_of(where)}, {"sets", pattern(kFlagPattern)}, {"text", text(60)}},
                   {"at", "sets", "text"});
        const json it = d.ask(
            "the item '" + items[i] + "' (description, optional use)", "Item " + items[i] + ": ",
            object({{"description", text(60)}, {"use", use}}, {"description"}), kItemTokens);
        w["items"][items[i]] = {{"name", outline.at("items")[i]},
                                {"description", it.at("description")}};
        if (it.contains("use")) {
            const json& u = it.at("use");
            const std::string at = u.at("at").get<std::string>();
            w["uses"].push_back({{"item", items[i]},
                                 {"location", at == kAnywhere ? "" : at},
                                 {"sets", u.at("sets")},
                                 {"text", u.at("text")}});
            flags.push_back(u.at("sets").get<std::string>());
            d.known.push_back("Using " + items[i] + (at == kAnywhere ? "" : " at " + at) +
                              " sets " + flags.back() + ".\n");
        }
    }

    // 4. each character: a description and where they are
    for (size_t i = 0; i < characters.size(); ++i) {
        const json c = d.ask("the character '" + characters[i] + "' (description, location)",
                             "Character " + characters[i] + ": ",
                             object({{"description", text(60)}, {"location", one_of(places)}},
                                    {"description", "location"}),
                             kCharacterTokens);
        w["characters"][characters[i]] = {{"name", outline.at("characters")[i]},
                                          {"description", c.at("description")},
                                          {"location", c.at("location")}};
    }

    // 5. the starting state: where the player starts, where each item lies (or carried)
    json lies = json::object();
    std::vector<std::string> spots = places;
    spots.push_back(kCarried);
    for (const std::string& it : items) lies[it] = one_of(spots);
    const json placement = d.ask(
        "the starting state (start place, where each item lies)", "Start: ",
        object({{"start", one_of(places)}, {"items", object(lies, items)}}, {"start", "items"}),
        kPlacementTokens);
    w["start"] = placement.at("start");
    w["inventory"] = json::array();
    for (const std::string& it : items) {
        const std::string at = placement.at("items").at(it).get<std::string>();
        if (at == kCarried) {
            w["inventory"].push_back(it);
        } else {
            w["locations"][at]["items"].push_back(it);
        }
    }
    d.known.push_back("Start: " + w["start"].get<std::string>() + ".\n");

    // 6. locked doors, one optional piece each, each drafted with the earlier ones in place;
    //    the schema offers only locks the player can open (lock_options), so a key is never
    //    behind its own door nor behind a later one; the door is locked on both sides
    for (int n = 1; n <= kMaxLocks; ++n) {
        const json options = lock_options(w);
        if (options.empty()) break;
        const json piece = d.ask(fmt::format("locked exit {} (optional: the place, the exit, the item that is its "
                                             "key, what the player is told while it is locked and when it opens)", n),
                                 fmt::format("Lock {}: ", n), object({{"lock", {{"anyOf", options}}}}, {}),
                                 kLockTokens);
        if (!piece.contains("lock")) break;
        const json& lock = piece.at("lock");
        const std::string at = lock.at("at").get<std::string>(), exit = lock.at("exit").get<std::string>(),
                          key = lock.at("key").get<std::string>(), flag = fmt::format("door{}_open", n);
        const std::string to = w["locations"][at]["exits"][exit].get<std::string>();
        for (const auto& [a, b] : {std::pair{at, to}, std::pair{to, at}}) {  // the door, both sides
            for (auto& [dir, way] : w["locations"][a]["exits"].items()) {
                if (way == b) way = {{"to", b}, {"requires_flag", flag}, {"blocked", lock.at("locked")}};
            }
        }
        // the doors' uses come first, so "use key" at a door opens it before any other use
        w["uses"].insert(w["uses"].begin() + (n - 1),
                         json{{"item", key}, {"location", at}, {"sets", flag}, {"text", lock.at("opened")}});
        d.known.push_back(fmt::format("The way {} from {} is locked; using {} there opens it.\n", exit, at, key));
    }

    // 7. the goals: a place to reach, items to carry, flags to set, offered only among what the
    //    player can reach from the start and is not done there (the schema steers every model,
    //    random weights included, to goals that can be done; the world checks still run)
    const World drafted = so_far(w);
    const Reach reach = reachable(drafted);
    const std::vector<std::string> carried = w["inventory"].get<std::vector<std::string>>();
    std::vector<std::string> goal_places, goal_items, goal_flags;
    for (const std::string& p : reach.places) {
        if (p != drafted.start) goal_places.push_back(p);
    }
    for (const std::string& it : items) {
        if (reach.items.count(it) && std::find(carried.begin(), carried.end(), it) == carried.end())
            goal_items.push_back(it);
    }
    for (const std::string& f : flags) {
        if (reach.flags.count(f) &&
            std::find(goal_flags.begin(), goal_flags.end(), f) == goal_flags.end())
            goal_flags.push_back(f);
    }
    // something must be left to do: a place when there is one to go to, else an item, else a flag
    const bool need_item = goal_places.empty() && !goal_items.empty();
    const bool need_flag = goal_places.empty() && goal_items.empty() && !goal_flags.empty();
    if (goal_places.empty()) goal_places.push_back("");  // "" = anywhere
    json goal_props = {{"description", text(50)}, {"location", one_of(goal_places)}};
    std::vector<std::string> goal_keys = {"description", "location"};
    if (!goal_items.empty()) {
        goal_props["items"] = list(one_of(goal_items), need_item ? 1 : 0, 1);
        goal_keys.push_back("items");
    }
    if (!goal_flags.empty()) {
        goal_props["flags"] = list(one_of(goal_flags), need_flag ? 1 : 0, 1);
        goal_keys.push_back("flags");
    }
    const json goals =
        d.ask("the goals (1-2: items to carry, flags to set, a place to reach)",
              "Goals: ", object({{"goals", list(object(goal_props, goal_keys), 1, 2)}}, {"goals"}),
              kGoalsTokens);
    w["goals"] = json::array();
    for (const json& g : goals.at("goals")) {
        json goal = g;
        goal["id"] = fmt::format("goal{}", w["goals"].size() + 1);
        w["goals"].push_back(goal);
    }
    // health enough for the safest way to every goal even if the narrator takes the most it may
    // every turn (dangers are drafted place by place, with no eye on the length of the way), so
    // the world check's danger rule never refuses a draft (plan_win, world.h). A draft whose
    // goals cannot be done keeps the default: the check reports it once the draft is whole.
    json probe = w;
    probe["health"] = 1000;
    try {
        const WinPlan plan = plan_win(world_from_json(probe, "drafted world"));
        if (plan.winnable) w["health"] = std::max(10, plan.worst_damage + 1);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Corrupt) throw;
    }

    // 8. lore: facts of the world's past, each keyed to what it is about, so the game puts it
    //    into the narrator's prompt when the player is there, carries it or meets them
    std::vector<std::string> keys = places;
    keys.insert(keys.end(), items.begin(), items.end());
    keys.insert(keys.end(), characters.begin(), characters.end());
    const json lore = d.ask("the lore (0-3 short facts of the world's past, each keyed to the places, items or "
                            "characters it is about)",
                            "Lore: ",
                            object({{"lore", list(object({{"keys", list(one_of(keys), 1, 2)}, {"text", text(80)}},
                                                         {"keys", "text"}),
                                                  0, 3)}},
                                   {"lore"}),
                            kLoreTokens);
    w["lore"] = lore.at("lore");
    return w;
}

}  // namespace

std::string id_from_name(std::string_view name) {
    std::string id;
    for (size_t i = 0; i < name.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_char_at(name, i, cp);
        if (n == 1 && cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';  // case is folded in ASCII only
        if (n > 0 && cp != '_' && cp != '-' && id_char(cp)) {
            if (id.size() + n > 40) break;  // ids are at most 40 bytes, cut between characters
            if (n == 1) {
                id += static_cast<char>(cp);
            } else {
                id.append(name, i, n);
            }
        } else if (cp == ' ' && !id.empty() && id.back() != '_') {
            id += '_';
        }
        i += std::max<size_t>(n, 1);
    }
    while (!id.empty() && id.back() == '_') id.pop_back();
    return id;
}

NamePatterns name_patterns(std::string_view premise) {
    // letters per script; a CJK or Hangul character is a syllable, about three letters
    size_t ascii = 0, accented = 0, greek = 0, cyrillic = 0, han = 0, kana = 0, hangul = 0;
    for (size_t i = 0; i < premise.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_char_at(premise, i, cp);
        i += std::max<size_t>(n, 1);
        if (n == 0) continue;
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) ++ascii;
        if (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ++accented;
        if (cp >= 0x370 && cp <= 0x3FF) ++greek;
        if (cp >= 0x400 && cp <= 0x52F) ++cyrillic;
        if ((cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF)) han += 3;
        if (cp >= 0x3041 && cp <= 0x30FF) kana += 3;
        if (cp >= 0xAC00 && cp <= 0xD7A3) hangul += 3;
    }
    // Japanese writes Han among its kana; without kana, Han is Chinese. Ties go to the first.
    const std::pair<size_t, const Letters*> scripts[] = {
        {ascii + accented, accented > 0 ? &kLatin : &kAscii},
        {greek, &kGreek},
        {cyrillic, &kCyrillic},
        {kana > 0 ? 0 : han, &kChinese},
        {kana > 0 ? kana + han : 0, &kJapanese},
        {hangul, &kKorean}};
    const Letters* l = &kAscii;  // no letters of these scripts: Latin names
    size_t most = 0;
    for (const auto& [count, letters] : scripts) {
        if (count > most) {
            most = count;
            l = letters;
        }
    }
    const std::string lower = std::string("[") + l->lower + "]";
    if (!l->spaced) return {l->script, lower + "{2,6}", lower + "{1,4}"};  // a word of syllables
    if (*l->upper == '\0') {
        return {l->script, lower + "{2,5}( " + lower + "{2,5})?", lower + "{1,4}( " + lower + "{1,4})?"};
    }
    const std::string word = std::string("[") + l->upper + "]" + lower + "{2,10}";
    return {l->script, word + "( " + word + "){0,2}", lower + "{3,10}( " + lower + "{3,10})?"};
}

json draft_world_json(std::string_view premise, int attempt, const DraftGenerate& gen) {
    Drafting d{.premise = std::string(premise), .names = name_patterns(premise), .attempt = attempt,
               .gen = &gen};
    try {
        return draft_pieces(d);
    } catch (const json::exception& e) {  // a piece whose shape the schema should have fixed
        throw_error(ErrorKind::Corrupt, "drafted world: a piece has the wrong shape ({})",
                    e.what());
    }
}

World check_drafted_world(const json& j) {
    // world_from_json checks what any world file must pass, locks that can be opened included
    const World w = world_from_json(j, "drafted world");
    const State s = initial_state(w);
    for (size_t i = 0; i < w.goals.size(); ++i) {
        if (std::find(s.goals_done.begin(), s.goals_done.end(), w.goals[i].id) !=
                s.goals_done.end() ||
            (w.goals[i].items.empty() && w.goals[i].flags.empty() && w.goals[i].location.empty())) {
            throw_error(ErrorKind::Corrupt,
                        "world 'drafted world': at /goals/{}: goal '{}' is done at the start; "
                        "expected something to do",
                        i, w.goals[i].id);
        }
    }
    return w;
}

Draft draft_world(std::string_view premise, const DraftOptions& opt, const DraftGenerate& gen) {
    if (auto bad = gen::find_invalid_utf8(premise)) {
        throw_error(ErrorKind::InvalidArgument,
                    "premise: invalid UTF-8 at byte {}; expected UTF-8 text", *bad);
    }
    if (premise.find_first_not_of(" \t\r\n") == std::string_view::npos || premise.size() > 2000) {
        throw_error(ErrorKind::InvalidArgument, "premise: expected 1-2000 bytes of text, got {}",
                    premise.size());
    }
    Draft d;
    for (int attempt = 0; attempt < std::max(1, opt.max_attempts); ++attempt) {
        try {
            json j = draft_world_json(premise, attempt, gen);
            d.world = check_drafted_world(j);
            d.world_json = std::move(j);
            d.attempt = attempt;
            return d;
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Corrupt) throw;
            d.rejected.push_back(e.what());
        }
    }
    std::string why;
    for (size_t i = 0; i < d.rejected.size(); ++i)
        why += fmt::format("{}({}) {}", i ? "; " : "", i + 1, d.rejected[i]);
    throw_error(ErrorKind::InvalidArgument,
                "premise: the model's world broke the rules in all {} drafts: {}; try another "
                "--seed, or write "
                "a world file (--world, docs/play.md)",
                d.rejected.size(), why);
}

}  // namespace lyra::art::play
