// Model-written chords (issue #6, `lyra tune --chords model`): chord symbols parsed and
// transposed with a tune (answers worked by hand), the chords allowed in each key/mode, and
// TuneConstraint letting a model write only those, only before a note at the bar's start or
// middle, with every bar still full and every tune clean for abc2midi.
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "art/common/art.h"
#include "art/music/harmony.h"
#include "art/music/meter.h"
#include "art/music/render.h"
#include "art/music/tune.h"
#include "art/music/tune_constraint.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "model/init.h"
#include "model/tokenizer/char_vocab.h"
#include "unit/music/random_model.h"
#include "unit/music/random_walk.h"

namespace music = lyra::art::music;
namespace fs = std::filesystem;

TEST(ChordSymbols, CanonicalSpellingOfTheCorporaForms) {
    EXPECT_EQ(music::transpose_chord("Am", 0, 0), "Am");
    EXPECT_EQ(music::transpose_chord("D/f+", 0, 0), "D/F#");  // Nottingham's bass spelling
    EXPECT_EQ(music::transpose_chord("A7/c+", 0, 0), "A7/C#");
    EXPECT_EQ(music::transpose_chord("Gm/bb", 0, 0), "Gm/Bb");
    EXPECT_EQ(music::transpose_chord("G/b", 0, 0), "G/B");
    EXPECT_EQ(music::transpose_chord("Gd", 0, 0), "Gdim");
    EXPECT_EQ(music::transpose_chord("Bbmin7", 0, 0), "Bbm7");
    EXPECT_EQ(music::transpose_chord("C+", 0, 0), "Caug");
    // Annotations and decorations are not chords.
    for (const char* s : {"", "^fine", "(E7)", "Moderate", "D.C.", ">", "Am/", "Am/xx", "H", "G/h"}) {
        EXPECT_EQ(music::transpose_chord(s, 0, 0), "") << s;
    }
}

TEST(ChordSymbols, TransposedWithTheKeyByHand) {
    // D -> E: up one letter, up 2 semitones.
    EXPECT_EQ(music::transpose_chord("A7", 1, 2), "B7");
    EXPECT_EQ(music::transpose_chord("G/B", 1, 2), "A/C#");
    EXPECT_EQ(music::transpose_chord("Em", 1, 2), "F#m");
    EXPECT_EQ(music::transpose_chord("Bm", 1, 2), "C#m");
    EXPECT_EQ(music::transpose_chord("E7", 1, 2), "F#7");
    EXPECT_EQ(music::transpose_chord("D/f+", 1, 2), "E/G#");
    // D -> Bb: down two letters, down 4 semitones.
    EXPECT_EQ(music::transpose_chord("A7", -2, -4), "F7");
    EXPECT_EQ(music::transpose_chord("G/B", -2, -4), "Eb/G");
    EXPECT_EQ(music::transpose_chord("F#m", -2, -4), "Dm");
    EXPECT_EQ(music::transpose_chord("Em", -2, -4), "Cm");
    EXPECT_EQ(music::transpose_chord("D", -2, -4), "Bb");
    // G -> F: down one letter, 2 semitones.
    EXPECT_EQ(music::transpose_chord("D7", -1, -2), "C7");
    EXPECT_EQ(music::transpose_chord("C", -1, -2), "Bb");
    EXPECT_EQ(music::transpose_chord("Am/c", -1, -2), "Gm/Bb");
    // Em -> Gm: up two letters, 3 semitones.
    EXPECT_EQ(music::transpose_chord("B7", 2, 3), "D7");
    EXPECT_EQ(music::transpose_chord("C", 2, 3), "Eb");
    EXPECT_EQ(music::transpose_chord("D/f+", 2, 3), "F/A");
    // A double sharp or flat is respelled: E# up a tone is G (not F##), Fb down a tone is D.
    EXPECT_EQ(music::transpose_chord("E#", 1, 2), "G");
    EXPECT_EQ(music::transpose_chord("Fb", -1, -2), "D");
    EXPECT_EQ(music::transpose_chord("B#m7", 1, 1), "C#m7");
}

