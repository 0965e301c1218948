// The game beyond ASCII and the world checks that need no model: case folding and NFKC for
// commands and names (art/common/unicode.h fold_text, rules.h parse_action), wrapping by display
// width with simple kinsoku (wrap_text), locks whose key must be reachable and the exact
// winnability search (world.h plan_win: used-up keys, one-way exits, danger), each played back
// through the rules.
#include <gtest/gtest.h>

#include <fstream>

#include "art/common/text.h"
#include "art/common/unicode.h"
#include "art/play/rules.h"
#include "art/play/world.h"
#include "core/error.h"
#include "fixtures/error_of.h"
#include "fixtures/scratch_dir.h"

namespace lyra::art::play {
namespace {

using test::error_of;

// --- folding -----------------------------------------------------------------------------------

TEST(PlayUnicode, FoldTextMatchesCaseWidthAndCompositionForms) {
    EXPECT_EQ(fold_text("TAKE LAMPE"), "take lampe");
    EXPECT_EQ(fold_text("ｔａｋｅ　ＬＡＭＰＥ"), "take lampe");  // full-width letters, ideographic space
    EXPECT_EQ(fold_text("Öffne die Tür"), fold_text("öffne die tür"));
    EXPECT_EQ(fold_text("Tu\xCC\x88r"), "tür");  // u + combining diaeresis composes
    EXPECT_EQ(fold_text("STRASSE"), fold_text("Straße"));
    EXPECT_EQ(fold_text("ΟΔΌΣ"), fold_text("οδός"));  // final sigma folds like capital sigma
    EXPECT_EQ(fold_text("大厅"), "大厅");
    EXPECT_EQ(fold_text("A\xff" "B"), "a\xff" "b");  // an invalid byte stays where it was
    EXPECT_EQ(nfkc_text("ＳＡＶＥ　Ｓｌｏｔ２"), "SAVE Slot2");  // width folded, case kept
}

// A world in German, Greek and Chinese, with its own direction words.
World babel() {
    return world_from_json(json::parse(R"({"title":"Burg","start":"hof","locations":{
        "hof":{"name":"Hof","exits":{"Nord":"große_tür","east":"Église","北":"大厅"},
               "items":["lampe","schlüssel","κλειδί"]},
        "große_tür":{"name":"Große Tür","exits":{"Süd":"hof"}},
        "Église":{"name":"Église","exits":{"west":"hof"}},
        "大厅":{"name":"大厅","exits":{"南":"hof"}}},
        "items":{"lampe":{"name":"Lampe"},"schlüssel":{"name":"Alter Schlüssel"},"κλειδί":{"name":"Χρυσό Κλειδί"}},
        "lore":[{"keys":["öffne"],"text":"Die Tür öffnet sich nur bei Nacht."}]})"),
                          "babel");
}

std::string parsed(const World& w, const State& s, const std::string& in) {
    const Action a = parse_action(w, s, in);
    const char* verbs[] = {"go", "take", "drop", "use", "free"};
    return std::string(verbs[static_cast<int>(a.verb)]) + " " + a.object;
}

TEST(PlayUnicode, CommandsAndNamesMatchInAnyCaseAndWidth) {
    const World w = babel();
    const State s = initial_state(w);
    const std::pair<const char*, const char*> cases[] = {
        {"TAKE LAMPE", "take lampe"},
        {"take Lampe", "take lampe"},
        {"ｔａｋｅ　ｌａｍｐｅ", "take lampe"},
        {"Pick Up The LAMPE", "take lampe"},
        {"take SCHLÜSSEL", "take schlüssel"},
        {"take schlu\xCC\x88ssel", "take schlüssel"},  // decomposed ü
        {"take ALTER", "take schlüssel"},
        {"TAKE ΚΛΕΙΔΊ", "take κλειδί"},
        {"take χρυσό", "take κλειδί"},
        {"go GROSSE TÜR", "go Nord"},  // ß folds to ss
        {"go große tür", "go Nord"},
        {"NORD", "go Nord"},  // the world's own direction, typed in another case
        {"go nord", "go Nord"},
        {"ｎｏｒｄ", "go Nord"},
        {"北", "go 北"},
        {"go 大厅", "go 北"},
        {"GO ÉGLISE", "go east"},
        {"go église", "go east"},
        {"Öffne die Tür", "free "},  // no English verb: free text, as before
    };
    for (const auto& [in, want] : cases) {
        EXPECT_EQ(parsed(w, s, in), want) << in;
        if (std::string(want) != "free ") {
            EXPECT_FALSE(refuse(w, s, parse_action(w, s, in))) << in;
        }
    }
    // the words of free text fold too: lore keyed to "öffne" comes up whatever the case
    for (const char* in : {"Öffne die Tür", "öffne die tür", "ÖFFNE DIE TÜR"})
        EXPECT_EQ(relevant_lore(w, s, in), std::vector<std::string>{"Die Tür öffnet sich nur bei Nacht."}) << in;
    // a move through a direction typed in another case plays: the update names the real exit
    const Action a = parse_action(w, s, "go NORD");
    EXPECT_EQ(update_schema(w, s, a)["properties"]["loc"]["enum"][0], "große_tür");
}

