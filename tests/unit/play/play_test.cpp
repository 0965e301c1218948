// The story game (art/play): world files, rules, the turn pipeline with a random-weight model
// (every state update must parse and validate thanks to the schema constraint), undo/retry,
// replay determinism and SQLite saves (including a corrupted slot).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "art/common/text.h"
#include "art/play/draft.h"
#include "art/play/game.h"
#include "art/play/saves.h"
#include "core/error.h"
#include "core/mmap.h"
#include "core/sha256.h"
#include "fixtures/error_of.h"
#include "fixtures/scratch_dir.h"
#include "fixtures/random_byte_model.h"

namespace lyra::art::play {
namespace {

namespace fs = std::filesystem;

const test::ScratchDir g_dir("lyra-play");

const fs::path& temp_dir() { return g_dir.path(); }

// Random-weight llamas over a byte vocabulary (tests/fixtures/random_byte_model.h): they know
// nothing, so only the constraint makes their state updates valid.
std::shared_ptr<const model::Model> random_model() {
    static const std::shared_ptr<const model::Model> m = test::random_byte_model(
        (temp_dir() / "random.gguf").string(), {.n_ctx = 384, .n_embd = 64, .n_layer = 2, .seed = 3});
    return m;
}

// The same with a ChatML template, for chat-format prompts, and room for three earlier turns.
std::shared_ptr<const model::Model> chatml_model() {
    static const std::shared_ptr<const model::Model> m = test::random_byte_model(
        (temp_dir() / "chatml.gguf").string(),
        {.chat_template = test::kChatMLTemplate, .n_ctx = 2048, .n_embd = 64, .n_layer = 2, .seed = 3});
    return m;
}

core::ThreadPool& pool() {
    static core::ThreadPool p(1);  // tiny model: one thread is fastest on a busy machine
    return p;
}

std::string source_dir() {
    const char* s = std::getenv("LYRA_SOURCE_DIR");
    return s != nullptr ? s : ".";
}

std::string write(const std::string& name, const std::string& text) {
    const std::string p = (temp_dir() / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
}

using test::error_of;

// Short narrations keep the random model quick; `saves` is the saves file ("" = none).
GameOptions options(int narration_tokens = 40, std::string saves = {}) {
    GameOptions o;
    o.narration_tokens = narration_tokens;
    o.saves_path = std::move(saves);
    return o;
}

Game new_game(uint64_t seed = 7, std::string saves = {}) {
    GameOptions o = options(40, std::move(saves));
    o.seed = seed;
    return Game::create(random_model(), pool(), o);
}

// A saved game loaded again on the random model.
Game restored(const json& saved, const GameOptions& o = options()) {
    return Game::restore(random_model(), pool(), saved, o);
}

// --- worlds -----------------------------------------------------------------------------------

TEST(PlayWorld, BuiltInWorldIsTheShippedFile) {
    const std::string file = core::read_file(source_dir() + "/worlds/lantern-keep.toml");
    EXPECT_EQ(file, std::string(default_world_toml()));
    const World w = load_world_file(source_dir() + "/worlds/lantern-keep.toml");
    EXPECT_EQ(w.to_json(), default_world().to_json());
    EXPECT_EQ(w.start, "gate");
    EXPECT_EQ(w.locations.size(), 4u);
    EXPECT_EQ(w.goals.size(), 2u);
}

TEST(PlayWorld, TomlSyntaxErrorGivesLineAndColumn) {
    const std::string p = write("bad-syntax.toml", "title = \"x\"\nstart = \"a\"\n[locations.a\nname = 1\n");
    const std::string e = error_of([&] { load_world_file(p); });
    EXPECT_NE(e.find("line 3"), std::string::npos) << e;
    EXPECT_NE(e.find("bad-syntax.toml"), std::string::npos) << e;
}

TEST(PlayWorld, UnknownExitGivesLineAndPath) {
    const std::string p = write("bad-exit.toml",
                                "title = \"x\"\nstart = \"a\"\n\n[locations.a]\nname = \"A\"\n"
                                "exits = { north = \"attic\" }\n");
    const std::string e = error_of([&] { load_world_file(p); });
    EXPECT_NE(e.find("line 6"), std::string::npos) << e;
    EXPECT_NE(e.find("/locations/a/exits/north"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown location 'attic'"), std::string::npos) << e;
}

TEST(PlayWorld, JsonErrorsGiveLineOrPath) {
    const std::string p = write("bad.json", "{\n  \"title\": \"x\",\n  \"start\": \n}\n");
    const std::string e = error_of([&] { load_world_file(p); });
    EXPECT_NE(e.find("line 4"), std::string::npos) << e;
    const std::string q = write("bad2.json", R"({"title":"x","start":"a","locations":{"a":{"items":["sword"]}}})");
    const std::string e2 = error_of([&] { load_world_file(q); });
    EXPECT_NE(e2.find("/locations/a/items/0"), std::string::npos) << e2;
    EXPECT_NE(e2.find("unknown item 'sword'"), std::string::npos) << e2;
    const std::string r = write("bad3.json", R"({"title":"x","start":"a","locations":{"a":{}},"colour":"red"})");
    EXPECT_NE(error_of([&] { load_world_file(r); }).find("unknown key 'colour'"), std::string::npos);
    EXPECT_NE(error_of([&] { load_world_file((temp_dir() / "missing.toml").string()); }).find("no such file"),
              std::string::npos);
}

// --- rules ------------------------------------------------------------------------------------

TEST(PlayRules, RefusesWallsMissingItemsAndLockedWays) {
    const World w = default_world();
    const State s = initial_state(w);
    auto why = [&](const State& st, const std::string& in) {
        return refuse(w, st, parse_action(w, st, in)).value_or("(allowed)");
    };
    EXPECT_NE(why(s, "go west").find("no way through the walls"), std::string::npos);
    EXPECT_NE(why(s, "use key").find("You don't have the iron key"), std::string::npos);
    EXPECT_NE(why(s, "take crown").find("There is no drowned crown here"), std::string::npos);
    EXPECT_NE(why(s, "drop lantern").find("You don't have"), std::string::npos);
    EXPECT_EQ(why(s, "take the brass lantern"), "(allowed)");
    EXPECT_EQ(why(s, "n"), "(allowed)");
    State hall = s;
    hall.location = "hall";
    EXPECT_NE(why(hall, "go down").find("stone slab"), std::string::npos);
}

TEST(PlayRules, CheckUpdateRejectsWhatTheRulesForbid) {
    const World w = default_world();
    const State s = initial_state(w);
    const Action go = parse_action(w, s, "north");
    const Action take = parse_action(w, s, "take lantern");
    auto upd = [](std::string loc, json take_, json set, int hp) {
        return json{{"loc", loc}, {"take", take_}, {"drop", json::array()}, {"set", set}, {"hp", hp}};
    };
    EXPECT_FALSE(check_update(w, s, go, upd("hall", json::array(), json::array(), 0)));
    EXPECT_TRUE(check_update(w, s, go, upd("vault", json::array(), json::array(), 0)));   // no way there
    EXPECT_TRUE(check_update(w, s, go, upd("attic", json::array(), json::array(), 0)));   // no such place
    EXPECT_TRUE(check_update(w, s, take, upd("gate", json{"key"}, json::array(), 0)));    // not here
    EXPECT_TRUE(check_update(w, s, take, upd("gate", json{"lantern"}, json{"vault_open"}, 0)));
    EXPECT_TRUE(check_update(w, s, take, upd("gate", json{"lantern"}, json::array(), -1)));  // no danger here
    EXPECT_TRUE(check_update(w, s, take, json{{"loc", "gate"}}));
    EXPECT_FALSE(check_update(w, s, take, upd("gate", json{"lantern"}, json::array(), 0)));
}

// --- turns ------------------------------------------------------------------------------------

struct Step {
    const char* input;
    TurnResult::Kind kind;
    const char* location;
    std::vector<std::string> inventory;
};

TEST(PlayGame, ScriptedWalkthroughKeepsTheStateConsistent) {
    Game g = new_game();
    const std::vector<Step> steps = {
        {"take lantern", TurnResult::Kind::Narrated, "gate", {"lantern"}},
        {"go west", TurnResult::Kind::Refused, "gate", {"lantern"}},
        {"use key", TurnResult::Kind::Refused, "gate", {"lantern"}},
        {"n", TurnResult::Kind::Narrated, "hall", {"lantern"}},
        {"down", TurnResult::Kind::Refused, "hall", {"lantern"}},
        {"sing to the ghost", TurnResult::Kind::Narrated, "hall", {"lantern"}},
        {"look", TurnResult::Kind::Command, "hall", {"lantern"}},
        {"east", TurnResult::Kind::Narrated, "chapel", {"lantern"}},
        {"pick up the iron key", TurnResult::Kind::Narrated, "chapel", {"lantern", "key"}},
        {"w", TurnResult::Kind::Narrated, "hall", {"lantern", "key"}},
        {"use key", TurnResult::Kind::Narrated, "hall", {"lantern"}},
        {"go down", TurnResult::Kind::Narrated, "vault", {"lantern"}},
        {"take crown", TurnResult::Kind::Narrated, "vault", {"lantern", "crown"}},
        {"inventory", TurnResult::Kind::Command, "vault", {"lantern", "crown"}},
        {"up", TurnResult::Kind::Narrated, "hall", {"lantern", "crown"}},
        {"south", TurnResult::Kind::Narrated, "gate", {"lantern", "crown"}},
    };
    int narrated = 0;
    for (const Step& st : steps) {
        const TurnResult r = g.turn(st.input);
        ASSERT_EQ(static_cast<int>(r.kind), static_cast<int>(st.kind)) << st.input << ": " << r.text;
        EXPECT_EQ(g.state().location, st.location) << st.input;
        EXPECT_EQ(g.state().inventory, st.inventory) << st.input;
        if (r.kind == TurnResult::Kind::Narrated) {
            ++narrated;
            // the update parsed, follows the schema's keys and passed the rules
            const json u = json::parse(r.update_raw);
            EXPECT_EQ(u, r.update);
            EXPECT_EQ(u["loc"], st.location) << st.input;
        }
        if (r.kind == TurnResult::Kind::Refused) {
            EXPECT_FALSE(r.text.empty());
        }
    }
    EXPECT_EQ(g.updates_written(), narrated);
    EXPECT_EQ(g.updates_valid(), narrated);  // 100%
    EXPECT_TRUE(g.state().flags.count("vault_open"));
    EXPECT_EQ(g.state().goals_done, (std::vector<std::string>{"crown", "escape"}));
    // the chapel's danger is 1 and two turns ended there; nowhere else is dangerous
    EXPECT_GE(g.state().health, 8);
    EXPECT_LE(g.state().health, 10);
    EXPECT_EQ(static_cast<int>(g.history().size()), narrated);
}

TEST(PlayGame, UnknownCommandShowsHelpAndQuitQuits) {
    Game g = new_game();
    const TurnResult r = g.turn("xyzzy");
    EXPECT_EQ(r.kind, TurnResult::Kind::Command);
    EXPECT_NE(r.text.find("Unknown command 'xyzzy'"), std::string::npos);
    EXPECT_NE(r.text.find("undo [n]"), std::string::npos);
    EXPECT_NE(g.turn("/frobnicate").text.find("Unknown command"), std::string::npos);
    EXPECT_EQ(g.turn("quit").kind, TurnResult::Kind::Quit);
    EXPECT_EQ(g.history().size(), 0u);
}

// Commands are read case-folded and in NFKC: "LOOK", full-width "ｌｏｏｋ", "ＵＮＤＯ　１"
// (ideographic space, full-width digit) are the commands; the slot name keeps its case.
TEST(PlayGame, CommandsFoldCaseAndWidth) {
    const std::string db = (temp_dir() / "fold.db").string();
    Game g = new_game(7, db);
    const std::string look = g.turn("look").text;
    for (const char* in : {"LOOK", "Look", "ｌｏｏｋ", "ＬＯＯＫ"}) {
        const TurnResult r = g.turn(in);
        EXPECT_EQ(r.kind, TurnResult::Kind::Command) << in;
        EXPECT_EQ(r.text, look) << in;
    }
    EXPECT_NE(g.turn("INVENTORY").text.find("You carry: nothing"), std::string::npos);
    EXPECT_EQ(g.turn("ＴＡＫＥ　ＬＡＮＴＥＲＮ").kind, TurnResult::Kind::Narrated);
    EXPECT_EQ(g.state().inventory, std::vector<std::string>{"lantern"});
    EXPECT_EQ(g.turn("Ｎ").kind, TurnResult::Kind::Narrated);
    EXPECT_EQ(g.state().location, "hall");
    EXPECT_EQ(g.turn("ＵＮＤＯ　１").kind, TurnResult::Kind::Command);
    EXPECT_EQ(g.state().location, "gate");
    EXPECT_EQ(g.turn("ＳＡＶＥ　Ｍｉｎｅ").kind, TurnResult::Kind::Command);
    std::vector<std::string> slots;
    for (const SlotInfo& si : SaveStore(db).list()) slots.push_back(si.slot);
    EXPECT_EQ(slots, std::vector<std::string>{"Mine"});
    EXPECT_EQ(g.turn("ＱＵＩＴ").kind, TurnResult::Kind::Quit);
}

TEST(PlayGame, ReplayIsDeterministic) {
    const std::vector<std::string> inputs = {"take lantern", "n", "talk to the ghost", "e", "take key"};
    Game a = new_game(11), b = new_game(11), c = new_game(12);
    for (const std::string& in : inputs) {
        const TurnResult ra = a.turn(in), rb = b.turn(in);
        c.turn(in);
        EXPECT_EQ(ra.narration, rb.narration) << in;
        EXPECT_EQ(ra.update_raw, rb.update_raw) << in;
        EXPECT_EQ(a.state(), b.state()) << in;
    }
    EXPECT_EQ(a.save(), b.save());
    // the rules decide where the player is and what they carry; the seed the words
    EXPECT_EQ(a.state().location, c.state().location);
    EXPECT_EQ(a.state().inventory, c.state().inventory);
    EXPECT_NE(a.history()[2].narration, c.history()[2].narration);
}

TEST(PlayGame, UndoAndRetry) {
    Game g = new_game();
    g.turn("take lantern");
    g.turn("n");
    const State in_hall = g.state();
    g.turn("e");
    EXPECT_EQ(g.state().location, "chapel");
    EXPECT_EQ(g.turn("undo").kind, TurnResult::Kind::Command);
    EXPECT_EQ(g.state(), in_hall);
    const std::string old = g.history().back().narration;
    const TurnResult r = g.turn("retry");
    EXPECT_EQ(r.kind, TurnResult::Kind::Narrated);
    EXPECT_EQ(g.state(), in_hall);
    EXPECT_EQ(g.history().back().attempt, 1);
    EXPECT_NE(g.history().back().narration, old);
    g.turn("undo 2");
    EXPECT_EQ(g.state(), initial_state(g.world()));
    EXPECT_NE(g.turn("undo").text.find("Nothing to undo"), std::string::npos);
    EXPECT_NE(g.turn("history").text.find("No turns"), std::string::npos);
}

// --- saves ------------------------------------------------------------------------------------

// A save whose world the checks added since would refuse (its vault door has no key any more:
// a world file older versions took) still loads: a saved world is checked for its shape only.
TEST(PlaySaves, ASaveLoadsEvenIfItsWorldFailsNewerPlayabilityChecks) {
    Game g = new_game(5);
    g.turn("take lantern");
    json saved = g.save();
    saved["world"]["uses"] = json::array({saved["world"]["uses"][1]});  // only the lantern's
    EXPECT_NE(error_of([&] { world_from_json(saved["world"], "w"); })
                  .find("at /locations/hall/exits/down: the lock cannot be opened: no use of an item sets its flag "
                        "'vault_open'"),
              std::string::npos);
    Game r = restored(saved);
    EXPECT_EQ(r.state(), g.state());
    EXPECT_EQ(r.turn("n").kind, TurnResult::Kind::Narrated);
    // the shape is still checked: an exit to nowhere is refused
    saved["world"]["locations"]["hall"]["exits"]["up"] = "attic";
    EXPECT_NE(error_of([&] { restored(saved); }).find("unknown location 'attic'"), std::string::npos);
}

TEST(PlaySaves, SaveLoadAndACorruptedSlot) {
    const std::string db = (temp_dir() / "saves.db").string();
    Game g = new_game(5, db);
    g.turn("take lantern");
    g.turn("n");
    EXPECT_NE(g.turn("save one").text.find("Saved to slot 'one' (2 turns)"), std::string::npos);
    g.turn("e");
    EXPECT_NE(g.turn("save two").text.find("Saved"), std::string::npos);
    const State in_chapel = g.state();
    // load restores state, history and seed
    EXPECT_NE(g.turn("load one").text.find("Loaded slot 'one'"), std::string::npos);
    EXPECT_EQ(g.state().location, "hall");
    EXPECT_EQ(g.history().size(), 2u);
    g.turn("load two");
    EXPECT_EQ(g.state(), in_chapel);
    EXPECT_EQ(g.seed(), 5u);

    // damage slot 'one' behind the store's back
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE turns SET state = '{\"location\":\"vault\"' WHERE slot = 'one' AND idx = 1",
                           nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    SaveStore store(db);
    const std::string e = error_of([&] { store.load("one"); });
    EXPECT_NE(e.find("save slot 'one'"), std::string::npos) << e;
    EXPECT_NE(e.find("corrupted"), std::string::npos) << e;
    EXPECT_NO_THROW(store.load("two"));  // the other slot is intact
    EXPECT_NE(g.turn("load one").text.find("corrupted"), std::string::npos);
    EXPECT_EQ(g.state(), in_chapel);  // a failed load changes nothing
    EXPECT_NE(error_of([&] { store.load("three"); }).find("expected one of: one, two"), std::string::npos);
    EXPECT_NE(error_of([&] { store.load("bad/slot"); }).find("bad name"), std::string::npos);

    // a changed value that still parses fails the checksum
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE turns SET input = 'cheat' WHERE slot = 'two' AND idx = 0", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
    EXPECT_NE(error_of([&] { store.load("two"); }).find("checksum"), std::string::npos);

    const std::string junk = write("junk.db", std::string(4096, 'x'));
    EXPECT_NE(error_of([&] { SaveStore s2(junk); }).find("saves '"), std::string::npos);
}

// --- worlds from a premise ---------------------------------------------------------------------

Game premise_game(const std::string& premise, uint64_t seed, const std::string& saves = {}) {
    GameOptions o;
    o.premise = premise;
    o.seed = seed;
    o.narration_tokens = 24;
    o.saves_path = saves;
    return Game::create(random_model(), pool(), o);
}

// Plays the first suggested choice each turn (or a free action when there is none).
void play_choices(Game& g, int turns) {
    for (int k = 0; k < turns; ++k) {
        const std::vector<std::string> ch = g.choices();
        const std::string in = ch.empty() ? "look around" : ch[static_cast<size_t>(k) % ch.size()];
        const State before = g.state();
        const TurnResult r = g.turn(in);
        ASSERT_NE(r.kind, TurnResult::Kind::Quit) << in;
        if (r.kind == TurnResult::Kind::Narrated) {
            EXPECT_EQ(json::parse(r.update_raw), r.update) << in;
            EXPECT_TRUE(g.world().locations.count(g.state().location)) << in;
        } else {
            EXPECT_EQ(g.state(), before) << in << ": " << r.text;
        }
    }
}

TEST(PlayDraft, PremiseDraftsAWholeWorldThatPassesTheWorldChecks) {
    const std::string premise = "A lighthouse keeper finds a letter from the sea.";
    Game g = premise_game(premise, 2);
    const World& w = g.world();
    // the whole world is the model's: nothing of the built-in one is left
    EXPECT_NE(w.to_json(), default_world().to_json());
    EXPECT_FALSE(w.locations.count("gate"));
    EXPECT_GE(w.locations.size(), 3u);
    EXPECT_LE(w.locations.size(), 5u);
    EXPECT_GE(w.items.size(), 1u);
    EXPECT_GE(w.goals.size(), 1u);
    EXPECT_FALSE(w.setting.empty());
    EXPECT_TRUE(w.locations.count(w.start));
    size_t exits = 0;
    for (const auto& [id, l] : w.locations) {
        EXPECT_FALSE(l.description.empty()) << id;
        for (const auto& [dir, e] : l.exits) {
            EXPECT_TRUE(w.locations.count(e.to)) << id << " " << dir;
            EXPECT_NE(e.to, id);
            ++exits;
        }
    }
    EXPECT_GT(exits, 0u);
    // the same checks as a world file (goal reachability included) pass on its JSON
    EXPECT_EQ(world_from_json(w.to_json(), "again").to_json(), w.to_json());
    EXPECT_EQ(g.draft()["premise"], premise);
    EXPECT_EQ(g.draft()["rejected"].size(), g.draft()["attempt"].get<size_t>());
    EXPECT_FALSE(all_goals_done(w, g.state()));
    play_choices(g, 6);
    EXPECT_EQ(g.updates_written(), g.updates_valid());  // 100%

    // the same premise and seed draft the same world; another seed another
    EXPECT_EQ(premise_game(premise, 2).world().to_json(), w.to_json());
    EXPECT_NE(premise_game(premise, 3).world().to_json(), w.to_json());
}

TEST(PlayDraft, DraftedWorldIsKeptInTheSave) {
    const std::string db = (temp_dir() / "draft.db").string();
    Game g = premise_game("Two thieves share one lantern in a drowned city.", 9, db);
    play_choices(g, 2);
    EXPECT_NE(g.turn("save drafted").text.find("Saved"), std::string::npos);
    const json saved = SaveStore(db).load("drafted");
    EXPECT_EQ(saved["draft"], g.draft());
    EXPECT_EQ(saved["world"], g.world().to_json());
    const Game r = restored(saved, options(24));
    EXPECT_EQ(r.world().to_json(), g.world().to_json());
    EXPECT_EQ(r.draft(), g.draft());
    EXPECT_EQ(r.state(), g.state());
    EXPECT_EQ(r.save(), g.save());
}

TEST(PlayDraft, PremiseInAnyScriptDoesNotCrash) {
    for (const std::string premise : {"ꆈꌠꁱꂷ 𒀭𒂗𒆠 ᠮᠣᠩᠭᠣᠯ ⵜⴰⵎⴰⵣⵉⵖⵜ", "平生不会相思"}) {
        Game g = premise_game(premise, 2);
        EXPECT_EQ(g.draft()["premise"], premise);
        play_choices(g, 2);
    }
    GameOptions bad;
    bad.premise = std::string("\xff\xfe", 2);
    EXPECT_NE(error_of([&] { Game::create(random_model(), pool(), bad); }).find("UTF-8"), std::string::npos);
    bad.premise = "   ";
    EXPECT_NE(error_of([&] { Game::create(random_model(), pool(), bad); }).find("expected 1-2000 bytes"),
              std::string::npos);
}

// A scripted "model" for the draft: answers each piece (told apart by the prompt's cue) with
// fixed JSON; `unreachable_until` attempts get a goal whose place no exit leads to. With `lock`,
// the door between the bell tower and the nave is locked, its key the rope (lying in the tower);
// the first `wrong_side_until` attempts ignore the schema and put the keyhole on the nave's
// side instead (a lock nobody can open).
struct FakeDrafter {
    int unreachable_until = 0;
    bool cut_off = false;
    bool lock = false;
    int wrong_side_until = 0;
    std::vector<std::string> cues = {};
    std::vector<std::pair<int, int>> calls = {};  // (attempt, piece)
    std::string operator()(const PromptParts& p, const json& schema, int max_tokens, int attempt, int piece) {
        cues.push_back(p.tail);
        calls.emplace_back(attempt, piece);
        EXPECT_GT(max_tokens, 0);
        EXPECT_EQ(p.head.back(), "Premise: A bell in a flood.\n");
        if (p.tail == "World outline: ") {
            return R"({"title":"The Drowned Bell","setting":"A flooded chapel.","places":["Bell Tower","Nave","Crypt"],"items":["rope"],"characters":["Old Mara"]})";
        }
        if (p.tail.rfind("Place ", 0) == 0) {
            const json& exits = schema["properties"]["exits"]["properties"];
            EXPECT_EQ(exits.size(), 6u);
            EXPECT_EQ(exits["north"]["enum"].size(), 2u);  // the other two places
            if (p.tail == "Place bell_tower: ") return R"({"description":"Wind.","exits":{"down":"nave"},"danger":0})";
            // no way back up from the nave: the draft adds it; the crypt no exit leads to
            if (p.tail == "Place nave: ") return R"({"description":"Pews.","exits":{},"danger":1})";
            return R"({"description":"Bones.","exits":{},"danger":2})";
        }
        if (p.tail == "Item rope: ") {
            EXPECT_EQ(p.head[p.head.size() - 2], "Ways back: nave up to bell_tower;\n");
            return cut_off ? std::string(R"({"description":"Fray)") : R"({"description":"Frayed.","use":{"at":"nave","sets":"bell_rung","text":"The bell tolls."}})";
        }
        if (p.tail == "Character old_mara: ") return R"({"description":"The sexton.","location":"nave"})";
        const bool wrong_side = attempt < wrong_side_until;
        if (p.tail == "Start: ") return R"({"start":"bell_tower","items":{"rope":"bell_tower"}})";
        if (p.tail == "Lock 1: ") {
            // only locks that can be opened are offered: the door of a reachable place, with the
            // items the player can get while it is shut: the tower's side, not the nave's (the
            // crypt is reached by no exit)
            const json& options = schema["properties"]["lock"]["anyOf"];
            EXPECT_EQ(options.size(), 1u) << options.dump();
            EXPECT_EQ(options[0]["properties"]["at"]["const"], "bell_tower");
            EXPECT_EQ(options[0]["properties"]["exit"]["const"], "down");
            EXPECT_EQ(options[0]["properties"]["key"]["enum"], json({"rope"}));
            if (!lock) return "{}";
            return wrong_side ? R"({"lock":{"at":"nave","exit":"up","key":"rope","locked":"A grate bars the stair.","opened":"The rope lifts the grate."}})"
                              : R"({"lock":{"at":"bell_tower","exit":"down","key":"rope","locked":"A grate bars the stair.","opened":"The rope lifts the grate."}})";
        }
        if (p.tail == "Lore: ") {
            EXPECT_EQ(schema["properties"]["lore"]["items"]["properties"]["keys"]["items"]["enum"],
                      json({"bell_tower", "nave", "crypt", "rope", "old_mara"}));
            return R"({"lore":[{"keys":["crypt","old_mara"],"text":"Mara buried the bell-founder in the crypt."}]})";
        }
        if (wrong_side && p.tail == "Goals: ") return R"({"goals":[{"description":"Wait.","items":[],"location":"","flags":[]}]})";
        if (p.tail == "Goals: ") {
            EXPECT_EQ(schema["properties"]["goals"]["items"]["properties"]["flags"]["items"]["enum"], json({"bell_rung"}));
            // only what can be reached and is not done at the start: the nave (not the start, not the crypt)
            EXPECT_EQ(schema["properties"]["goals"]["items"]["properties"]["location"]["enum"], json({"nave"}));
            EXPECT_EQ(schema["properties"]["goals"]["items"]["properties"]["items"]["items"]["enum"], json({"rope"}));
            return attempt < unreachable_until ? R"({"goals":[{"description":"Reach the crypt.","items":[],"location":"crypt","flags":[]}]})"
                                               : R"({"goals":[{"description":"Ring the bell.","items":["rope"],"location":"","flags":["bell_rung"]}]})";
        }
        ADD_FAILURE() << "unexpected cue " << p.tail;
        return "{}";
    }
};

TEST(PlayDraft, BrokenDraftIsRetriedWithTheNextSeedThenFailsWithOneError) {
    FakeDrafter ok;
    const Draft d = draft_world("A bell in a flood.", {}, std::ref(ok));
    EXPECT_EQ(d.attempt, 0);
    EXPECT_EQ(d.world.start, "bell_tower");
    EXPECT_EQ(d.world.locations.at("bell_tower").items, std::vector<std::string>{"rope"});
    EXPECT_EQ(d.world.uses.at(0).sets, "bell_rung");
    EXPECT_EQ(d.world.characters.at("old_mara").location, "nave");
    EXPECT_EQ(d.world.goals.at(0).id, "goal1");
    EXPECT_EQ(d.world.locations.at("nave").exits.at("up").to, "bell_tower");  // the way back, added
    EXPECT_TRUE(d.world.locations.at("crypt").exits.empty());
    ASSERT_EQ(ok.calls.size(), 10u);  // outline, 3 places, 1 item, 1 character, start, lock (none), goals, lore
    for (int k = 0; k < 10; ++k) EXPECT_EQ(ok.calls[static_cast<size_t>(k)], std::make_pair(0, k));
    ASSERT_EQ(d.world.lore.size(), 1u);
    EXPECT_EQ(d.world.lore[0].keys, (std::vector<std::string>{"crypt", "old_mara"}));
    for (const auto& [id, l] : d.world.locations) {
        for (const auto& [dir, e] : l.exits) EXPECT_EQ(e.requires_flag, "") << id << " " << dir;  // no lock drafted
    }

    // the crypt is a dead end no exit reaches: the draft breaks the reachability rule
    FakeDrafter twice{.unreachable_until = 2};
    const Draft r = draft_world("A bell in a flood.", {.max_attempts = 4}, std::ref(twice));
    EXPECT_EQ(r.attempt, 2);
    ASSERT_EQ(r.rejected.size(), 2u);
    EXPECT_NE(r.rejected[0].find("/goals/0/location: goal 'goal1' cannot be done: location 'crypt' cannot be reached"),
              std::string::npos) << r.rejected[0];

    FakeDrafter never{.unreachable_until = 100};
    const std::string e = error_of([&] { draft_world("A bell in a flood.", {.max_attempts = 3}, std::ref(never)); });
    EXPECT_NE(e.find("premise: the model's world broke the rules in all 3 drafts: (1) "), std::string::npos) << e;
    EXPECT_NE(e.find("(3) world 'drafted world'"), std::string::npos) << e;
    EXPECT_NE(e.find("try another --seed"), std::string::npos) << e;
    EXPECT_EQ(never.cues.size(), 3u * 10u);  // every attempt drafted every piece, with its own seed
    EXPECT_EQ(never.calls.back(), std::make_pair(2, 9));

    FakeDrafter cut{.cut_off = true};
    const std::string c = error_of([&] { draft_world("A bell in a flood.", {.max_attempts = 2}, std::ref(cut)); });
    EXPECT_NE(c.find("the item 'rope' (description, optional use) is not complete JSON"), std::string::npos) << c;
}

// --- names in any script -------------------------------------------------------------------------

TEST(PlayWorld, IdsInAnyScriptAreWordsOfCommands) {
    for (const char* ok : {"hall", "great_hall", "大厅", "forêt_noire", "Église", "старая_башня", "駅のホーム", "등대"})
        EXPECT_TRUE(valid_id(ok)) << ok;
    for (const char* bad : {"Hall", "a b", "大厅。", "\xe5\xa4", "\xff", "😀", "", "l\xc3\xa9\xcc"})
        EXPECT_FALSE(valid_id(bad)) << bad;
    EXPECT_FALSE(valid_id(std::string(41, 'a')));
    EXPECT_FALSE(valid_id("一二三四五六七八九十一二三四"));  // 14 characters, 42 bytes
    EXPECT_TRUE(valid_id("一二三四五六七八九十一二三"));

    EXPECT_EQ(id_from_name("Great Hall"), "great_hall");
    EXPECT_EQ(id_from_name("大厅"), "大厅");
    EXPECT_EQ(id_from_name("Forêt Noire"), "forêt_noire");
    EXPECT_EQ(id_from_name("Église"), "Église");  // case is folded in ASCII only
    EXPECT_EQ(id_from_name("오래된 등대"), "오래된_등대");
    // at most 40 bytes, cut between characters (never inside one)
    const std::string long_id = id_from_name("Ааааааааааа Бббббббббббб Вввввввввв");
    EXPECT_LE(long_id.size(), 40u);
    EXPECT_TRUE(valid_id(long_id)) << long_id;
    EXPECT_EQ(long_id, "Ааааааааааа_Бббббббб");  // 39 bytes: one more character would make 41

    const json j = json::parse(R"({"title":"灯塔","start":"大厅","locations":{
        "大厅":{"name":"大厅","exits":{"north":"forêt_noire","east":"Église","west":"café"},"items":["铜钥匙"]},
        "forêt_noire":{"name":"Forêt Noire","exits":{"south":"大厅"},"items":["épée"]},
        "Église":{"name":"Église","exits":{"west":"大厅"}},
        "café":{"name":"Café","exits":{"east":"大厅","north":"café_noir"}},
        "café_noir":{"name":"Café Noir","exits":{"south":"café"}}},
        "items":{"铜钥匙":{"name":"铜钥匙"},"épée":{"name":"vieille épée"}},
        "characters":{"老人":{"name":"老人","location":"大厅"}},
        "lore":[{"keys":["铜钥匙"],"text":"钥匙是老人的。"}]})");
    const World w = world_from_json(j, "w");
    State s = initial_state(w);
    auto parsed = [&](const State& st, const std::string& in) {
        const Action a = parse_action(w, st, in);
        const char* verbs[] = {"go", "take", "drop", "use", "free"};
        return std::string(verbs[static_cast<int>(a.verb)]) + " " + a.object;
    };
    EXPECT_EQ(parsed(s, "take 铜钥匙"), "take 铜钥匙");
    EXPECT_EQ(parsed(s, "TAKE the 铜钥匙。"), "take 铜钥匙");  // ASCII folded; a Chinese full stop ends the word
    EXPECT_EQ(parsed(s, "拿铜钥匙"), "free ");  // no English verb: free text
    EXPECT_EQ(parsed(s, "go 大厅"), "go 大厅");  // no exit leads here: refused as a way that is not
    EXPECT_EQ(parsed(s, "go forêt_noire"), "go north");
    EXPECT_EQ(parsed(s, "go to the Forêt"), "go north");
    EXPECT_EQ(parsed(s, "GO ÉGLISE"), "go east");
    EXPECT_EQ(parsed(s, "go église"), "go east");  // ids and words are compared case-folded
    EXPECT_NE(refuse(w, s, parse_action(w, s, "go kirche")).value_or("").find("You can't go kirche"), std::string::npos);
    EXPECT_EQ(parsed(s, "go café"), "go west");
    State cafe = s;
    cafe.location = "café";
    EXPECT_EQ(parsed(cafe, "go café noir"), "go north");
    EXPECT_EQ(parsed(cafe, "go 大厅"), "go east");
    State forest = s;
    forest.location = "forêt_noire";
    EXPECT_EQ(parsed(forest, "pick up the épée"), "take épée");
    EXPECT_EQ(parsed(forest, "take vieille"), "take épée");
    // the suggested choices are commands the rules take
    for (const std::string& c : suggest_choices(w, s, 8)) {
        if (c.rfind("talk", 0) == 0) continue;
        EXPECT_FALSE(refuse(w, s, parse_action(w, s, c))) << c;
    }
    EXPECT_EQ(relevant_lore(w, s, ""), std::vector<std::string>{"钥匙是老人的。"});
    json bad = j;
    bad["items"]["钥匙。"] = json::object();
    EXPECT_NE(error_of([&] { world_from_json(bad, "w"); }).find("at /items/钥匙。: bad id '钥匙。'"), std::string::npos);
}

TEST(PlayDraft, NamesAreDraftedInThePremisesScript) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"A lighthouse keeper finds a letter from the sea.", "Latin"},
        {"Un café près de la forêt où dort un vieux hibou.", "Latin with accents"},
        {"平生不会相思，才会相思，便害相思。", "Chinese"},
        {"一个关于 Dragon 的故事", "Chinese"},  // a Han character weighs a syllable
        {"夜の駅で猫が待っている", "Japanese"},
        {"오래된 등대에서 편지를 찾다", "Korean"},
        {"Старый маяк на краю моря", "Cyrillic"},
        {"Ο φάρος στην άκρη της θάλασσας", "Greek"},
        {"ꆈꌠꁱꂷ 𒀭𒂗𒆠 ⵜⴰⵎⴰⵣⵉⵖⵜ", "Latin"},  // no script drafted names are written in: Latin
    };
    for (const auto& [premise, script] : cases) EXPECT_EQ(name_patterns(premise).script, script) << premise;
    // plain Latin names are what they always were
    EXPECT_EQ(name_patterns("A bell.").name, "[A-Z][a-z]{2,10}( [A-Z][a-z]{2,10}){0,2}");
    EXPECT_EQ(name_patterns("A bell.").thing, "[a-z]{3,10}( [a-z]{3,10})?");
    EXPECT_EQ(name_patterns("平生").name, "[一-龥]{2,6}");
}

