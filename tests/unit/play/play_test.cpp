// The story game (art/play): world files, rules, the turn pipeline with a random-weight model
// (every state update must parse and validate thanks to the schema constraint), undo/retry,
// replay determinism and SQLite saves (including a corrupted slot).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "art/play/game.h"
#include "art/play/saves.h"
#include "core/error.h"
#include "core/mmap.h"
#include "model/init.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::art::play {
namespace {

namespace fs = std::filesystem;

const fs::path g_dir = [] {
    const fs::path d = fs::temp_directory_path() / ("lyra-play-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}();

const fs::path& temp_dir() { return g_dir; }

struct Cleanup {
    ~Cleanup() {
        std::error_code ec;
        fs::remove_all(temp_dir(), ec);
    }
} cleanup;

// A random-weight llama over a byte vocabulary: it knows nothing, so only the constraint makes
// its state updates valid.
std::shared_ptr<const model::Model> random_model() {
    static std::shared_ptr<const model::Model> m = [] {
        const std::string path = (temp_dir() / "random.gguf").string();
        model::InitOptions o;
        o.n_embd = 64;
        o.n_layer = 2;
        o.n_head = 2;
        o.n_ctx = 384;
        o.seed = 3;
        model::init_model(o, *model::build_byte_vocab(), path);
        return std::shared_ptr<const model::Model>(model::Model::load(path));
    }();
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

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

Game new_game(uint64_t seed = 7, std::string saves = {}) {
    GameOptions o;
    o.seed = seed;
    o.narration_tokens = 40;
    o.saves_path = std::move(saves);
    return Game::create(random_model(), pool(), o);
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

TEST(PlayGame, PremiseInAnyScriptDoesNotCrash) {
    for (const std::string premise : {"A lighthouse keeper finds a letter from the sea.",
                                      "ꆈꌠꁱꂷ 𒀭𒂗𒆠 ᠮᠣᠩᠭᠣᠯ ⵜⴰⵎⴰⵣⵉⵖⵜ", "平生不会相思"}) {
        GameOptions o;
        o.premise = premise;
        o.seed = 2;
        o.narration_tokens = 24;
        Game g = Game::create(random_model(), pool(), o);
        EXPECT_EQ(g.world().setting, premise);
        EXPECT_EQ(g.world().title.rfind("The ", 0), 0u);
        EXPECT_EQ(g.turn("take lantern").kind, TurnResult::Kind::Narrated);
    }
    GameOptions bad;
    bad.premise = std::string("\xff\xfe", 2);
    EXPECT_NE(error_of([&] { Game::create(random_model(), pool(), bad); }).find("UTF-8"), std::string::npos);
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
    GameOptions o;
    o.narration_tokens = 40;
    const Game r = Game::restore(random_model(), pool(), loaded, o);
    EXPECT_STREQ(r.prompt_format(), "plain");
    EXPECT_EQ(r.state(), g.state());
    store.save("new", g.save());
    EXPECT_EQ(store.load("new")["prompt_format"], "plain");
    // a save in chat format on a model without a template: one clear error naming the model
    json chat = g.save();
    chat["prompt_format"] = "chat";
    const std::string e = error_of([&] { Game::restore(random_model(), pool(), chat, o); });
    EXPECT_NE(e.find("no chat template"), std::string::npos) << e;
    o.prompt_format = "plain";  // unless the player asks for plain
    EXPECT_STREQ(Game::restore(random_model(), pool(), chat, o).prompt_format(), "plain");
}

}  // namespace
}  // namespace lyra::art::play