TEST(PlayUnicode, IdsThePlayerCannotTellApartAreRefused) {
    auto err = [](const std::string& items) {
        return error_of([&] {
            world_from_json(json::parse(R"({"title":"x","start":"a","locations":{"a":{}},"items":)" + items + "}"), "w");
        });
    };
    EXPECT_EQ(err(R"({"Église":{},"église":{}})"),
              "world 'w': at /items/église: id 'église' reads as 'Église' to the player (their words are compared "
              "case-folded); expected ids that differ beyond case and accent encoding");
    // precomposed é and e + combining acute: the second in byte order is the one named
    EXPECT_NE(err("{\"caf\u00e9\":{},\"cafe\u0301\":{}}").find("at /items/café: id 'café' reads as 'cafe\xCC\x81'"),
              std::string::npos) << err("{\"caf\u00e9\":{},\"cafe\u0301\":{}}");
    EXPECT_EQ(err(R"({"église":{},"eglise":{}})"), "(no error)");  // an accent is not case
}

// --- wrapping ----------------------------------------------------------------------------------

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> v;
    size_t start = 0;
    while (start < s.size()) {
        const size_t end = s.find('\n', start);
        v.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return v;
}

bool starts_with_any(const std::string& line, std::initializer_list<const char*> marks) {
    return std::any_of(marks.begin(), marks.end(), [&](const char* m) { return line.rfind(m, 0) == 0; });
}

TEST(PlayUnicode, ColumnsCountWideCharactersTwiceAndMarksNothing) {
    EXPECT_EQ(text_columns("abc"), 3);
    EXPECT_EQ(text_columns("大厅"), 4);
    EXPECT_EQ(text_columns("ｔａｋｅ"), 8);
    EXPECT_EQ(text_columns("e\xCC\x81"), 1);  // e + combining acute
    EXPECT_EQ(text_columns("등대"), 4);
    EXPECT_EQ(text_columns("。"), 2);
}

TEST(PlayUnicode, ChineseNarrationWrapsBetweenCharactersWithKinsoku) {
    const std::string text = "灯塔守夜人在海边等一封来自大海的信。他走进大厅，看见一个幽灵。幽灵说：「你好！」"
                             "然后就消失了……风从破窗吹进来（很冷）。";
    for (int width = 4; width <= 40; ++width) {
        const std::string out = wrap_text(text, width);
        std::string joined;
        for (const std::string& line : lines_of(out)) {
            joined += line;
            EXPECT_EQ(drop_invalid_utf8(line), line) << width << ": " << line;  // never cut inside a character
            EXPECT_LE(text_columns(line), width + 4) << width << ": " << line;  // kinsoku may keep 2 marks on
            EXPECT_FALSE(starts_with_any(line, {"。", "，", "！", "？", "」", "：", "…", "）"})) << width << ": " << line;
            EXPECT_FALSE(line.size() >= 3 && (line.substr(line.size() - 3) == "「" || line.substr(line.size() - 3) == "（"))
                << width << ": " << line;
        }
        EXPECT_EQ(joined, text) << width;  // nothing lost, no spaces put between characters
    }
    // where kinsoku does not bite, every line is filled to the width
    EXPECT_EQ(wrap_text("一二三四五六七八", 6), "一二三\n四五六\n七八\n");
    // "。」" stays with the character before it; "「" with the one after
    EXPECT_EQ(wrap_text("一二三。」四", 6), "一二\n三。」\n四\n");
    EXPECT_EQ(wrap_text("他说「你好」", 6), "他说\n「你\n好」\n");
    // an ASCII full stop after Chinese is closing punctuation too
    EXPECT_EQ(wrap_text("大厅大厅.", 8), "大厅大\n厅.\n");
}

