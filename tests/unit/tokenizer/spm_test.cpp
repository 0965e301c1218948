// SentencePiece-style ("llama") tokenizer on the hand-built vocabulary of fixtures.h.
#include <gtest/gtest.h>

#include "fixtures.h"

namespace lyra::model {
namespace {

using Ids = std::vector<TokenId>;

std::unique_ptr<Tokenizer> spm(bool prefix = true) {
    return Tokenizer::from_vocab(test::spm_vocab(prefix));
}

TEST(SpmTokenizer, MergesHighestScorePairFirst) {
    // "▁hello": pairs he(-10), ll(-6) -> ll first; then he(-10) vs llo(-20) -> he; then
    // hell(-8) -> ▁ hell o. Leftmost-first merging would have given ▁ he llo instead.
    EXPECT_EQ(spm()->encode("hello"), (Ids{1, 259, 267, 263}));
    EXPECT_EQ(spm()->encode("hello", false), (Ids{259, 267, 263}));
    EXPECT_EQ(spm(false)->encode("hello", false), (Ids{267, 263}));
}

TEST(SpmTokenizer, FallsBackToByteTokensForUnknownCharacters) {
    // "▁你好": 你 is a piece (268); 好 = E5 A5 BD -> 3 + byte.
    EXPECT_EQ(spm()->encode("你好", false), (Ids{259, 268, 3 + 0xE5, 3 + 0xA5, 3 + 0xBD}));
    // 😀 = F0 9F 98 80.
    EXPECT_EQ(spm(false)->encode("😀", false), (Ids{3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80}));
    // '\n' has no piece: <0x0A>.
    EXPECT_EQ(spm(false)->encode("h\ne", false), (Ids{260, 3 + 0x0A, 261}));
}

TEST(SpmTokenizer, EncodesInvalidUtf8AsBytes) {
    EXPECT_EQ(spm(false)->encode("\xFF", false), (Ids{3 + 0xFF}));
    EXPECT_EQ(spm(false)->encode("h\xC3", false), (Ids{260, 3 + 0xC3}));  // truncated sequence
    EXPECT_EQ(spm()->decode(spm()->encode("a\xFF\xC3(b")), "a\xFF\xC3(b");
}

TEST(SpmTokenizer, EscapesWhitespaceRunsLeftmostFirst) {
    // "▁▁▁o": ▁▁ (-7) twice, leftmost first -> ▁▁ ▁ o.
    EXPECT_EQ(spm()->encode("  o", false), (Ids{269, 259, 263}));
}

TEST(SpmTokenizer, SplitsSpecialTokensOnlyWhenAsked) {
    // Each text fragment after a special token gets the dummy prefix again: ▁ he.
    EXPECT_EQ(spm()->encode("he<|im_end|>he", false, true), (Ids{259, 264, 270, 259, 264}));
    Ids plain = spm()->encode("he<|im_end|>he", false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 270), 0);
    EXPECT_EQ(spm()->decode(plain), "he<|im_end|>he");
    // User-defined tokens are always split out.
    EXPECT_EQ(spm(false)->encode("<tag>", false, false), (Ids{271}));
    EXPECT_EQ(spm(false)->decode(Ids{271}), "<tag>");
}

TEST(SpmTokenizer, DecodeDropsControlTokensAndTheDummyPrefix) {
    EXPECT_EQ(spm()->decode(Ids{1, 259, 267, 263, 2}), "hello");
    EXPECT_EQ(spm()->decode(Ids{259, 267, 263, 259, 267, 263}), "hello hello");
    EXPECT_EQ(spm()->decode(Ids{270, 259, 264}), "he");
    EXPECT_EQ(spm(false)->decode(Ids{259, 267, 263}), " hello");  // no prefix to drop
    EXPECT_EQ(spm()->token_to_bytes(3 + 0x41), "A");
    EXPECT_EQ(spm()->token_to_bytes(269), "  ");
    EXPECT_EQ(spm()->token_to_bytes(1), "<s>");
}

TEST(SpmTokenizer, RoundTripsLeadingSpaces) {
    for (const char* s : {" x", "  x", "x ", " ", "", "\n x", "hello  world\n\n"}) {
        EXPECT_EQ(spm()->decode(spm()->encode(s)), s) << "text: '" << s << "'";
        EXPECT_EQ(spm(false)->decode(spm(false)->encode(s)), s) << "text: '" << s << "'";
    }
}

TEST(SpmTokenizer, AddsBosOnlyWhenVocabularyWantsIt) {
    Vocab v = test::spm_vocab();
    v.add_bos = false;
    v.add_eos = true;
    EXPECT_EQ(Tokenizer::from_vocab(v)->encode("o"), (Ids{259, 263, 2}));
    EXPECT_EQ(spm()->encode(""), (Ids{1}));
}

TEST(SpmTokenizer, KnowsEndOfGeneration) {
    auto t = spm();
    EXPECT_TRUE(t->is_eog(2));    // eos
    EXPECT_TRUE(t->is_eog(270));  // <|im_end|>
    EXPECT_FALSE(t->is_eog(1));
    EXPECT_FALSE(t->is_eog(263));
    EXPECT_TRUE(t->is_control(1));
    EXPECT_FALSE(t->is_control(259));
    EXPECT_EQ(t->kind(), "llama");
    EXPECT_EQ(t->n_vocab(), 272);
    EXPECT_EQ(t->bos(), 1);
    EXPECT_EQ(t->eos(), 2);
}

}  // namespace
}  // namespace lyra::model
