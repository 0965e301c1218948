// Worlds drafted from a premise (draft.h): the piece schemas, the prompts, the assembly into
// world JSON, the draft's own checks and the bounded retry loop.
#include "art/play/draft.h"

#include <fmt/format.h>

#include <algorithm>

#include "art/play/rules.h"
#include "core/error.h"
#include "generate/generator.h"

namespace lyra::art::play {

namespace {

// Names are capitalised words (places, characters, the title), things lower-case words; both
// only letters, so ids follow from them (id_from_name) and stay valid world ids.
constexpr const char* kNamePattern = "[A-Z][a-z]{2,10}( [A-Z][a-z]{2,10}){0,2}";
constexpr const char* kThingPattern = "[a-z]{3,10}( [a-z]{3,10})?";
constexpr const char* kFlagPattern = "[a-z]{3,10}(_[a-z]{3,10})?";
const std::vector<std::string> kDirections = {"north", "south", "east", "west", "up", "down"};
constexpr const char* kCarried = "carried";
constexpr const char* kAnywhere = "anywhere";

// Token budgets per piece: room for the longest text each schema allows (strings are capped),
// so with a byte or char vocabulary every piece finishes (GrammarOptions.max_tokens).
constexpr int kOutlineTokens = 240, kPlaceTokens = 170, kItemTokens = 190, kCharacterTokens = 110,
              kPlacementTokens = 130, kGoalsTokens = 260;

json text(int max_length) {
    return {{"type", "string"}, {"minLength", 1}, {"maxLength", max_length}};
}
json pattern(const char* p) {
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

json draft_pieces(Drafting& d) {
    // 1. the outline: names only, so the later pieces can point at them
    const json outline =
        d.ask("the outline (title, setting, names of 3-5 places, 1-3 items, 0-2 characters)",
              "World outline: ",
              object({{"title", pattern(kNamePattern)},
                      {"setting", text(100)},
                      {"places", list(pattern(kNamePattern), 3, 5)},
                      {"items", list(pattern(kThingPattern), 1, 3)},
                      {"characters", list(pattern(kNamePattern), 0, 2)}},
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

    // 6. the goals: a place to reach, items to carry, flags to set, offered only among what the
    //    player can reach from the start and is not done there (the schema steers every model,
    //    random weights included, to goals that can be done; the world checks still run)
    json partial = w;
    partial["goals"] = json::array();
    const World so_far = world_from_json(partial, "drafted world");
    const Reach reach = reachable(so_far);
    const std::vector<std::string> carried = w["inventory"].get<std::vector<std::string>>();
    std::vector<std::string> goal_places, goal_items, goal_flags;
    for (const std::string& p : reach.places) {
        if (p != so_far.start) goal_places.push_back(p);
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
    return w;
}

}  // namespace

std::string id_from_name(std::string_view name) {
    std::string id;
    for (char c : name) {
        if (c >= 'A' && c <= 'Z') id += static_cast<char>(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) id += c;
        if (c == ' ' && !id.empty() && id.back() != '_') id += '_';
    }
    return id.substr(0, 40);
}

json draft_world_json(std::string_view premise, int attempt, const DraftGenerate& gen) {
    Drafting d{.premise = std::string(premise), .attempt = attempt, .gen = &gen};
    try {
        return draft_pieces(d);
    } catch (const json::exception& e) {  // a piece whose shape the schema should have fixed
        throw_error(ErrorKind::Corrupt, "drafted world: a piece has the wrong shape ({})",
                    e.what());
    }
}

World check_drafted_world(const json& j) {
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
