// ABC parser and writer: the round trip over the shared corpora, keys, meters, errors.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "art/common/data_paths.h"
#include "art/music/abc.h"
#include "core/error.h"
#include "fixtures/abc_round_trip.h"

namespace music = lyra::art::music;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string error_of(std::string_view text) {
    try {
        music::parse_abc(text, "t.abc");
    } catch (const lyra::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Abc, RoundTripEveryCorpusTune) {
    fs::path root = lyra::art::shared_data_dir();
    int tunes = 0, files = 0, repairs = 0;
    for (const char* dir : {"nottingham-abc", "oneills-1850-abc"}) {
        for (const auto& entry : fs::directory_iterator(root / dir)) {
            if (entry.path().extension() != ".abc") continue;
            ++files;
            std::string text = read_all(entry.path());
            std::vector<music::Tune> a = music::parse_abc(text, entry.path().string(), false);
            for (const auto& t : a) repairs += static_cast<int>(t.repairs.size());
            std::string written = music::write_abc(a);
            std::vector<music::Tune> b = music::parse_abc(written, "written");
            ASSERT_EQ(a.size(), b.size()) << entry.path();
            for (size_t i = 0; i < a.size(); ++i) {
                ASSERT_TRUE(a[i] == b[i]) << entry.path() << " tune " << i << "\n"
                                          << music::write_abc(a[i]);
            }
            // Writing is a fixed point after one pass.
            EXPECT_EQ(music::write_abc(b), written);
            tunes += static_cast<int>(a.size());
        }
    }
    EXPECT_EQ(files, 53);
    // 1034 Nottingham + 2009 O'Neill's X: blocks.
    EXPECT_EQ(tunes, 1034 + 2009);
    EXPECT_LE(repairs, 25);  // 19 slips in the 3043 tunes (stray ties, a lone !, unclosed chords)
    std::printf("round trip: %d tunes in %d files, %d repaired\n", tunes, files, repairs);
}

TEST(Abc, ParsesTheNotationFolkTunesUse) {
    std::vector<music::Tune> t = music::parse_abc(
        "X:1\nT:Test\nM:6/8\nL:1/8\nK:Ador\n|:\"Am\"A>B c2 {g}d | (3efg !trill!a z/ [CEG]2- [CEG] :|[1 ^f=g_b ||\n",
        "t");
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].field('K'), "Ador");
    const auto& b = t[0].body;
    EXPECT_EQ(b[0].kind, music::ElemKind::Bar);
    EXPECT_EQ(b[0].text, "|:");
    EXPECT_EQ(b[1].kind, music::ElemKind::ChordSymbol);
    EXPECT_EQ(b[1].text, "Am");
    EXPECT_EQ(b[3].kind, music::ElemKind::Broken);
    bool saw_tuplet = false, saw_grace = false, saw_tie = false, saw_ending = false;
    for (const auto& e : b) {
        saw_tuplet |= e.kind == music::ElemKind::Tuplet && e.text == "3";
        saw_grace |= e.kind == music::ElemKind::Grace;
        saw_tie |= e.kind == music::ElemKind::Chord && e.tie && e.len == music::Frac(2);
        saw_ending |= e.kind == music::ElemKind::Bar && e.text == ":|" && e.ending == "1";
    }
    EXPECT_TRUE(saw_tuplet);
    EXPECT_TRUE(saw_grace);
    EXPECT_TRUE(saw_tie);
    EXPECT_FALSE(saw_ending);  // ":|[1" is a bar then a lone ending
    EXPECT_EQ(music::write_abc(t[0]),
              "X:1\nT:Test\nM:6/8\nL:1/8\nK:Ador\n|:\"Am\"A>B c2 {g}d | (3efg !trill!a z/2 "
              "[CEG]2- [CEG] :|[1 ^f=g_b ||\n");
}

TEST(Abc, ErrorsNameLineAndColumn) {
    EXPECT_NE(error_of("X:1\nK:D\nABc \"Am d|\n").find("line 3, column 5"), std::string::npos)
        << error_of("X:1\nK:D\nABc \"Am d|\n");
    EXPECT_NE(error_of("X:1\nK:D\nAB#c|\n").find("line 3, column 3: unexpected character '#'"),
              std::string::npos);
    EXPECT_NE(error_of("X:1\nT:x\nabc\n").find("line 3, column 1"), std::string::npos);
    EXPECT_NE(error_of("X:1\nK:D\nA/0 B|\n").find("line 3"), std::string::npos);
    EXPECT_NE(error_of("X:1\nK:D\n{A B|\n").find("grace"), std::string::npos);
}

TEST(Abc, KeysInEveryMode) {
    auto sig = [](const char* k) {
        auto s = music::parse_key(k).signature();
        std::string out;
        for (int a : s) out += a > 0 ? '#' : a < 0 ? 'b' : '.';
        return out;  // C D E F G A B
    };
    EXPECT_EQ(sig("D"), "#..#...");
    EXPECT_EQ(sig("Em"), "...#...");
    EXPECT_EQ(sig("Ador"), "...#...");  // A dorian = G major
    EXPECT_EQ(sig("Am"), ".......");
    EXPECT_EQ(sig("Bb"), "..b...b");
    EXPECT_EQ(sig("F#m"), sig("A"));
    EXPECT_EQ(sig("Dmix"), sig("G"));
    EXPECT_EQ(sig("Gdor"), sig("F"));
    EXPECT_EQ(sig("Bphr"), sig("G"));
    EXPECT_EQ(sig("Flyd"), sig("C"));
    EXPECT_EQ(sig("Bloc"), sig("C"));
    EXPECT_EQ(sig("D ^g"), "#..##..");
    EXPECT_EQ(music::parse_key("F#m").str(), "F#m");
    EXPECT_EQ(music::parse_key("A Dorian").str(), "Ador");
    EXPECT_THROW(music::parse_key("H"), lyra::Error);
    EXPECT_THROW(music::parse_key("Dfoo"), lyra::Error);
    EXPECT_EQ(music::parse_key("Em").tonic_pc(), 4);
}