// Every character of `s` lies in one of `ranges`.
bool all_in(const std::string& s, const std::vector<std::pair<uint32_t, uint32_t>>& ranges) {
    for (size_t i = 0; i < s.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_char_at(s, i, cp);
        if (n == 0) return false;
        if (std::none_of(ranges.begin(), ranges.end(), [cp](auto r) { return cp >= r.first && cp <= r.second; }))
            return false;
        i += n;
    }
    return true;
}

// A random-weight model drafts names in the premise's script (the schema's patterns leave it no
// other letters) and every one is a command the parser takes: go to each place by its name,
// take each item by its name.
TEST(PlayDraft, NamesInThePremisesScriptAreCommandsThePlayerCanType) {
    struct Case {
        std::string premise;
        std::vector<std::pair<uint32_t, uint32_t>> letters;
    };
    const std::vector<Case> cases = {
        {"灯塔守夜人在海边等一封来自大海的信。", {{0x4E00, 0x9FA5}}},
        {"Un café près de la forêt où dort un vieux hibou.",
         {{' ', ' '}, {'A', 'Z'}, {'a', 'z'}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0xFF}}},
    };
    for (const Case& c : cases) {
        Game g = premise_game(c.premise, 2);
        const World& w = g.world();
        size_t non_ascii = 0;
        auto check_name = [&](const std::string& id, const std::string& name) {
            EXPECT_TRUE(all_in(name, c.letters)) << name;
            EXPECT_EQ(id, id_from_name(name));
            EXPECT_TRUE(valid_id(id)) << id;
            non_ascii += std::any_of(name.begin(), name.end(), [](char ch) { return (ch & 0x80) != 0; });
        };
        EXPECT_TRUE(all_in(w.title, c.letters)) << w.title;
        for (const auto& [id, l] : w.locations) check_name(id, l.name);
        for (const auto& [id, it] : w.items) check_name(id, it.name);
        for (const auto& [id, ch] : w.characters) check_name(id, ch.name);
        EXPECT_GT(non_ascii, 0u) << c.premise;
        for (const auto& [id, l] : w.locations) {
            State at = initial_state(w);
            at.location = id;
            for (const auto& [dir, e] : l.exits) {
                const Action a = parse_action(w, at, "go " + w.locations.at(e.to).name);
                EXPECT_EQ(a.verb, Verb::Go) << a.said;
                EXPECT_EQ(l.exits.at(a.object).to, e.to) << a.said;
            }
            for (const auto& [item, it] : w.items) {
                State here = at;
                here.inventory.clear();
                here.item_at = {{item, id}};
                const Action a = parse_action(w, here, "take " + it.name);
                EXPECT_EQ(a.verb, Verb::Take) << a.said;
                EXPECT_EQ(a.object, item) << a.said;
                EXPECT_FALSE(refuse(w, here, a)) << a.said;
            }
        }
        // and in the game: walk through the first open exit by the name of where it leads
        const Location& start = w.locations.at(w.start);
        for (const auto& [dir, e] : start.exits) {
            if (!e.requires_flag.empty()) continue;
            const TurnResult r = g.turn("go " + w.locations.at(e.to).name);
            EXPECT_EQ(r.kind, TurnResult::Kind::Narrated) << r.text;
            EXPECT_EQ(g.state().location, e.to);
            break;
        }
        play_choices(g, 3);
        EXPECT_EQ(g.updates_written(), g.updates_valid());
    }
}