TEST(PlayUnicode, WrapKeepsLatinWordsCombiningMarksAndFittingLines) {
    EXPECT_EQ(wrap_text("the quick brown fox jumps", 10), "the quick\nbrown fox\njumps\n");
    EXPECT_EQ(wrap_text("  indented   help line", 40), "  indented   help line\n");  // fits: as written
    EXPECT_EQ(wrap_text("a\n\nb", 5), "a\n\nb\n");
    EXPECT_EQ(wrap_text("tiny supercalifragilistic word", 8), "tiny\nsupercalifragilistic\nword\n");
    // accented words count their columns, not bytes: "café" takes 4 of 9
    EXPECT_EQ(wrap_text("café crème brûlée", 10), "café crème\nbrûlée\n");
    EXPECT_EQ(wrap_text("cafe\xCC\x81 cre\xCC\x80me", 10), "cafe\xCC\x81 cre\xCC\x80me\n");
    // a combining mark after a CJK character is never split from it
    const std::string marked = "字字字\xCC\x81字字";
    for (int width = 2; width <= 8; ++width) {
        for (const std::string& line : lines_of(wrap_text(marked, width))) EXPECT_NE(line.rfind("\xCC\x81", 0), 0u) << width;
    }
    // mixed scripts: breaks at spaces and between CJK characters, never inside "lyra"
    EXPECT_EQ(wrap_text("用 lyra play 玩游戏", 8), "用 lyra\nplay 玩\n游戏\n");
    // full-width letters are wide: two columns each
    EXPECT_EQ(wrap_text("ＡＢＣＤ", 4), "ＡＢ\nＣＤ\n");
}

// Kinsoku across a space: French puts a space before ! ? : ; and inside « », and none of those
// marks may start a line; an opening mark followed by a space may not end one.
TEST(PlayUnicode, MarksAfterASpaceStayWithTheirWord) {
    EXPECT_EQ(wrap_text("Vous dites bonjour !", 18), "Vous dites\nbonjour !\n");
    EXPECT_EQ(wrap_text("il dit « oui » puis part", 12), "il dit\n« oui » puis\npart\n");
    EXPECT_EQ(wrap_text("un mot ( voir plus )", 10), "un mot\n( voir\nplus )\n");
    for (int width = 1; width <= 24; ++width) {
        for (const std::string& line : lines_of(wrap_text("Qui ? Moi ! « Oui » ; non : peut-être ( oui )", width))) {
            EXPECT_FALSE(starts_with_any(line, {"?", "!", "»", ";", ":", ")"})) << width << ": " << line;
            EXPECT_FALSE(!line.empty() && (line.back() == '(' || line.substr(line.size() >= 2 ? line.size() - 2 : 0) == "«"))
                << width << ": " << line;
        }
    }
    // the glued space is the one written: wrapping loses nothing and adds nothing
    EXPECT_EQ(wrap_text("Bonjour !", 4), "Bonjour !\n");
}

// --- locks and winnability ---------------------------------------------------------------------

const test::ScratchDir g_dir("lyra-play-checks");

std::string load_error(const std::string& name, const std::string& toml) {
    const std::string p = (g_dir.path() / name).string();
    std::ofstream(p, std::ios::binary) << toml;
    return error_of([&] { load_world_file(p); });
}

// A keep whose vault is locked; `key_place` is where the key lies, `use_at` where it turns.
std::string keep(const std::string& key_place, const std::string& use_at, const std::string& flag = "vault_open") {
    const std::pair<std::string, std::string> places[] = {
        {"gate", "exits = { north = \"hall\" }\n"},
        {"hall", "exits = { south = \"gate\", down = { to = \"vault\", requires_flag = \"" + flag + "\" } }\n"},
        {"vault", "exits = { up = \"hall\" }\nitems = [\"crown\"" + std::string(key_place == "vault" ? ", \"key\"" : "") + "]\n"},
        {"tower", "exits = { south = \"hall\" }\n"}};  // nothing leads to the tower
    std::string t = "title = \"Keep\"\nstart = \"gate\"\n";
    for (const auto& [id, body] : places) {
        t += "[locations." + id + "]\n" + body;
        if (id == key_place && id != "vault") t += "items = [\"key\"]\n";
    }
    return t + "[items.key]\n[items.crown]\n"
               "[[uses]]\nitem = \"key\"\nlocation = \"" + use_at + "\"\nsets = \"vault_open\"\n"
               "[[goals]]\nid = \"crown\"\nitems = [\"crown\"]\n";
}

