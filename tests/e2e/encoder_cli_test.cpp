// `lyra model import | info | fill | embed` on the encoder families (issue 10), as a user runs
// them. The HF directories are random-weight tiny models from
// tests/unit/format/make_hf_fixture.py (torch via $LYRA_PYTHON); numeric parity with PyTorch is
// tests/parity/hf_encoder_parity_test.cpp's job. This checks the commands' output and their
// bad-input contract: one stderr line, exit 2 for a usage error, 1 otherwise.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

using Args = std::vector<std::string>;
namespace fs = std::filesystem;

// An imported encoder, made once per (arch, options) for the whole program.
std::string encoder_gguf(const std::string& arch, const Args& opts = {}) {
    static TempDir dir;
    static std::map<std::string, std::string> made;
    std::string key = arch;
    for (const auto& o : opts) key += " " + o;
    if (auto it = made.find(key); it != made.end()) return it->second;
    const fs::path hf = dir.path() / ("hf" + std::to_string(made.size()));
    const fs::path gguf = dir.path() / ("enc" + std::to_string(made.size()) + ".gguf");
    Args args = {arch, hf.string(), "--dim", "32", "--heads", "4", "--ffn", "64", "--layers", "2", "--ctx", "64"};
    args.insert(args.end(), opts.begin(), opts.end());
    EXPECT_TRUE(run_fixture_script("make_hf_fixture.py", args)) << "fixture script failed for " << key;
    const Args import = {"model", "import", hf.string(), "-o", gguf.string()};
    const RunResult r = run_lyra(import);
    EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(import);
    EXPECT_NE(r.out.find(arch + " encoder"), std::string::npos) << r.out;
    return made[key] = gguf.string();
}

TEST(EncoderCli, InfoDescribesTheEncoder) {
    const std::string gguf = encoder_gguf("albert", {"--layers", "4", "--groups", "2", "--pooler"});
    const RunResult info = run_lyra({"model", "info", gguf});
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find("architecture:  albert (encoder, bidirectional)"), std::string::npos)
        << info.out;
    EXPECT_NE(info.out.find("2 layer weight set(s) shared by 4 layers"), std::string::npos)
        << info.out;
    EXPECT_NE(info.out.find("heads:         masked LM + pooler"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("mask [MASK]"), std::string::npos) << info.out;
    const RunResult js = run_lyra({"model", "info", "--json", gguf});
    ASSERT_EQ(js.code, 0) << js.err;
    const auto j = nlohmann::json::parse(js.out);
    EXPECT_EQ(j["architecture"], "albert");
    EXPECT_EQ(j["type"], "encoder");
    EXPECT_EQ(j["n_layer"], 4);
    EXPECT_EQ(j["n_group"], 2);
    EXPECT_EQ(j["tokenizer"]["kind"], "t5") << "ALBERT's SentencePiece Unigram";
    EXPECT_EQ(j["tokenizer"]["cls"], "[CLS]");
    EXPECT_GT(j["n_params"].get<int64_t>(), 0);
}

// Top-k predictions per mask, in descending probability, for each mask in the text; the same
// run twice gives the same output.
TEST(EncoderCli, FillPredictsEveryMaskTopKSorted) {
    for (const std::string arch : {"bert", "roberta"}) {
        const std::string gguf = encoder_gguf(arch);
        const std::string mask = arch == "roberta" ? "<mask>" : "[MASK]";
        const Args args = {"model",
                           "fill",
                           "-m",
                           gguf,
                           "the cat " + mask + " on the " + mask + " mat",
                           "--top-k",
                           "3",
                           "--json",
                           "--threads",
                           "1"};
        const RunResult r = run_lyra(args), again = run_lyra(args);
        ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
        EXPECT_EQ(r.out, again.out);
        const auto j = nlohmann::json::parse(r.out);
        ASSERT_EQ(j["masks"].size(), 2u) << r.out;
        for (const auto& m : j["masks"]) {
            ASSERT_EQ(m["predictions"].size(), 3u);
            double last = 1.0;
            for (const auto& p : m["predictions"]) {
                const double prob = p["prob"].get<double>();
                EXPECT_GT(prob, 0.0);
                EXPECT_LE(prob, last);
                last = prob;
            }
        }
        EXPECT_LT(j["masks"][0]["position"].get<int>(), j["masks"][1]["position"].get<int>());
        const RunResult text =
            run_lyra({"model", "fill", "-m", gguf, "a " + mask + " b", "--top-k", "2"});
        ASSERT_EQ(text.code, 0) << text.err;
        EXPECT_NE(text.out.find("mask 1 (token "), std::string::npos) << text.out;
        EXPECT_EQ(count_lines(text.out), 3) << text.out;
    }
}