// Plays a world by its rules alone (no model): breadth first over every go, take and use the
// rules allow, each applied as the one update its schema allows (and check_update accepts).
// True when a state with every goal done is reached.
bool winnable(const World& w) {
    auto key = [](State s) {
        s.turn = 0;
        s.visited.clear();
        return s.to_json().dump();
    };
    std::vector<State> queue = {initial_state(w)};
    std::set<std::string> seen = {key(queue[0])};
    for (size_t i = 0; i < queue.size() && i < 20000; ++i) {
        const State s = queue[i];
        if (all_goals_done(w, s)) return true;
        std::vector<std::string> inputs;
        for (const auto& [dir, e] : w.locations.at(s.location).exits) inputs.push_back("go " + dir);
        for (const auto& [item, at] : s.item_at) {
            if (at == s.location) inputs.push_back("take " + item);
        }
        for (const std::string& item : s.inventory) inputs.push_back("use " + item);
        for (const std::string& in : inputs) {
            const Action a = parse_action(w, s, in);
            if (refuse(w, s, a)) continue;
            const json props = update_schema(w, s, a)["properties"];
            json u = {{"loc", props["loc"]["enum"][0]}, {"hp", 0}};
            for (const char* k : {"take", "drop", "set"}) {
                u[k] = props[k]["minItems"].get<int>() > 0 ? props[k]["items"]["enum"] : json::array();
            }
            EXPECT_FALSE(check_update(w, s, a, u)) << in << " " << u.dump();
            const State n = apply_update(w, s, u);
            if (seen.insert(key(n)).second) queue.push_back(n);
        }
    }
    return false;
}

