// The English checker: known poems keep their forms (or fail exactly where the checker says
// they depart from the modern dictionary), broken poems fail with explained faults.
#include <gtest/gtest.h>

#include "art/poetry/en/en_poem.h"
#include "art/poetry/en/forms.h"
#include "core/error.h"

namespace lyra::art::poetry::en {
namespace {

// Shakespeare, Sonnet 18 (1609, public domain).
constexpr const char* kSonnet18 =
    "Shall I compare thee to a summer's day?\n"
    "Thou art more lovely and more temperate:\n"
    "Rough winds do shake the darling buds of May,\n"
    "And summer's lease hath all too short a date;\n"
    "Sometime too hot the eye of heaven shines,\n"
    "And often is his gold complexion dimm'd;\n"
    "And every fair from fair sometime declines,\n"
    "By chance or nature's changing course untrimm'd;\n"
    "But thy eternal summer shall not fade,\n"
    "Nor lose possession of that fair thou ow'st;\n"
    "Nor shall Death brag thou wander'st in his shade,\n"
    "When in eternal lines to time thou grow'st:\n"
    "   So long as men can breathe or eyes can see,\n"
    "   So long lives this, and this gives life to thee.\n";

// Edward Lear, A Book of Nonsense (1846, public domain).
constexpr const char* kLearBeard =
    "There was an Old Man with a beard,\n"
    "Who said, \"It is just as I feared!\n"
    "Two Owls and a Hen,\n"
    "Four Larks and a Wren,\n"
    "Have all built their nests in my beard!\"\n";

// A. H. Reginald Buller, Punch (1923, public domain in the US).
constexpr const char* kBright =
    "There was a young lady named Bright\n"
    "Whose speed was far faster than light;\n"
    "She set out one day\n"
    "In a relative way,\n"
    "And returned on the previous night.\n";

// Written for these tests.
constexpr const char* kPoetLimerick =
    "A poet who lived by the sea\n"
    "Wrote verses for you and for me;\n"
    "He counted with care\n"
    "Each beat in the air,\n"
    "And sang them as sweet as could be.\n";

// Basho, two haiku in our own English versions.
constexpr const char* kOldPond =
    "The old quiet pond\n"
    "a frog jumps into the pond:\n"
    "the sound of water.\n";
constexpr const char* kCrow =
    "On a withered branch\n"
    "a crow has come to settle:\n"
    "the autumn evening.\n";

constexpr const char* kSunAcrostic =
    "Softly the morning light is born,\n"
    "Under the hills the rivers run,\n"
    "Now every bird begins to sing.\n";

std::string describe(const std::vector<Fault>& faults) {
    std::string s;
    for (const Fault& f : faults) s += f.message + "\n";
    return s;
}

TEST(Checker, KnownGoodPoemsPass) {
    EXPECT_TRUE(check_poem("limerick", kBright).empty()) << describe(check_poem("limerick", kBright));
    EXPECT_TRUE(check_poem("limerick", kPoetLimerick).empty()) << describe(check_poem("limerick", kPoetLimerick));
    EXPECT_TRUE(check_poem("haiku", kOldPond).empty()) << describe(check_poem("haiku", kOldPond));
    EXPECT_TRUE(check_poem("haiku", kCrow).empty()) << describe(check_poem("haiku", kCrow));
    EXPECT_TRUE(check_poem("acrostic", kSunAcrostic, "SUN").empty()) << describe(check_poem("acrostic", kSunAcrostic, "SUN"));
    EXPECT_TRUE(check_poem("acrostic", kSunAcrostic).empty());
}

TEST(Checker, Sonnet18KeepsItsMeterAndAllButOneRhyme) {
    // Every line scans to 10 syllables (with "ow'st", "dimm'd" and the dictionary's readings);
    // "temperate"/"date" rhymed in 1609 but not in the CMU dictionary's modern stress, and the
    // checker says exactly that.
    const auto faults = check_poem("sonnet", kSonnet18);
    ASSERT_EQ(faults.size(), 1u) << describe(faults);
    EXPECT_EQ(faults[0].line, 4);
    EXPECT_EQ(faults[0].position, 9);
    EXPECT_EQ(faults[0].found, "date");
    EXPECT_EQ(faults[0].expected, "a rhyme with 'temperate' (line 2)");
    const auto report = check_report("sonnet", kSonnet18);
    EXPECT_DOUBLE_EQ(report.at("syllable_accuracy").get<double>(), 1.0);
    EXPECT_GT(report.at("meter").get<double>(), 0.8);  // iambic
}

TEST(Checker, LearRepeatsHisRhymeWord) {
    const auto faults = check_poem("limerick", kLearBeard);
    ASSERT_EQ(faults.size(), 1u) << describe(faults);
    EXPECT_EQ(faults[0].line, 5);
    EXPECT_EQ(faults[0].found, "beard");
    EXPECT_NE(faults[0].message.find("repeated"), std::string::npos);
}

TEST(Checker, BrokenPoemsFailWithExplainedFaults) {
    // Wrong syllable count.
    auto f = check_poem("haiku", "The old and quiet pond\na frog jumps into the pond:\nthe sound of water.\n");
    ASSERT_EQ(f.size(), 1u) << describe(f);
    EXPECT_EQ(f[0].line, 1);
    EXPECT_EQ(f[0].expected, "5 syllables");
    EXPECT_EQ(f[0].found, "6 syllables");
    EXPECT_EQ(f[0].message, "line 1: 5 syllables expected, found 6 (\"The old and quiet pond\")");
    // Wrong rhyme.
    std::string bad = kBright;
    bad.replace(bad.find("light"), 5, "sound");
    f = check_poem("limerick", bad);
    ASSERT_EQ(f.size(), 1u) << describe(f);
    EXPECT_EQ(f[0].line, 2);
    EXPECT_EQ(f[0].message, "line 2, word 7: a rhyme with 'bright' (line 1) expected, 'sound' does not rhyme");
    // Missing lines.
    f = check_poem("haiku", "The old quiet pond\na frog jumps into the pond:\n");
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f[0].line, 0);
    EXPECT_EQ(f[0].message, "poem: a haiku has 3 lines; found 2");
    // Wrong acrostic letter.
    f = check_poem("acrostic", kSunAcrostic, "SON");
    ASSERT_EQ(f.size(), 1u) << describe(f);
    EXPECT_EQ(f[0].line, 2);
    EXPECT_EQ(f[0].message, "line 2, word 1: a word starting with 'O' expected, found 'Under'");
    // A sonnet cut short and out of rhyme.
    std::string sonnet = kSonnet18;
    sonnet.replace(sonnet.find("buds of May"), 11, "buds of June");
    f = check_poem("sonnet", sonnet);
    bool june = false;
    for (const Fault& x : f) june = june || (x.line == 3 && x.found == "june");
    EXPECT_TRUE(june) << describe(f);
}

TEST(Checker, BadInputIsRefused) {
    EXPECT_THROW(check_poem("villanelle", kOldPond), Error);
    try {
        check_poem("haiku", kOldPond, "AB");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "acrostic: a haiku has 3 lines; expected 3 letters, got 2 ('AB')");
    }
    EXPECT_THROW(check_poem("haiku", kOldPond, "A1C"), Error);
}

TEST(Forms, ListAndLookup) {
    const auto list = forms();
    ASSERT_EQ(list.size(), 4u);
    EXPECT_EQ(list[0].first, "haiku");
    EXPECT_EQ(list[2].first, "sonnet");
    EXPECT_TRUE(is_form("limerick"));
    EXPECT_TRUE(is_form("acrostic"));
    EXPECT_FALSE(is_form("wujue"));
    EXPECT_EQ(resolve_form("acrostic", "MOON").lines.size(), 4u);
}

}  // namespace
}  // namespace lyra::art::poetry::en
