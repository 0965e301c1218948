// Hugging Face tokenizer.json import: small hand-written files of each style, imported into GGUF
// keys, loaded back, and encoded; expected ids worked out by hand in the comments.
#include "model/tokenizer/tokenizer_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fixtures.h"

namespace lyra::model {
namespace {

using json = nlohmann::json;
using Ids = std::vector<TokenId>;

const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Byte-level BPE: ids 0..255 the byte characters, then 256 "he", 257 "ll", 258 "hell",
// 259 "Ġw"; added 260 "<|endoftext|>" (special), 261 "<|begin_of_text|>" (special).
// Merges given in both accepted forms.
json byte_level_json(const json& pre_tokenizer) {
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[test::byte_char(b)] = b;
    vocab["he"] = 256;
    vocab["ll"] = 257;
    vocab["hell"] = 258;
    vocab[test::byte_char(' ') + "w"] = 259;
    json merges = json::array(
        {"h e", json::array({"l", "l"}), "he ll", json::array({test::byte_char(' '), "w"})});
    return {{"version", "1.0"},
            {"added_tokens",
             json::array({{{"id", 260}, {"content", "<|endoftext|>"}, {"special", true}},
                          {{"id", 261}, {"content", "<|begin_of_text|>"}, {"special", true}}})},
            {"normalizer", nullptr},
            {"pre_tokenizer", pre_tokenizer},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

std::unique_ptr<Tokenizer> import(const json& tj, const json& cfg, std::string_view arch,
                                  const std::string& name) {
    GgufWriter w;
    import_tokenizer_json(tj.dump(), cfg.is_null() ? "" : cfg.dump(), arch, w);
    return test::reload_gguf(w, name);
}

TEST(TokenizerJson, ImportsGpt2StyleByteLevelBpe) {
    json tj = byte_level_json({{"type", "ByteLevel"}, {"add_prefix_space", false}});
    json cfg = {{"bos_token", "<|endoftext|>"}, {"eos_token", {{"content", "<|endoftext|>"}}}};
    auto t = import(tj, cfg, "gpt2", "gpt2");
    EXPECT_EQ(t->kind(), "gpt2");
    EXPECT_EQ(t->vocab().pre, "gpt2");
    EXPECT_EQ(t->eos(), 260);
    EXPECT_EQ(t->token_type(260), TokenType::Control);
    EXPECT_FALSE(t->vocab().add_bos);
    // "hello" -> he, ll, hell + o ; " w" -> Ġw.
    EXPECT_EQ(t->encode("hello w"), (Ids{258, 'o', 259}));
    EXPECT_EQ(t->encode("a<|endoftext|>", true, true), (Ids{'a', 260}));
}

TEST(TokenizerJson, DetectsLlama3PreTokenizerAndTemplateBos) {
    json pre = {
        {"type", "Sequence"},
        {"pretokenizers",
         json::array(
             {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3Regex}}}, {"behavior", "Isolated"}},
              {{"type", "ByteLevel"}, {"use_regex", false}}})}};
    json tj = byte_level_json(pre);
    tj["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
    auto t = import(tj, nullptr, "llama", "llama3");
    EXPECT_EQ(t->vocab().pre, "llama-bpe");
    EXPECT_EQ(t->bos(), 261);
    EXPECT_EQ(t->encode("1234"), (Ids{261, '1', '2', '3', '4'}));
}

TEST(TokenizerJson, DetectsQwen2PreTokenizer) {
    json pre = {
        {"type", "Sequence"},
        {"pretokenizers", json::array({{{"type", "Split"}, {"pattern", {{"Regex", kQwen2Regex}}}},
                                       {{"type", "ByteLevel"}}})}};
    json cfg = {{"eos_token", "<|endoftext|>"},
                {"chat_template", "{% for m in messages %}<|im_start|>{% endfor %}"}};
    auto t = import(byte_level_json(pre), cfg, "qwen2", "qwen2");
    EXPECT_EQ(t->vocab().pre, "qwen2");
    EXPECT_EQ(t->chat_template(), "{% for m in messages %}<|im_start|>{% endfor %}");
}

// SentencePiece style (Llama 2 / TinyLlama tokenizer.json): ids 0 <unk>, 1 <s>, 2 </s>,
// 3..258 <0x00>..<0xFF>, 259 "▁", 260 "h", 261 "e", 262 "l", 263 "o", 264 "he", 265 "ll",
// 266 "hell", 267 "▁hell"; merges h e (0), l l (1), he ll (2), ▁ hell (3).
json spm_json() {
    json vocab = json::object();
    vocab["<unk>"] = 0;
    vocab["<s>"] = 1;
    vocab["</s>"] = 2;
    for (int b = 0; b < 256; ++b) vocab[fmt::format("<0x{:02X}>", b)] = 3 + b;
    const std::vector<std::string> pieces = {
        "\xE2\x96\x81", "h", "e", "l", "o", "he", "ll", "hell", "\xE2\x96\x81hell"};
    for (size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = 259 + i;
    return {{"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                                          {{"id", 1}, {"content", "<s>"}, {"special", true}},
                                          {{"id", 2}, {"content", "</s>"}, {"special", true}}})},
            {"normalizer",
             {{"type", "Sequence"},
              {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                                           {{"type", "Replace"},
                                            {"pattern", {{"String", " "}}},
                                            {"content", "\xE2\x96\x81"}}})}}},
            {"pre_tokenizer", nullptr},
            {"model",
             {{"type", "BPE"},
              {"unk_token", "<unk>"},
              {"byte_fallback", true},
              {"vocab", vocab},
              {"merges", json::array({"h e", "l l", "he ll", "\xE2\x96\x81 hell"})}}}};
}