// Whatever a random-weight model drafts can be won, its locks opened, its lore keyed to what
// the world holds.
TEST(PlayDraft, RandomWeightDraftsCanBeWon) {
    size_t lore = 0;
    for (uint64_t seed = 1; seed <= 4; ++seed) {
        Game g = premise_game("A smugglers' cove where a sealed cellar hides the last lantern.", seed);
        const World& w = g.world();
        EXPECT_TRUE(winnable(w)) << w.to_json().dump();
        // the draft gives health enough for the narrator's worst on the safest way
        EXPECT_GT(w.health, plan_win(w).worst_damage) << w.to_json().dump();
        EXPECT_GE(w.health, 10);
        const Reach reach = reachable(w);
        for (const auto& [id, l] : w.locations) {
            for (const auto& [dir, e] : l.exits) {
                if (!e.requires_flag.empty()) {
                    EXPECT_TRUE(reach.flags.count(e.requires_flag)) << id << " " << dir;
                }
            }
        }
        for (const Lore& l : w.lore) {
            ++lore;
            for (const std::string& k : l.keys)
                EXPECT_TRUE(w.locations.count(k) || w.items.count(k) || w.characters.count(k)) << k;
        }
    }
    EXPECT_GT(lore, 0u);
}

// A drafter that answers each piece with a random instance of its schema: each optional key
// written one time in four (sparse maps, where a lock can shut the only way somewhere), every enum, anyOf and count picked at random, names random syllables.
// It tries what the schemas offer far more widely than a model does (a lock on every piece that
// can have one, any door, any key offered), so a world it drafts that cannot be won is the
// schemas' fault.
struct SchemaSampler {
    std::mt19937 rng;
    int uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int>(static_cast<int>(lo), static_cast<int>(hi))(rng); }
    const json& pick(const json& options) { return options[static_cast<size_t>(uniform(0, static_cast<int64_t>(options.size()) - 1))]; }
    std::string word() {
        static const char* syllables[] = {"bel", "kor", "mi", "tan", "ro", "vash", "len", "du"};
        std::string w;
        for (int k = uniform(2, 3); k > 0; --k) w += syllables[uniform(0, 7)];
        return w;
    }
    json sample(const json& s) {
        if (s.contains("const")) return s["const"];
        if (s.contains("enum")) return pick(s["enum"]);
        if (s.contains("anyOf")) return sample(pick(s["anyOf"]));
        const std::string type = s.value("type", "");
        if (type == "object") {
            json o = json::object();
            const json required = s.value("required", json::array());
            for (const auto& [k, v] : s["properties"].items()) {
                if (std::find(required.begin(), required.end(), k) != required.end() || uniform(0, 3) == 0) o[k] = sample(v);
            }
            return o;
        }
        if (type == "array") {
            json a = json::array();
            for (int n = uniform(s["minItems"].get<int64_t>(), s["maxItems"].get<int64_t>()); n > 0; --n) a.push_back(sample(s["items"]));
            return a;
        }
        if (type == "integer") return uniform(s["minimum"].get<int64_t>(), s["maximum"].get<int64_t>());
        if (s.contains("pattern")) {  // a capitalised name or a lower-case thing, as the pattern asks
            std::string w = word();
            if (s["pattern"].get<std::string>().rfind("[A-Z]", 0) == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
            return w;
        }
        return std::string(static_cast<size_t>(uniform(1, 6)), 'x');
    }
};

