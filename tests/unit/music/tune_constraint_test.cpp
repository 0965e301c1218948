// TuneConstraint: full bars, structure, tonic ending, budget; random walks through the mask
// always give tunes that parse, pass the meter check and stay in the key.
#include <random>

#include <gtest/gtest.h>

#include "art/music/meter.h"
#include "core/error.h"
#include "art/music/tune_constraint.h"
#include "model/tokenizer/char_vocab.h"
#include "unit/music/random_walk.h"

namespace music = lyra::art::music;

namespace {

music::TuneSpec spec(const char* meter, const char* key, const char* parts, int bars) {
    music::TuneSpec s;
    s.meter = music::parse_meter(meter);
    s.unit = {1, 8};
    s.key = music::parse_key(key);
    s.parts = music::parse_parts(parts, bars);
    return s;
}

using lyra::art::music::testing::random_walk;

}  // namespace

TEST(TuneConstraint, AcceptsAWellFormedBodyAndRefusesBrokenBars) {
    auto tok = lyra::model::build_byte_vocab();
    music::TuneConstraint c(spec("6/8", "D", "AB", 2), *tok);
    EXPECT_EQ(c.bar_half_units(), 12);
    EXPECT_TRUE(c.feed("DFA d2e|"));
    EXPECT_FALSE(c.feed("f6g"));  // the bar is full after f6: only its bar line may follow
    c.reset();
    EXPECT_TRUE(c.feed("DFA d2e|f>ed B2A||\n"));
    EXPECT_FALSE(c.complete());
    EXPECT_TRUE(c.feed("d3 "));
    EXPECT_FALSE(c.feed("|"));  // bar not full
    c.reset();
    EXPECT_TRUE(c.feed("DFA d2e|f>ed B2A||\nABc d3|e2c d3|]\n"));
    EXPECT_TRUE(c.complete());
    c.reset();
    // The last note must be the tonic (D): "e3" cannot end the tune.
    EXPECT_TRUE(c.feed("DFA d2e|f>ed B2A||\nABc d3|e2c "));
    EXPECT_TRUE(c.feed("e3"));    // may still become e3/2
    EXPECT_FALSE(c.feed("|"));
    c.reset();
    EXPECT_FALSE(c.feed("^F"));  // no accidentals: every note in the key
    c.reset();
    EXPECT_FALSE(c.feed("D4/"));  // not a length the generator writes... "4/" has no completion
}

TEST(TuneConstraint, RepeatsAndParts) {
    auto tok = lyra::model::build_byte_vocab();
    music::TuneConstraint c(spec("3/4", "Ador", "AABB", 1), *tok);
    EXPECT_FALSE(c.feed("A"));  // "|:" comes first
    c.reset();
    EXPECT_TRUE(c.feed("|:A6:|\n|:c2 B2 A2:|\n"));
    EXPECT_TRUE(c.complete());
    EXPECT_THROW(music::parse_parts("ABA", 8), lyra::Error);
    EXPECT_THROW(music::parse_parts("AAAB", 8), lyra::Error);
    EXPECT_THROW(music::parse_parts("BA", 8), lyra::Error);
    EXPECT_EQ(music::parse_parts("AABBC", 8).size(), 3u);
}

TEST(TuneConstraint, RandomWalksGiveValidTunes) {
    auto tok = lyra::model::build_byte_vocab();
    const char* meters[] = {"6/8", "4/4", "3/4", "2/4", "9/8"};
    const char* keys[] = {"D", "Em", "Ador", "Gmix", "Bb"};
    for (int i = 0; i < 25; ++i) {
        music::TuneSpec s = spec(meters[i % 5], keys[(i / 5) % 5], i % 2 ? "AABB" : "AB", 4);
        s.max_tokens = 400;
        music::TuneConstraint c(s, *tok);
        std::string body = random_walk(c, *tok, static_cast<uint32_t>(i), 400);
        ASSERT_TRUE(c.complete()) << body;
        std::string abc = std::string("X:1\nM:") + meters[i % 5] + "\nL:1/8\nK:" + keys[(i / 5) % 5] + "\n" + body;
        music::Tune t = music::parse_tune(abc, "walk");
        music::MeterReport r = music::check_meter(t);
        EXPECT_TRUE(r.ok()) << abc << (r.faults.empty() ? "" : r.faults[0].message);
        int bars = 0;
        for (const auto& b : r.bars) bars += b.dur == b.want;
        EXPECT_EQ(bars, 8) << abc;
        music::Performance p = music::perform(t);
        EXPECT_DOUBLE_EQ(music::key_fit(p, s.key), 1.0) << abc;
        ASSERT_FALSE(p.notes.empty());
        EXPECT_EQ(p.notes.back().midi % 12, s.key.tonic_pc()) << abc;
    }
}

TEST(TuneConstraint, BudgetAndMinimumNotes) {
    auto tok = lyra::model::build_byte_vocab();
    music::TuneSpec s = spec("4/4", "G", "AABB", 8);
    s.max_tokens = 140;  // 16 bars: the longest notes plus bar lines just fit
    music::TuneConstraint c(s, *tok);
    std::string body = random_walk(c, *tok, 7, 140);
    EXPECT_TRUE(c.complete()) << body;
    EXPECT_LE(body.size(), 139u);
    s.max_tokens = 0;
    s.min_notes = 60;
    s.parts = music::parse_parts("A", 4);  // 4 bars of 16 half units: 64 slots
    music::TuneConstraint d(s, *tok);
    body = random_walk(d, *tok, 3, 2000);
    ASSERT_TRUE(d.complete()) << body;
    music::Performance p = music::perform(music::parse_tune("X:1\nM:4/4\nL:1/8\nK:G\n" + body, "t"));
    EXPECT_GE(p.notes.size(), 60u) << body;
}
