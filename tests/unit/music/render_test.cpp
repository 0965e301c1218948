// Rendering, harmony, lyrics, transposition and the corpus builder. MIDI is read back with
// midicsv and WAV with sox (Debian packages the setup script installs).
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "art/common/process.h"
#include "art/music/harmony.h"
#include "art/music/meter.h"
#include "art/music/render.h"
#include "art/music/tune.h"
#include "core/error.h"
#include "fixtures/abc_round_trip.h"

namespace music = lyra::art::music;
namespace fs = std::filesystem;

namespace {

const char* kTune =
    "X:1\nT:Test\nR:jig\nM:6/8\nL:1/8\nQ:1/4=120\nK:D\n|:DFA dfa|gfe dcB|AFD EFG|A3 D3:|\n";

std::string write_temp(const std::string& name, const std::string& bytes) {
    fs::path p = fs::temp_directory_path() / ("lyra_music_test_" + std::to_string(::getpid()) + name);
    std::ofstream f(p, std::ios::binary);
    f << bytes;
    return p.string();
}

}  // namespace

TEST(Render, MidiReadBackByMidicsvGivesTheNotes) {
    music::Tune t = music::parse_tune(kTune, "t");
    music::Performance p = music::perform(t);
    ASSERT_EQ(p.notes.size(), 40u);  // 20 notes, played twice
    music::Arrangement a = music::arrange(p, "jig");
    std::string path = write_temp("a.mid", music::write_midi(a));
    auto r = lyra::art::run_process({"midicsv", path}, {}, 30, "midicsv");
    fs::remove(path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<int> keys;
    std::vector<long> starts;
    bool tempo = false, time_sig = false, key_sig = false;
    int tracks = 0;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("Start_track") != std::string::npos) ++tracks;
        tempo |= line.find("Tempo, 500000") != std::string::npos;
        time_sig |= line.find("Time_signature, 6, 3") != std::string::npos;
        key_sig |= line.find("Key_signature, 2, \"major\"") != std::string::npos;
        // "2, 0, Note_on_c, 0, 62, 100": track 2 is the melody
        if (line.rfind("2, ", 0) == 0 && line.find("Note_on_c") != std::string::npos) {
            std::vector<std::string> f;
            std::stringstream ss(line);
            std::string x;
            while (std::getline(ss, x, ',')) f.push_back(x);
            starts.push_back(std::stol(f[1]));
            keys.push_back(std::stoi(f[4]));
        }
    }
    EXPECT_EQ(tracks, 4);
    EXPECT_TRUE(tempo);
    EXPECT_TRUE(time_sig);
    EXPECT_TRUE(key_sig);
    ASSERT_EQ(keys.size(), p.notes.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(keys[i], p.notes[i].midi);
        EXPECT_EQ(starts[i], p.notes[i].start.num * 1920 / p.notes[i].start.den);
    }
    EXPECT_EQ(keys[0], 62);  // D
    EXPECT_EQ(keys[1], 66);  // F# from the key
    EXPECT_EQ(starts[1], 240);
}

