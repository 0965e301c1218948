// WordPiece ("bert") and Unigram ("t5") tokenizers on hand-built tokenizer.json files; every
// expected id is worked out by hand in the comments (reference_test.cpp compares both kinds
// with Hugging Face's JavaScript tokenizers on larger vocabularies).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fixtures.h"
#include "model/format/gguf.h"
#include "model/tokenizer/tokenizer_json.h"

namespace lyra::model {
namespace {

using json = nlohmann::json;

json special(int id, const char* text) {
    return {{"id", id}, {"content", text}, {"special", true}};
}

// BERT-style, uncased unless `cased`:
//   0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK] 5 the 6 cafe 7 ##s 8 un 9 ##aff 10 ##able 11 ,
//   12 ! 13 中 14 国 15 play 16 ##ing 17 . 18 hello
json bert_json(bool cased = false) {
    const char* pieces[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cafe",
                            "##s",   "un",    "##aff", "##able", ",",     "!",     "中",
                            "国",    "play",  "##ing", ".",      "hello"};
    json vocab = json::object();
    for (int i = 0; i < 19; ++i) vocab[pieces[i]] = i;
    return {
        {"added_tokens", {special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"),
                          special(3, "[SEP]"), special(4, "[MASK]")}},
        {"normalizer",
         {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
          {"strip_accents", nullptr}, {"lowercase", !cased}}},
        {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", {{{"SpecialToken", {{"id", "[CLS]"}}}}, {{"Sequence", {{"id", "A"}}}},
                      {{"SpecialToken", {{"id", "[SEP]"}}}}}}}},
        {"model",
         {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
          {"vocab", vocab}}},
    };
}

// T5-style: 0 <pad> 1 </s> 2 <unk> 3 ▁ (-2) 4 ▁the (-1.5) 5 ▁a (-3) 6 a (-2.5) 7 b (-2.5)
// 8 ab (-2) 9 ▁ab (-4.5) 10 c (-3) then, with `bytes`, 11.. <0x00>..<0xFF> (byte b = 11 + b).
// Lowest normal score -4.5, so an unknown character scores -14.5.
json t5_json(bool bytes = false, bool collapse = true) {
    json vocab = json::array();
    auto add = [&](std::string piece, double score) { vocab.push_back(json::array({piece, score})); };
    add("<pad>", 0.0);
    add("</s>", 0.0);
    add("<unk>", 0.0);
    add("\xE2\x96\x81", -2.0);
    add("\xE2\x96\x81the", -1.5);
    add("\xE2\x96\x81" "a", -3.0);
    add("a", -2.5);
    add("b", -2.5);
    add("ab", -2.0);
    add("\xE2\x96\x81" "ab", -4.5);
    add("c", -3.0);
    if (bytes)
        for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0.0);
    json norms = json::array({{{"type", "NFKC"}}});
    if (collapse)
        norms.push_back({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}});
    return {
        {"added_tokens", {special(0, "<pad>"), special(1, "</s>"), special(2, "<unk>")}},
        {"normalizer", {{"type", "Sequence"}, {"normalizers", norms}}},
        {"pre_tokenizer",
         {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"},
          {"split", true}}},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", {{{"Sequence", {{"id", "A"}}}}, {{"SpecialToken", {{"id", "</s>"}}}}}}}},
        {"model", {{"type", "Unigram"}, {"unk_id", 2}, {"vocab", vocab}, {"byte_fallback", bytes}}},
    };
}

std::unique_ptr<Tokenizer> load(const json& tj, const std::string& arch, const char* name) {
    GgufWriter w;
    import_tokenizer_json(tj.dump(), "", arch, w);
    return test::reload_gguf(w, name);  // through GGUF, as a model file carries it
}

using Ids = std::vector<TokenId>;

TEST(WordPiece, NormalisesSplitsAndMatchesLongestPieces) {
    auto tok = load(bert_json(), "bert", "wp");
    EXPECT_EQ(tok->kind(), "bert");
    // "Unaffable cafés, Hello!" -> "unaffable cafes, hello!" -> unaffable | cafes | , | hello | !
    // -> un ##aff ##able | cafe ##s | , | hello | !, wrapped in [CLS] [SEP].
    EXPECT_EQ(tok->encode("Unaffable caf\xC3\xA9s, Hello!"), (Ids{2, 8, 9, 10, 6, 7, 11, 18, 12, 3}));
    // CJK ideographs are words of their own; play + ##ing; "." alone.
    EXPECT_EQ(tok->encode("中国playing."), (Ids{2, 13, 14, 15, 16, 17, 3}));
    // A word with a rest no piece covers is one [UNK] ("thex": the, then no "##x").
    EXPECT_EQ(tok->encode("thex the", false), (Ids{1, 5}));
    // Control characters vanish, any whitespace separates.
    EXPECT_EQ(tok->encode("the\x07\tcafe", false), (Ids{5, 6}));
    // [MASK] is recognised as itself only when special tokens are parsed.
    EXPECT_EQ(tok->encode("the [MASK]!", false, true), (Ids{5, 4, 12}));
    EXPECT_EQ(tok->vocab().mask, 4);
    // Decode: word-initial pieces get a space, continuations join, specials are dropped.
    EXPECT_EQ(tok->decode(Ids{2, 8, 9, 10, 6, 7, 11, 18, 12, 3}), "unaffable cafes , hello !");
    EXPECT_EQ(tok->token_text(8), "\xE2\x96\x81un");  // stored as GGUF "bert" files store it
    EXPECT_EQ(tok->token_text(9), "aff");
}