TEST(ChordSymbols, TransposeTuneKeepsOrDropsChords) {
    const char* abc = "X:1\nM:4/4\nL:1/8\nK:D\n\"D\"DFA \"A7\"dcB|\"G/B\"B2G2 \"^fine\"\"E7\"E4|]\n";
    music::Tune t = music::parse_tune(abc, "t");
    music::Performance before = music::perform(t);
    music::Tune kept = t;
    ASSERT_TRUE(music::transpose_tune(kept, 2, true));
    EXPECT_EQ(kept.field('K'), "E");
    std::vector<std::string> chords;
    for (const auto& e : kept.body) {
        if (e.kind == music::ElemKind::ChordSymbol) chords.push_back(e.text);
    }
    EXPECT_EQ(chords, (std::vector<std::string>{"E", "B7", "A/C#", "F#7"}));  // annotation dropped
    music::Performance after = music::perform(kept);
    ASSERT_EQ(after.chords.size(), 4u);  // perform() skips the annotation
    ASSERT_EQ(before.chords.size(), 4u);
    for (size_t i = 0; i < after.chords.size(); ++i) {
        std::vector<int> a = music::chord_pitch_classes(before.chords[i].symbol);
        std::vector<int> b = music::chord_pitch_classes(after.chords[i].symbol);
        ASSERT_EQ(a.size(), b.size());
        for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(b[k], (a[k] + 2) % 12) << after.chords[i].symbol;
        EXPECT_EQ(after.chords[i].start, before.chords[i].start);
    }
    ASSERT_TRUE(music::transpose_tune(t, -4));  // D -> Bb, chords dropped (the default)
    EXPECT_EQ(t.field('K'), "Bb");
    for (const auto& e : t.body) EXPECT_NE(e.kind, music::ElemKind::ChordSymbol);
}

TEST(ChordSymbols, CorpusKeepsChordsCanonicalAndTransposed) {
    // Nottingham with chords kept and one copy 2 semitones up: every symbol is in canonical
    // spelling right before a note, and each copy's chords sound 2 semitones above the original's.
    int docs = 0, with_chords = 0, pairs = 0;
    std::string prev;
    music::build_abc_corpus({{"dirs", {"nottingham-abc"}}, {"transpose", {2}}, {"chords", true}}, [&](std::string d) {
        ++docs;
        music::Tune u = music::parse_tune(d, "doc");
        int here = 0;
        for (size_t i = 0; i < u.body.size(); ++i) {
            if (u.body[i].kind != music::ElemKind::ChordSymbol) continue;
            ++here;
            ASSERT_EQ(music::transpose_chord(u.body[i].text, 0, 0), u.body[i].text) << d;
            ASSERT_LT(i + 1, u.body.size());
            ASSERT_NE(u.body[i + 1].kind, music::ElemKind::Space) << d;
        }
        with_chords += here > 0;
        if (!prev.empty()) {
            music::Tune a = music::parse_tune(prev, "prev");
            music::Performance pa = music::perform(a), pb = music::perform(u);
            int key_shift = (music::parse_key(u.field('K')).tonic_pc() - music::parse_key(a.field('K')).tonic_pc() + 12) % 12;
            if (a.field('T') == u.field('T') && key_shift == 2 && pa.notes.size() == pb.notes.size() &&
                pa.chords.size() == pb.chords.size() && !pa.chords.empty()) {
                ++pairs;
                for (size_t i = 0; i < pa.chords.size(); ++i) {
                    std::vector<int> x = music::chord_pitch_classes(pa.chords[i].symbol);
                    std::vector<int> y = music::chord_pitch_classes(pb.chords[i].symbol);
                    ASSERT_EQ(x.size(), y.size()) << pa.chords[i].symbol << " " << pb.chords[i].symbol;
                    for (size_t k = 0; k < x.size(); ++k) ASSERT_EQ(y[k], (x[k] + 2) % 12);
                }
            }
        }
        prev = d;
    });
    std::printf("abc corpus with chords (Nottingham, +2): %d documents, %d with chords, %d pairs checked\n",
                docs, with_chords, pairs);
    EXPECT_GT(with_chords, 1500);  // of about 2,000 documents (1,034 tunes and their copies)
    EXPECT_GT(pairs, 700);
}