TEST(PlayChecks, ALockWhoseKeyCannotBeHadIsOneErrorWithItsLineInTheFile) {
    // the key lies in the vault it opens
    std::string e = load_error("behind.toml", keep("vault", "hall"));
    EXPECT_NE(e.find("world '"), std::string::npos) << e;
    EXPECT_NE(e.find("behind.toml': line 6, column 34 (/locations/hall/exits/down): the lock cannot be opened: its key "
                     "'key' cannot be obtained before it (it lies behind the lock); expected a key the player can get "
                     "without passing it"),
              std::string::npos) << e;
    // the key works only in the tower, which no exit leads to
    e = load_error("tower.toml", keep("gate", "tower"));
    EXPECT_NE(e.find("(/locations/hall/exits/down): the lock cannot be opened: its key 'key' opens it at 'tower', "
                     "which cannot be reached"),
              std::string::npos) << e;
    // a misspelt flag: nothing sets it
    e = load_error("typo.toml", keep("gate", "hall", "vault_opn"));
    EXPECT_NE(e.find("(/locations/hall/exits/down): the lock cannot be opened: no use of an item sets its flag "
                     "'vault_opn'"),
              std::string::npos) << e;
    // the key lies where nobody can go (the tower): not behind this lock, nowhere at all
    e = load_error("nowhere.toml", keep("tower", "hall"));
    EXPECT_NE(e.find("its key 'key' cannot be obtained at all"), std::string::npos) << e;
    // the key in the gate: the world loads
    EXPECT_EQ(load_error("fine.toml", keep("gate", "hall")), "(no error)");
}

// Plays `plan` through the rules (parse_action, refuse, update_schema, check_update,
// apply_update), the narrator taking the most health each turn; returns the final state.
State play_plan(const World& w, const WinPlan& plan) {
    State s = initial_state(w);
    for (size_t i = 0; i < plan.moves.size(); ++i) {
        const Action a = parse_action(w, s, plan.moves[i]);
        EXPECT_FALSE(refuse(w, s, a)) << plan.moves[i];
        if (refuse(w, s, a)) return s;
        const json props = update_schema(w, s, a)["properties"];
        json u = {{"loc", props["loc"]["enum"][0]}, {"hp", props["hp"]["minimum"]}};
        for (const char* k : {"take", "drop", "set"}) {
            u[k] = props[k]["minItems"].get<int>() > 0 ? props[k]["items"]["enum"] : json::array();
        }
        EXPECT_FALSE(check_update(w, s, a, u)) << plan.moves[i];
        s = apply_update(w, s, u);
        EXPECT_EQ(s.location, plan.places[i]) << plan.moves[i];
    }
    return s;
}

TEST(PlayChecks, ThePlanWinsTheBuiltInWorldThroughTheRules) {
    const World w = default_world();
    const WinPlan plan = plan_win(w);
    ASSERT_TRUE(plan.searched);
    ASSERT_TRUE(plan.winnable);
    EXPECT_EQ(plan.worst_damage, 2);  // a turn into the chapel and one taking the key there
    const State end = play_plan(w, plan);
    EXPECT_TRUE(all_goals_done(w, end));
    EXPECT_EQ(end.health, w.health - plan.worst_damage);
    EXPECT_EQ(plan.goals_possible.size(), w.goals.size());
}

// Two doors on one key that the first door uses up; the crown lies behind the second.
json two_doors(bool consumes) {
    return json::parse(R"({"title":"x","start":"a","locations":{
        "a":{"exits":{"east":{"to":"b","requires_flag":"door1"}},"items":["key"]},
        "b":{"exits":{"west":"a","east":{"to":"c","requires_flag":"door2"}}},
        "c":{"exits":{"west":"b"},"items":["crown"]}},
        "items":{"key":{},"crown":{}},
        "uses":[{"item":"key","location":"a","sets":"door1","consumes":)" +
                       std::string(consumes ? "true" : "false") + R"(},
                {"item":"key","location":"b","sets":"door2","consumes":true}],
        "goals":[{"id":"crown","items":["crown"]}]})");
}