TEST(Render, WavHasTheExpectedDurationBySox) {
    music::Tune t = music::parse_tune(kTune, "t");
    music::harmonize(t);
    music::Arrangement a = music::arrange(music::perform(t), "jig");
    EXPECT_FALSE(a.chords.empty());
    EXPECT_FALSE(a.bass.empty());
    std::string wav = music::render_wav(a, music::find_soundfont(), 22050, 1.0);
    std::string path = write_temp("a.wav", wav);
    auto r = lyra::art::run_process({"sox", "--i", "-D", path}, {}, 30, "sox");
    fs::remove(path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    double got = std::stod(r.out);
    // 8 bars of 6/8 at 120 quarters a minute: 8 * 1.5 s, plus the 1 s tail.
    double want = 8 * 1.5 + 1.0;
    EXPECT_NEAR(music::wav_seconds(a), want, 1e-9);
    EXPECT_NEAR(got, want, want * 0.01);
    // Not silent.
    int16_t peak = 0;
    for (size_t i = 44; i + 1 < wav.size(); i += 2) {
        int16_t s = static_cast<int16_t>(static_cast<uint8_t>(wav[i]) | (static_cast<uint8_t>(wav[i + 1]) << 8));
        peak = std::max<int16_t>(peak, static_cast<int16_t>(std::abs(s)));
    }
    EXPECT_GT(peak, 1000);
}

TEST(Render, MissingSoundFontNamesThePackage) {
    setenv("LYRA_SOUNDFONT", "/nonexistent/x.sf2", 1);
    try {
        music::find_soundfont();
        FAIL() << "expected an error";
    } catch (const lyra::Error& e) {
        EXPECT_NE(std::string(e.what()).find("timgm6mb-soundfont"), std::string::npos) << e.what();
    }
    unsetenv("LYRA_SOUNDFONT");
}

TEST(Render, SvgByAbcm2ps) {
    std::string svg = music::render_svg(kTune);
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    // No time stamp: the same tune engraves to the same bytes whenever it runs.
    EXPECT_EQ(svg.find("CreationDate"), std::string::npos);
    EXPECT_NE(svg.find("<!-- Creator: abcm2ps"), std::string::npos);
}

TEST(Harmony, CadencesAndFit) {
    music::Tune t = music::parse_tune(kTune, "t");
    std::vector<std::string> chords = music::harmonize(t);
    ASSERT_GE(chords.size(), 4u);
    EXPECT_EQ(chords.front(), "D");
    EXPECT_EQ(chords.back(), "D");
    // Bar 1 (D F A d f a) is all D-major chord tones.
    std::string abc = music::write_abc(t);
    EXPECT_NE(abc.find("|:\"D\"DFA"), std::string::npos) << abc;
    EXPECT_TRUE(music::abc2midi_clean(abc)) << abc;
    // Harmonizing again replaces, not adds.
    EXPECT_EQ(music::harmonize(t), chords);
    music::Tune m = music::parse_tune("X:1\nM:3/4\nL:1/8\nK:Am\nA2 c2 e2|B2 d2 ^G2|A6|]\n", "m");
    std::vector<std::string> mc = music::harmonize(m);
    ASSERT_EQ(mc.size(), 3u);
    EXPECT_EQ(mc[0], "Am");
    EXPECT_EQ(mc[1], "E");  // the major dominant in minor
    EXPECT_EQ(mc[2], "Am");
}

TEST(Lyrics, SyllablesAndAlignment) {
    EXPECT_EQ(music::split_word("happy"), (std::vector<std::string>{"hap", "py"}));
    EXPECT_EQ(music::split_word("melody"), (std::vector<std::string>{"me", "lo", "dy"}));
    EXPECT_EQ(music::split_word("time"), (std::vector<std::string>{"time"}));
    EXPECT_EQ(music::split_word("little"), (std::vector<std::string>{"lit", "tle"}));
    auto s = music::syllabify("Happy day, 明月光!");
    ASSERT_EQ(s.size(), 6u);
    EXPECT_EQ(s[0].text, "Hap");
    EXPECT_FALSE(s[0].word_end);
    EXPECT_EQ(s[3].text, "明");
    EXPECT_THROW(music::syllabify("  ,.;  \n"), lyra::Error);
    music::Tune t = music::parse_tune(kTune, "t");
    music::set_lyrics(t, music::syllabify("Happy day to you"));
    std::string abc = music::write_abc(t);
    EXPECT_NE(abc.find("w:Hap-"), std::string::npos) << abc;
    EXPECT_TRUE(music::abc2midi_clean(abc)) << abc;
    EXPECT_EQ(lyra::test::abc_tune_round_trip_problem(t), "");  // the lyrics come back too
    std::vector<music::Syllable> lots;
    for (int i = 0; i < 40; ++i) lots.push_back({"la", true});
    EXPECT_THROW(music::set_lyrics(t, lots), lyra::Error);  // 20 notes
}

TEST(Corpus, TransposeAndBuild) {
    music::Tune t = music::parse_tune("X:1\nM:6/8\nL:1/8\nK:D\nDFA d^cB|A3 =c3|]\n", "t");
    music::Performance before = music::perform(t);
    ASSERT_TRUE(music::transpose_tune(t, 2));
    EXPECT_EQ(t.field('K'), "E");
    music::Performance after = music::perform(t);
    ASSERT_EQ(before.notes.size(), after.notes.size());
    for (size_t i = 0; i < before.notes.size(); ++i) EXPECT_EQ(after.notes[i].midi, before.notes[i].midi + 2);
    ASSERT_TRUE(music::transpose_tune(t, -4));  // E -> C
    EXPECT_EQ(t.field('K'), "C");
    EXPECT_EQ(music::perform(t).notes[0].midi, before.notes[0].midi - 2);

    int docs = 0, transposed = 0;
    std::set<std::string> keys;
    music::build_abc_corpus({{"dirs", {"nottingham-abc"}}, {"transpose", {3}}}, [&](std::string d) {
        ++docs;
        ASSERT_EQ(d.find("\n\n"), std::string::npos);
        ASSERT_EQ(d.rfind("X:1\nT:", 0), 0u) << d;
        music::Tune u = music::parse_tune(d, "doc");
        EXPECT_EQ(u.field('L'), "1/8");
        EXPECT_FALSE(u.field('R').empty());
        for (const auto& e : u.body) ASSERT_NE(e.kind, music::ElemKind::ChordSymbol);
        keys.insert(u.field('K'));
        transposed += u.field('K') == "Bb" || u.field('K') == "F";
    });
    std::printf("abc corpus (Nottingham, +3 semitones): %d documents\n", docs);
    EXPECT_GT(docs, 1500);
    EXPECT_GT(transposed, 100);
}
