// `lyra play` driven through stdin with scripted sessions, as a user (or a script) plays it:
// moves, item use, refused moves, save, quit, load, undo, retry; the state after every turn is
// checked from --json output, and every state update the random-weight model wrote must have
// parsed and validated. Also: branches (branch, switch, across save and load), worlds drafted
// from a premise, bad world files, unknown commands, corrupted saves.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

using nlohmann::json;

const std::string& random_model() {
    static const std::string path = random_llama(64, 2, 2, 256, "bytes");
    return path;
}

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Runs `lyra play ARGS` with `moves` on stdin (one per line).
RunResult play(const std::vector<std::string>& args, const std::vector<std::string>& moves, const TempDir& dir) {
    const std::string in = (dir.path() / "moves.txt").string();
    std::ofstream f(in);
    for (const std::string& m : moves) f << m << "\n";
    f.close();
    // Appended piecewise: GCC 12 reports a false -Wrestrict on `" " + quote(a)`.
    std::string cmd = quote(lyra_bin());
    cmd += " play";
    for (const std::string& a : args) {
        cmd += ' ';
        cmd += quote(a);
    }
    cmd += " < " + quote(in);
    return run_program("/bin/sh", {"-c", cmd});
}

std::vector<json> turns_of(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) v.push_back(json::parse(line));
    }
    return v;
}

std::vector<std::string> base_args(const TempDir& dir, uint64_t seed = 1) {
    return {"-m", random_model(), "--threads", "1", "--seed", std::to_string(seed), "--json",
            "--saves", (dir.path() / "saves.db").string()};
}

struct Expect {
    const char* kind;
    const char* location;
    std::vector<std::string> inventory;
};

void check_session(const std::vector<json>& turns, const std::vector<Expect>& want) {
    ASSERT_EQ(turns.size(), want.size() + 1);  // + the intro
    EXPECT_EQ(turns[0]["kind"], "intro");
    for (size_t i = 0; i < want.size(); ++i) {
        const json& t = turns[i + 1];
        EXPECT_EQ(t["kind"], want[i].kind) << "turn " << i + 1 << ": " << t["text"];
        EXPECT_EQ(t["state"]["location"], want[i].location) << "turn " << i + 1;
        EXPECT_EQ(t["state"]["inventory"], json(want[i].inventory)) << "turn " << i + 1;
        if (t["kind"] == "narrated") {
            EXPECT_EQ(json::parse(t["update_raw"].get<std::string>()), t["update"]);
        }
    }
    EXPECT_EQ(turns.back()["updates_written"], turns.back()["updates_valid"]);  // 100%
}

TEST(PlayCli, ScriptedSessionSaveQuitLoadUndoRetry) {
    TempDir dir;
    const RunResult a = play(base_args(dir), {"take lantern", "north", "go west", "use key", "east", "take key",
                                              "save first", "west", "frobnicate", "quit", "look"},
                             dir);
    ASSERT_EQ(a.code, 0) << a.err;
    const auto ta = turns_of(a.out);
    check_session(ta, {{"narrated", "gate", {"lantern"}},
                       {"narrated", "hall", {"lantern"}},
                       {"refused", "hall", {"lantern"}},
                       {"refused", "hall", {"lantern"}},
                       {"narrated", "chapel", {"lantern"}},
                       {"narrated", "chapel", {"lantern", "key"}},
                       {"command", "chapel", {"lantern", "key"}},
                       {"narrated", "hall", {"lantern", "key"}},
                       {"command", "hall", {"lantern", "key"}},
                       {"quit", "hall", {"lantern", "key"}}});  // "look" after quit is never read
    EXPECT_NE(ta[3]["text"].get<std::string>().find("no way through the walls"), std::string::npos);
    EXPECT_NE(ta[4]["text"].get<std::string>().find("don't have the iron key"), std::string::npos);
    EXPECT_NE(ta[9]["text"].get<std::string>().find("Unknown command"), std::string::npos);
    EXPECT_NE(ta[9]["text"].get<std::string>().find("save [slot]"), std::string::npos);
    EXPECT_EQ(ta[8]["state"]["health"], ta[6]["state"]["health"]);

    // a new process resumes the save, then undo, retry and item use
    std::vector<std::string> load_args = base_args(dir);
    load_args.insert(load_args.end(), {"--load", "first"});
    const RunResult c = play(load_args, {"undo", "retry", "take key", "west", "use key", "down", "take crown", "up",
                                         "south", "history"},
                             dir);
    ASSERT_EQ(c.code, 0) << c.err;
    const auto tc = turns_of(c.out);
    check_session(tc, {{"command", "chapel", {"lantern"}},
                       {"narrated", "chapel", {"lantern"}},
                       {"narrated", "chapel", {"lantern", "key"}},
                       {"narrated", "hall", {"lantern", "key"}},
                       {"narrated", "hall", {"lantern"}},
                       {"narrated", "vault", {"lantern"}},
                       {"narrated", "vault", {"lantern", "crown"}},
                       {"narrated", "hall", {"lantern", "crown"}},
                       {"narrated", "gate", {"lantern", "crown"}},
                       {"command", "gate", {"lantern", "crown"}}});
    EXPECT_EQ(tc[0]["turns"], 4);  // the save's history came back
    EXPECT_EQ(tc[1]["turns"], 3);  // undo
    EXPECT_TRUE(tc[9]["won"].get<bool>());
    EXPECT_NE(tc[10]["text"].get<std::string>().find("4. take key -> Chapel"), std::string::npos) << tc[10]["text"];
    // retry wrote a new narration for the same move ("east")
    EXPECT_NE(tc[2]["narration"], ta[5]["narration"]);
}