TEST(Abc, Meters) {
    EXPECT_EQ(music::parse_meter("6/8").bar, music::Frac(3, 4));
    EXPECT_TRUE(music::parse_meter("6/8").compound());
    EXPECT_EQ(music::parse_meter("C|").bar, music::Frac(1));
    EXPECT_EQ(music::parse_meter("2+3+2/8").bar, music::Frac(7, 8));
    EXPECT_TRUE(music::parse_meter("none").free);
    EXPECT_THROW(music::parse_meter("7/7"), lyra::Error);
    EXPECT_THROW(music::parse_meter("waltz"), lyra::Error);
    EXPECT_EQ(music::default_unit(music::parse_meter("2/4")), music::Frac(1, 16));
    EXPECT_EQ(music::default_unit(music::parse_meter("6/8")), music::Frac(1, 8));
}

// Fuzz findings (fuzz_abc): what the lenient parser skips or drops must not let its neighbours
// join into a field line when the tune is written back ("m$:|" -> "m:|", the macro field m:).
TEST(Abc, SkippedCharactersNeverMakeAFieldLineWhenWrittenBack) {
    for (const char* body : {"m$:|c|]", "m`:|c|]", "m\x04:|c|]", "T$::cd|]"}) {
        const std::string text = std::string("X:1\nT:a\nK:C\n") + body + "\n";
        const std::vector<music::Tune> lenient = music::parse_abc(text, "fuzz", false);
        ASSERT_EQ(lenient.size(), 1u) << body;
        EXPECT_EQ(lyra::test::abc_tune_round_trip_problem(lenient[0]), "") << body;
    }
}

// Fuzz finding (fuzz_abc): a tie inside a broken-rhythm run ("d>->c") went to the note and left two
// '>' elements, which the writer joined into ">>" that read back as one: the run is one element.
TEST(Abc, TieInsideABrokenRhythmRunKeepsTheRunWhole) {
    for (bool strict : {true, false}) {
        const std::vector<music::Tune> t =
            music::parse_abc("X:1\nM:4/4\nL:1/8\nK:D\nd>->c d2 cd |\n", "fuzz", strict);
        ASSERT_EQ(t.size(), 1u);
        const std::string written = music::write_abc(t[0]);
        EXPECT_NE(written.find("d->>c"), std::string::npos) << written;
        EXPECT_EQ(lyra::test::abc_tune_round_trip_problem(t[0]), "");
    }
    EXPECT_THROW(music::parse_abc("X:1\nK:D\nd>>->>c d2 |\n", "fuzz", true), lyra::Error);  // a run of 4
}

// Found by fuzz_abc: the lenient parser dropped the stray tie of "m-:|" without leaving a space,
// so "m" (itself dropped, as a space) and ":|" were written back as "m:|", which reparses as a
// field line. Every dropped character now leaves a space.
TEST(Abc, LenientParseOfStrayBytesRoundTrips) {
    const std::string text("X:1/8\nK:Ador ^c\nm-:|CEC\377\377\0\0\0\0.\0", 31);
    // The lenient parser takes it (the strict one may refuse it), so there is a tune to check.
    ASSERT_EQ(music::parse_abc(text, "fuzz", false).size(), 1u);
    EXPECT_EQ(lyra::test::abc_round_trip_problem(text), "");
}

// The round-trip check the tests above and fuzz_abc share (tests/fixtures/abc_round_trip.h) finds
// each way a tune can fail to come back: writing that does not parse, that splits into two
// tunes, or that reads back as another tune; and it passes a tune that does come back.
TEST(AbcRoundTrip, NamesEachWayATuneFailsToComeBack) {
    const music::Tune good = music::parse_tune("X:1\nT:a\nK:D\nd2 cd |\n", "t");
    EXPECT_EQ(lyra::test::abc_tune_round_trip_problem(good), "");
    EXPECT_EQ(lyra::test::abc_round_trip_problem("X:1\nT:a\nK:D\nd2 cd |\n"), "");

    music::Tune unparsable = good;
    unparsable.body.push_back({.kind = music::ElemKind::Decoration, .text = "#"});
    EXPECT_NE(lyra::test::abc_tune_round_trip_problem(unparsable).find("which does not parse"),
              std::string::npos)
        << lyra::test::abc_tune_round_trip_problem(unparsable);

    music::Tune split = good;
    split.header[1].second = "a\nK:C\n\nX:2";  // a title that ends the tune and starts another
    EXPECT_NE(lyra::test::abc_tune_round_trip_problem(split).find("reads back as 2 tunes"),
              std::string::npos)
        << lyra::test::abc_tune_round_trip_problem(split);

    music::Tune other = good;
    // Two blanks in a row before the first note: the reading does not give both back.
    other.body.insert(other.body.begin(), {.kind = music::ElemKind::Space});
    other.body.insert(other.body.begin(), {.kind = music::ElemKind::Space});
    EXPECT_NE(lyra::test::abc_tune_round_trip_problem(other).find("reads back as another tune"),
              std::string::npos)
        << lyra::test::abc_tune_round_trip_problem(other);
}