TEST(PlayChecks, AKeyUsedUpBeforeTheSecondDoorIsRefused) {
    EXPECT_NO_THROW(world_from_json(two_doors(false), "w"));
    const World ok = world_from_json(two_doors(false), "w");
    EXPECT_TRUE(all_goals_done(ok, play_plan(ok, plan_win(ok))));
    // the generous reach still says the crown can be had (it lets a used-up key open again)
    EXPECT_EQ(error_of([&] { world_from_json(two_doors(true), "w"); }),
              "world 'w': at /goals/0: goal 'crown' cannot be done in any order of moves: one-way exits or items "
              "used up ('key' by /uses/0, 'key' by /uses/1) stand in the way, though each part of it can be reached "
              "on its own");
    // the same in a TOML file points at the goal's line
    const std::string toml = "title = \"x\"\nstart = \"a\"\n"
                             "[locations.a]\nexits = { east = { to = \"b\", requires_flag = \"door1\" } }\nitems = [\"key\"]\n"
                             "[locations.b]\nexits = { west = \"a\", east = { to = \"c\", requires_flag = \"door2\" } }\n"
                             "[locations.c]\nitems = [\"crown\"]\n"
                             "[items.key]\n[items.crown]\n"
                             "[[uses]]\nitem = \"key\"\nlocation = \"a\"\nsets = \"door1\"\nconsumes = true\n"
                             "[[uses]]\nitem = \"key\"\nlocation = \"b\"\nsets = \"door2\"\n"
                             "[[goals]]\nid = \"crown\"\nitems = [\"crown\"]\n";
    const std::string e = load_error("used-up.toml", toml);
    EXPECT_NE(e.find("line 21, column 1 (/goals/0): goal 'crown' cannot be done in any order of moves"), std::string::npos) << e;
}

TEST(PlayChecks, GoalsThatExcludeEachOtherOrATrapAreRefused) {
    // a goal needs the key carried and the flag its use sets by using it up: never both
    json both = two_doors(false);
    both["uses"][1]["consumes"] = true;
    both["goals"] = json::parse(R"([{"id":"g","items":["key"],"flags":["door2"]}])");
    EXPECT_NE(error_of([&] { world_from_json(both, "w"); }).find("at /goals/0: goal 'g' cannot be done in any order of moves"),
              std::string::npos);
    // two doors on one key that either use consumes; the rules pick the first use at a (f1)
    json either = json::parse(R"({"title":"x","start":"a","inventory":["key"],"locations":{
        "a":{"exits":{"east":{"to":"b","requires_flag":"f1"},"west":{"to":"c","requires_flag":"f2"}}},
        "b":{"exits":{"west":"a"}},"c":{"exits":{"east":"a"}}},"items":{"key":{}},
        "uses":[{"item":"key","location":"a","sets":"f1","consumes":true},{"item":"key","location":"a","sets":"f2","consumes":true}],
        "goals":[{"id":"east","location":"b"},{"id":"west","location":"c"}]})");
    EXPECT_NE(error_of([&] { world_from_json(either, "w"); }).find("/goals/1: goal 'west' cannot be done in any order"),
              std::string::npos) << error_of([&] { world_from_json(either, "w"); });
    either["uses"][1]["location"] = "b";  // f2 at b, past the first door, and that door keeps the key
    either["uses"][0]["consumes"] = false;
    EXPECT_NO_THROW(world_from_json(either, "w"));  // use at a (f1), walk in, use at b (f2), back, west
    json flags_apart = json::parse(R"({"title":"x","start":"a","inventory":["key"],"locations":{"a":{}},"items":{"key":{}},
        "uses":[{"item":"key","location":"a","sets":"f1","consumes":true},{"item":"key","sets":"f2","consumes":true}],
        "goals":[{"id":"one","flags":["f1"]},{"id":"two","flags":["f2"]}]})");
    // the first use at a wins (f1); f2 can then never be set: only goal 'one' can be done
    EXPECT_NE(error_of([&] { world_from_json(flags_apart, "w"); }).find("at /goals/1: goal 'two' cannot be done"),
              std::string::npos);
    flags_apart["locations"]["b"] = json::object();
    flags_apart["locations"]["a"]["exits"] = {{"east", "b"}};
    flags_apart["locations"]["b"]["exits"] = {{"west", "a"}};
    flags_apart["goals"] = json::parse(R"([{"id":"one","flags":["f1"]},{"id":"two","flags":["f2"],"location":"b"}])");
    // either goal alone: f1 at a, or walk to b first and set f2 there (anywhere); not both
    EXPECT_EQ(error_of([&] { world_from_json(flags_apart, "w"); }),
              "world 'w': at /goals: the goals cannot all be done in one game (each can on its own): one-way exits "
              "or items used up ('key' by /uses/0, 'key' by /uses/1) stand in the way");
    // a one-way drop into the cellar, where the key lies, and the door it opens is upstairs
    const json trap = json::parse(R"({"title":"x","start":"a","locations":{
        "a":{"exits":{"down":"cellar","east":{"to":"b","requires_flag":"open"}}},
        "cellar":{"items":["key"]},"b":{"exits":{"west":"a"}}},"items":{"key":{}},
        "uses":[{"item":"key","location":"a","sets":"open"}],"goals":[{"id":"out","location":"b"}]})");
    EXPECT_NE(error_of([&] { world_from_json(trap, "w"); }).find("at /goals/0: goal 'out' cannot be done in any order of moves"),
              std::string::npos);
}

