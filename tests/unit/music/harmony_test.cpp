// The harmonizer's diminished and slash chords (harmony.h): vii° in major and ii° in minor, first
// inversions where the bass moves by step, written as chord symbols abc2midi plays, with the
// slash bass in the bass track of our MIDI (read back by midicsv).
#include "art/music/harmony.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "art/common/process.h"
#include "art/music/meter.h"
#include "art/music/render.h"
#include "art/music/tune.h"

namespace music = lyra::art::music;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> harmonized(const char* abc, std::string* out = nullptr) {
    music::Tune t = music::parse_tune(abc, "t");
    std::vector<std::string> chords = music::harmonize(t);
    std::string written = music::write_abc(t);
    std::string why;
    EXPECT_TRUE(music::abc2midi_clean(written, &why)) << written << why;
    if (out) *out = written;
    return chords;
}

}  // namespace

TEST(ChordNames, DiminishedAndSlashChords) {
    for (const char* s : {"Bdim", "Bo", "B\u00b0", "Bd"}) {
        auto c = music::parse_chord_name(s);
        ASSERT_TRUE(c) << s;
        EXPECT_EQ(c->str(), "Bdim") << s;
    }
    EXPECT_EQ(music::parse_chord_name("B\u00f8")->str(), "Bm7b5");
    auto inv = music::parse_chord_name("C/E");
    ASSERT_TRUE(inv);
    EXPECT_EQ(inv->bass, 'E');
    EXPECT_EQ(inv->str(), "C/E");
    EXPECT_EQ(music::parse_chord_name("Bdim/D")->str(), "Bdim/D");
    EXPECT_EQ(music::parse_chord_name("E/g+")->str(), "E/G#");
    // The pitch classes: the triad, root first; the bass: the slash note, else the root.
    EXPECT_EQ(music::chord_pitch_classes("Bdim"), (std::vector<int>{11, 2, 5}));
    EXPECT_EQ(music::chord_pitch_classes("Bo/D"), (std::vector<int>{11, 2, 5}));
    EXPECT_EQ(music::chord_pitch_classes("C/E"), (std::vector<int>{0, 4, 7}));
    EXPECT_EQ(music::chord_bass_pc("C/E"), 4);
    EXPECT_EQ(music::chord_bass_pc("G"), 7);
    EXPECT_EQ(music::chord_bass_pc("D/f+"), 6);
    EXPECT_EQ(music::chord_bass_pc("Bb/D"), 2);
    EXPECT_EQ(music::chord_bass_pc("G/x"), 7);  // not a note: the root stays in the bass
    EXPECT_EQ(music::chord_bass_pc("^fine"), -1);
}

TEST(Harmony, DiminishedTriadsWhereTheMelodyOutlinesThem) {
    // B D F over a bar in C: the leading-tone triad, resolving to C.
    EXPECT_EQ(harmonized("X:1\nM:4/4\nL:1/8\nK:C\nc2e2 g2e2|B2d2 f2d2|c8|]\n"),
              (std::vector<std::string>{"C", "Bdim", "C"}));
    // The same notes in A minor are ii°, before the major dominant.
    EXPECT_EQ(harmonized("X:1\nM:3/4\nL:1/8\nK:Am\nA2 c2 e2|B2 d2 f2|E2 ^G2 B2|A6|]\n"),
              (std::vector<std::string>{"Am", "Bdim", "E", "Am"}));
    // Other modes keep their diminished triads out: F# A C outlines D Mixolydian's iii°, which is
    // not a candidate.
    std::vector<std::string> mix =
        harmonized("X:1\nM:3/4\nL:1/8\nK:Dmix\nd2 f2 a2|f2 a2 c'2|d6|]\n");
    for (const std::string& c : mix) EXPECT_EQ(c.find("dim"), std::string::npos) << c;
}

TEST(Harmony, FirstInversionWhereTheBassMovesByStep) {
    std::string abc;
    // C G/B C: the bass steps C-B-C; before the cadence the dominant is in root position.
    EXPECT_EQ(harmonized("X:1\nM:3/4\nL:1/4\nK:C\nC E G|B, D G|C E G|F A c|B, D G|C3|]\n", &abc),
              (std::vector<std::string>{"C", "G/B", "C", "F", "G", "C"}));
    EXPECT_NE(abc.find("\"G/B\"B,"), std::string::npos) << abc;
    // Nothing to gain from a step: root positions only.
    for (const std::string& c :
         harmonized("X:1\nM:6/8\nL:1/8\nK:D\n|:DFA dfa|gfe dcB|AFD EFG|A3 D3:|\n")) {
        EXPECT_EQ(c.find('/'), std::string::npos) << c;
    }
}

TEST(Harmony, TheSlashBassPlaysInTheMidiBassTrack) {
    music::Tune t =
        music::parse_tune("X:1\nM:3/4\nL:1/4\nK:C\nC E G|B, D G|C E G|F A c|B, D G|C3|]\n", "t");
    ASSERT_EQ(music::harmonize(t)[1], "G/B");
    music::Arrangement a = music::arrange(music::perform(t), "waltz");
    // The G/B bar starts at tick 3 * 480: the bass plays B there, the chords track G B D after it.
    const int64_t bar2 = 3 * music::kTicksPerQuarter;
    std::set<int> bass, chords;
    for (const auto& n : a.bass) {
        if (n.start == bar2) bass.insert(n.key % 12);
    }
    for (const auto& n : a.chords) {
        if (n.start == bar2 + music::kTicksPerQuarter) chords.insert(n.key % 12);
    }
    EXPECT_EQ(bass, std::set<int>{11});
    EXPECT_EQ(chords, (std::set<int>{7, 11, 2}));
    // The same in the written file, read back by midicsv: track 4 is the bass.
    fs::path mid =
        fs::temp_directory_path() / ("lyra_harmony_" + std::to_string(::getpid()) + ".mid");
    {
        std::ofstream f(mid, std::ios::binary);
        f << music::write_midi(a);
    }
    auto r = lyra::art::run_process({"midicsv", mid.string()}, {}, 30, "midicsv");
    fs::remove(mid);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::set<int> read;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        int track = 0, ch = 0, key = 0, vel = 0;
        long long time = 0;
        if (std::sscanf(line.c_str(), "%d, %lld, Note_on_c, %d, %d, %d", &track, &time, &ch, &key,
                        &vel) == 5 &&
            track == 4 && time == bar2 && vel > 0) {
            read.insert(key % 12);
        }
    }
    EXPECT_EQ(read, std::set<int>{11});
}