TEST(PlayCli, ReplayGivesTheSameGame) {
    TempDir dir;
    const std::vector<std::string> moves = {"take lantern", "n", "talk to the ghost", "e", "take key", "w"};
    const RunResult a = play(base_args(dir, 42), moves, dir);
    const RunResult b = play(base_args(dir, 42), moves, dir);
    ASSERT_EQ(a.code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
}

TEST(PlayCli, TerminalOutputIsWrappedWithAPrompt) {
    TempDir dir;
    const RunResult r = play({"-m", random_model(), "--threads", "1", "--width", "40", "--saves",
                              (dir.path() / "s.db").string()},
                             {"take lantern", "i"}, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("The Lantern Keep"), std::string::npos);
    EXPECT_NE(r.out.find("\n> "), std::string::npos);
    EXPECT_NE(r.out.find("Choices:"), std::string::npos);
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
        int n = 0;
        for (unsigned char c : line) n += (c & 0xC0) != 0x80;
        EXPECT_LE(n, 42) << line;  // 40 columns (+ the "> " prompt)
    }
}

// A Chinese world: the terminal output wraps by display width (a Han character takes two
// columns) between characters, with no line starting with closing punctuation; commands and
// names fold (full-width "ＬＯＯＫ", "GO 大厅" in upper case).
TEST(PlayCli, ChineseTextWrapsByDisplayWidth) {
    TempDir dir;
    const std::string world = (dir.path() / "zh.toml").string();
    std::ofstream(world) << "title = \"灯塔\"\nstart = \"门口\"\n"
                            "[locations.\"门口\"]\nname = \"门口\"\n"
                            "description = \"海风吹过破旧的大门，远处的灯塔一闪一闪。守夜人说：「今晚会有暴风雨！」你听见浪声。\"\n"
                            "exits = { north = \"大厅\" }\n"
                            "[locations.\"大厅\"]\nname = \"大厅\"\ndescription = \"空荡荡的大厅。\"\n"
                            "exits = { south = \"门口\" }\n";
    // only the world's text (no narration, whose random bytes have widths of every kind)
    const RunResult r = play({"-m", random_model(), "--threads", "1", "--width", "20", "--world", world, "--saves",
                              (dir.path() / "s.db").string()},
                             {"ＬＯＯＫ"}, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.find("Unknown command"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("守夜人"), std::string::npos) << r.out;
    std::istringstream in(r.out);
    size_t han_lines = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("> ", 0) == 0) line = line.substr(2);
        int cols = 0;
        for (size_t i = 0; i < line.size(); ++i) {
            const auto c = static_cast<unsigned char>(line[i]);
            if ((c & 0xC0) == 0x80) continue;
            cols += c >= 0xE0 ? 2 : 1;  // this world's three-byte characters are all wide
        }
        han_lines += line.find("守夜人") != std::string::npos || line.find("灯塔") != std::string::npos;
        EXPECT_LE(cols, 20) << line;
        for (const char* mark : {"。", "，", "！", "」", "："}) EXPECT_NE(line.rfind(mark, 0), 0u) << line;
    }
    EXPECT_GT(han_lines, 0u);
    const RunResult moved = play({"-m", random_model(), "--threads", "1", "--json", "--world", world, "--saves",
                                  (dir.path() / "s.db").string()},
                                 {"GO 大厅"}, dir);
    ASSERT_EQ(moved.code, 0) << moved.err;
    const auto t = turns_of(moved.out);
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1]["state"]["location"], "大厅");
}