TEST(PlayChecks, DangerOnTheSafestWayMustLeaveThePlayerAlive) {
    // gate -> pit (danger 2) -> crown; or the long way round, safe
    const std::string head = "title = \"x\"\nstart = \"gate\"\n";
    const std::string places = "[locations.gate]\nexits = { north = \"pit\" }\n"
                               "[locations.pit]\ndanger = 2\nexits = { north = \"vault\" }\n"
                               "[locations.vault]\nitems = [\"crown\"]\n[items.crown]\n"
                               "[[goals]]\nid = \"crown\"\nitems = [\"crown\"]\n";
    EXPECT_EQ(load_error("ok.toml", head + "health = 3\n" + places), "(no error)");
    const std::string e = load_error("deadly.toml", head + "health = 2\n" + places);
    EXPECT_NE(e.find("deadly.toml': line 3, column 10 (/health): the world cannot be won safely: the safest way to "
                     "every goal (3 moves) has 1 turn ending in 'pit' (danger 2), where the narrator may take up to 2 "
                     "health, and the player has 2; expected health above 2, or less danger"),
              std::string::npos) << e;
    // no health written: the default 10 is where the error points
    const std::string many = "[locations.gate]\nexits = { north = \"pit\" }\n"
                             "[locations.pit]\ndanger = 11\nexits = { north = \"vault\" }\n"
                             "[locations.vault]\nitems = [\"crown\"]\n[items.crown]\n"
                             "[[goals]]\nid = \"crown\"\nitems = [\"crown\"]\n";
    EXPECT_NE(load_error("default.toml", head + many).find("default.toml': at /health: the world cannot be won safely"),
              std::string::npos);
    // a safe way round, longer: the plan takes it, and the world loads with health 1
    const World w = world_from_json(json::parse(R"({"title":"x","start":"gate","health":1,"locations":{
        "gate":{"exits":{"north":"pit","east":"lane"}},"pit":{"danger":2,"exits":{"north":"vault"}},
        "lane":{"exits":{"north":"yard"}},"yard":{"exits":{"west":"vault"}},
        "vault":{"danger":0,"items":["crown"]}},"items":{"crown":{}},"goals":[{"id":"crown","items":["crown"]}]})"),
                                    "w");
    const WinPlan plan = plan_win(w);
    EXPECT_EQ(plan.worst_damage, 0);
    EXPECT_EQ(plan.moves, (std::vector<std::string>{"go east", "go north", "go west", "take crown"}));
    const State end = play_plan(w, plan);
    EXPECT_TRUE(all_goals_done(w, end));
    EXPECT_EQ(end.health, 1);
}

TEST(PlayChecks, TooManyStatesLeaveOnlyTheGenerousChecks) {
    const World w = default_world();
    const WinPlan plan = plan_win(w, 3);
    EXPECT_FALSE(plan.searched);
    EXPECT_FALSE(plan.winnable);
}

}  // namespace
}  // namespace lyra::art::play
