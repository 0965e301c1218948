// `lyra model import | info` and `lyra generate` on a Hugging Face Transformer-XL directory
// (issue 10), as a user runs them. The directory is a random-weight tiny model written by
// tests/unit/format/make_transfo_xl_fixture.py; numeric parity with PyTorch is
// tests/parity/transfo_xl_parity_test.cpp's job, this checks the commands, generation past the
// model's context (the cache slides, keeping the mem_len memory) and the bad-input contract.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

using Args = std::vector<std::string>;
namespace fs = std::filesystem;

bool make_xl_dir(const fs::path& dir, const Args& opts) {
    Args args = {dir.string()};
    args.insert(args.end(), opts.begin(), opts.end());
    return run_fixture_script("make_transfo_xl_fixture.py", args);
}

TEST(TransfoXlCli, ImportsShowsItsMemoryAndGeneratesPastItsContext) {
    TempDir tmp;
    const fs::path hf = tmp.path() / "xl", gguf = tmp.path() / "xl.gguf";
    // Context = mem_len 12 + tgt_len 20 = 32 positions; 80 new tokens need the cache to slide.
    ASSERT_TRUE(make_xl_dir(hf, {"--mem-len", "12", "--tgt-len", "20", "--seed", "7"}));

    const Args import = {"model", "import", hf.string(), "-o", gguf.string()};
    const RunResult r = run_lyra(import);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(import);
    EXPECT_NE(r.out.find("transfo-xl"), std::string::npos) << r.out;

    const RunResult info = run_lyra({"model", "info", gguf.string()});
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find("architecture:  transfo-xl"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("memory:        12 positions, clamp 0, post-norm"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("adaptive:      cutoffs [40, 120], div_val 2, embedding 32"), std::string::npos)
        << info.out;
    const RunResult js = run_lyra({"model", "info", "--json", gguf.string()});
    ASSERT_EQ(js.code, 0) << js.err;
    const auto j = nlohmann::json::parse(js.out);
    EXPECT_EQ(j["architecture"], "transfo-xl");
    EXPECT_EQ(j["n_ctx"], 32);
    EXPECT_EQ(j["memory_length"], 12);
    EXPECT_EQ(j["adaptive"]["cutoffs"], nlohmann::json({40, 120}));
    EXPECT_EQ(j["tied_output"], true);

    // Greedy through the normal generation path, 80 tokens in a 32-position context: the
    // session slides (keeps the last 12) instead of stopping. Two candidates: the second must
    // re-read the prompt the first one slid out, so both are the same greedy text.
    const Args gen = {"generate", "-m", gguf.string(), "-p", "hello there", "--max-tokens", "80",
                      "--temperature", "0", "--threads", "1", "-n", "2", "--json"};
    const RunResult a = run_lyra(gen), b = run_lyra(gen);
    ASSERT_EQ(a.code, 0) << a.err << "\nrepro: " << repro(gen);
    ASSERT_EQ(b.code, 0) << b.err;
    const auto g = nlohmann::json::parse(a.out);
    EXPECT_EQ(g["tokens"], nlohmann::json::parse(b.out)["tokens"]) << "greedy is not reproducible";
    ASSERT_EQ(g["candidates"].size(), 2u) << a.out;
    EXPECT_EQ(g["candidates"][0]["tokens"].size(), 80u) << a.out;
    EXPECT_EQ(g["candidates"][0]["finish_reason"], "length") << a.out;
    EXPECT_EQ(g["candidates"][0]["tokens"], g["candidates"][1]["tokens"]) << a.out;
    EXPECT_FALSE(g["text"].get<std::string>().empty()) << a.out;
}

struct BadDir {
    const char* name;
    const char* edit;  // what the test does to a good directory
    std::vector<const char*> says;
};
void PrintTo(const BadDir& c, std::ostream* os) { *os << c.name; }

class TransfoXlBadDir : public ::testing::TestWithParam<BadDir> {};

// One stderr line naming the problem, exit 1, and no output file.
TEST_P(TransfoXlBadDir, OneClearErrorAndNoFile) {
    const BadDir& c = GetParam();
    TempDir tmp;
    const fs::path hf = tmp.path() / "xl", gguf = tmp.path() / "out.gguf";
    ASSERT_TRUE(make_xl_dir(hf, {}));
    const std::string edit = c.edit;
    if (edit == "vocab-pkl") {
        fs::remove(hf / "tokenizer.json");
        std::ofstream(hf / "vocab.pkl") << "not read";
    } else {
        auto cfg = nlohmann::json::parse(read_all(hf / "config.json"));
        if (edit == "d_inner") cfg["d_inner"] = 50;
        if (edit == "attn_type") cfg["attn_type"] = 1;
        if (edit == "same_length") cfg["same_length"] = true, cfg["mem_len"] = 0;
        if (edit == "cutoffs") cfg["cutoffs"] = {40, 300};
        if (edit == "div_val") cfg["div_val"] = 64;
        std::ofstream(hf / "config.json") << cfg.dump();
    }
    const Args args = {"model", "import", hf.string(), "-o", gguf.string()};
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 1) << r.err << "\nrepro: " << repro(args);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    for (const char* part : c.says) EXPECT_NE(r.err.find(part), std::string::npos) << part << " in " << r.err;
    EXPECT_FALSE(fs::exists(gguf));
}

INSTANTIATE_TEST_SUITE_P(
    TransfoXl, TransfoXlBadDir,
    ::testing::Values(
        BadDir{"WordLevelTokenizerOnly", "vocab-pkl",
               {"only vocab.pkl", "TransfoXLTokenizer", "not supported", "tokenizer.json"}},
        BadDir{"ShapeDisagreesWithConfig", "d_inner",
               {"'transformer.layers.0.pos_ff.CoreNet.0.weight' has shape [48, 32], expected [50, 32]"}},
        BadDir{"OtherAttentionType", "attn_type", {"attn_type 1 is not supported", "expected 0"}},
        BadDir{"SameLengthWithoutMemory", "same_length", {"same_length true with mem_len 0"}},
        BadDir{"CutoffOutsideVocabulary", "cutoffs",
               {"cutoffs [40,300] are not ascending token ids inside the vocabulary of 262"}},
        BadDir{"DivValLeavesNoWidth", "div_val", {"div_val 64 leaves the last of 3 clusters no"}}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace lyra::e2e
