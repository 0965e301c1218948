// `lyra poem` as a user runs it, on a random-weight character model made here with
// `lyra model init` (the constraints, not the model, keep the form): Chinese forms, acrostics,
// ci, 古体 (--lines, --tone-rhyme, --stanzas, zayan --pattern), --check, --list-forms, eval, -o
// files, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One random model for the whole program: the hanzi of data/poetry/chars.tsv + punctuation.
const std::string& model() {
    static TempDir dir;
    static const std::string path = [] {
        ::setenv("LYRA_GALLERY", "off", 1);  // these poems are not for the user's gallery
        std::ifstream in(source_dir() + "/data/poetry/chars.tsv");
        std::string line, text = "，。\n形式:题无";
        while (std::getline(in, line)) {
            if (!line.empty() && line[0] != '#') text += line.substr(0, line.find('\t'));
        }
        const fs::path txt = dir.path() / "hanzi.txt";
        std::ofstream(txt) << text;
        const std::string out = (dir.path() / "zh.gguf").string();
        RunResult r = run_lyra({"model", "init", "--arch", "llama", "--dim", "32", "--layers", "1",
                                "--heads", "2", "--ctx", "512", "--tokenizer", "char:" + txt.string(),
                                "-o", out});
        EXPECT_EQ(r.code, 0) << r.err;
        return out;
    }();
    return path;
}

