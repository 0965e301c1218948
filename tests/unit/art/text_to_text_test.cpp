// The text-to-text helpers' pure parts (art/common/text_to_text.h): cleaning a model's answer to
// one line, a title, keywords kept only where they are words of the brief, and the refusal of a
// model that is not an encoder-decoder. The model runs are checked end to end
// (tests/e2e/story_planner_test.cpp).
#include "art/common/text_to_text.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace lyra::art {
namespace {

using Words = std::vector<std::string>;

TEST(CleanAnswer, OneLineOfValidText) {
    EXPECT_EQ(clean_answer("  a keeper\n\nfinds\ta   letter \r\n", 100), "a keeper finds a letter");
    EXPECT_EQ(clean_answer("", 10), "");
    EXPECT_EQ(clean_answer(" \n\t ", 10), "");
    EXPECT_EQ(clean_answer("bad \xff\xfe bytes", 100), "bad bytes");
    // cut at the last space within the budget, else on a character boundary
    EXPECT_EQ(clean_answer("one two three four", 12), "one two");
    EXPECT_EQ(clean_answer("one two three", 7), "one two");
    EXPECT_EQ(clean_answer("abcdefgh", 5), "abcde");
    EXPECT_EQ(clean_answer("ab\xc3\xa9\xc3\xa9", 3), "ab");  // "abéé": é is two bytes
}

TEST(CleanTitle, FirstClauseAtMostEightWordsCapitalized) {
    EXPECT_EQ(clean_title("the letter from the sea. a keeper reads it"), "The letter from the sea");
    EXPECT_EQ(clean_title("\"lighthouse\", and more"), "Lighthouse");
    EXPECT_EQ(clean_title("one two three four five six seven eight nine ten"),
              "One two three four five six seven eight");
    EXPECT_EQ(clean_title("  \n  "), "");
    EXPECT_EQ(clean_title("."), "");
    EXPECT_EQ(clean_title("\xc3\xa9t\xc3\xa9 at sea"),
              "\xc3\xa9t\xc3\xa9 at sea");  // no ASCII capital to make
}

TEST(WordsOfBrief, KeepsOnlyTopicWordsOfTheBrief) {
    const std::string brief = "A keeper of a lighthouse finds a letter from the sea.";
    EXPECT_EQ(words_of_brief("lighthouse, letter, sea, keeper", brief, 5),
              (Words{"lighthouse", "letter", "sea", "keeper"}));
    // not in the brief, stop words, short words and repeats are dropped; case is folded
    EXPECT_EQ(words_of_brief("Ocean LETTER the from of a letter ship Keeper", brief, 5),
              (Words{"letter", "keeper"}));
    EXPECT_EQ(words_of_brief("lighthouse letter sea keeper finds", brief, 2),
              (Words{"lighthouse", "letter"}));
    EXPECT_EQ(words_of_brief("zzz qqq", brief, 5), Words{});
    EXPECT_EQ(words_of_brief("", brief, 5), Words{});
    // a word inside a longer brief word does not count
    EXPECT_EQ(words_of_brief("light house", brief, 5), Words{});
}

TEST(CheckEncoderDecoder, RefusesOtherKindsSayingWhatIsNeeded) {
    EXPECT_NO_THROW(check_encoder_decoder("t5", "p.gguf"));
    const auto message = [](const char* arch) {
        try {
            check_encoder_decoder(arch, "m.gguf");
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    for (const char* a : {"bert", "roberta", "albert"}) {
        const std::string m = message(a);
        EXPECT_NE(m.find("encoder-only"), std::string::npos) << m;
        EXPECT_NE(m.find("expected a text-to-text encoder-decoder model (t5)"), std::string::npos)
            << m;
        EXPECT_NE(m.find("m.gguf"), std::string::npos) << m;
    }
    for (const char* a : {"llama", "gpt2", "transfo-xl"}) {
        const std::string m = message(a);
        EXPECT_NE(m.find("decoder-only"), std::string::npos) << m;
        EXPECT_NE(m.find("(t5)"), std::string::npos) << m;
    }
    EXPECT_NE(message("xlnet").find("not an architecture Lyra knows"), std::string::npos);
}

}  // namespace
}  // namespace lyra::art