TEST(WordPiece, CasedVocabularyKeepsCaseAndAccents) {
    auto tok = load(bert_json(true), "bert", "wpc");
    // "Hello" is not "hello" and "cafés" keeps its é: both whole words become [UNK].
    EXPECT_EQ(tok->encode("Hello cafés the", false), (Ids{1, 1, 5}));
}

TEST(WordPiece, OverlongWordIsUnknown) {
    auto tok = load(bert_json(), "bert", "wpl");
    EXPECT_EQ(tok->encode(std::string(101, 'a') + " the", false), (Ids{1, 5}));
}

TEST(Unigram, ViterbiPicksTheBestSegmentation) {
    auto tok = load(t5_json(), "t5", "ug");
    EXPECT_EQ(tok->kind(), "t5");
    // "ab" -> "▁ab": ▁ + ab = -4.0 beats ▁ab (-4.5), ▁a + b (-5.5), ▁ + a + b (-7). Then </s>.
    EXPECT_EQ(tok->encode("ab"), (Ids{3, 8, 1}));
    // "the abc" -> ▁the | ▁ab c: ▁ + ab + c = -7 beats ▁ab + c = -7.5.
    EXPECT_EQ(tok->encode("the abc"), (Ids{4, 3, 8, 10, 1}));
    // Unknown characters fuse into one <unk>: "xxa" -> ▁ <unk>(xx) a.
    EXPECT_EQ(tok->encode("xxa", false), (Ids{3, 2, 6}));
    // NFKC folds full-width letters: "ａｂ" -> "ab".
    EXPECT_EQ(tok->encode("\xEF\xBD\x81\xEF\xBD\x82", false), (Ids{3, 8}));
    // Replace(" {2,}", " ") collapses the double space; a leading space is the prefix mark.
    EXPECT_EQ(tok->encode("the  ab", false), (Ids{4, 3, 8}));
    EXPECT_EQ(tok->encode(" ab", false), (Ids{3, 8}));
    EXPECT_EQ(tok->decode(Ids{4, 3, 8, 10, 1}), "the abc");
}

TEST(Unigram, LiteralReplaceRunsBeforeSegmentation) {
    // ALBERT-style Replace(String): every "xx" becomes "a" first, so "xxb" is "ab" -> ▁ ab.
    json t = t5_json();
    t["normalizer"]["normalizers"].push_back({{"type", "Replace"}, {"pattern", {{"String", "xx"}}}, {"content", "a"}});
    auto tok = load(t, "t5", "ugr");
    EXPECT_EQ(tok->encode("xxb", false), (Ids{3, 8}));
    // An x that is not part of "xx" is still unknown: "xb" -> ▁ <unk> b.
    EXPECT_EQ(tok->encode("xb", false), (Ids{3, 2, 7}));
}

TEST(Unigram, WithoutCollapseEverySpaceIsAMark) {
    auto tok = load(t5_json(false, false), "t5", "ugn");
    // "the  ab" -> ▁the | ▁ | ▁ab (words start at each ▁).
    EXPECT_EQ(tok->encode("the  ab", false), (Ids{4, 3, 3, 8}));
}

TEST(Unigram, ByteFallbackSpellsUnknownCharactersInBytes) {
    auto tok = load(t5_json(true), "t5", "ugb");
    // "xé" -> ▁ then the unknown stretch "xé" = bytes 78 C3 A9 -> ids 11 + byte.
    EXPECT_EQ(tok->encode("x\xC3\xA9", false), (Ids{3, 11 + 0x78, 11 + 0xC3, 11 + 0xA9}));
    EXPECT_EQ(tok->decode(Ids{3, 11 + 0x78, 11 + 0xC3, 11 + 0xA9}), "x\xC3\xA9");
}

ErrorKind import_error(const json& tj) {
    try {
        GgufWriter w;
        import_tokenizer_json(tj.dump(), "", "t5", w);
    } catch (const Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "no error for " << tj.dump().substr(0, 200);
    return ErrorKind::Io;  // none of the expected kinds
}

TEST(WordPieceUnigram, BadFilesGetOneClearError) {
    json t = t5_json();
    t["model"]["vocab"][4] = "not a pair";
    EXPECT_EQ(import_error(t), ErrorKind::Corrupt);
    t = t5_json();
    t["model"]["unk_id"] = 999;
    EXPECT_EQ(import_error(t), ErrorKind::Corrupt);
    t = t5_json();
    t["pre_tokenizer"] = {{"type", "Whitespace"}};
    EXPECT_EQ(import_error(t), ErrorKind::Unsupported);
    t = t5_json();
    t.erase("pre_tokenizer");
    EXPECT_EQ(import_error(t), ErrorKind::Unsupported);
    t = t5_json();
    t["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "[0-9]+"}}}, {"content", "y"}};
    EXPECT_EQ(import_error(t), ErrorKind::Unsupported);
    json b = bert_json();
    b["pre_tokenizer"] = {{"type", "ByteLevel"}};
    EXPECT_EQ(import_error(b), ErrorKind::Unsupported);
    // A GGUF naming a normaliser step Lyra does not know.
    GgufWriter w;
    import_tokenizer_json(t5_json().dump(), "", "t5", w);
    w.set_string_array("tokenizer.lyra.normalizer", {"nfkc", "rot13"});
    try {
        test::reload_gguf(w, "badnorm");
        ADD_FAILURE() << "unknown normaliser step accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
        EXPECT_NE(std::string(e.what()).find("rot13"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lyra::model