TEST(TokenizerJson, ImportsSentencePieceStyleBpeWithScoresFromMergeRanks) {
    json cfg = {{"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
                {"eos_token", "</s>"},
                {"add_bos_token", true},
                {"chat_template", "[INST] <<SYS>>"}};
    auto t = import(spm_json(), cfg, "llama", "spm");
    EXPECT_EQ(t->kind(), "llama");
    EXPECT_TRUE(t->vocab().add_space_prefix);
    EXPECT_EQ(t->token_type(0), TokenType::Unknown);
    EXPECT_EQ(t->token_type(1), TokenType::Control);
    EXPECT_EQ(t->token_type(3 + 0x0A), TokenType::Byte);
    // Score of a merge's result = -rank: he 0, ll -1, hell -2, ▁hell -3.
    EXPECT_EQ(t->vocab().scores[264], 0.0f);
    EXPECT_EQ(t->vocab().scores[267], -3.0f);
    // "▁hello": he (rank 0), ll (1), hell (2), ▁hell (3) -> ▁hell o; 你 falls back to bytes.
    EXPECT_EQ(t->encode("hello"), (Ids{1, 267, 263}));
    EXPECT_EQ(t->encode("o你", false), (Ids{259, 263, 3 + 0xE4, 3 + 0xBD, 3 + 0xA0}));
    EXPECT_EQ(t->decode(t->encode("hello 你 \xFF")), "hello 你 \xFF");
}

ErrorKind import_error(std::string_view tj, std::string_view cfg, std::string* msg = nullptr) {
    GgufWriter w;
    try {
        import_tokenizer_json(tj, cfg, "llama", w);
    } catch (const Error& e) {
        if (msg) *msg = e.what();
        return e.kind();
    }
    ADD_FAILURE() << "no error for " << tj.substr(0, 80);
    return ErrorKind::InvalidArgument;
}

TEST(TokenizerJson, RejectsMalformedFilesNamingTheJsonPath) {
    std::string msg;
    EXPECT_EQ(import_error("{\"model\": ", ""), ErrorKind::Corrupt);
    EXPECT_EQ(import_error("[1, 2]", ""), ErrorKind::Corrupt);
    // A number nlohmann cannot hold throws out_of_range, not parse_error (found by the fuzzer).
    EXPECT_EQ(import_error("{\"model\": 1.5e48512670606}", ""), ErrorKind::Corrupt);
    EXPECT_EQ(import_error("{}", "", &msg), ErrorKind::Corrupt);
    EXPECT_NE(msg.find("model"), std::string::npos) << msg;

    json tj = spm_json();
    tj["model"]["vocab"]["x"] = "seven";
    EXPECT_EQ(import_error(tj.dump(), "", &msg), ErrorKind::Corrupt);
    EXPECT_NE(msg.find("model.vocab[\"x\"]"), std::string::npos) << msg;

    tj = spm_json();
    tj["model"]["merges"].push_back(42);
    EXPECT_EQ(import_error(tj.dump(), "", &msg), ErrorKind::Corrupt);
    EXPECT_NE(msg.find("model.merges[4]"), std::string::npos) << msg;

    tj = spm_json();
    tj["model"]["merges"].push_back("q z");  // names unknown pieces
    EXPECT_EQ(import_error(tj.dump(), ""), ErrorKind::Corrupt);

    tj = spm_json();
    tj["model"]["vocab"]["dup"] = 5;  // id 5 is also <0x02>
    EXPECT_EQ(import_error(tj.dump(), ""), ErrorKind::Corrupt);

    tj = spm_json();
    tj["model"]["vocab"]["far"] = 100000;  // leaves ~99,700 ids missing
    EXPECT_EQ(import_error(tj.dump(), ""), ErrorKind::Corrupt);

    tj = spm_json();
    tj["added_tokens"][0].erase("content");
    EXPECT_EQ(import_error(tj.dump(), "", &msg), ErrorKind::Corrupt);
    EXPECT_NE(msg.find("added_tokens[0]"), std::string::npos) << msg;

    EXPECT_EQ(import_error(spm_json().dump(), "{\"bos_token\": \"<nope>\"}"), ErrorKind::Corrupt);
    EXPECT_EQ(import_error(spm_json().dump(), "{\"bos_token\": 3}"), ErrorKind::Corrupt);
    EXPECT_EQ(import_error(spm_json().dump(), "not json"), ErrorKind::Corrupt);
}

TEST(TokenizerJson, RejectsUnsupportedTokenizers) {
    json tj = spm_json();
    tj["model"]["type"] = "WordPiece";
    EXPECT_EQ(import_error(tj.dump(), ""), ErrorKind::Unsupported);
    json pre = {
        {"type", "Sequence"},
        {"pretokenizers", json::array({{{"type", "Split"}, {"pattern", {{"Regex", "\\w+"}}}},
                                       {{"type", "ByteLevel"}}})}};
    EXPECT_EQ(import_error(byte_level_json(pre).dump(), ""), ErrorKind::Unsupported);
    tj = spm_json();
    tj["model"].erase("byte_fallback");
    tj["normalizer"] = nullptr;
    EXPECT_EQ(import_error(tj.dump(), ""), ErrorKind::Unsupported);
}

}  // namespace
}  // namespace lyra::model
