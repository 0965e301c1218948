// `lyra tune` end to end on a random-weight char model: the meter/key constraint makes even
// untrained weights write tunes that abc2midi accepts cleanly; files come all or none; bad
// input gives one clear error and no files.
#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/cli_runner.h"

namespace fs = std::filesystem;
using lyra::e2e::run_lyra;
using lyra::e2e::run_program;
using lyra::e2e::TempDir;

namespace {

void write(const fs::path& p, const std::string& s) {
    std::ofstream f(p, std::ios::binary);
    f << s;
}

// A random-weight model whose char vocabulary covers ABC (built once for the suite).
class TuneCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        setenv("LYRA_GALLERY", "off", 1);  // the tests' tunes stay out of the user's gallery
        dir_ = new TempDir();
        fs::path text = dir_->path() / "abc.txt";
        write(text, "X:1\nT:Lyra's reel\nR:reel jig slip hornpipe polka waltz march slide air mazurka\n"
                    "M:6/8\nL:1/8\nQ:1/4=120\nK:Dmix Em Ador Bb F#m\nABCDEFG abcdefg z ,' /23456 |:]> <\n");
        model_ = (dir_->path() / "random.gguf").string();
        auto r = run_lyra({"model", "init", "--arch", "llama", "--dim", "64", "--layers", "2", "--heads", "2",
                           "--ctx", "1024", "--tokenizer", "char:" + text.string(), "-o", model_});
        ASSERT_EQ(r.code, 0) << r.err;
        // A random-weight English verse model for --write-lyrics (the committed ones are tested too).
        fs::path verse = dir_->path() / "verse.txt";
        write(verse, "form: verse\ntitle: Lyra's waltz\nabcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ ,.;:!?'\n");
        verse_model_ = (dir_->path() / "verse.gguf").string();
        r = run_lyra({"model", "init", "--arch", "llama", "--dim", "32", "--layers", "1", "--heads", "2", "--ctx",
                      "512", "--tokenizer", "char:" + verse.string(), "-o", verse_model_});
        ASSERT_EQ(r.code, 0) << r.err;
    }
    static void TearDownTestSuite() {
        unsetenv("LYRA_GALLERY");
        delete dir_;
        dir_ = nullptr;
    }
    static TempDir* dir_;
    static std::string model_, verse_model_;
};
TempDir* TuneCli::dir_ = nullptr;
std::string TuneCli::model_;
std::string TuneCli::verse_model_;

bool abc2midi_clean(const fs::path& abc, std::string* why) {
    fs::path mid = abc;
    mid.replace_extension(".check.mid");
    auto r = run_program("/usr/bin/abc2midi", {abc.string(), "-o", mid.string()});
    fs::remove(mid);
    std::string all = r.out + r.err;
    *why = all;
    return r.code == 0 && all.find("Error") == std::string::npos && all.find("Warning") == std::string::npos;
}

bool abc2midi_clean_text(const std::string& abc, const fs::path& dir, std::string* why) {
    write(dir / "check.abc", abc);
    return abc2midi_clean(dir / "check.abc", why);
}

}  // namespace