TEST(PlayCli, BadWorldFilesAndSaves) {
    TempDir dir;
    const std::string world = (dir.path() / "w.toml").string();
    std::ofstream(world) << "title = \"Broken\"\nstart = \"a\"\n\n[locations.a]\nexits = { up = \"b\" }\n";
    RunResult r = play({"-m", random_model(), "--world", world}, {}, dir);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("line 5"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unknown location 'b'"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");

    // a lock whose key lies behind it: one error at the exit's line and column
    std::ofstream(world) << "title = \"Keep\"\nstart = \"a\"\n\n[locations.a]\n"
                            "exits = { down = { to = \"b\", requires_flag = \"open\" } }\n"
                            "[locations.b]\nexits = { up = \"a\" }\nitems = [\"key\"]\n[items.key]\n"
                            "[[uses]]\nitem = \"key\"\nlocation = \"a\"\nsets = \"open\"\n";
    r = play({"-m", random_model(), "--world", world}, {}, dir);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("line 5, column 18 (/locations/a/exits/down): the lock cannot be opened: its key 'key' "
                         "cannot be obtained before it (it lies behind the lock)"),
              std::string::npos) << r.err;

    // a custom JSON world plays
    const std::string jw = (dir.path() / "w.json").string();
    std::ofstream(jw) << R"({"title":"Two Rooms","start":"a","locations":{"a":{"exits":{"east":"b"}},"b":{"exits":{"west":"a"}}}})";
    r = play({"-m", random_model(), "--world", jw, "--json", "--threads", "1"}, {"east", "east"}, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto t = turns_of(r.out);
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[1]["state"]["location"], "b");
    EXPECT_EQ(t[2]["kind"], "refused");

    const std::string junk = (dir.path() / "junk.db").string();
    std::ofstream(junk) << std::string(3000, 'z');
    r = play({"-m", random_model(), "--saves", junk, "--load", "one"}, {}, dir);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("saves '"), std::string::npos) << r.err;
    r = play({"-m", random_model(), "--saves", (dir.path() / "none.db").string(), "--load", "one"}, {}, dir);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
}

// Drafting a whole world takes more context than the game's other prompts.
const std::string& roomy_model() {
    static const std::string path = random_llama(64, 2, 2, 1024, "bytes");
    return path;
}

