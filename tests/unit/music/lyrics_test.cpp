// Model-written lyrics (lyrics.h): phrases counted by hand, syllables chosen by the CMU
// dictionary, and random-weight models whose lyrics always give every note exactly one syllable,
// counted here independently (Dictionary::lookup for English, characters for Chinese) and read
// back from the w: lines the way abc2midi aligns them.
#include "art/music/lyrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "art/common/art.h"
#include "art/music/harmony.h"
#include "art/music/meter.h"
#include "art/music/tune.h"
#include "art/poetry/en/pronounce.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/constraint/form.h"
#include "model/init.h"
#include "model/tokenizer/char_vocab.h"
#include "unit/music/random_model.h"

namespace music = lyra::art::music;
namespace en = lyra::art::poetry::en;
namespace fs = std::filesystem;

namespace {

std::vector<int> phrases_of(const char* abc) {
    return music::phrase_syllables(music::parse_tune(abc, "t"));
}

const std::string& abc_model() {
    static const std::string p = music::testing::random_char_model(
        "lyrics_abc",
        "X:1\nT:Lyra's reel\nR:reel jig polka waltz air\nM:6/8\nL:1/8\nQ:1/4=120\nK:D Em\nABCDEFG "
        "abcdefg z ,' /23456 |:]> <-\n",
        5);
    return p;
}

const std::string& english_model() {
    static const std::string p = music::testing::random_char_model(
        "lyrics_en",
        "form: verse\ntitle: Lyra's reel jig waltz air\nabcdefghijklmnopqrstuvwxyz "
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ ,.;:!?'\n",
        7);
    return p;
}

const std::string& chinese_model() {
    static const std::string p = music::testing::random_char_model(
        "lyrics_zh",
        "形式:词\n题:"
        "无题\n明月几时有把酒问青天不知天上宫阙今夕是何年我欲乘风归去又恐琼楼玉宇高处不胜寒，。\n",
        9);
    return p;
}

// The syllables the dictionary allows each word of an English line, added up: bit k = k possible.
uint64_t line_totals(const std::string& line) {
    uint64_t totals = 1;
    for (const std::string& w : en::split_words(line)) {
        uint64_t word = 0;
        for (const en::Pron& p : en::Dictionary::get().lookup(w))
            word |= uint64_t{1} << p.syllables;
        uint64_t next = 0;
        for (int k = 1; k < 64; ++k) {
            if ((word >> k) & 1) next |= totals << k;
        }
        totals = next;
    }
    return totals;
}

int cjk_count(const std::string& line) {
    std::vector<uint32_t> cps;
    EXPECT_TRUE(lyra::gen::constraint::decode_utf8(line, cps)) << line;
    int n = 0;
    for (uint32_t cp : cps) n += lyra::gen::constraint::is_cjk(cp) ? 1 : 0;
    return n;
}

// The notes each w: token falls on, as ABC 2.1 §5.1 reads a w: line: a space or '-' ends a
// syllable, '_' holds the previous one over a note; every token takes one note.
int w_tokens(const std::string& w) {
    int n = 0;
    bool in = false;
    for (char c : w) {
        if (c == ' ' || c == '-') {
            in = false;
        } else if (c == '_') {
            ++n;
            in = false;
        } else if (!in) {
            ++n;
            in = true;
        }
    }
    return n;
}

// Per music line of the tune, its sung notes and the tokens of the w: line under it: they must
// be equal (a syllable for every note, a note for every syllable).
void expect_every_note_sung(const music::Tune& t) {
    std::set<size_t> sung;
    for (const music::WrittenNote& n : music::sung_notes(t)) sung.insert(n.elem);
    int notes = 0, lines = 0;
    for (size_t i = 0; i < t.body.size(); ++i) {
        const music::Element& e = t.body[i];
        if (sung.count(i)) ++notes;
        if (e.kind == music::ElemKind::Field && e.text.rfind("w:", 0) == 0) {
            EXPECT_EQ(w_tokens(e.text.substr(2)), notes) << e.text;
            notes = 0;
            ++lines;
        }
    }
    EXPECT_EQ(notes, 0) << "notes after the last w: line";
    EXPECT_GT(lines, 0);
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    size_t at = 0;
    for (size_t nl = s.find('\n'); nl != std::string::npos; nl = s.find('\n', at)) {
        out.push_back(s.substr(at, nl - at));
        at = nl + 1;
    }
    if (at < s.size()) out.push_back(s.substr(at));
    return out;
}

// A tune with written lyrics: one line per phrase, each of its phrase's count by `fits` (an
// independent count), every note sung, and abc2midi clean. Returns the number of lines.
int expect_lines_fit_phrases(const lyra::art::ArtResult& r,
                             const std::function<bool(const std::string&, int)>& fits) {
    SCOPED_TRACE(r.text);
    const music::Tune t = music::parse_tune(r.text, "tune");
    const std::vector<int> counts = music::phrase_syllables(t);
    const std::vector<std::string> words = split_lines(r.scores["lyrics"].get<std::string>());
    EXPECT_EQ(words.size(), counts.size());
    for (size_t i = 0; i < std::min(words.size(), counts.size()); ++i) {
        EXPECT_TRUE(fits(words[i], counts[i]))
            << "'" << words[i] << "' is not " << counts[i] << " syllables";
    }
    expect_every_note_sung(t);
    std::string why;
    EXPECT_TRUE(music::abc2midi_clean(r.text, &why)) << why;
    return static_cast<int>(words.size());
}

struct LyricsFixture : ::testing::Test {
    lyra::core::ThreadPool pool{1};
    lyra::art::ModelCache models;
    lyra::art::Context ctx{.pool = &pool, .models = &models};
};

}  // namespace