TEST(ChordSymbols, KeyChordsPerMode) {
    using V = std::vector<std::string>;
    EXPECT_EQ(music::key_chords(music::parse_key("D")), (V{"D", "Em", "F#m", "G", "A", "A7", "Bm", "E", "E7"}));
    EXPECT_EQ(music::key_chords(music::parse_key("F")), (V{"F", "Gm", "Am", "Bb", "C", "C7", "Dm", "G", "G7"}));
    EXPECT_EQ(music::key_chords(music::parse_key("Em")), (V{"Em", "G", "Am", "Bm", "C", "D", "D7", "B", "B7"}));
    EXPECT_EQ(music::key_chords(music::parse_key("Ador")), (V{"Am", "Bm", "C", "D", "D7", "Em", "G", "E", "E7"}));
    EXPECT_EQ(music::key_chords(music::parse_key("Dmix")), (V{"D", "D7", "Em", "G", "Am", "Bm", "C"}));
    EXPECT_EQ(music::key_chords(music::parse_key("F#m")),
              (V{"F#m", "A", "Bm", "C#m", "D", "E", "E7", "C#", "C#7"}));
}

namespace {

music::TuneSpec chord_spec(const char* meter, const char* key, const char* parts, int bars) {
    music::TuneSpec s;
    s.meter = music::parse_meter(meter);
    s.unit = {1, 8};
    s.key = music::parse_key(key);
    s.parts = music::parse_parts(parts, bars);
    s.chords = music::key_chords(s.key);
    return s;
}

using lyra::art::music::testing::random_walk;

}  // namespace

TEST(ChordConstraint, ChordsOnlyBeforeNotesAtTheBarsStartOrMiddle) {
    auto tok = lyra::model::build_byte_vocab();
    music::TuneConstraint c(chord_spec("4/4", "D", "AB", 1), *tok);
    EXPECT_TRUE(c.feed("\"D\"D2F2 \"A7\"A4||\n\"G\"G4 \"D\"D4|]\n"));
    EXPECT_TRUE(c.complete());
    auto refused = [&](const char* prefix, const char* next) {
        c.reset();
        EXPECT_TRUE(c.feed(prefix)) << prefix;
        EXPECT_FALSE(c.feed(next)) << prefix << " + " << next;
    };
    refused("", "D");             // the first note carries a chord
    refused("\"D\"D2", "\"A\"");  // not at the bar's start or middle
    refused("\"D\"D", "\"A\"");   // nor inside a note (D ends here: still not a slot)
    refused("\"D\"D4\"A\"", "4");  // a chord at the middle starts a new note
    refused("", "\"C");            // C natural is not in D major
    refused("", "\"D7");           // D7 is not diatonic to D major
    refused("", "\"Dm");
    refused("\"D\"", " ");         // a chord goes right before its note
    refused("\"D\"", "|");
    refused("\"D\"D4 \"A\"", "\"");  // one symbol per slot
    refused("\"D\"D2FA>", "\"");     // not between a broken-rhythm pair (A ends at the middle)
    c.reset();
    EXPECT_TRUE(c.feed("\"Bm\"z2"));  // a chord over a rest is fine
    // 3/4 splits into no two halves: one chord per bar.
    music::TuneConstraint w(chord_spec("3/4", "G", "A", 2), *tok);
    EXPECT_TRUE(w.feed("\"G\"G2 B2 d2|\"D7\"d2 "));
    EXPECT_FALSE(w.feed("\""));
    // The first chord is counted in the shortest tune (budget): "D" = 3 more characters.
    music::TuneSpec plain = chord_spec("6/8", "D", "AABB", 8);
    plain.chords.clear();
    EXPECT_EQ(music::TuneConstraint(chord_spec("6/8", "D", "AABB", 8), *tok).min_tokens(),
              music::TuneConstraint(plain, *tok).min_tokens() + 3);
}