// Every lock the schemas offer can be opened and every drafted world won: drafts by the
// schema sampler, each checked by playing it with the rules alone. A draft is only ever
// drafted again for two names alike, or for a map with nothing to do (the rules the schemas
// leave to chance).
TEST(PlayDraft, EveryLockTheSchemasOfferCanBeOpenedAndEveryDraftWon) {
    size_t locks = 0, two_locks = 0, lore = 0;
    for (uint32_t seed = 0; seed < 300; ++seed) {
        SchemaSampler sampler{std::mt19937(seed)};
        const DraftGenerate gen = [&](const PromptParts&, const json& schema, int, int, int) {
            return sampler.sample(schema).dump();
        };
        const Draft d = draft_world("A bell in a flood.", {}, gen);
        for (const std::string& why : d.rejected) {  // two names alike, or a map with nothing to do
            EXPECT_TRUE(why.find("are named") != std::string::npos || why.find("is done at the start") != std::string::npos)
                << why;
        }
        EXPECT_TRUE(winnable(d.world)) << d.world_json.dump();
        size_t here = 0;
        for (const auto& [id, l] : d.world.locations) {
            for (const auto& [dir, e] : l.exits) here += !e.requires_flag.empty();
        }
        locks += here;
        two_locks += here == 2;
        lore += d.world.lore.size();
    }
    EXPECT_GT(locks, 50u);  // the sampler drafted many locks, and worlds with two
    EXPECT_GT(two_locks, 10u);
    EXPECT_GT(lore, 50u);
}

