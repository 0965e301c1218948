// Vocabulary validation, character vocabularies, StreamDecoder and round-trip properties.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "fixtures.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::model {
namespace {

using Ids = std::vector<TokenId>;

ErrorKind kind_of_error(Vocab v) {
    try {
        Tokenizer::from_vocab(std::move(v));
    } catch (const Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "no error thrown";
    return ErrorKind::InvalidArgument;
}

TEST(VocabValidation, RejectsUnknownKindsAndPreTokenizers) {
    Vocab v = test::spm_vocab();
    v.model = "wordpiece";
    EXPECT_EQ(kind_of_error(v), ErrorKind::Unsupported);
    EXPECT_EQ(kind_of_error(test::bpe_vocab("tekken")), ErrorKind::Unsupported);
}

TEST(VocabValidation, RejectsInconsistentArrays) {
    Vocab v = test::spm_vocab();
    v.scores.pop_back();
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
    v = test::spm_vocab();
    v.types.push_back(TokenType::Normal);
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
    v = test::spm_vocab();
    v.types[5] = static_cast<TokenType>(9);
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
    v = test::spm_vocab();
    v.bos = 272;
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
    v = test::spm_vocab();
    v.tokens.clear();
    v.scores.clear();
    v.types.clear();
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
}

TEST(VocabValidation, RejectsMergesNamingUnknownTokens) {
    Vocab v = test::bpe_vocab();
    v.merges.push_back("qq zz");
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
    v = test::bpe_vocab();
    v.merges.push_back("ab");  // not a pair
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
    v = test::bpe_vocab();
    v.merges.push_back("a b");  // "ab" is not a piece
    EXPECT_EQ(kind_of_error(v), ErrorKind::Corrupt);
}

TEST(CharVocab, OrdersCharactersByFrequencyThenCodePoint) {
    // "abca  b": ' ' 2, a 2, b 2, c 1 -> ties by code point: ' ' (32), a, b; then c.
    auto t = build_char_vocab("abca  b");
    ASSERT_EQ(t->n_vocab(), 263);
    EXPECT_EQ(t->token_text(259), "\xE2\x96\x81");
    EXPECT_EQ(t->token_text(260), "a");
    EXPECT_EQ(t->token_text(262), "c");
    EXPECT_EQ(t->token_type(3), TokenType::Byte);
    EXPECT_EQ(t->token_text(3 + 0x41), "<0x41>");
    // One token per known character, no dummy prefix; unknown 'z' is its byte.
    EXPECT_EQ(t->encode("cab a"), (Ids{1, 262, 260, 261, 259, 260}));
    EXPECT_EQ(t->encode("z", false), (Ids{3 + 'z'}));
    EXPECT_EQ(t->decode(t->encode("cab a z\n")), "cab a z\n");
    EXPECT_FALSE(t->vocab().add_space_prefix);
}

TEST(CharVocab, KeepsTheMostFrequentAndAlwaysTheSpace) {
    auto t = build_char_vocab("aaab", 1);  // keeps 'a'; '▁' is added
    ASSERT_EQ(t->n_vocab(), 261);
    EXPECT_EQ(t->encode("ab a", false), (Ids{259, 3 + 'b', 260, 259}));
}

TEST(CharVocab, GivesOneTokenPerCharacterOfItsCorpus) {
    const std::string corpus = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。 Moon 🌙!";
    auto t = build_char_vocab(corpus);
    Ids ids = t->encode(corpus, false);
    size_t n_chars = 0;
    for (unsigned char c : corpus) n_chars += (c & 0xC0) != 0x80;
    EXPECT_EQ(ids.size(), n_chars);
    for (TokenId id : ids) EXPECT_GE(id, 259);
    EXPECT_EQ(t->decode(ids), corpus);
}

TEST(CharVocab, ByteVocabularyEncodesEverythingAsBytes) {
    auto t = build_byte_vocab();
    EXPECT_EQ(t->n_vocab(), 260);
    EXPECT_EQ(t->encode("a b", false), (Ids{3 + 'a', 259, 3 + 'b'}));
    EXPECT_EQ(t->decode(t->encode("你 好\xFF")), "你 好\xFF");
}

TEST(StreamDecoder, HoldsPartialUtf8UntilComplete) {
    auto t = Tokenizer::from_vocab(test::spm_vocab(false));
    StreamDecoder d(*t);
    // 😀 = F0 9F 98 80 as four byte tokens.
    EXPECT_EQ(d.push(3 + 0xF0), "");
    EXPECT_EQ(d.push(3 + 0x9F), "");
    EXPECT_EQ(d.push(3 + 0x98), "");
    EXPECT_EQ(d.push(3 + 0x80), "😀");
    EXPECT_EQ(d.push(260), "h");
    EXPECT_EQ(d.push(3 + 0xE5), "");  // 好 = E5 A5 BD, cut short
    EXPECT_EQ(d.push(3 + 0xA5), "");
    EXPECT_EQ(d.finish(), "\xE5\xA5");
}

TEST(StreamDecoder, EmitsInvalidBytesAtOnceAndDropsTheDummyPrefix) {
    auto t = Tokenizer::from_vocab(test::spm_vocab(true));
    StreamDecoder d(*t);
    EXPECT_EQ(d.push(1), "");    // <s>
    EXPECT_EQ(d.push(259), "");  // the dummy prefix space
    EXPECT_EQ(d.push(267), "hell");
    EXPECT_EQ(d.push(259), " ");
    EXPECT_EQ(d.push(3 + 0xFF), "\xFF");
    EXPECT_EQ(d.push(3 + 0xE4), "");
    EXPECT_EQ(d.push(3 + 0x41),
              "\xE4"
              "A");  // cannot complete: flushed with what follows
    EXPECT_EQ(d.finish(), "");
}

TEST(StreamDecoder, ConcatenationEqualsDecode) {
    auto t = Tokenizer::from_vocab(test::bpe_vocab());
    const std::string text = "hello 你好 😀 world\n\n  12345";
    Ids ids = t->encode(text);
    StreamDecoder d(*t);
    std::string streamed;
    for (TokenId id : ids) {
        std::string piece = d.push(id);
        // Every piece emitted is whole UTF-8.
        for (size_t i = 0; i < piece.size();) {
            auto c = static_cast<unsigned char>(piece[i]);
            size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            ASSERT_LE(i + n, piece.size()) << "half a character emitted";
            i += n;
        }
        streamed += piece;
    }
    streamed += d.finish();
    EXPECT_EQ(streamed, text);
}

// Random strings drawn from pieces covering ASCII, CJK, emoji, combining marks, whitespace
// runs, newlines, tabs and (optionally) invalid bytes.
std::string random_text(std::mt19937& rng, bool invalid) {
    static const std::vector<std::string> parts = {
        "a",    "Z",  "h",  "e",  "l",  "o",  " ", "  ", "\n", "\t",
        "\r\n", "'s", "12", "你", "好", "床", "😀", "🌙",  "é",  "e\xCC\x81",
        "ß",    "—",  "<",  "|",  ">",  ".",  ",", "Ω",  "ض"};
    static const std::vector<std::string> bad = {"\xFF", "\xC3", "\xE4\xBD", "\x80", "\xF0\x9F"};
    std::string s;
    int n = std::uniform_int_distribution<int>(0, 24)(rng);
    for (int i = 0; i < n; ++i) {
        if (invalid && std::uniform_int_distribution<int>(0, 9)(rng) == 0)
            s += bad[std::uniform_int_distribution<size_t>(0, bad.size() - 1)(rng)];
        else
            s += parts[std::uniform_int_distribution<size_t>(0, parts.size() - 1)(rng)];
    }
    return s;
}

TEST(TokenizerRoundTrip, DecodeOfEncodeIsIdentityOnRandomText) {
    std::vector<std::pair<std::string, std::unique_ptr<Tokenizer>>> toks;
    toks.emplace_back("spm", Tokenizer::from_vocab(test::spm_vocab(true)));
    toks.emplace_back("spm-noprefix", Tokenizer::from_vocab(test::spm_vocab(false)));
    toks.emplace_back("gpt2", Tokenizer::from_vocab(test::bpe_vocab("gpt2")));
    toks.emplace_back("llama-bpe", Tokenizer::from_vocab(test::bpe_vocab("llama-bpe")));
    toks.emplace_back("qwen2", Tokenizer::from_vocab(test::bpe_vocab("qwen2")));
    toks.emplace_back("char", build_char_vocab("hello world 你好"));
    std::mt19937 rng(1234);
    for (int iter = 0; iter < 400; ++iter) {
        std::string s = random_text(rng, iter % 2 == 1);
        for (const auto& [name, t] : toks) {
            for (bool special : {false, true}) {
                Ids ids = t->encode(s, true, special);
                ASSERT_EQ(t->decode(ids), s) << name << " special=" << special;
            }
        }
    }
}

}  // namespace
}  // namespace lyra::model