TEST(ChordConstraint, RandomWalksWriteOnlyKeyChordsAndPassAbc2midi) {
    auto tok = lyra::model::build_byte_vocab();
    struct Case {
        const char* key;
        const char* meter;
        const char* rhythm;
    };
    const Case cases[] = {{"D", "4/4", "reel"},  {"Em", "6/8", "jig"},   {"Ador", "2/4", "polka"},
                          {"Dmix", "3/4", "waltz"}, {"Bb", "9/8", "slip jig"}, {"F#m", "12/8", "slide"},
                          {"Gdor", "4/4", "reel"}, {"Amix", "6/8", "jig"}};
    int total_chords = 0;
    for (const Case& k : cases) {
        music::TuneSpec spec = chord_spec(k.meter, k.key, "AABB", 4);
        std::set<std::string> allowed(spec.chords.begin(), spec.chords.end());
        music::Meter m = spec.meter;
        int beats = m.compound() ? m.beats_num / 3 : m.beats_num;
        int per_bar = beats % 2 == 0 ? 2 : 1;
        music::TuneConstraint c(spec, *tok);
        for (uint32_t seed = 1; seed <= 3; ++seed) {
            std::string body = random_walk(c, *tok, seed * 7919u, 5000);
            std::string abc = music::tune_header("Walk", k.rhythm, m, 120, spec.key) + body;
            SCOPED_TRACE(abc);
            music::Tune t = music::parse_tune(abc, "walk");
            EXPECT_TRUE(music::check_meter(t).ok());
            std::map<int, int> per;  // bar -> chords
            int bar = 0;
            bool first_note = true;
            for (size_t i = 0; i < t.body.size(); ++i) {
                const music::Element& e = t.body[i];
                if (e.kind == music::ElemKind::Bar) ++bar;
                if (e.kind == music::ElemKind::Note && first_note) {
                    first_note = false;
                    ASSERT_GT(i, 0u);
                    EXPECT_EQ(t.body[i - 1].kind, music::ElemKind::ChordSymbol);
                }
                if (e.kind != music::ElemKind::ChordSymbol) continue;
                ++total_chords;
                EXPECT_TRUE(allowed.count(e.text)) << e.text;
                ASSERT_LT(i + 1, t.body.size());
                EXPECT_EQ(t.body[i + 1].kind, music::ElemKind::Note);
                EXPECT_LE(++per[bar], per_bar) << "bar " << bar;
            }
            std::string why;
            EXPECT_TRUE(music::abc2midi_clean(abc, &why)) << why;
        }
    }
    EXPECT_GT(total_chords, 3 * 8);  // more than the one each tune must open with
}

namespace {

// A random-weight llama over the characters of ABC with chord symbols (built once).
const std::string& random_model() {
    static const std::string path = lyra::art::music::testing::random_char_model(
        "chords",
        "X:1\nT:Lyra's reel\nR:reel jig polka waltz\nM:6/8\nL:1/8\nQ:1/4=120\nK:Dmix\n"
        "\"Am\"ABCDEFG \"F#m7\"abcdefg z ,' /23456 |:]> <\n",
        11);
    return path;
}

struct TuneFixture : ::testing::Test {
    lyra::core::ThreadPool pool{1};
    lyra::art::ModelCache models;
    lyra::art::Context ctx{.pool = &pool, .models = &models};
};

}  // namespace