std::vector<std::string> poem_args(std::vector<std::string> extra) {
    std::vector<std::string> a = {"poem", "-m", model(), "--threads", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

TEST(PoemCli, ListForms) {
    RunResult r = run_lyra({"poem", "--list-forms"});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* f : {"wujue", "qijue", "wulv", "qilv", "wugu", "qigu", "zayan", "ci:如梦令",
                          "ci:水调歌头", "ci:念奴娇"})
        EXPECT_NE(r.out.find(f), std::string::npos) << f;
}

TEST(PoemCli, WritesValidPoemsAndChecksThem) {
    TempDir out;
    for (const char* form : {"wujue", "qilv", "ci:菩萨蛮", "ci:满江红"}) {
        RunResult r = run_lyra(poem_args({"--form", form, "--theme", "秋夜", "--seed", "4", "-n", "2", "--json"}));
        ASSERT_EQ(r.code, 0) << form << r.err;
        json j = json::parse(r.out);
        EXPECT_EQ(j["form"], "poem");
        EXPECT_EQ(j["scores"]["form"], 1.0) << j.dump();
        EXPECT_EQ(j["candidates"].size(), 2u);
        const fs::path file = out.path() / "poem.txt";
        std::ofstream(file) << j["text"].get<std::string>();
        RunResult c = run_lyra({"poem", "--check", file.string(), "--form", form});
        EXPECT_EQ(c.code, 0) << form << "\n" << c.out << c.err;
        EXPECT_NE(c.out.find("ok:"), std::string::npos);
    }
}

TEST(PoemCli, AcrosticXinyunAndFiles) {
    TempDir out;
    RunResult r = run_lyra(poem_args({"--form", "qijue", "--acrostic", "春江花月", "--rhyme", "xinyun", "-o", out.path().string()}));
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string text = read_all(out.path() / "poem.txt");
    EXPECT_EQ(text.rfind("春", 0), 0u) << text;
    EXPECT_NE(text.find("\n江"), std::string::npos) << text;
    EXPECT_NE(text.find("\n花"), std::string::npos) << text;
    EXPECT_NE(text.find("\n月"), std::string::npos) << text;
    json j = json::parse(read_all(out.path() / "poem.json"));
    EXPECT_EQ(j["request"]["rhyme"], "xinyun");
    EXPECT_EQ(j["request"]["acrostic"], "春江花月");
}

TEST(PoemCli, CheckExplainsFaults) {
    TempDir dir;
    const fs::path good = dir.path() / "good.txt", bad = dir.path() / "bad.txt";
    std::ofstream(good) << "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n";
    std::ofstream(bad) << "白日依山尽，黄河入海流。\n欲断千里目，更上一层花。\n";
    RunResult r = run_lyra({"poem", "--check", good.string(), "--form", "wujue"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    r = run_lyra({"poem", "--check", bad.string(), "--form", "wujue"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("line 3, char 2: 平 expected, 断 is 仄"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("line 4, char 5: rhyme"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("check: "), std::string::npos) << r.err;
    r = run_lyra({"poem", "--check", good.string(), "--form", "wujue", "--acrostic", "白黄欲更"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    r = run_lyra({"poem", "--check", good.string(), "--form", "wujue", "--acrostic", "白黄花更"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("line 3, char 1: 花 expected (acrostic), found 欲"), std::string::npos) << r.out;
}

// 古体: the line count and rhyme tone asked for, recorded in the request; --check reads the poem
// at its own count or holds it to --lines / --tone-rhyme.
TEST(PoemCli, OldStyleLinesAndToneRhyme) {
    TempDir dir;
    RunResult r = run_lyra(poem_args({"--form", "wugu", "--lines", "10", "--tone-rhyme", "ze", "--seed", "2", "--json",
                                      "-o", (dir.path() / "out").string()}));
    ASSERT_EQ(r.code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["scores"]["form"], 1.0) << j.dump();
    const json saved = json::parse(read_all(dir.path() / "out" / "poem.json"));
    EXPECT_EQ(saved["request"]["lines"], 10) << saved.dump();
    EXPECT_EQ(saved["request"]["tone_rhyme"], "ze") << saved.dump();
    // poem.json is the --json object plus the request that reproduces it: --json keeps the shape
    // the server answers (DESIGN.md "Machine-readable results"; checked against the server by
    // Serve.OldStylePoemOptionsPassThroughAndMatchTheCli), which has no request.
    json without_request = saved;
    without_request.erase("request");
    json printed = j;
    printed.erase("gallery_id");  // recorded after the files are written
    EXPECT_EQ(without_request, printed);
    EXPECT_FALSE(j.contains("request")) << j.dump();
    const std::string text = j["text"].get<std::string>();
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 9) << text;
    const fs::path file = dir.path() / "gu.txt";
    std::ofstream(file) << text;
    r = run_lyra({"poem", "--check", file.string(), "--form", "wugu"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    r = run_lyra({"poem", "--check", file.string(), "--form", "wugu", "--lines", "10", "--tone-rhyme", "ze"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    r = run_lyra({"poem", "--check", file.string(), "--form", "wugu", "--lines", "8"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("poem: 8 lines expected, found 10"), std::string::npos) << r.out;
    r = run_lyra({"poem", "--check", file.string(), "--form", "wugu", "--tone-rhyme", "ping"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("line 2, char 5: 平 expected"), std::string::npos) << r.out;
    const fs::path odd = dir.path() / "odd.txt";
    std::ofstream(odd) << "千山鸟飞绝，万径人踪灭。\n孤舟蓑笠翁，独钓寒江雪。\n寒江雪满天。\n";
    r = run_lyra({"poem", "--check", odd.string(), "--form", "wugu"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "poem: 古体 rhymes on the even lines; expected an even number of lines from 4 to 400, found 5\n");
    r = run_lyra({"poem", "eval", "--form", "qigu", "--lines", "24", "--tone-rhyme", "ping", "--count", "2", "-m",
                  model(), "--threads", "1", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["forms"][0]["full_compliance"], 1.0) << r.out;
}

// 换韵 and 杂言 as a user runs them: --stanzas/--tone-rhyme alternate and zayan --pattern write
// poems --check passes with the same flags (and the request records them); --check reads a Tang
// 换韵 poem by its stanzas and names a stanza that keeps the rhyme; bad stanzas and patterns are
// one error line on stderr, exit 1, nothing on stdout.
TEST(PoemCli, StanzasAndPattern) {
    TempDir dir;
    RunResult r = run_lyra(
        poem_args({"--form", "qigu", "--lines", "12", "--stanzas", "4", "--tone-rhyme", "alternate",
                   "--seed", "4", "--json", "-o", (dir.path() / "out").string()}));
    ASSERT_EQ(r.code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["scores"]["form"], 1.0) << j.dump();
    EXPECT_EQ(j["scores"]["opening"].get<std::string>().substr(0, 6), "换韵") << j.dump();
    const json saved = json::parse(read_all(dir.path() / "out" / "poem.json"));
    EXPECT_EQ(saved["request"]["stanzas"], "4") << saved.dump();
    EXPECT_EQ(saved["request"]["tone_rhyme"], "alternate") << saved.dump();
    const fs::path file = dir.path() / "huanyun.txt";
    std::ofstream(file) << j["text"].get<std::string>();
    r = run_lyra({"poem", "--check", file.string(), "--form", "qigu", "--stanzas", "4",
                  "--tone-rhyme", "alternate"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "ok: the poem keeps the form qigu\n");
    // Read as one rhyme through the poem, its changes are faults.
    r = run_lyra({"poem", "--check", file.string(), "--form", "qigu"});
    EXPECT_EQ(r.code, 1) << r.out;

    r = run_lyra(poem_args({"--form", "zayan", "--pattern", "3,3,5,5,7,7,9,9", "--stanzas", "2,6",
                            "--seed", "1", "--json"}));
    ASSERT_EQ(r.code, 0) << r.err;
    j = json::parse(r.out);
    EXPECT_EQ(j["scores"]["form"], 1.0) << j.dump();
    const std::string text = j["text"].get<std::string>();
    std::vector<size_t> lengths;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        lengths.push_back((line.size() - 3) / 3);  // UTF-8 hanzi + stop
    EXPECT_EQ(lengths, (std::vector<size_t>{3, 3, 5, 5, 7, 7, 9, 9})) << text;
    const fs::path za = dir.path() / "zayan.txt";
    std::ofstream(za) << text;
    r = run_lyra({"poem", "--check", za.string(), "--form", "zayan", "--stanzas", "2,6"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    r = run_lyra({"poem", "--check", za.string(), "--form", "zayan", "--pattern", "3,3,5,5,7,7,7,7",
                  "--stanzas", "2,6"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("line 7: 7 characters expected, found 9"), std::string::npos) << r.out;

    // 李白 月下独酌: 真 for eight lines, then 翰; 静夜思 in couplets keeps 阳.
    const fs::path yuexia = dir.path() / "yuexia.txt";
    std::ofstream(yuexia)
        << "花间一壶酒，独酌无相亲。\n举杯邀明月，对影成三人。\n月既不解饮，影徒随我身。\n暂伴月将"
           "影，行乐须及春。\n"
           "我歌月徘徊，我舞影零乱。\n醒时同交欢，醉后各分散。\n永结无情游，相期邈云汉。\n";
    r = run_lyra({"poem", "--check", yuexia.string(), "--form", "wugu", "--stanzas", "8,6"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    r = run_lyra(
        {"poem", "--check", yuexia.string(), "--form", "wugu", "--stanzas", "8,6", "--json"});
    EXPECT_EQ(json::parse(r.out)["ok"], true) << r.out;
    const fs::path jingye = dir.path() / "jingye.txt";
    std::ofstream(jingye) << "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n";
    r = run_lyra({"poem", "--check", jingye.string(), "--form", "wugu", "--stanzas", "2"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out,
              "line 4, char 5: stanza 2 (lines 3-4) keeps the rhyme of stanza 1 (平水韵阳); 换韵 "
              "expects a new rhyme "
              "at each stanza\n");

    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    const std::vector<Case> cases = {
        {poem_args({"--form", "qigu", "--stanzas", "3"}),
         "lyra: stanzas: a stanza rhymes on its even lines, so it has an even number of lines, 2 "
         "or more; expected "
         "e.g. 4 or 4,4,8, got '3'\n"},
        {poem_args({"--form", "qigu", "--lines", "12", "--stanzas", "4,4"}),
         "lyra: stanzas: 4,4 adds up to 8 lines; expected stanzas that add up to the poem's 12\n"},
        {poem_args({"--form", "wugu", "--stanzas", "four"}),
         "lyra: stanzas: expected whole numbers separated by commas, e.g. 4 or 4,4,8, got "
         "'four'\n"},
        {poem_args({"--form", "zayan", "--pattern", "3,3,7,7,12,12"}),
         "lyra: pattern: a 杂言 line has 3 to 9 characters; expected 3 to 9, got 12 for line 5\n"},
        {poem_args({"--form", "zayan", "--pattern", "5,7,7"}),
         "lyra: pattern: 杂言古诗 rhymes on the even lines, so its pattern gives an even number of "
         "lines; expected 4 "
         "to 24, got 3\n"},
        {poem_args({"--form", "qigu", "--pattern", "7,7,7,7"}),
         "lyra: pattern: only 杂言古诗 (zayan) takes a line-length pattern; expected no pattern "
         "for qigu\n"},
        {poem_args({"--form", "wujue", "--stanzas", "2"}),
         "lyra: stanzas: only the 古体 forms (wugu, qigu, zayan) take a stanza list (换韵); "
         "expected no stanzas for "
         "wujue\n"},
        {poem_args({"--form", "qigu", "--tone-rhyme", "alternate"}),
         "lyra: tone_rhyme: alternate turns the rhyme tone at each stanza; expected stanzas (e.g. "
         "4) with it, or "
         "ping, ze or any for one rhyme\n"},
        {{"poem", "--check", yuexia.string(), "--form", "wugu", "--stanzas", "8,5"},
         "lyra: stanzas: a stanza rhymes on its even lines, so it has an even number of lines, 2 "
         "or more; expected "
         "e.g. 4 or 4,4,8, got '8,5'\n"},
        {{"poem", "eval", "--form", "zayan", "--pattern", "3", "--count", "1", "-m", model()},
         "lyra: pattern: 杂言古诗 rhymes on the even lines, so its pattern gives an even number of "
         "lines; expected 4 "
         "to 24, got 1\n"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> a = c.args;
        a.push_back("-o");
        a.push_back((dir.path() / "bad").string());
        if (a[1] == "eval") a.resize(a.size() - 2);  // eval writes no files
        r = run_lyra(a);
        EXPECT_EQ(r.code, 1) << c.message;
        EXPECT_EQ(r.err, c.message);
        EXPECT_EQ(r.out, "");
        EXPECT_FALSE(fs::exists(dir.path() / "bad" / "poem.txt"));
    }
}

// A 古体 count or tone the user typed is held or refused, never dropped: `--check --lines 0` once
// read the poem at its own count (and passed it), `--form wujue --lines 0` passed unrefused, and
// `eval --lines 0` ran the default 8. Now each is one error line on stderr, nothing on stdout.
TEST(PoemCli, CheckAndEvalRefuseALineCountOutsideTheForm) {
    TempDir dir;
    const fs::path file = dir.path() / "jiang_xue.txt";
    std::ofstream(file) << "千山鸟飞绝，万径人踪灭。\n孤舟蓑笠翁，独钓寒江雪。\n";
    const std::string check = file.string();
    struct Case {
        std::vector<std::string> args;
        std::string error;
    };
    const std::string even =
        "lines: 五言古诗 rhymes on the even lines, so it takes an even number of lines; ";
    const std::vector<Case> cases = {
        {{"poem", "--check", check, "--form", "wugu", "--lines", "0"},
         even + "expected 4 to 400, got 0"},
        {{"poem", "--check", check, "--form", "wugu", "--lines", "-4"},
         even + "expected 4 to 400, got -4"},
        {{"poem", "--check", check, "--form", "wugu", "--lines", "5"},
         even + "expected 4 to 400, got 5"},
        {{"poem", "--check", check, "--form", "wugu", "--lines", "402"},
         even + "expected 4 to 400, got 402"},
        {{"poem", "--check", check, "--form", "wujue", "--lines", "0"},
         "lines: only the 古体 forms (wugu, qigu, zayan) take a line count; expected no lines for "
         "wujue"},
        {{"poem", "--check", check, "--form", "wugu", "--tone-rhyme", ""},
         "tone_rhyme: unknown rhyme tone; expected ping (平), ze (仄), any or alternate (换韵: 平 "
         "and 仄 in turn), got ''"},
        {{"poem", "eval", "--form", "wugu", "--lines", "0", "--count", "1", "-m", model(),
          "--threads", "1"},
         even + "expected 4 to 24, got 0"},
    };
    for (const Case& c : cases) {
        const RunResult r = run_lyra(c.args);
        EXPECT_EQ(r.code, 1) << c.error << "\n" << r.out << r.err;
        EXPECT_EQ(r.err, "lyra: " + c.error + "\n");
        EXPECT_EQ(r.out, "");
    }
    // The documented range still holds the poem: 4 (its own count) passes, 400 is a count fault.
    RunResult r = run_lyra(
        {"poem", "--check", check, "--form", "wugu", "--lines", "4", "--tone-rhyme", "ze"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    r = run_lyra({"poem", "--check", check, "--form", "wugu", "--lines", "400"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "poem: 400 lines expected, found 4\n");
}

TEST(PoemCli, EvalIsFullyCompliantOnRandomWeights) {
    RunResult r = run_lyra({"poem", "eval", "--form", "wulv", "--form", "ci:浣溪沙", "--count", "4",
                            "-m", model(), "--threads", "1", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    json j = json::parse(r.out);
    ASSERT_EQ(j["forms"].size(), 2u);
    for (const auto& row : j["forms"]) {
        EXPECT_EQ(row["full_compliance"], 1.0) << row.dump();
        EXPECT_EQ(row["tone_accuracy"], 1.0);
        EXPECT_EQ(row["rhyme_accuracy"], 1.0);
    }
}

TEST(PoemCli, BadInputOneClearErrorNoFiles) {
    TempDir out;
    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    const std::vector<Case> cases = {
        {{"--form", "wuyan"}, "form: unknown poem form"},
        {{"--form", "wujue", "--acrostic", "春江"}, "acrostic: wrong number of characters"},
        {{"--form", "ci:如梦令", "--acrostic", "春江花山月风人"},
         "acrostic: cannot start a valid line"},
        {{"--form", "wujue", "--rhyme", "cilin"}, "rhyme: unknown rhyme book"},
        {{"--form", "wujue", "--theme", ""}, "theme: must not be empty"},
        {{"--form", "wugu", "--lines", "7"},
         "lines: 五言古诗 rhymes on the even lines, so it takes an even number"},
        {{"--form", "qigu", "--lines", "26"}, "expected 4 to 24, got 26"},
        {{"--form", "wujue", "--lines", "8"},
         "lines: only the 古体 forms (wugu, qigu, zayan) take a line count"},
        {{"--form", "qigu", "--tone-rhyme", "up"}, "tone_rhyme: unknown rhyme tone"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> a = c.args;
        a.push_back("-o");
        a.push_back((out.path() / "w").string());
        RunResult r = run_lyra(poem_args(a));
        EXPECT_EQ(r.code, 1) << c.message << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(out.path() / "w" / "poem.txt"));
    }
}

// A model whose vocabulary cannot fill the form (no 仄 rhyme group of 平水韵 with enough
// characters for 如梦令's six rhyme lines): the constraint's dead end is one error line, exit 1,
// nothing on stdout and no files.
TEST(PoemCli, DeadEndOneErrorNoOutput) {
    TempDir dir;
    const fs::path txt = dir.path() / "tiny.txt";
    std::ofstream(txt) << "，。\n形式:题无如梦令花春山天月竹";
    const std::string tiny = (dir.path() / "tiny.gguf").string();
    RunResult r = run_lyra({"model", "init", "--arch", "llama", "--dim", "32", "--layers", "1", "--heads", "2",
                            "--ctx", "256", "--tokenizer", "char:" + txt.string(), "-o", tiny});
    ASSERT_EQ(r.code, 0) << r.err;
    const fs::path out = dir.path() / "out";
    r = run_lyra({"poem", "-m", tiny, "--threads", "1", "--form", "ci:如梦令", "-o", out.string()});
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("poem: dead end in 词·如梦令 at line 1, char 6: no pingshui rhyme group has enough 仄 characters"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(out / "poem.txt"));
    EXPECT_FALSE(fs::exists(out / "poem.json"));
}

}  // namespace
}  // namespace lyra::e2e
