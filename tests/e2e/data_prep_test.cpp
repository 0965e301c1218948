// `lyra data prep RECIPE` as a user runs it, and `lyra train` running the prep first.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

TEST(DataPrepCli, TextBuilderWritesCorpusAndReport) {
    TempDir d;
    write(d.path() / "a.txt", "To be or not\n\nto be\n\nTo be or not\n");
    write(d.path() / "b.txt", "that is\r\nthe question\n");
    write(d.path() / "r.toml",
          "output = \"m.gguf\"\n[data]\nfiles = [\"corpus.txt\"]\n[prep]\nbuilder = \"text\"\n"
          "output = \"out/corpus.txt\"\nfiles = [\"*.txt\"]\n");
    const RunResult r = run_lyra({"data", "prep", "r.toml", "--json"}, d.path().string());
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["docs"], 3);
    EXPECT_EQ(j["duplicates_removed"], 1);
    EXPECT_EQ(read_all(d.path() / "out/corpus.txt"), "To be or not\n\nto be\n\nthat is\nthe question\n");
    EXPECT_TRUE(fs::exists(d.path() / "out/corpus.txt.report.json"));
    // The printed summary.
    const RunResult s = run_lyra({"data", "prep", "r.toml"}, d.path().string());
    ASSERT_EQ(s.code, 0) << s.err;
    EXPECT_NE(s.out.find("3 documents"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("duplicates removed 1"), std::string::npos) << s.out;
}

TEST(DataPrepCli, BadInputIsOneClearErrorAndNoOutput) {
    TempDir d;
    struct Case {
        std::string recipe, needle;
    };
    const std::vector<Case> cases = {
        {"[prep]\nbuilder = \"nope\"\noutput = \"out/c.txt\"\n", "unknown corpus builder"},
        {"[prep]\nbuilder = \"text\"\noutput = \"out/c.txt\"\nfiles = [\"missing/*.txt\"]\n",
         "matches no file"},
        {"[prep]\nbuilder = \"text\"\noutput = \"out/c.txt\"\nfiles = [\"empty.txt\"]\n", "empty corpus"},
        {"[prep]\nbuilder = \"text\"\n", "prep.output"},
        {"output = \"m.gguf\"\n", "no [prep] table"},
        {"[prep\n", "line 1"},
    };
    write(d.path() / "empty.txt", "\n \n\t\n");
    for (const auto& c : cases) {
        write(d.path() / "r.toml", c.recipe);
        const RunResult r = run_lyra({"data", "prep", "r.toml"}, d.path().string());
        EXPECT_EQ(r.code, 1) << c.recipe;
        EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(d.path() / "out")) << c.recipe;
    }
    EXPECT_EQ(run_lyra({"data", "prep", "no-such.toml"}, d.path().string()).code, 1);
}

TEST(DataPrepCli, TrainRunsThePrepWhenTheCorpusIsMissing) {
    TempDir d;
    std::string text;
    for (int i = 0; i < 40; ++i) text += "line " + std::to_string(i) + " of the little corpus\n\n";
    write(d.path() / "src.txt", text);
    write(d.path() / "r.toml",
          "output = \"m.gguf\"\nwork_dir = \"work\"\n[prep]\nbuilder = \"text\"\n"
          "output = \"data/c.txt\"\nfiles = \"src.txt\"\n[data]\nfiles = [\"data/c.txt\"]\n"
          "[model]\nn_embd = 16\nn_layer = 1\nn_head = 2\nn_ff = 32\n"
          "[train]\nbatch = 2\ncontext = 16\nsteps = 2\nwarmup = 1\neval_interval = 0\n"
          "eval_iters = 1\nlog_interval = 1\n[sample]\ntokens = 4\n");
    const RunResult r = run_lyra({"train", "r.toml", "--threads", "1"}, d.path().string());
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(fs::exists(d.path() / "data/c.txt"));
    EXPECT_NE(r.err.find("40 documents"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(d.path() / "m.gguf"));
}

}  // namespace
}  // namespace lyra::e2e