TEST(LyricPhrases, TwoBarsOfASectionWithPickupsTiesAndRests) {
    // Four bars of 4, 4, 4 and 1 notes: two phrases.
    EXPECT_EQ(phrases_of("X:1\nM:4/4\nL:1/8\nK:G\nG2B2 d2B2|c2A2 F2D2|G2B2 A2F2|G8|]\n"),
              (std::vector<int>{8, 5}));
    // A tie holds its syllable and rests take none: C2-C is one note, z none.
    EXPECT_EQ(phrases_of("X:1\nM:3/4\nL:1/4\nK:C\nC2-C|z D E|F3|G z z|]\n"),
              (std::vector<int>{3, 2}));
    // The pickup A joins the first phrase; the A part's bars pair up; the B part's odd third bar
    // joins the phrase before it rather than crossing into another section.
    EXPECT_EQ(phrases_of("X:1\nM:2/4\nL:1/8\nK:D\nA|:d2 f2|a4|f2 d2|A4:|\n|:B2 c2|d4|e4:|\n"),
              (std::vector<int>{4, 3, 4}));
    // Two bars of rests: no line for them.
    EXPECT_EQ(phrases_of("X:1\nM:4/4\nL:1/4\nK:C\nz4|z4|C4|D2 E2|]\n"), (std::vector<int>{3}));
    // 64 thirty-second notes in two bars: more than a form line counts, so two lines.
    std::string fast =
        "X:1\nM:4/4\nL:1/32\nK:C\n" + std::string(32, 'C') + "|" + std::string(32, 'D') + "|]\n";
    EXPECT_EQ(phrases_of(fast.c_str()), (std::vector<int>{32, 32}));
    EXPECT_TRUE(phrases_of("X:1\nM:4/4\nL:1/4\nK:C\nz4|]\n").empty());
}