// Unit-length embeddings as JSON; the cosine matrix is symmetric with ones on the diagonal and
// agrees with the embeddings printed.
TEST(EncoderCli, EmbedPrintsUnitVectorsAndTheirCosines) {
    const std::string gguf = encoder_gguf("bert", {"--pooler"});
    const Args args = {"model",       "embed",       "-m",          gguf,
                       "hello there", "the cat sat", "hello there", "--pooler"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["embeddings"].size(), 3u);
    EXPECT_EQ(j["dim"], 32);
    std::vector<std::vector<double>> e;
    for (const auto& item : j["embeddings"]) {
        e.push_back(item["embedding"].get<std::vector<double>>());
        double n = 0;
        for (double v : e.back()) n += v * v;
        EXPECT_NEAR(n, 1.0, 1e-5);
        EXPECT_EQ(item["pooler"].size(), 32u);
    }
    const auto& cos = j["cosine"];
    for (size_t a = 0; a < 3; ++a)
        for (size_t b = 0; b < 3; ++b) {
            double dot = 0;
            for (size_t c = 0; c < e[a].size(); ++c) dot += e[a][c] * e[b][c];
            EXPECT_NEAR(cos[a][b].get<double>(), dot, 1e-5);
            EXPECT_NEAR(cos[a][b].get<double>(), cos[b][a].get<double>(), 1e-6);
        }
    EXPECT_NEAR(cos[0][2].get<double>(), 1.0, 1e-5) << "the same text twice";
    EXPECT_LT(cos[0][1].get<double>(), 0.9999) << "different texts";
    const RunResult one = run_lyra({"model", "embed", "-m", gguf, "just one"});
    ASSERT_EQ(one.code, 0) << one.err;
    EXPECT_FALSE(nlohmann::json::parse(one.out).contains("cosine"));
}

struct BadRun {
    const char* name;
    int code;
    std::vector<const char*> says;
};
void PrintTo(const BadRun& c, std::ostream* os) {
    *os << c.name;
}

class EncoderCliBadInput : public ::testing::TestWithParam<BadRun> {};

TEST_P(EncoderCliBadInput, OneClearLine) {
    const BadRun& c = GetParam();
    const std::string name = c.name;
    Args args;
    if (name == "FillWithoutMask") {
        args = {"model", "fill", "-m", encoder_gguf("bert"), "no mask here"};
    } else if (name == "FillWithDecoder") {
        args = {"model", "fill", "-m", random_llama(32, 1, 2, 64, "bytes"), "a [MASK] b"};
    } else if (name == "EmbedWithDecoder") {
        args = {"model", "embed", "-m", random_llama(32, 1, 2, 64, "bytes"), "text"};
    } else if (name == "GenerateWithEncoder") {
        args = {"generate", "-m", encoder_gguf("bert"), "-p", "hello", "--max-tokens", "4"};
    } else if (name == "PoolerMissing") {
        args = {"model", "embed", "-m", encoder_gguf("roberta"), "text", "--pooler"};
    }
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, c.code) << r.err << "\nrepro: " << repro(args);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    for (const char* part : c.says)
        EXPECT_NE(r.err.find(part), std::string::npos) << part << " in " << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Encoder, EncoderCliBadInput,
    ::testing::Values(
        BadRun{"FillWithoutMask", 2, {"no mask token", "[MASK]"}},
        BadRun{"FillWithDecoder", 1, {"needs an encoder model", "'llama' is not an encoder"}},
        BadRun{"EmbedWithDecoder", 1, {"lyra model embed needs an encoder model"}},
        BadRun{"GenerateWithEncoder", 1, {"'bert' is an encoder", "lyra model fill"}},
        BadRun{"PoolerMissing", 1, {"has no pooler"}}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace lyra::e2e