// A drafted lock: the exit asks for a flag, the key's use at the door sets it (before the
// key's own use), and the goal behind the door can still be done; a lock whose key lies behind
// it is refused, the draft drafted again.
TEST(PlayDraft, DraftedLocksCanBeOpenedAndOneThatCannotIsRefused) {
    FakeDrafter locked{.lock = true};
    const Draft d = draft_world("A bell in a flood.", {}, std::ref(locked));
    EXPECT_EQ(d.attempt, 0);
    ASSERT_EQ(locked.cues.size(), 10u);  // ... start, lock 1 (no door left for a second), goals, lore
    EXPECT_EQ(locked.cues[7], "Lock 1: ");
    EXPECT_EQ(locked.cues[8], "Goals: ");
    const Exit& door = d.world.locations.at("bell_tower").exits.at("down");
    EXPECT_EQ(door.to, "nave");
    EXPECT_EQ(door.requires_flag, "door1_open");
    EXPECT_EQ(door.blocked, "A grate bars the stair.");
    const Exit& back = d.world.locations.at("nave").exits.at("up");  // locked on both sides
    EXPECT_EQ(back.to, "bell_tower");
    EXPECT_EQ(back.requires_flag, "door1_open");
    ASSERT_EQ(d.world.uses.size(), 2u);
    EXPECT_EQ(d.world.uses[0].item, "rope");
    EXPECT_EQ(d.world.uses[0].location, "bell_tower");
    EXPECT_EQ(d.world.uses[0].sets, "door1_open");
    EXPECT_EQ(d.world.uses[0].text, "The rope lifts the grate.");
    EXPECT_EQ(d.world.uses[1].sets, "bell_rung");
    // the rules keep the door shut until the rope is used there
    State s = initial_state(d.world);
    EXPECT_EQ(refuse(d.world, s, parse_action(d.world, s, "go down")).value_or("(allowed)"), "A grate bars the stair.");
    s.inventory = {"rope"};
    s.item_at.erase("rope");
    s.flags.insert("door1_open");
    EXPECT_EQ(refuse(d.world, s, parse_action(d.world, s, "go down")).value_or("(allowed)"), "(allowed)");

    // the keyhole on the far side of the door: refused with the door's path, drafted again
    FakeDrafter behind{.lock = true, .wrong_side_until = 1};
    const Draft r = draft_world("A bell in a flood.", {.max_attempts = 3}, std::ref(behind));
    EXPECT_EQ(r.attempt, 1);
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_NE(r.rejected[0].find("at /locations/bell_tower/exits/down: the lock cannot be opened: its key 'rope' "
                                 "opens it at 'nave', which cannot be reached"),
              std::string::npos) << r.rejected[0];
    EXPECT_EQ(r.world.to_json(), d.world.to_json());
}

// The draft's lock rule on its own: every locked exit must be openable from the start.
TEST(PlayDraft, ALockNobodyCanOpenIsRefused) {
    // a locked way east; the gem west of the start is the goal, so the world checks pass
    const json base = json::parse(R"({"title":"x","start":"a","locations":{
        "a":{"exits":{"east":{"to":"b","requires_flag":"door1_open","blocked":"Locked."},"west":"c"}},
        "b":{"items":["key"]},"c":{"items":["gem"]},"d":{}},
        "items":{"key":{},"gem":{}},"uses":[{"item":"key","location":"a","sets":"door1_open"}],
        "goals":[{"id":"g","items":["gem"]}]})");
    // a world file is held to the same rule (world_from_json)
    EXPECT_EQ(error_of([&] { world_from_json(base, "w"); }),
              "world 'w': at /locations/a/exits/east: the lock cannot be opened: its key 'key' cannot be obtained "
              "before it (it lies behind the lock); expected a key the player can get without passing it");
    EXPECT_NE(error_of([&] { check_drafted_world(base); })
                  .find("world 'drafted world': at /locations/a/exits/east: the lock cannot be opened: its key 'key' "
                        "cannot be obtained before it (it lies behind the lock); expected a key the player can get "
                        "without passing it"),
              std::string::npos) << error_of([&] { check_drafted_world(base); });
    json there = base;  // the key in reach, but it works only where nobody can go
    there["locations"]["b"]["items"] = json::array();
    there["locations"]["c"]["items"].push_back("key");
    there["uses"][0]["location"] = "d";
    EXPECT_NE(error_of([&] { check_drafted_world(there); }).find("its key 'key' opens it at 'd', which cannot be reached"),
              std::string::npos);
    json none = there;
    none["uses"] = json::array();
    EXPECT_NE(error_of([&] { check_drafted_world(none); }).find("no use of an item sets its flag 'door1_open'"),
              std::string::npos);
    json fine = there;  // the key west of the start, used at the door
    fine["uses"][0]["location"] = "a";
    EXPECT_NO_THROW(check_drafted_world(fine));
}

TEST(PlayWorld, GoalsThatCannotBeDoneAreRefused) {
    // d's lock has a key (the rope, at d): a lock nobody can walk up to needs no more
    const std::string base = R"({"title":"x","start":"a","locations":{"a":{"exits":{"east":"b"}},"b":{},"c":{"items":["gem"]},
        "d":{"exits":{"west":{"to":"a","requires_flag":"open"}}}},"items":{"gem":{},"rope":{}},)";
    auto err = [&](std::string rest) {
        if (rest.find("\"uses\"") == std::string::npos) rest = R"("uses":[{"item":"rope","location":"d","sets":"open"}],)" + rest;
        return error_of([&] { world_from_json(json::parse(base + rest), "w"); });
    };
    EXPECT_NE(err(R"("goals":[{"id":"g","location":"c"}]})").find("at /goals/0/location: goal 'g' cannot be done: location 'c' cannot be reached from the start 'a'"),
              std::string::npos) << err(R"("goals":[{"id":"g","location":"c"}]})");
    EXPECT_NE(err(R"("goals":[{"id":"g","items":["gem"]}]})").find("/goals/0/items/0: goal 'g' cannot be done: item 'gem' cannot be obtained"),
              std::string::npos);
    EXPECT_NE(err(R"("goals":[{"id":"g","flags":["open"]}]})").find("/goals/0/flags/0: goal 'g' cannot be done: flag 'open' is never set"),
              std::string::npos);
    // a use of an item carried from the start sets the flag; then every goal can be done
    EXPECT_EQ(err(R"("inventory":["rope"],"uses":[{"item":"rope","location":"b","sets":"open"}],"goals":[{"id":"g","flags":["open"],"location":"b"}]})"),
              "(no error)");
    // the flag a use sets opens an exit to where the goal item lies
    const std::string chain = R"({"title":"x","start":"a","inventory":["key"],"locations":{"a":{"exits":{"down":{"to":"v","requires_flag":"open"}}},
        "v":{"items":["gem"]}},"items":{"gem":{},"key":{}},"uses":[{"item":"key","location":"a","sets":"open"}],"goals":[{"id":"g","items":["gem"]}]})";
    EXPECT_NO_THROW(world_from_json(json::parse(chain), "w"));
    json locked = json::parse(chain);
    locked["uses"][0]["location"] = "v";  // the key only works behind the door it opens
    // the root cause is named (the lock), not only the goal behind it
    EXPECT_EQ(error_of([&] { world_from_json(locked, "w"); }),
              "world 'w': at /locations/a/exits/down: the lock cannot be opened: its key 'key' opens it at 'v', which "
              "cannot be reached; expected a key the player can get without passing it");
}