TEST(LyricSyllables, PronunciationsChosenToFillEachPhrase) {
    // "fire" is one syllable or two in the CMU dictionary; "happy" two, "the" and "night" one.
    auto texts = [](const std::vector<music::Syllable>& s) {
        std::vector<std::string> out;
        for (const auto& x : s) out.push_back(x.text + (x.word_end ? "" : "-"));
        return out;
    };
    EXPECT_EQ(texts(music::lyric_syllables({"Happy fire, the night"}, {5}, "en")),
              (std::vector<std::string>{"Hap-", "py", "fire,", "the", "night"}));
    // Six notes: "fire" is said in two, but its spelling does not split: it holds a note.
    EXPECT_EQ(texts(music::lyric_syllables({"Happy fire, the night"}, {6}, "en")),
              (std::vector<std::string>{"Hap-", "py", "fire,", "_", "the", "night"}));
    EXPECT_EQ(texts(music::lyric_syllables({"a melody", "don't go"}, {4, 2}, "en")),
              (std::vector<std::string>{"a", "me-", "lo-", "dy", "don't", "go"}));
    EXPECT_EQ(texts(music::lyric_syllables({"明月几时有"}, {5}, "zh")),
              (std::vector<std::string>{"明", "月", "几", "时", "有"}));
    EXPECT_THROW(music::lyric_syllables({"Happy fire, the night"}, {7}, "en"), lyra::Error);
    EXPECT_THROW(music::lyric_syllables({"明月几时"}, {5}, "zh"), lyra::Error);
    EXPECT_THROW(music::lyric_syllables({"la"}, {1, 1}, "en"), lyra::Error);
    try {
        music::lyric_syllables({"la"}, {1}, "fr");
        ADD_FAILURE() << "no error";
    } catch (const lyra::Error& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "write_lyrics: unknown language; expected en (English) or zh"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(LyricsFixture, RandomWeightsWriteOneSyllablePerNoteInEnglish) {
    int lines = 0;
    for (const char* rhythm : {"reel", "jig", "waltz"}) {
        for (int seed = 1; seed <= 2; ++seed) {
            nlohmann::json req = {{"model", abc_model()},
                                  {"rhythm", rhythm},
                                  {"bars", 4},
                                  {"parts", "AB"},
                                  {"seed", seed},
                                  {"write_lyrics", "en"},
                                  {"lyrics_model", english_model()}};
            const lyra::art::ArtResult r = music::run_tune(req, ctx);
            lines += expect_lines_fit_phrases(r, [](const std::string& line, int n) {
                return ((line_totals(line) >> n) & 1) != 0;
            });
            EXPECT_EQ(r.request["write_lyrics"], "en");
        }
    }
    EXPECT_GE(lines, 6 * 4);  // 8 written bars a tune: four 2-bar phrases
}

TEST_F(LyricsFixture, RandomWeightsWriteOneCharacterPerNoteInChinese) {
    for (int seed = 1; seed <= 3; ++seed) {
        nlohmann::json req = {
            {"model", abc_model()}, {"rhythm", "air"},      {"bars", 4},
            {"seed", seed},         {"write_lyrics", "zh"}, {"lyrics_model", chinese_model()}};
        const lyra::art::ArtResult r = music::run_tune(req, ctx);
        EXPECT_GE(expect_lines_fit_phrases(
                      r, [](const std::string& line, int n) { return cjk_count(line) == n; }),
                  2);
    }
}

TEST_F(LyricsFixture, AGivenMelodyWithTiesRestsAndAPickupGetsItsWords) {
    fs::path m =
        fs::temp_directory_path() / ("lyra_lyrics_melody_" + std::to_string(::getpid()) + ".abc");
    {
        std::FILE* f = std::fopen(m.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs(
            "X:1\nT:Given\nM:3/4\nL:1/8\nK:G\nD2|:G4 B2-|B2 d2 z2|c6|A4 z2|\nG2 B2 d2|e4-e2|d6:|\n",
            f);
        std::fclose(f);
    }
    nlohmann::json req = {{"melody", m.string()},
                          {"write_lyrics", "en"},
                          {"lyrics_model", english_model()},
                          {"seed", 4},
                          {"chords", true}};
    const lyra::art::ArtResult r = music::run_tune(req, ctx);
    fs::remove(m);
    SCOPED_TRACE(r.text);
    const music::Tune t = music::parse_tune(r.text, "tune");
    // The pickup D joins G B (tied over the bar line: one note) and d; then c and A; then G B d,
    // e (tied: one note) and the section's odd last bar d.
    EXPECT_EQ(music::phrase_syllables(t), (std::vector<int>{4, 2, 5}));
    const std::vector<std::string> words = split_lines(r.scores["lyrics"].get<std::string>());
    ASSERT_EQ(words.size(), 3u);
    EXPECT_TRUE((line_totals(words[0]) >> 4) & 1) << words[0];
    EXPECT_TRUE((line_totals(words[2]) >> 5) & 1) << words[2];
    expect_every_note_sung(t);
    std::string why;
    EXPECT_TRUE(music::abc2midi_clean(r.text, &why)) << why;
}

TEST_F(LyricsFixture, BadInputIsOneClearErrorAndNoFiles) {
    const fs::path dir =
        fs::temp_directory_path() / ("lyra_lyrics_out_" + std::to_string(::getpid()));
    fs::path rests =
        fs::temp_directory_path() / ("lyra_lyrics_rests_" + std::to_string(::getpid()) + ".abc");
    {
        std::FILE* f = std::fopen(rests.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("X:1\nM:4/4\nL:1/4\nK:C\nz4|z4|]\n", f);
        std::fclose(f);
    }
    auto message = [&](nlohmann::json req) {
        lyra::art::Context c = ctx;
        c.out_dir = dir.string();
        try {
            music::run_tune(req, c);
        } catch (const lyra::Error& e) {
            EXPECT_FALSE(fs::exists(dir)) << e.what();
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::string e = message({{"model", abc_model()}, {"write_lyrics", "fr"}});
    EXPECT_NE(
        e.find("write_lyrics: unknown language; expected en (English) or zh (Chinese), got 'fr'"),
        std::string::npos)
        << e;
    e = message(
        {{"melody", rests.string()}, {"write_lyrics", "en"}, {"lyrics_model", english_model()}});
    EXPECT_NE(e.find("has no notes to sing"), std::string::npos) << e;
    e = message({{"model", abc_model()}, {"write_lyrics", "en"}, {"lyrics", "words.txt"}});
    EXPECT_NE(e.find("expected one of --lyrics FILE and --write-lyrics LANG"), std::string::npos)
        << e;
    e = message({{"model", abc_model()}, {"lyrics_model", english_model()}});
    EXPECT_NE(e.find("expected --write-lyrics en|zh with it"), std::string::npos) << e;
    e = message({{"model", abc_model()},
                 {"write_lyrics", "en"},
                 {"lyrics_model", "/nonexistent/verse.gguf"}});
    EXPECT_NE(e.find("/nonexistent/verse.gguf"), std::string::npos) << e;
    fs::remove(rests);
    fs::remove_all(dir);
}

TEST_F(LyricsFixture, LinesBeyondTheContextAreWrittenInPassesThatContinueTheSong) {
    // 64 tokens: the header (about 12) and at most four lines of 10 characters in a pass, so the
    // eight lines take several passes, each starting from the lines before it.
    const std::string path = music::testing::random_char_model(
        "lyrics_zh_short", "形式:词\n题:无题\n明月几时有把酒问青天不知天上宫阙今夕是何年\n", 3, 64);
    auto model = models.get(path);
    music::LyricsOptions lo{.language = "zh", .title = "明月"};
    lo.common.seed = 8;
    const std::vector<int> counts(8, 10);
    const music::WrittenLyrics w = music::write_lyrics(counts, lo, *model, ctx);
    ASSERT_EQ(w.lines.size(), 8u);
    for (const std::string& line : w.lines) EXPECT_EQ(cjk_count(line), 10) << line;
    EXPECT_GE(w.passes, 2);
    EXPECT_GE(w.tokens, 8 * 10);
    fs::remove(path);
}

TEST_F(LyricsFixture, AContextTooShortForOneLineIsAnError) {
    // A 24-token context cannot hold the prompt plus a line of 32 syllables.
    static const std::string tiny = [] {
        auto tok = lyra::model::build_char_vocab(
            "form: verse\ntitle: x\nabcdefghijklmnopqrstuvwxyz ,.'\n", 0);
        lyra::model::InitOptions o;
        o.n_embd = 16;
        o.n_layer = 1;
        o.n_head = 2;
        o.n_ctx = 24;
        std::string p = (fs::temp_directory_path() /
                         ("lyra_lyrics_tiny_" + std::to_string(::getpid()) + ".gguf"))
                            .string();
        lyra::model::init_model(o, *tok, p);
        return p;
    }();
    auto model = models.get(tiny);
    music::LyricsOptions lo{.language = "en", .title = "x"};
    try {
        music::write_lyrics({32}, lo, *model, ctx);
        ADD_FAILURE() << "no error";
    } catch (const lyra::Error& e) {
        EXPECT_NE(std::string(e.what()).find("write_lyrics: no whole line of 32 syllables"),
                  std::string::npos)
            << e.what();
    }
    fs::remove(tiny);
}