TEST_F(TuneCli, WritesAbcMidiWavSvgThatAbc2midiAccepts) {
    TempDir out;
    auto r = run_lyra({"tune", "-m", model_, "--rhythm", "jig", "--key", "Em", "--bars", "4", "--chords",
                       "--seed", "3", "-o", out.path().string(), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["form"], "tune");
    EXPECT_EQ(j["scores"]["meter_ok"], 1);
    EXPECT_DOUBLE_EQ(j["scores"]["key_fit"].get<double>(), 1.0);
    EXPECT_EQ(j["scores"]["parts"], "AABB");
    for (const char* f : {"tune.abc", "tune.mid", "tune.wav", "tune.svg"}) {
        EXPECT_TRUE(fs::exists(out.path() / f)) << f;
    }
    std::string abc = lyra::e2e::read_all(out.path() / "tune.abc");
    EXPECT_NE(abc.find("M:6/8\nL:1/8\n"), std::string::npos) << abc;
    EXPECT_NE(abc.find("K:Em\n"), std::string::npos) << abc;
    EXPECT_NE(abc.find("\"Em\""), std::string::npos) << abc;  // chords, starting on the tonic
    std::string why;
    EXPECT_TRUE(abc2midi_clean(out.path() / "tune.abc", &why)) << abc << why;
    auto sox = run_program("/usr/bin/sox", {"--i", "-D", (out.path() / "tune.wav").string()});
    ASSERT_EQ(sox.code, 0);
    EXPECT_NEAR(std::stod(sox.out), j["scores"]["wav_seconds"].get<double>(),
                j["scores"]["wav_seconds"].get<double>() * 0.01);
    EXPECT_NE(lyra::e2e::read_all(out.path() / "tune.svg").find("<svg"), std::string::npos);
}

TEST_F(TuneCli, RandomWeightsUnderConstraintsAreAlwaysAbc2midiClean) {
    // Two rhythms here (hornpipe: abc2midi swings it itself; slip jig: 9/8); the full table
    // over every rhythm is `lyra tune eval` (docs/music.md).
    for (const char* rhythm : {"hornpipe", "slip jig"}) {
    auto r = run_lyra({"tune", "eval", "-m", model_, "--rhythm", rhythm, "--count", "2", "--bars", "2", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["total"]["count"], 2);
    EXPECT_DOUBLE_EQ(j["total"]["abc2midi_clean"].get<double>(), 1.0) << j.dump();
    EXPECT_DOUBLE_EQ(j["total"]["meter_ok"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["total"]["key_fit"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["total"]["parts_ok"].get<double>(), 1.0);
    }
}

TEST_F(TuneCli, LyricsGetOneNoteEach) {
    TempDir out;
    write(out.path() / "words.txt", "Happy birthday dear Lyra,\nmay your tunes be long\n");
    auto r = run_lyra({"tune", "-m", model_, "--rhythm", "waltz", "--key", "G", "--bars", "4", "--parts", "AB",
                       "--lyrics", (out.path() / "words.txt").string(), "--seed", "5"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("w:Hap-"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" Ly-"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" long"), std::string::npos) << r.out;
    write(out.path() / "zh.txt", "明月几时有");
    r = run_lyra({"tune", "-m", model_, "--rhythm", "air", "--key", "D", "--bars", "2", "--parts", "A",
                  "--lyrics", (out.path() / "zh.txt").string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("w:明"), std::string::npos) << r.out;
}

TEST_F(TuneCli, WriteLyricsGivesEveryPhraseItsSyllablesAndEveryNoteOne) {
    TempDir out;
    auto r = run_lyra({"tune", "-m", model_, "--rhythm", "waltz", "--key", "G", "--bars", "4", "--parts", "AB",
                       "--write-lyrics", "en", "--lyrics-model", verse_model_, "--seed", "2", "-o",
                       out.path().string(), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_TRUE(j["files"].contains("txt")) << r.out;
    std::string words = lyra::e2e::read_all(out.path() / "lyrics.txt");
    EXPECT_EQ(j["scores"]["lyrics"], words);
    EXPECT_EQ(std::count(words.begin(), words.end(), '\n'), 4) << words;  // 8 bars: four 2-bar phrases
    std::string abc = lyra::e2e::read_all(out.path() / "tune.abc");
    EXPECT_NE(abc.find("\nw:"), std::string::npos) << abc;
    std::string why;
    EXPECT_TRUE(abc2midi_clean(out.path() / "tune.abc", &why)) << abc << why;
    EXPECT_NE(lyra::e2e::read_all(out.path() / "tune.svg").find("<svg"), std::string::npos);

    // A given melody and the committed Chinese model: one character per note of each phrase
    // (bars 1-2 hold 8 notes, bars 3-4 five; the tied G is one note).
    write(out.path() / "m.abc", "X:1\nT:Given\nM:4/4\nL:1/4\nK:G\nG B d B|c A F D|G B A F|G2-G2|]\n");
    r = run_lyra({"tune", "--melody", (out.path() / "m.abc").string(), "--write-lyrics", "zh", "--seed", "1",
                  "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    j = nlohmann::json::parse(r.out);
    std::istringstream lines(j["scores"]["lyrics"].get<std::string>());
    std::vector<std::string> got;
    for (std::string line; std::getline(lines, line);) got.push_back(line);
    ASSERT_EQ(got.size(), 2u) << j.dump();
    EXPECT_EQ(got[0].size(), 8u * 3) << got[0];  // UTF-8: three bytes a character
    EXPECT_EQ(got[1].size(), 5u * 3) << got[1];
    std::string text = j["text"];
    EXPECT_NE(text.find("w:" + got[0].substr(0, 3) + " "), std::string::npos) << text;
    EXPECT_TRUE(abc2midi_clean_text(text, out.path(), &why)) << text << why;
}

TEST_F(TuneCli, HarmonizesAGivenMelodyWithoutAModel) {
    TempDir out;
    write(out.path() / "m.abc", "X:1\nT:Given\nM:4/4\nL:1/8\nK:G\nG2B2 d2B2|c2A2 F2D2|G2B2 A2F2|G8|]\n");
    auto r = run_lyra({"tune", "--melody", (out.path() / "m.abc").string(), "--chords"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"G\"G2B2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"G\"G8"), std::string::npos) << r.out;
}

TEST_F(TuneCli, ChordsModelPutsTheModelsKeyChordsIntoTheAbcAndTheMidi) {
    // Pitch classes of the chords A Dorian allows (worked by hand).
    const std::map<std::string, std::set<int>> allowed = {
        {"Am", {9, 0, 4}}, {"Bm", {11, 2, 6}}, {"C", {0, 4, 7}},  {"D", {2, 6, 9}},      {"D7", {2, 6, 9, 0}},
        {"Em", {4, 7, 11}}, {"G", {7, 11, 2}}, {"E", {4, 8, 11}}, {"E7", {4, 8, 11, 2}}};
    TempDir out;
    auto r = run_lyra({"tune", "-m", model_, "--rhythm", "reel", "--key", "Ador", "--bars", "2", "--chords", "model",
                       "--seed", "4", "-o", out.path().string(), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    std::string abc = lyra::e2e::read_all(out.path() / "tune.abc");
    std::vector<std::string> chords;
    for (size_t q = abc.find('"'); q != std::string::npos; q = abc.find('"', abc.find('"', q + 1) + 1)) {
        chords.push_back(abc.substr(q + 1, abc.find('"', q + 1) - q - 1));
    }
    ASSERT_FALSE(chords.empty()) << abc;
    for (const std::string& c : chords) EXPECT_TRUE(allowed.count(c)) << c << "\n" << abc;
    EXPECT_EQ(j["scores"]["chords"], chords.size());
    std::string why;
    EXPECT_TRUE(abc2midi_clean(out.path() / "tune.abc", &why)) << abc << why;
    // The MIDI chords track (midicsv track 3, channel 1) opens with the model's first chord.
    auto csv = run_program("/usr/bin/midicsv", {(out.path() / "tune.mid").string()});
    ASSERT_EQ(csv.code, 0) << csv.err;
    std::set<int> first;
    std::istringstream lines(csv.out);
    std::string line;
    while (std::getline(lines, line)) {
        int track = 0, ch = 0, key = 0, vel = 0;
        long long time = 0;
        if (std::sscanf(line.c_str(), "%d, %lld, Note_on_c, %d, %d, %d", &track, &time, &ch, &key, &vel) == 5 &&
            track == 3 && time == 0 && vel > 0) {
            first.insert(key % 12);
        }
    }
    EXPECT_EQ(first, allowed.at(chords[0])) << chords[0];
}

TEST_F(TuneCli, ChordsModelWithoutAModelIsOneClearError) {
    // A copy of the binary outside the repository, with an empty models directory: no default model.
    TempDir dir;
    fs::create_directories(dir.path() / "bin");
    fs::create_directories(dir.path() / "models");
    fs::copy_file(lyra::e2e::lyra_bin(), dir.path() / "bin" / "lyra");
    setenv("LYRA_MODELS_DIR", (dir.path() / "models").c_str(), 1);
    auto r = run_program((dir.path() / "bin" / "lyra").string(), {"tune", "--chords", "model", "--bars", "2"},
                         dir.path().string());
    unsetenv("LYRA_MODELS_DIR");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("chords: 'model' has the model write the chords, but there is no model"),
              std::string::npos) << r.err;
    EXPECT_NE(r.err.find("-m MODEL.gguf"), std::string::npos) << r.err;
}

TEST_F(TuneCli, BadInputIsOneClearErrorAndNoFiles) {
    TempDir out;
    fs::path dir = out.path() / "o";
    auto expect_error = [&](std::vector<std::string> args, const std::string& want) {
        args.insert(args.begin(), "tune");
        args.push_back("-o");
        args.push_back(dir.string());
        auto r = run_lyra(args);
        EXPECT_EQ(r.code, 1) << want << ": " << r.err;
        EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
        EXPECT_TRUE(!fs::exists(dir) || fs::is_empty(dir)) << want;
    };
    expect_error({"-m", model_, "--key", "H"}, "key: unknown tonic");
    expect_error({"-m", model_, "--key", "Dfoo"}, "unknown mode 'foo'");
    expect_error({"-m", model_, "--meter", "7/7"}, "meter: expected a time signature");
    expect_error({"-m", model_, "--rhythm", "tango"}, "rhythm: unknown rhythm");
    expect_error({"-m", model_, "--parts", "ABA"}, "parts:");
    write(out.path() / "bad.abc", "X:1\nM:4/4\nK:G\nG2B2 \"D d2B2|\n");
    expect_error({"--melody", (out.path() / "bad.abc").string(), "--chords"}, "line 4, column 6");
    write(out.path() / "short.abc", "X:1\nM:4/4\nL:1/8\nK:G\nG2B2 d2B2|c2A2 F2|G8|]\n");
    expect_error({"--melody", (out.path() / "short.abc").string(), "--chords"}, "bar 2");
    write(out.path() / "empty.txt", " \n,.;\n");
    expect_error({"-m", model_, "--lyrics", (out.path() / "empty.txt").string()}, "has no words");
    write(out.path() / "m.abc", "X:1\nM:4/4\nL:1/8\nK:G\nG8|]\n");
    write(out.path() / "long.txt", "one two three four five six seven eight nine ten");
    expect_error({"--melody", (out.path() / "m.abc").string(), "--lyrics", (out.path() / "long.txt").string()},
                 "syllables but the melody has 1 notes");
    expect_error({"--melody", (out.path() / "m.abc").string(), "--chords", "model"},
                 "chords: 'model' has the model write chords while it composes, but --melody");
    expect_error({"-m", model_, "--chords", "sometimes"}, "chords: expected true, false");
    expect_error({"-m", model_, "--write-lyrics", "fr"},
                 "write_lyrics: unknown language; expected en (English) or zh (Chinese), got 'fr'");
    write(out.path() / "rests.abc", "X:1\nM:4/4\nL:1/4\nK:G\nz4|z4|]\n");
    expect_error({"--melody", (out.path() / "rests.abc").string(), "--write-lyrics", "en"},
                 "has no notes to sing");
    expect_error({"-m", model_, "--write-lyrics", "en", "--lyrics", (out.path() / "long.txt").string()},
                 "expected one of --lyrics FILE and --write-lyrics LANG");
    setenv("LYRA_SOUNDFONT", "/nonexistent/gm.sf2", 1);
    expect_error({"-m", model_, "--bars", "2"}, "timgm6mb-soundfont");
    unsetenv("LYRA_SOUNDFONT");
}