// --- branches -----------------------------------------------------------------------------------

std::vector<std::string> inputs_of(const std::vector<Turn>& line) {
    std::vector<std::string> v;
    for (const Turn& t : line) v.push_back(t.input);
    return v;
}

TEST(PlayBranches, BranchKeepsTheAbandonedLineAndSwitchReturnsToIt) {
    const std::string db = (temp_dir() / "branches.db").string();
    Game g = new_game(7, db);
    struct Want {
        const char* input;
        TurnResult::Kind kind;
        const char* location;
        std::vector<std::string> line;  // the inputs of the current line after the turn
        int branch, branches;
    };
    using K = TurnResult::Kind;
    const std::vector<Want> script = {
        {"take lantern", K::Narrated, "gate", {"take lantern"}, 1, 1},
        {"n", K::Narrated, "hall", {"take lantern", "n"}, 1, 1},
        {"e", K::Narrated, "chapel", {"take lantern", "n", "e"}, 1, 1},
        {"branch 1", K::Command, "gate", {"take lantern"}, 1, 1},
        {"history", K::Command, "gate", {"take lantern"}, 1, 1},
        {"drop lantern", K::Narrated, "gate", {"take lantern", "drop lantern"}, 2, 2},
        {"n", K::Narrated, "hall", {"take lantern", "drop lantern", "n"}, 2, 2},
        {"branch 9", K::Command, "hall", {"take lantern", "drop lantern", "n"}, 2, 2},
        {"branch 3", K::Command, "hall", {"take lantern", "drop lantern", "n"}, 2, 2},
        {"branch back", K::Command, "hall", {"take lantern", "drop lantern", "n"}, 2, 2},
        {"switch 7", K::Command, "hall", {"take lantern", "drop lantern", "n"}, 2, 2},
        {"switch 1", K::Command, "chapel", {"take lantern", "n", "e"}, 1, 2},
        {"branch 0", K::Command, "gate", {}, 1, 2},
        {"n", K::Narrated, "hall", {"n"}, 3, 3},
        {"save tree", K::Command, "hall", {"n"}, 3, 3},
        {"switch 2", K::Command, "hall", {"take lantern", "drop lantern", "n"}, 2, 3},
        {"take key", K::Refused, "hall", {"take lantern", "drop lantern", "n"}, 2, 3},
    };
    std::vector<std::string> texts;
    for (const Want& w : script) {
        const TurnResult r = g.turn(w.input);
        texts.push_back(r.text);
        ASSERT_EQ(static_cast<int>(r.kind), static_cast<int>(w.kind)) << w.input << ": " << r.text;
        EXPECT_EQ(g.state().location, w.location) << w.input;
        EXPECT_EQ(inputs_of(g.history()), w.line) << w.input;
        EXPECT_EQ(g.branch(), w.branch) << w.input;
        EXPECT_EQ(g.branch_count(), w.branches) << w.input;
        EXPECT_EQ(g.state().turn, static_cast<int>(w.line.size())) << w.input;
    }
    EXPECT_NE(texts[3].find("Back at turn 1; turns 2-3 stay on branch 1 (switch 1 returns there)"), std::string::npos) << texts[3];
    EXPECT_EQ(texts[4], "1. take lantern -> Castle Gate");
    EXPECT_EQ(texts[7], "branch: turn 9 is beyond this line's 3 turns; expected 0-2 (0 = the start)");
    EXPECT_EQ(texts[8], "branch: you are at turn 3 already; expected 0-2 (0 = the start)");
    EXPECT_EQ(texts[9], "branch: expected a turn number 0-2, got 'back'");
    EXPECT_EQ(texts[10], "switch: no branch 7; expected one of: 1, 2 (type branches)");
    EXPECT_NE(texts[11].find("On branch 1, turn 3. Chapel."), std::string::npos) << texts[11];
    EXPECT_EQ(g.tree().size(), 6u);  // 3 + 2 + 1 turns, nothing lost

    const std::string list = g.turn("branches").text;
    EXPECT_NE(list.find("   1: 3 turns, from the start; last: e -> Chapel"), std::string::npos) << list;
    EXPECT_NE(list.find(" * 2: 3 turns, from branch 1 after turn 1; last: n -> Great Hall"), std::string::npos) << list;
    EXPECT_NE(list.find("   3: 1 turn, from the start; last: n -> Great Hall"), std::string::npos) << list;
    EXPECT_NE(g.turn("history").text.find("Branch 2 (branches lists the others):\n1. take lantern"), std::string::npos);

    // load restores the whole tree and where the player was
    const json before = g.save();
    EXPECT_NE(g.turn("load tree").text.find("Loaded slot 'tree'"), std::string::npos);
    EXPECT_EQ(g.tree().size(), 6u);
    EXPECT_EQ(g.branch(), 3);
    EXPECT_EQ(inputs_of(g.history()), std::vector<std::string>{"n"});
    g.turn("switch 2");
    EXPECT_EQ(g.save(), before);
    // the same move from the same turn on the same seed narrates alike on any branch (replay)
    g.turn("branch 0");
    const TurnResult again = g.turn("take lantern");
    EXPECT_EQ(again.narration, g.tree()[0].narration);
    EXPECT_EQ(g.branch(), 4);
}

TEST(PlayBranches, UndoAndRetryKeepOtherBranches) {
    Game g = new_game(3);
    g.turn("take lantern");
    g.turn("n");
    g.turn("branch 1");
    g.turn("drop lantern");  // branch 2 forks after turn 1
    ASSERT_EQ(g.branch(), 2);
    ASSERT_EQ(g.tree().size(), 3u);
    const std::string old = g.history().back().narration;
    EXPECT_EQ(g.turn("retry").kind, TurnResult::Kind::Narrated);  // replaces the leaf, same branch
    EXPECT_EQ(g.tree().size(), 3u);
    EXPECT_EQ(g.branch(), 2);
    EXPECT_EQ(g.history().back().attempt, 1);
    EXPECT_NE(g.history().back().narration, old);
    g.turn("undo");  // takes back 'drop lantern': branch 2 is gone, branch 1 is whole
    EXPECT_EQ(g.tree().size(), 2u);
    EXPECT_EQ(g.branch_count(), 1);
    EXPECT_EQ(inputs_of(g.history()), std::vector<std::string>{"take lantern"});
    g.turn("undo");  // back at the start; 'take lantern' stays, branch 1 goes on from it
    EXPECT_EQ(g.tree().size(), 2u);
    EXPECT_EQ(g.state(), initial_state(g.world()));
    EXPECT_NE(g.turn("undo").text.find("Nothing to undo"), std::string::npos);
    g.turn("switch 1");
    EXPECT_EQ(inputs_of(g.history()), (std::vector<std::string>{"take lantern", "n"}));
    g.turn("branch 1");
    EXPECT_EQ(g.turn("retry").kind, TurnResult::Kind::Narrated);  // turn 1 goes on elsewhere: a new branch
    EXPECT_EQ(g.tree().size(), 3u);
    EXPECT_EQ(g.branch(), 2);
    EXPECT_EQ(g.history().back().attempt, 1);
}

