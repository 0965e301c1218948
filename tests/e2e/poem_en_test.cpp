// `lyra poem` with the English forms, as a user runs it: a random-weight character model still
// writes poems that keep their form (the checker, run as `lyra poem --check`, agrees), known
// poems are checked with explained faults, and bad requests exit non-zero with one clear error.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/cli_runner.h"

namespace lyra::e2e {
namespace {

// A random-weight char model with room for a sonnet (as `lyra model init` makes it).
const std::string& random_model() {
    static const std::string path = [] {
        static TempDir dir;
        const std::string chars = (dir.path() / "chars.txt").string();
        std::ofstream(chars) << "The quick brown fox jumps over the lazy dog; "
                                "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG! Isn't it? Yes: ,.\n";
        return random_llama(64, 2, 2, 1100, "char:" + chars);
    }();
    return path;
}

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string p = (dir.path() / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
}

TEST(PoemEnCli, ListsTheEnglishForms) {
    const RunResult r = run_lyra({"poem", "--list-forms"});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* f : {"haiku", "limerick", "sonnet", "acrostic"}) EXPECT_NE(r.out.find(f), std::string::npos) << f;
}

TEST(PoemEnCli, RandomWeightsStillKeepEveryForm) {
    TempDir dir;
    struct Case {
        std::vector<std::string> flags;
        std::string form;
    };
    const std::vector<Case> cases = {
        {{"--form", "haiku", "--theme", "autumn"}, "haiku"},
        {{"--form", "limerick", "--title", "A Cat"}, "limerick"},
        {{"--form", "sonnet", "--theme", "the sea"}, "sonnet"},
        {{"--form", "acrostic", "--acrostic", "MOON"}, "acrostic"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = {"poem", "-m", random_model(), "--seed", "7", "-n", "2", "--threads", "1", "--json"};
        args.insert(args.end(), c.flags.begin(), c.flags.end());
        const RunResult r = run_lyra(args);
        ASSERT_EQ(r.code, 0) << repro(args) << "\n" << r.err;
        const auto j = nlohmann::json::parse(r.out);
        ASSERT_EQ(j.at("candidates").size(), 2u);
        for (const auto& cand : j.at("candidates"))
            EXPECT_EQ(cand.at("scores").at("compliant").get<double>(), 1.0) << cand.dump();
        // The checker, run as a user would, agrees with the best candidate.
        const std::string text = j.at("text").get<std::string>();
        const std::string file = write_file(dir, c.form + ".txt", text);
        std::vector<std::string> check = {"poem", "--check", file, "--form", c.form};
        const RunResult k = run_lyra(check);
        EXPECT_EQ(k.code, 0) << text << "\n" << k.out << k.err;
    }
}

TEST(PoemEnCli, CheckExplainsFaults) {
    TempDir dir;
    const std::string file = write_file(dir, "haiku.txt", "The old and quiet pond\na frog jumps into the pond:\nthe sound of water.\n");
    const RunResult r = run_lyra({"poem", "--check", file, "--form", "haiku"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.out.find("line 1: 5 syllables expected, found 6"), std::string::npos) << r.out << r.err;
}

TEST(PoemEnCli, BadRequestsGiveOneClearError) {
    const RunResult a = run_lyra({"poem", "-m", random_model(), "--form", "sonnet", "--acrostic", "ABC"});
    EXPECT_NE(a.code, 0);
    EXPECT_NE(a.err.find("acrostic: a sonnet has 14 lines; expected 14 letters, got 3"), std::string::npos) << a.err;
    const RunResult t = run_lyra({"poem", "-m", random_model(), "--form", "haiku", "--theme", ""});
    EXPECT_NE(t.code, 0);
    EXPECT_NE(t.err.find("theme: empty"), std::string::npos) << t.err;
}

}  // namespace
}  // namespace lyra::e2e
