// Meter engine: bar checks, durations, repeats and endings, key fit.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "art/common/data_paths.h"
#include "art/music/meter.h"

namespace music = lyra::art::music;
namespace fs = std::filesystem;

namespace {
music::Tune tune(const std::string& body, const std::string& meter = "6/8") {
    return music::parse_tune("X:1\nM:" + meter + "\nL:1/8\nK:D\n" + body, "t");
}
}  // namespace

TEST(Meter, FullBarsPass) {
    EXPECT_TRUE(music::check_meter(tune("|:DFA dfa|g2e c3:|\n")).ok());
    EXPECT_TRUE(music::check_meter(tune("A>B c2 d2 e2|(3fga b2 c'4|\n", "4/4")).ok());
    EXPECT_TRUE(music::check_meter(tune("[DFA]3 [CEG]3|Z2|d6|]\n")).ok());
}

TEST(Meter, PickupAndSectionEndMayBeShort) {
    EXPECT_TRUE(music::check_meter(tune("A|DFA dfa|g2e c2:|\n")).ok());
    EXPECT_TRUE(music::check_meter(tune("|:DFA dfa|[1g2e c3:|[2g2e c2||\n")).ok());
}

TEST(Meter, ShortOrLongBarInsideIsAFault) {
    music::MeterReport r = music::check_meter(tune("DFA dfa|g2e c2|DFA dfa|]\n"));
    ASSERT_EQ(r.faults.size(), 1u);
    EXPECT_EQ(r.faults[0].bar, 2);
    EXPECT_NE(r.faults[0].message.find("line 5, column 9"), std::string::npos) << r.faults[0].message;
    r = music::check_meter(tune("DFA dfa|g2e c3 d|]\n"));
    ASSERT_EQ(r.faults.size(), 1u);
    EXPECT_EQ(r.faults[0].got, music::Frac(7, 8));
}

TEST(Meter, PerformanceExpandsRepeatsAndEndings) {
    music::Performance p = music::perform(tune("|:D3 F3|[1A6:|[2d6|]\n"));
    std::vector<int> midi;
    for (const auto& n : p.notes) midi.push_back(n.midi);
    // D F# A, D F# d ; F is sharp in D major.
    EXPECT_EQ(midi, (std::vector<int>{62, 66, 69, 62, 66, 74}));
    EXPECT_EQ(p.total, music::Frac(3));
    p = music::perform(tune("D3- D3|=F3 F3|F6|]\n"));
    ASSERT_EQ(p.notes.size(), 4u);
    EXPECT_EQ(p.notes[0].dur, music::Frac(3, 4));
    EXPECT_EQ(p.notes[1].midi, 65);  // =F overrides the key's F#
    EXPECT_EQ(p.notes[2].midi, 65);  // carried through the bar
    EXPECT_EQ(p.notes[3].midi, 66);  // next bar: back to the key
}

// Ending numbers far past any pass count (as a corrupt file has them) saturate instead of
// overflowing, and such an ending is simply never played.
TEST(Meter, HugeEndingNumbersAreNeverPlayedAndDoNotOverflow) {
    const music::Performance p = music::perform(tune("|:D3 F3|[1A6:|[4444444444d6|[2-999999999F6|]\n"));
    std::vector<int> midi;
    for (const auto& n : p.notes) midi.push_back(n.midi);
    EXPECT_EQ(midi, (std::vector<int>{62, 66, 69, 62, 66, 66}));
}

// A tuplet number far past any tuplet is refused like any other past 64. A fuzz finding:
// "(3888888888" overflowed int (the parser takes up to 12 digits and colons), and 2^32 + 3
// wrapped into a triplet that shortened its bar.
TEST(Meter, HugeTupletNumbersAreRefusedAndDoNotOverflow) {
    EXPECT_TRUE(music::check_meter(tune("DFA dfa|(4294967299g2e c3|g2e c3|]\n")).ok());
    EXPECT_TRUE(music::check_meter(tune("DFA dfa|(9999999999:2g2e c3|g2e c3|]\n")).ok());
    EXPECT_FALSE(music::check_meter(tune("DFA dfa|(3g2e c3|g2e c3|]\n")).ok());  // a real triplet shortens its bar
}

TEST(Meter, KeyFitAndChords) {
    music::Performance p = music::perform(tune("DEF GAB|c'3 d'3|]\n"));
    EXPECT_DOUBLE_EQ(music::key_fit(p, music::parse_key("D")), 1.0);
    EXPECT_LT(music::key_fit(p, music::parse_key("Eb")), 0.5);
    EXPECT_EQ(music::chord_pitch_classes("Am"), (std::vector<int>{9, 0, 4}));
    EXPECT_EQ(music::chord_pitch_classes("D7"), (std::vector<int>{2, 6, 9, 0}));
    EXPECT_TRUE(music::chord_pitch_classes("fine").empty());
}

TEST(Meter, MostCorpusTunesPassTheCheck) {
    fs::path root = lyra::art::shared_data_dir();
    int total = 0, clean = 0;
    for (const char* dir : {"nottingham-abc", "oneills-1850-abc"}) {
        for (const auto& entry : fs::directory_iterator(root / dir)) {
            if (entry.path().extension() != ".abc") continue;
            std::ifstream f(entry.path());
            std::stringstream ss;
            ss << f.rdbuf();
            for (const auto& t : music::parse_abc(ss.str(), "c", false)) {
                ++total;
                try {
                    clean += music::check_meter(t).ok();
                } catch (const std::exception&) {
                }
            }
        }
    }
    std::printf("meter check: %d of %d corpus tunes clean\n", clean, total);
    EXPECT_GT(clean, total * 8 / 10);
}
