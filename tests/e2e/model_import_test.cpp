// `lyra model import | info` and `lyra generate` on a Hugging Face GPT-Neo directory (issue 10),
// as a user runs them. The directory is a random-weight tiny model written by
// tests/unit/format/make_hf_fixture.py (torch via $LYRA_PYTHON); numeric parity with PyTorch is
// tests/parity/hf_parity_test.cpp's job, this checks the commands and their bad-input contract.
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

// Writes the fixture for `arch` into `dir` with `opts`; false if the script failed.
bool make_hf_dir(const fs::path& dir, const Args& opts) {
    Args args = {"gpt_neo", dir.string()};
    args.insert(args.end(), opts.begin(), opts.end());
    return run_fixture_script("make_hf_fixture.py", args);
}

TEST(ModelImportCli, GptNeoImportsShowsItsLayerKindsAndGenerates) {
    TempDir tmp;
    const fs::path hf = tmp.path() / "neo", gguf = tmp.path() / "neo.gguf";
    ASSERT_TRUE(make_hf_dir(hf, {"--layers", "4", "--window", "3", "--vocab-merges"}));

    const Args import = {"model", "import", hf.string(), "-o", gguf.string()};
    const RunResult r = run_lyra(import);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(import);
    EXPECT_NE(r.out.find("gptneo"), std::string::npos) << r.out;

    const RunResult info = run_lyra({"model", "info", gguf.string()});
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find("architecture:  gptneo"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("layers G L G L (G global, L local: last 3 positions)"), std::string::npos)
        << info.out;
    const RunResult js = run_lyra({"model", "info", "--json", gguf.string()});
    ASSERT_EQ(js.code, 0) << js.err;
    const auto j = nlohmann::json::parse(js.out);
    EXPECT_EQ(j["architecture"], "gptneo");
    EXPECT_EQ(j["sliding_window"], 3);
    EXPECT_EQ(j["local_layers"], nlohmann::json({false, true, false, true}));
    EXPECT_EQ(j["tokenizer"]["kind"], "gpt2");

    // Generation runs as for gpt2: greedy is reproducible and yields text.
    const Args gen = {"generate", "-m", gguf.string(), "-p", "hello there", "--max-tokens", "24",
                      "--temperature", "0", "--threads", "1", "--no-stream"};
    const RunResult a = run_lyra(gen), b = run_lyra(gen);
    ASSERT_EQ(a.code, 0) << a.err << "\nrepro: " << repro(gen);
    EXPECT_FALSE(a.out.empty());
    EXPECT_EQ(a.out, b.out);
}

struct BadDir {
    const char* name;
    const char* edit;  // what the test does to a good directory
    std::vector<const char*> says;
};
void PrintTo(const BadDir& c, std::ostream* os) { *os << c.name; }

class ModelImportBadDir : public ::testing::TestWithParam<BadDir> {};

// One stderr line naming the problem, exit 1, and no output file.
TEST_P(ModelImportBadDir, OneClearErrorAndNoFile) {
    const BadDir& c = GetParam();
    TempDir tmp;
    const fs::path hf = tmp.path() / "neo", gguf = tmp.path() / "out.gguf";
    ASSERT_TRUE(make_hf_dir(hf, {"--layers", "4", "--dim", "16", "--heads", "2", "--ffn", "32"}));
    const std::string edit = c.edit;
    if (edit == "no-tokenizer") {
        fs::remove(hf / "tokenizer.json");
    } else {
        auto cfg = nlohmann::json::parse(read_all(hf / "config.json"));
        if (edit == "mamba") cfg["architectures"] = {"MambaForCausalLM"};
        if (edit == "six-kinds") cfg["attention_types"] = {{{"global", "local"}, 3}};
        if (edit == "six-kinds") cfg.erase("attention_layers");
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
    GptNeo, ModelImportBadDir,
    ::testing::Values(
        BadDir{"UnsupportedArchitecture", "mamba",
               {"'MambaForCausalLM'", "GPTNeoForCausalLM (model_type gpt_neo)", "GPT2LMHeadModel",
                "XLNetLMHeadModel (model_type xlnet)",
                "BertForMaskedLM (model_type bert)", "AlbertModel (model_type albert)"}},
        BadDir{"LayerKindsDisagreeWithNumLayers", "six-kinds",
               {"attention_types names 6 layers but num_layers is 4"}},
        BadDir{"MissingTokenizerFiles", "no-tokenizer",
               {"no tokenizer.json and no vocab.json + merges.txt"}}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace lyra::e2e
