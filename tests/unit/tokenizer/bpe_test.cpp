// Byte-level BPE ("gpt2") tokenizer on the hand-built vocabulary of fixtures.h.
#include <gtest/gtest.h>

#include "fixtures.h"

namespace lyra::model {
namespace {

using Ids = std::vector<TokenId>;

std::unique_ptr<Tokenizer> bpe(const std::string& pre = "gpt2") {
    return Tokenizer::from_vocab(test::bpe_vocab(pre));
}

TEST(BpeTokenizer, MergesByRankWithinPreTokenizerChunks) {
    // "hello" -> ll (0), he (1), hell (2) -> [258, 'o'];
    // " world" -> Ġw (3), or (4), Ġwor (5) -> [261, 'l', 'd'].
    EXPECT_EQ(bpe()->encode("hello world"), (Ids{258, 'o', 261, 'l', 'd'}));
    // "oĠ" (rank 9) would merge "o" and " " but they are in different chunks.
    EXPECT_EQ(bpe()->encode("o o"), (Ids{'o', ' ', 'o'}));
}

TEST(BpeTokenizer, SplitsWhitespaceRunsLikeGpt2) {
    // "a   b": "a", "  " (\s+(?!\S) leaves the last space to " b"), " b".
    EXPECT_EQ(bpe()->encode("a   b"), (Ids{'a', 262, ' ', 'b'}));
    // "a\nb": "\n" is followed by a non-space, so \s+ takes it alone: Ċ is byte 10.
    EXPECT_EQ(bpe()->encode("a\nb"), (Ids{'a', '\n', 'b'}));
}

TEST(BpeTokenizer, PreTokenizerDecidesDigitGroups) {
    // gpt2: "12345" is one chunk: 34 (rank 7) then 12 (rank 8).
    EXPECT_EQ(bpe("gpt2")->encode("12345"), (Ids{264, 263, '5'}));
    // llama-bpe: \p{N}{1,3} -> "123", "45".
    EXPECT_EQ(bpe("llama-bpe")->encode("12345"), (Ids{264, '3', '4', '5'}));
    // qwen2: one digit per chunk.
    EXPECT_EQ(bpe("qwen2")->encode("12345"), (Ids{'1', '2', '3', '4', '5'}));
    // smollm: digits isolated first, then the gpt2 regex.
    EXPECT_EQ(bpe("smollm")->encode("12345"), (Ids{'1', '2', '3', '4', '5'}));
}

TEST(BpeTokenizer, EncodesMultibyteAndInvalidTextAsBytes) {
    EXPECT_EQ(bpe()->encode("你好"), (Ids{0xE4, 0xBD, 0xA0, 0xE5, 0xA5, 0xBD}));
    EXPECT_EQ(bpe()->encode("😀"), (Ids{0xF0, 0x9F, 0x98, 0x80}));
    EXPECT_EQ(bpe()->encode("\xFF"), (Ids{0xFF}));
    EXPECT_EQ(bpe()->decode(bpe()->encode("x\xFF\xE4\xBD y")), "x\xFF\xE4\xBD y");
}

TEST(BpeTokenizer, SplitsSpecialTokensOnlyWhenAsked) {
    EXPECT_EQ(bpe()->encode("hi<|endoftext|>", false, true), (Ids{'h', 'i', 266}));
    EXPECT_EQ(bpe()->encode("hi<|endoftext|>", false, false),
              (Ids{'h', 'i', '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>'}));
}

TEST(BpeTokenizer, DecodeMapsStandInCharactersBackToBytes) {
    EXPECT_EQ(bpe()->decode(Ids{258, 'o', 261, 'l', 'd'}), "hello world");
    EXPECT_EQ(bpe()->decode(Ids{266, 262, '\n'}), "  \n");  // control token left out
    EXPECT_EQ(bpe()->token_to_bytes(266), "<|endoftext|>");
    EXPECT_EQ(bpe()->token_to_bytes(' '), " ");
    EXPECT_TRUE(bpe()->is_eog(266));
    EXPECT_EQ(bpe()->kind(), "gpt2");
}

}  // namespace
}  // namespace lyra::model
