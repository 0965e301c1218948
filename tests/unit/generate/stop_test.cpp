// Stop strings across token boundaries (stop.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generate/stop.h"

namespace lyra::gen {
namespace {

// Pushes pieces one by one and returns everything shown (plus the flush when not stopped).
std::string feed(StopStrings& s, const std::vector<std::string>& pieces) {
    std::string out;
    for (const auto& p : pieces) out += s.push(p);
    if (!s.stopped()) out += s.flush();
    return out;
}

TEST(StopStrings, CutsJustBeforeTheStopStringInOnePiece) {
    StopStrings s({"\n"});
    EXPECT_EQ(s.push("hello\nworld"), "hello");
    EXPECT_TRUE(s.stopped());
    EXPECT_EQ(s.matched(), "\n");
    EXPECT_EQ(s.push("more"), "");
}

TEST(StopStrings, MatchesAcrossTokenBoundariesAndHoldsThePrefixBack) {
    StopStrings s({"END"});
    EXPECT_EQ(s.push("abcE"), "abc");  // "E" could start "END"
    EXPECT_EQ(s.held_bytes(), 1u);
    EXPECT_EQ(s.push("N"), "");
    EXPECT_EQ(s.push("D and more"), "");
    EXPECT_TRUE(s.stopped());
}

TEST(StopStrings, ReleasesHeldTextWhenThePrefixBreaks) {
    StopStrings s({"END"});
    EXPECT_EQ(s.push("abE"), "ab");
    EXPECT_EQ(s.push("x"), "Ex");
    EXPECT_FALSE(s.stopped());
}

TEST(StopStrings, FlushGivesBackAnUnfinishedPrefix) {
    StopStrings s({"END"});
    EXPECT_EQ(s.push("abEN"), "ab");
    EXPECT_EQ(s.flush(), "EN");
    EXPECT_FALSE(s.stopped());
}

TEST(StopStrings, EarliestMatchWinsAmongSeveral) {
    StopStrings s({"xyz", "b"});
    EXPECT_EQ(feed(s, {"abxyz"}), "a");
    EXPECT_EQ(s.matched(), "b");
}

TEST(StopStrings, SelfOverlappingStopStringCharByChar) {
    // "aaab" with stop "aab": after "aaa" only the last "aa" can still start a match.
    StopStrings s({"aab"});
    EXPECT_EQ(feed(s, {"a", "a", "a", "b"}), "a");
    EXPECT_TRUE(s.stopped());
}

TEST(StopStrings, MultiByteStopStringSplitOverPieces) {
    StopStrings s({"。"});  // E3 80 82
    EXPECT_EQ(feed(s, {"春眠", "不觉晓", "。", "处处"}), "春眠不觉晓");
}

TEST(StopStrings, NoStopStringsPassesEverythingThrough) {
    StopStrings s({"", ""});
    EXPECT_EQ(s.push("abc"), "abc");
    EXPECT_EQ(s.held_bytes(), 0u);
}

TEST(FinishReason, NamesMatchTheJsonContract) {
    EXPECT_STREQ(finish_reason_name(FinishReason::Stop), "stop");
    EXPECT_STREQ(finish_reason_name(FinishReason::Length), "length");
    EXPECT_STREQ(finish_reason_name(FinishReason::Eos), "eos");
    EXPECT_STREQ(finish_reason_name(FinishReason::Cancelled), "cancelled");
}

}  // namespace
}  // namespace lyra::gen