TEST_F(TuneFixture, RandomWeightsWriteOnlyKeyChordsAndTheAccompanimentFollowsThem) {
    // Hand-listed: the chords each key allows (key_chords() is checked against these above).
    struct Case {
        const char* key;
        const char* rhythm;
        std::set<std::string> allowed;
    };
    const std::vector<Case> cases = {
        {"G", "reel", {"G", "Am", "Bm", "C", "D", "D7", "Em", "A", "A7"}},
        {"Em", "jig", {"Em", "G", "Am", "Bm", "C", "D", "D7", "B", "B7"}},
        {"Ador", "polka", {"Am", "Bm", "C", "D", "D7", "Em", "G", "E", "E7"}},
        {"Dmix", "waltz", {"D", "D7", "Em", "G", "Am", "Bm", "C"}},
        {"Edor", "hornpipe", {"Em", "F#m", "G", "A", "A7", "Bm", "D", "B", "B7"}},
        {"Amix", "slip jig", {"A", "A7", "Bm", "D", "Em", "F#m", "G"}},
    };
    int chords = 0;
    for (const Case& k : cases) {
        for (int seed = 1; seed <= 2; ++seed) {
            nlohmann::json req = {{"model", random_model()}, {"key", k.key}, {"rhythm", k.rhythm},
                                  {"bars", 4}, {"chords", "model"}, {"seed", seed}};
            lyra::art::ArtResult r = music::run_tune(req, ctx);
            SCOPED_TRACE(r.text);
            EXPECT_EQ(r.request["chords"], "model");
            std::string why;
            EXPECT_TRUE(music::abc2midi_clean(r.text, &why)) << why;
            music::Tune t = music::parse_tune(r.text, "tune");
            EXPECT_TRUE(music::check_meter(t).ok());
            int here = 0;
            for (const auto& e : t.body) {
                if (e.kind != music::ElemKind::ChordSymbol) continue;
                ++here;
                EXPECT_TRUE(k.allowed.count(e.text)) << k.key << ": " << e.text;
            }
            EXPECT_GE(here, 1);
            EXPECT_EQ(r.scores["chords"], here);
            chords += here;
            // The accompaniment plays the model's chords: at each chord's start the chord track
            // sounds exactly its pitch classes (a waltz's first beat is the bass alone).
            music::Performance p = music::perform(t);
            ASSERT_EQ(static_cast<int>(p.chords.size()), 2 * here);  // AABB: every part played twice
            music::Arrangement a = music::arrange(p, k.rhythm);
            for (const music::PlayedChord& c : p.chords) {
                int64_t tick = (c.start * music::Frac(4 * music::kTicksPerQuarter)).num /
                               (c.start * music::Frac(4 * music::kTicksPerQuarter)).den;
                std::set<int> bass, sounding;
                for (const auto& n : a.bass) {
                    if (n.start == tick) bass.insert(n.key % 12);
                }
                std::vector<int> want = music::chord_pitch_classes(c.symbol);
                EXPECT_EQ(bass, std::set<int>{want[0]}) << c.symbol;  // the root in the bass
                if (std::string(k.rhythm) == "waltz") continue;
                for (const auto& n : a.chords) {
                    if (n.start == tick) sounding.insert(n.key % 12);
                }
                EXPECT_EQ(sounding, std::set<int>(want.begin(), want.end())) << c.symbol;
            }
        }
    }
    std::printf("model-written chords on random weights: %d chords in %zu tunes\n", chords, cases.size() * 2);
}

TEST_F(TuneFixture, ChordsModelBadInputIsOneClearError) {
    fs::path m = fs::temp_directory_path() / ("lyra_chords_melody_" + std::to_string(::getpid()) + ".abc");
    {
        std::FILE* f = std::fopen(m.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("X:1\nM:4/4\nL:1/8\nK:G\nG8|]\n", f);
        std::fclose(f);
    }
    auto message = [&](nlohmann::json req) {
        try {
            music::run_tune(req, ctx);
        } catch (const lyra::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::string e = message({{"melody", m.string()}, {"chords", "model"}});
    EXPECT_NE(e.find("chords: 'model' has the model write chords while it composes, but --melody"),
              std::string::npos) << e;
    e = message({{"chords", "maybe"}, {"model", random_model()}});
    EXPECT_NE(e.find("chords: expected true, false, \"scored\""), std::string::npos) << e;
    fs::remove(m);
}