// A saves file as Lyra wrote it before branches: no tip/draft/parent/branch columns, a slot
// of version-1 JSON (one line of turns) with its checksum.
TEST(PlaySaves, SavesFromBeforeBranchesStillLoadAndMigrate) {
    const std::string db = (temp_dir() / "pre-branches.db").string();
    Game g = new_game(6);
    g.turn("take lantern");
    g.turn("n");
    json v1 = g.save();
    v1["version"] = 1;
    v1["history"] = json::array();
    for (json t : v1["turns"]) {
        t.erase("parent");
        t.erase("branch");
        v1["history"].push_back(t);
    }
    v1.erase("turns");
    v1.erase("tip");
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    std::string sql =
        "CREATE TABLE slots(slot TEXT PRIMARY KEY, saved_at TEXT, seed TEXT, world TEXT, start TEXT, n_turns INTEGER,"
        " checksum TEXT, prompt_format TEXT);"
        "CREATE TABLE turns(slot TEXT, idx INTEGER, input TEXT, narration TEXT, update_json TEXT, attempt INTEGER,"
        " state TEXT, PRIMARY KEY(slot, idx));";
    auto q = [](const std::string& x) {
        std::string o = "'";
        for (char c : x) o += c == '\'' ? std::string("''") : std::string(1, c);
        return o + "'";
    };
    sql += "INSERT INTO slots VALUES('old','2026-01-01T00:00:00Z','6'," + q(v1["world"].dump()) + "," +
           q(v1["start"].dump()) + ",2," + q(core::sha256_hex(v1.dump())) + ",'plain');";
    for (size_t i = 0; i < 2; ++i) {
        const json& t = v1["history"][i];
        sql += "INSERT INTO turns VALUES('old'," + std::to_string(i) + "," + q(t["input"]) + "," + q(t["narration"]) +
               "," + q(t["update"]) + ",0," + q(t["state"].dump()) + ");";
    }
    ASSERT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
    sqlite3_close(h);

    SaveStore store(db);  // adds the new columns
    const json loaded = store.load("old");
    EXPECT_EQ(loaded, v1);
    Game r = restored(loaded, options(40, db));
    EXPECT_EQ(r.state(), g.state());
    EXPECT_EQ(inputs_of(r.history()), (std::vector<std::string>{"take lantern", "n"}));
    EXPECT_EQ(r.branch(), 1);
    EXPECT_EQ(r.save(), g.save());  // the same game as version 2
    // it plays on and saves as version 2, branches and all, next to the old slot
    r.turn("branch 1");
    r.turn("drop lantern");
    EXPECT_NE(r.turn("save new").text.find("Saved"), std::string::npos);
    EXPECT_EQ(store.load("new"), r.save());
    EXPECT_EQ(store.load("old"), v1);
    EXPECT_EQ(store.list().size(), 2u);
}

TEST(PlaySaves, CorruptedTreeIsAClearErrorAndOtherSlotsLoad) {
    const std::string db = (temp_dir() / "tree.db").string();
    Game g = new_game(8, db);
    g.turn("take lantern");
    g.turn("n");
    g.turn("branch 1");
    g.turn("drop lantern");
    g.turn("save a");
    g.turn("save b");
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE turns SET parent = 2 WHERE slot = 'a' AND idx = 2", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    const std::string e = g.turn("load a").text;
    EXPECT_NE(e.find("save slot 'a'"), std::string::npos) << e;
    EXPECT_NE(e.find("corrupted"), std::string::npos) << e;
    EXPECT_NE(e.find("other slots are not affected"), std::string::npos) << e;
    EXPECT_NE(g.turn("load b").text.find("Loaded slot 'b'"), std::string::npos);
    EXPECT_EQ(g.tree().size(), 3u);

    // a tree that is not one (a turn after itself, a tip past the end) is refused by restore
    json bad = g.save();
    bad["turns"][1]["parent"] = 1;
    EXPECT_NE(error_of([&] { restored(bad); }).find("turn 1 has parent 1"), std::string::npos);
    bad = g.save();
    bad["tip"] = 3;
    EXPECT_NE(error_of([&] { restored(bad); }).find("tip 3; expected -1..2"), std::string::npos);
}

// --- chat prompts ---------------------------------------------------------------------------------

// In chat format the last turns are earlier messages: the player's action as the user's, the
// narration (for the narrator) or the update (for the bookkeeper) as the assistant's.
TEST(PlayChat, EarlierTurnsAreUserAndAssistantMessages) {
    GameOptions o;
    o.seed = 5;
    o.narration_tokens = 30;
    Game g = Game::create(chatml_model(), pool(), o);
    ASSERT_STREQ(g.prompt_format(), "chat");
    const std::vector<std::string> moves = {"take lantern", "n", "e", "w"};
    std::vector<TurnResult> rs;
    for (const std::string& m : moves) {
        rs.push_back(g.turn(m));
        ASSERT_EQ(rs.back().kind, TurnResult::Kind::Narrated) << m << ": " << rs.back().text;
    }
    const std::string& last = rs[3].narration_prompt;
    std::string want = "<|im_start|>system\nYou are the narrator";
    EXPECT_EQ(last.rfind(want, 0), 0u) << last;
    // the three turns before, each a user message and the assistant's narration, in order
    size_t at = 0;
    for (size_t k = 0; k < 3; ++k) {
        const std::string pair = "<|im_start|>user\nPlayer: " + moves[k] + "\nNarrate what happens.<|im_end|>\n"
                                 "<|im_start|>assistant\n" + g.history()[k].narration + "<|im_end|>\n";
        const size_t found = last.find(pair, at);
        ASSERT_NE(found, std::string::npos) << k << ":\n" << last;
        at = found + pair.size();
    }
    // then the user message with the context and this move; the old turns are not repeated in it
    const std::string user = last.substr(at);
    EXPECT_EQ(user.rfind("<|im_start|>user\n", 0), 0u) << user;
    EXPECT_TRUE(user.ends_with("Player: w\nNarrate what happens.<|im_end|>\n<|im_start|>assistant\n")) << user;
    EXPECT_EQ(user.find("Narrator:"), std::string::npos) << user;
    // the bookkeeper sees its own earlier updates as its replies
    const std::string& upd = rs[3].update_prompt;
    EXPECT_NE(upd.find("<|im_start|>user\nPlayer: e\nNarrator: " + g.history()[2].narration +
                       "\nWrite the state update.<|im_end|>\n<|im_start|>assistant\n" + g.history()[2].update_raw +
                       "<|im_end|>\n"),
              std::string::npos) << upd;
    // the first turn has no earlier messages
    EXPECT_EQ(rs[0].narration_prompt.find("<|im_start|>assistant"), rs[0].narration_prompt.rfind("<|im_start|>assistant"));
    EXPECT_EQ(g.updates_written(), g.updates_valid());
}

// Plain prompts are what they were before chat messages existed: the earlier turns are
// context lines "Player: ...\nNarrator: ...".
TEST(PlayChat, PlainPromptsKeepTheTurnsAsContextLines) {
    GameOptions o;
    o.seed = 5;
    o.narration_tokens = 30;
    o.prompt_format = "plain";
    Game g = Game::create(chatml_model(), pool(), o);
    g.turn("take lantern");
    const State before = g.state();
    const TurnResult r = g.turn("n");
    std::string want = "The Lantern Keep. " + g.world().setting + "\n";
    for (const std::string& l : relevant_lore(g.world(), before, "n")) want += "Lore: " + l + "\n";
    want += "Player: take lantern\nNarrator: " + g.history()[0].narration + "\n";
    want += "Location: " + describe_location(g.world(), before) + " Carrying: brass lantern. Health 10.\n";
    EXPECT_EQ(r.narration_prompt, want + "Player: n\nNarrator:");
    EXPECT_EQ(r.update_prompt, want + "Player: n\nNarrator: " + r.narration + "\nState update: ");
}

// The prompt format is saved with the game; a saves file from before the prompt_format column
// (and a save without the key) still loads, in plain format.
TEST(PlaySaves, PromptFormatIsKeptAndOldSavesStillLoad) {
    const std::string db = (temp_dir() / "format.db").string();
    Game g = new_game(4, db);
    g.turn("take lantern");
    EXPECT_STREQ(g.prompt_format(), "plain");  // a model without a chat template
    EXPECT_EQ(g.save()["prompt_format"], "plain");
    SaveStore(db).save("new", g.save());
    EXPECT_EQ(SaveStore(db).load("new"), g.save());
    json old = g.save();
    old.erase("prompt_format");  // as Game::save() wrote it before
    SaveStore(db).save("old", old);
    sqlite3* h = nullptr;  // and the table as it was: no prompt_format column
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "DELETE FROM slots WHERE slot = 'new'; ALTER TABLE slots DROP COLUMN prompt_format",
                           nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    SaveStore store(db);  // adds the column back
    const json loaded = store.load("old");
    EXPECT_EQ(loaded, old);
    const Game r = restored(loaded);
    EXPECT_STREQ(r.prompt_format(), "plain");
    EXPECT_EQ(r.state(), g.state());
    store.save("new", g.save());
    EXPECT_EQ(store.load("new")["prompt_format"], "plain");
    // a save in chat format on a model without a template: one clear error naming the model
    json chat = g.save();
    chat["prompt_format"] = "chat";
    const std::string e = error_of([&] { restored(chat); });
    EXPECT_NE(e.find("no chat template"), std::string::npos) << e;
    GameOptions plain = options();
    plain.prompt_format = "plain";  // unless the player asks for plain
    EXPECT_STREQ(restored(chat, plain).prompt_format(), "plain");
}

}  // namespace
}  // namespace lyra::art::play
