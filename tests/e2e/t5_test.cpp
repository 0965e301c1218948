// `lyra model import | info` and `lyra generate` on a Hugging Face T5 directory (issue 10), as a
// user runs them. The directory is a random-weight tiny T5 written by
// tests/unit/format/make_t5_fixture.py; numeric parity with PyTorch is
// tests/parity/t5_parity_test.cpp's job, this checks the commands, that a --regex constraint
// holds on the decoder's output, and the bad-input contract (one clear error, no file).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

using Args = std::vector<std::string>;
namespace fs = std::filesystem;

bool make_t5_dir(const fs::path& dir, const Args& opts) {
    Args args = {dir.string()};
    args.insert(args.end(), opts.begin(), opts.end());
    return run_fixture_script("make_t5_fixture.py", args);
}

TEST(T5Cli, ImportsShowsInfoAndGeneratesUnderARegex) {
    TempDir tmp;
    const fs::path hf = tmp.path() / "t5", gguf = tmp.path() / "t5.gguf";
    ASSERT_TRUE(make_t5_dir(hf, {"--feed-forward-proj", "gated-gelu", "--no-tie"}));
    const Args import = {"model", "import", hf.string(), "-o", gguf.string()};
    const RunResult r = run_lyra(import);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(import);
    EXPECT_NE(r.out.find("t5"), std::string::npos) << r.out;

    const RunResult info = run_lyra({"model", "info", gguf.string()});
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find("architecture:  t5"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("encoder:       2 layers"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("gated-gelu"), std::string::npos) << info.out;
    EXPECT_EQ(info.out.find("rope:"), std::string::npos) << info.out;
    const RunResult js = run_lyra({"model", "info", "--json", gguf.string()});
    ASSERT_EQ(js.code, 0) << js.err;
    const auto j = nlohmann::json::parse(js.out);
    EXPECT_EQ(j["architecture"], "t5");
    EXPECT_EQ(j["n_layer"], 3);
    EXPECT_EQ(j["encoder"]["n_layer"], 2);
    EXPECT_EQ(j["encoder"]["ffn"], "gated-gelu");
    EXPECT_EQ(j["encoder"]["relative_buckets"], 16);
    EXPECT_EQ(j["tied_output"], false);

    // Unconstrained greedy is reproducible; sampled text under a regex matches it.
    const Args gen = {"generate",  "-m",           gguf.string(), "-p",
                      "hello a b", "--max-tokens", "16",          "--temperature",
                      "0",         "--threads",    "1",           "--no-stream"};
    const RunResult a = run_lyra(gen), b = run_lyra(gen);
    ASSERT_EQ(a.code, 0) << a.err << "\nrepro: " << repro(gen);
    EXPECT_EQ(a.out, b.out);
    const std::string pattern = "(ab|ba)+ [0-9]{2}";
    for (const char* seed : {"1", "2", "3"}) {
        const Args rx = {"generate", "-m",           gguf.string(), "-p",     "hello", "--regex",
                         pattern,    "--max-tokens", "40",          "--seed", seed,    "--threads",
                         "1",        "--no-stream"};
        const RunResult c = run_lyra(rx);
        ASSERT_EQ(c.code, 0) << c.err << "\nrepro: " << repro(rx);
        std::string text = c.out;
        while (!text.empty() && text.back() == '\n') text.pop_back();
        EXPECT_TRUE(std::regex_match(text, std::regex(pattern)))
            << "'" << text << "'\nrepro: " << repro(rx);
    }
}

struct BadT5 {
    const char* name;
    Args fixture;
    std::vector<const char*> says;
};
void PrintTo(const BadT5& c, std::ostream* os) {
    *os << c.name;
}

class T5BadDir : public ::testing::TestWithParam<BadT5> {};

TEST_P(T5BadDir, OneClearErrorAndNoFile) {
    const BadT5& c = GetParam();
    TempDir tmp;
    const fs::path hf = tmp.path() / "t5", gguf = tmp.path() / "out.gguf";
    ASSERT_TRUE(make_t5_dir(hf, c.fixture));
    const Args args = {"model", "import", hf.string(), "-o", gguf.string()};
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 1) << r.err << "\nrepro: " << repro(args);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    for (const char* part : c.says)
        EXPECT_NE(r.err.find(part), std::string::npos) << part << " in " << r.err;
    EXPECT_FALSE(fs::exists(gguf));
}

INSTANTIATE_TEST_SUITE_P(
    T5, T5BadDir,
    ::testing::Values(BadT5{"UnknownFeedForwardProj",
                            {"--feed-forward-proj", "gated-silu"},
                            {"feed_forward_proj 'gated-silu' is not supported", "\"relu\"",
                             "\"gated-gelu\""}},
                      BadT5{"ShapeDisagreesWithConfig",
                            {"--config-d-ff", "80"},
                            {"DenseReluDense.wi.weight' has shape [96, 64], expected [80, 64]"}}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace lyra::e2e
