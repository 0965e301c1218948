// Tokenizer::vocab_fingerprint: the key of per-vocabulary caches (FormConstraint's tables). It
// must be equal for tokenizers of one vocabulary however they were made (two builds from the
// same data, one GGUF file opened twice, a vocabulary written and read back) and differ as soon
// as anything the tokenizer reads differs, for every tokenizer kind.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fixtures.h"
#include "model/format/gguf.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::model {
namespace {

uint64_t fingerprint(const Vocab& v) { return Tokenizer::from_vocab(v)->vocab_fingerprint(); }

// Written to GGUF and read back, as a model file carries it.
uint64_t reloaded_fingerprint(const Tokenizer& t, const std::string& name) {
    GgufWriter w;
    t.write_gguf(w);
    return test::reload_gguf(w, name)->vocab_fingerprint();
}

// A small WordPiece ("bert") or Unigram ("t5") vocabulary: both read a normalizer.
Vocab normalizing_vocab(const std::string& model) {
    Vocab v = default_vocab(model);
    v.tokens = {"[UNK]", "a", "b", model == "bert" ? "##b" : "\xE2\x96\x81" "a"};
    v.types = {TokenType::Unknown, TokenType::Normal, TokenType::Normal, TokenType::Normal};
    if (model == "t5") v.scores = {0.0f, -1.0f, -2.0f, -0.5f};
    v.unk = 0;
    v.eos = -1;
    v.add_eos = false;
    return v;
}

TEST(TokenizerFingerprint, EqualForOneVocabularyHoweverItWasBuilt) {
    const std::map<std::string, Vocab> vocabs = {{"spm", test::spm_vocab()},
                                                 {"bpe", test::bpe_vocab("qwen2")},
                                                 {"bert", normalizing_vocab("bert")},
                                                 {"t5", normalizing_vocab("t5")}};
    for (const auto& [name, v] : vocabs) {
        SCOPED_TRACE(name);
        const auto a = Tokenizer::from_vocab(v);
        EXPECT_EQ(fingerprint(v), a->vocab_fingerprint());
        EXPECT_EQ(reloaded_fingerprint(*a, name), a->vocab_fingerprint());
    }
    // A character vocabulary, made twice from one corpus and read back from its GGUF.
    const auto chars = build_char_vocab("the cat sat on the mat");
    EXPECT_EQ(build_char_vocab("the cat sat on the mat")->vocab_fingerprint(),
              chars->vocab_fingerprint());
    EXPECT_EQ(reloaded_fingerprint(*chars, "chars"), chars->vocab_fingerprint());
    // One file opened twice.
    GgufWriter w;
    chars->write_gguf(w);
    const std::string path =
        testing::TempDir() + "/lyra_fingerprint_" + std::to_string(getpid()) + ".gguf";
    w.write(path);
    const uint64_t first = Tokenizer::from_gguf(*GgufFile::open(path))->vocab_fingerprint();
    const uint64_t second = Tokenizer::from_gguf(*GgufFile::open(path))->vocab_fingerprint();
    std::remove(path.c_str());
    EXPECT_EQ(first, second);
}

// What GGUF cannot tell apart keeps the fingerprint: a vocabulary with no scores and no types and
// the same one with zero scores and Normal types, "gpt2"'s empty pre and "default" (write_gguf
// writes the one as the other), and the chat template, which no tokenizer reads.
TEST(TokenizerFingerprint, KeptWhereOnlyTheSpellingOfTheDataDiffers) {
    Vocab bare = test::spm_vocab();
    bare.scores.clear();
    for (TokenType& t : bare.types)
        if (t == TokenType::Normal) t = static_cast<TokenType>(0);  // "undefined" in some files
    Vocab spelled = bare;
    spelled.scores.assign(spelled.tokens.size(), 0.0f);
    for (TokenType& t : spelled.types)
        if (static_cast<int32_t>(t) == 0) t = TokenType::Normal;
    EXPECT_EQ(fingerprint(bare), fingerprint(spelled));
    const auto bare_tok = Tokenizer::from_vocab(bare);
    EXPECT_EQ(reloaded_fingerprint(*bare_tok, "bare"), bare_tok->vocab_fingerprint());

    EXPECT_EQ(fingerprint(test::bpe_vocab("")), fingerprint(test::bpe_vocab("default")));
    Vocab chat = test::spm_vocab();
    chat.chat_template = "{{ messages }}";
    EXPECT_EQ(fingerprint(chat), fingerprint(test::spm_vocab()));
}

// Each change to what a tokenizer reads gives a fingerprint of its own (none equal to the
// unchanged vocabulary's or to another change's).
TEST(TokenizerFingerprint, DiffersWhenAnythingTheTokenizerReadsDiffers) {
    using Change = std::function<void(Vocab&)>;
    const std::vector<std::pair<std::string, Change>> spm_changes = {
        {"a piece's text", [](Vocab& v) { v.tokens[260] = std::string("x"); }},
        {"two pieces swapped", [](Vocab& v) { std::swap(v.tokens[260], v.tokens[261]); }},
        {"a piece's type", [](Vocab& v) { v.types[271] = TokenType::Control; }},
        {"a piece's score", [](Vocab& v) { v.scores[264] = -1.5f; }},
        {"one piece more",
         [](Vocab& v) {
             v.tokens.push_back("ol");
             v.types.push_back(TokenType::Normal);
             v.scores.push_back(-30.0f);
         }},
        {"eos", [](Vocab& v) { v.eos = 270; }},
        {"bos", [](Vocab& v) { v.bos = -1; }},
        {"eot", [](Vocab& v) { v.eot = 270; }},
        {"unk", [](Vocab& v) { v.unk = -1; }},
        {"pad", [](Vocab& v) { v.pad = 0; }},
        {"mask", [](Vocab& v) { v.mask = 271; }},
        {"add_bos", [](Vocab& v) { v.add_bos = false; }},
        {"add_eos", [](Vocab& v) { v.add_eos = true; }},
        {"add_space_prefix", [](Vocab& v) { v.add_space_prefix = false; }},
    };
    const std::vector<std::pair<std::string, Change>> bpe_changes = {
        {"the pre-tokenizer", [](Vocab& v) { v.pre = "llama-bpe"; }},
        {"two merges swapped", [](Vocab& v) { std::swap(v.merges[0], v.merges[1]); }},
        {"a merge fewer", [](Vocab& v) { v.merges.pop_back(); }},
    };
    std::map<uint64_t, std::string> seen;
    const auto expect_new = [&](const Vocab& v, const std::string& what) {
        const auto [it, added] = seen.emplace(fingerprint(v), what);
        EXPECT_TRUE(added) << what << " has the fingerprint of " << it->second;
    };
    expect_new(test::spm_vocab(), "the spm vocabulary");
    for (const auto& [what, change] : spm_changes) {
        Vocab v = test::spm_vocab();
        change(v);
        expect_new(v, what);
    }
    expect_new(test::bpe_vocab(), "the bpe vocabulary");
    for (const auto& [what, change] : bpe_changes) {
        Vocab v = test::bpe_vocab();
        change(v);
        expect_new(v, what);
    }
    for (const std::string model : {"bert", "t5"}) {
        Vocab v = normalizing_vocab(model);
        expect_new(v, model);
        v.normalizer = {"lowercase"};
        expect_new(v, model + " with another normalizer");
    }
    // Two character vocabularies (of the same size) from different corpora.
    EXPECT_NE(build_char_vocab("abc")->vocab_fingerprint(),
              build_char_vocab("abd")->vocab_fingerprint());
}

}  // namespace
}  // namespace lyra::model