TEST(PlayCli, PremiseDraftsAWorldThatPlaysSavesAndReplays) {
    TempDir dir;
    const std::vector<std::string> args = {"-m", roomy_model(), "--json", "--threads", "1", "--seed", "4", "--premise",
                                           "ꆈꌠꁱꂷ 𒀭𒂗𒆠 ⵜⴰⵎⴰⵣⵉⵖⵜ", "--saves", (dir.path() / "s.db").string()};
    const std::vector<std::string> moves = {"look around", "inventory", "save drafted", "look around"};
    const RunResult r = play(args, moves, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto t = turns_of(r.out);
    ASSERT_EQ(t.size(), 5u);
    const json& intro = t[0];
    EXPECT_EQ(intro["draft"]["premise"], "ꆈꌠꁱꂷ 𒀭𒂗𒆠 ⵜⴰⵎⴰⵣⵉⵖⵜ");
    EXPECT_EQ(intro["text"].get<std::string>().find("Lantern Keep"), std::string::npos) << intro["text"];
    EXPECT_NE(intro["state"]["location"], "gate");
    EXPECT_EQ(t[1]["kind"], "narrated") << t[1]["text"];
    EXPECT_EQ(t[4]["kind"], "narrated") << t[4]["text"];
    EXPECT_EQ(t[4]["updates_written"], t[4]["updates_valid"]);
    // the same premise and seed: the same world and game, byte for byte
    EXPECT_EQ(play(args, moves, dir).out, r.out);
    // a load in a new process has the drafted world back, not a new draft
    const RunResult l = play({"-m", roomy_model(), "--json", "--threads", "1", "--load", "drafted", "--saves",
                              (dir.path() / "s.db").string()},
                             {"look around"}, dir);
    ASSERT_EQ(l.code, 0) << l.err;
    const auto u = turns_of(l.out);
    ASSERT_EQ(u.size(), 2u);
    EXPECT_EQ(u[0]["text"], intro["text"]);  // nobody moved: the same title, setting and place
    EXPECT_EQ(u[1]["state"], t[4]["state"]);  // same save, seed and move: the same turn
    EXPECT_EQ(u[1]["narration"], t[4]["narration"]);
}

TEST(PlayCli, BranchSwitchAndLoadKeepEveryLine) {
    TempDir dir;
    const RunResult a = play(base_args(dir, 3), {"take lantern", "north", "east", "branch 1", "drop lantern",
                                                 "branches", "switch 1", "switch 5", "branch 7", "branch two",
                                                 "save tree", "quit"},
                             dir);
    ASSERT_EQ(a.code, 0) << a.err;
    const auto t = turns_of(a.out);
    check_session(t, {{"narrated", "gate", {"lantern"}},
                      {"narrated", "hall", {"lantern"}},
                      {"narrated", "chapel", {"lantern"}},
                      {"command", "gate", {"lantern"}},
                      {"narrated", "gate", {}},
                      {"command", "gate", {}},
                      {"command", "chapel", {"lantern"}},
                      {"command", "chapel", {"lantern"}},
                      {"command", "chapel", {"lantern"}},
                      {"command", "chapel", {"lantern"}},
                      {"command", "chapel", {"lantern"}},
                      {"quit", "chapel", {"lantern"}}});
    const std::vector<int> turns = {1, 2, 3, 1, 2, 2, 3, 3, 3, 3, 3, 3}, branch = {1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1},
                           branches = {1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2};
    for (size_t i = 0; i < turns.size(); ++i) {
        EXPECT_EQ(t[i + 1]["turns"], turns[i]) << "turn " << i + 1;
        EXPECT_EQ(t[i + 1]["branch"], branch[i]) << "turn " << i + 1;
        EXPECT_EQ(t[i + 1]["branches"], branches[i]) << "turn " << i + 1;
    }
    EXPECT_NE(t[6]["text"].get<std::string>().find("* 2: 2 turns, from branch 1 after turn 1; last: drop lantern"),
              std::string::npos) << t[6]["text"];
    EXPECT_EQ(t[8]["text"], "switch: no branch 5; expected one of: 1, 2 (type branches)");
    EXPECT_EQ(t[9]["text"], "branch: turn 7 is beyond this line's 3 turns; expected 0-2 (0 = the start)");
    EXPECT_EQ(t[10]["text"], "branch: expected a turn number 0-2, got 'two'");

    // a new process loads the tree: branch 1 where it was saved, branch 2 one switch away
    std::vector<std::string> load_args = base_args(dir, 3);
    load_args.insert(load_args.end(), {"--load", "tree"});
    const RunResult c = play(load_args, {"history", "switch 2", "north", "save tree2"}, dir);
    ASSERT_EQ(c.code, 0) << c.err;
    const auto u = turns_of(c.out);
    check_session(u, {{"command", "chapel", {"lantern"}},
                      {"command", "gate", {}},
                      {"narrated", "hall", {}},
                      {"command", "hall", {}}});
    EXPECT_EQ(u[0]["branches"], 2);
    EXPECT_NE(u[1]["text"].get<std::string>().find("Branch 1 (branches lists the others):\n1. take lantern -> Castle Gate\n"
                                                    "2. north -> Great Hall\n3. east -> Chapel"),
              std::string::npos) << u[1]["text"];
    EXPECT_EQ(u[3]["branch"], 2);
    EXPECT_EQ(u[3]["turns"], 3);

    // damage one slot's tree: a clear error in the game, which goes on; the other slot loads
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() / "saves.db").string().c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE turns SET branch = 9 WHERE slot = 'tree' AND idx = 3", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
    const RunResult d = play(base_args(dir, 3), {"load tree", "take lantern", "load tree2", "saves"}, dir);
    ASSERT_EQ(d.code, 0) << d.err;
    const auto v = turns_of(d.out);
    check_session(v, {{"command", "gate", {}},
                      {"narrated", "gate", {"lantern"}},
                      {"command", "hall", {}},
                      {"command", "hall", {}}});
    EXPECT_NE(v[1]["text"].get<std::string>().find("save slot 'tree'"), std::string::npos) << v[1]["text"];
    EXPECT_NE(v[1]["text"].get<std::string>().find("corrupted"), std::string::npos) << v[1]["text"];
    EXPECT_NE(v[3]["text"].get<std::string>().find("Loaded slot 'tree2'"), std::string::npos) << v[3]["text"];
    std::vector<std::string> bad_load = base_args(dir, 3);
    bad_load.insert(bad_load.end(), {"--load", "tree"});
    const RunResult e = play(bad_load, {}, dir);
    EXPECT_EQ(e.code, 1);
    EXPECT_EQ(count_lines(e.err), 1) << e.err;
    EXPECT_NE(e.err.find("corrupted"), std::string::npos) << e.err;
}

}  // namespace
}  // namespace lyra::e2e
