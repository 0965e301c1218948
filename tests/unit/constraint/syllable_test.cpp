// The form layer's syllable unit (syllable.h, form.h): a small hand-written pronouncing
// dictionary with known answers, words split across tokens, the caller's letter-to-sound guess,
// sampled generations from a random-weight model that must come out with exactly the requested
// syllables per line, and bad forms refused with one clear error.
#include "generate/constraint/form.h"
#include "generate/constraint/form_spec.h"
#include "generate/constraint/syllable.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "unit/constraint/constraint_test_util.h"
#include "unit/constraint/syllable_walk_check.h"

namespace lyra::gen::constraint {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

SyllableMask bit(int k) { return SyllableMask{1} << k; }

// Words and their syllables as a dictionary would give them; "fire" and "every" have two
// pronunciations (1 or 2, 2 or 3 syllables).
std::vector<SyllableWord> hand_words() {
    return {{"the", bit(1)},           {"cat", bit(1)},      {"cats", bit(1)},    {"catalog", bit(3)},
            {"sat", bit(1)},           {"on", bit(1)},       {"a", bit(1)},       {"mat", bit(1)},
            {"over", bit(2)},          {"river", bit(2)},    {"fire", bit(1) | bit(2)},
            {"every", bit(2) | bit(3)}, {"evening", bit(2)}, {"beautiful", bit(3)}, {"don't", bit(1)},
            {"quietly", bit(3)},       {"in", bit(1)},       {"light", bit(1)}};
}

// A toy letter-to-sound rule: one syllable per group of vowels (a word with none: one).
SyllableMask vowel_groups(std::string_view w) {
    int n = 0;
    bool in = false;
    for (char c : w) {
        const bool v = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
        if (v && !in) ++n;
        in = v;
    }
    return bit(std::max(n, 1));
}

// The syllable totals a line can have by the dictionary (bit k), or 0 if a word is not in it.
SyllableMask line_totals(const SyllableDictionary& dict, const std::string& line) {
    SyllableMask totals = 1;
    std::string word;
    auto end_word = [&] {
        if (word.empty()) return;
        const SyllableMask c = dict.counts(word);
        SyllableMask next = 0;
        for (int s = 0; s < 64; ++s)
            if ((totals >> s) & 1) next |= c << s;
        totals = next;
        word.clear();
    };
    for (char ch : line) {
        const char lc = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
        if ((lc >= 'a' && lc <= 'z') || (lc == '\'' && !word.empty())) word += lc;
        else end_word();
    }
    end_word();
    return totals;
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out(1);
    for (char c : s) {
        if (c == '\n') out.emplace_back();
        else out.back() += c;
    }
    return out;
}

TEST(SyllableDictionary, TrieMasksAndCountsKnownAnswers) {
    const SyllableDictionary dict(hand_words());
    EXPECT_EQ(dict.counts("fire"), bit(1) | bit(2));
    EXPECT_EQ(dict.counts("catalog"), bit(3));
    EXPECT_EQ(dict.counts("dog"), 0u);  // no guess: unknown words cannot be said
    EXPECT_FALSE(dict.has_guess());
    // The node of "cat" knows cat (1), cats (1) and catalog (3) below it; "ca" is no word.
    const int c = dict.child(0, 'c'), ca = dict.child(c, 'a'), cat = dict.child(ca, 't');
    ASSERT_GE(cat, 0);
    EXPECT_EQ(dict.nodes()[static_cast<size_t>(ca)].word, -1);
    EXPECT_EQ(dict.nodes()[static_cast<size_t>(cat)].mask, bit(1) | bit(3));
    EXPECT_EQ(dict.words()[static_cast<size_t>(dict.nodes()[static_cast<size_t>(cat)].word)].text, "cat");
    EXPECT_EQ(dict.child(cat, 'z'), -1);
    // The root knows every count in the dictionary.
    EXPECT_EQ(dict.nodes()[0].mask, bit(1) | bit(2) | bit(3));
    EXPECT_EQ(dict.counts("don't"), bit(1));

    // Repeated words join their counts; the guess answers for words the dictionary lacks only.
    const SyllableDictionary guessed({{"the", bit(1)}, {"the", bit(2)}, {"fire", bit(1)}}, vowel_groups);
    EXPECT_EQ(guessed.counts("the"), bit(1) | bit(2));
    EXPECT_EQ(guessed.counts("fire"), bit(1));  // the dictionary's, not the guess's 2
    EXPECT_EQ(guessed.counts("banana"), bit(3));
    EXPECT_EQ(guessed.words().size(), 2u);

    EXPECT_EQ(syllable_bits(2, 4), bit(2) | bit(3) | bit(4));
    EXPECT_EQ(syllable_bits(5, 4), 0u);
    EXPECT_EQ(syllable_bits(0, 63), ~SyllableMask{0});
    EXPECT_EQ(lowest_syllable(bit(5) | bit(9)), 5);
    EXPECT_EQ(lowest_syllable(0), -1);
}

TEST(SyllableDictionary, BadWordsAreRefusedByName) {
    auto refuse = [](std::vector<SyllableWord> w, const std::string& what) {
        try {
            SyllableDictionary d(std::move(w));
            FAIL() << "accepted " << what;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    refuse({{"Cat", bit(1)}}, "'Cat' is not a word");
    refuse({{"", bit(1)}}, "'' is not a word");
    refuse({{"cats'", bit(1)}}, "'cats'' is not a word");
    refuse({{"cat", 0}}, "'cat' has no syllable count");
    refuse({{"cat", bit(0)}}, "'cat' has no syllable count");
}

// A fixture with a piece vocabulary: whole words, word pieces and single letters, so words are
// written across tokens.
class SyllableTokens : public ::testing::Test {
protected:
    void SetUp() override {
        std::vector<std::string> pieces = {"ca", "talog", "fi", "re", " ", "\n", ",", "cat", "the", "zork", "aba", "'"};
        for (char c = 'a'; c <= 'z'; ++c) pieces.emplace_back(1, c);
        tok_ = testing::piece_vocab(pieces, false);
    }
    model::TokenId id(const std::string& piece) const {
        for (model::TokenId t = 0; t < tok_->n_vocab(); ++t)
            if (tok_->token_to_bytes(t) == piece) return t;
        ADD_FAILURE() << "no token " << piece;
        return 0;
    }
    // Whether each piece is allowed next.
    std::vector<bool> allowed(FormConstraint& form, const std::vector<std::string>& pieces) {
        std::vector<float> logits(static_cast<size_t>(tok_->n_vocab()), 1.0f);
        CandidateSet cs;
        cs.reset(logits);
        form.apply(cs);
        std::vector<bool> out;
        for (const auto& p : pieces) out.push_back(cs.items[static_cast<size_t>(id(p))].logit != kNegInf);
        return out;
    }
    bool eog_allowed(FormConstraint& form) {
        std::vector<float> logits(static_cast<size_t>(tok_->n_vocab()), 1.0f);
        CandidateSet cs;
        cs.reset(logits);
        form.apply(cs);
        for (const auto& c : cs.items)
            if (tok_->is_eog(c.id)) return c.logit != kNegInf;
        return false;
    }
    void write(FormConstraint& form, const std::vector<std::string>& pieces) {
        for (const auto& p : pieces) {
            ASSERT_TRUE(allowed(form, {p})[0]) << "'" << p << "' after '" << form.text() << "'";
            form.accept(id(p));
        }
    }
    std::unique_ptr<model::Tokenizer> tok_;
};

TEST_F(SyllableTokens, HalfWrittenWordsKeepTheirPossibleCounts) {
    auto dict = std::make_shared<const SyllableDictionary>(hand_words());
    FormConstraint two({.lines = {{.units = 2}, {.units = 3}}, .syllables = dict}, *tok_);
    write(two, {"ca"});
    // "cat" (1) leaves room for one more; "catalog" (3) does not fit a 2-syllable line.
    EXPECT_EQ(allowed(two, {"t", "talog", " "}), (std::vector<bool>{true, false, false}));
    write(two, {"t", " "});
    EXPECT_FALSE(allowed(two, {"\n"})[0]);  // 1 of 2
    EXPECT_FALSE(eog_allowed(two));
    // "fi" may become "fire", said with 1 syllable: the line ends at 2.
    write(two, {"fi", "re"});
    EXPECT_EQ(allowed(two, {"\n", " ", ",", "s"}), (std::vector<bool>{true, true, true, false}));
    write(two, {",", "\n"});
    // The second line takes "catalog" whole (3).
    write(two, {"ca", "talog"});
    EXPECT_TRUE(eog_allowed(two));
    EXPECT_TRUE(two.is_complete());
    EXPECT_FALSE(allowed(two, {"\n"})[0]);  // no line after the last
    EXPECT_EQ(two.text(), "cat fire,\ncatalog");
}

TEST_F(SyllableTokens, PronunciationsAreKeptApartUntilTheLineEnds) {
    auto dict = std::make_shared<const SyllableDictionary>(hand_words());
    // "fire every" is 3, 4 or 5 syllables; a 5-syllable line can still end after it, and so can
    // a 3-syllable one.
    for (int target : {3, 5}) {
        FormConstraint form({.lines = {{.units = target}}, .syllables = dict}, *tok_);
        write(form, {"fi", "re", " ", "e", "v", "e", "r", "y"});
        EXPECT_TRUE(eog_allowed(form)) << target;
    }
    FormConstraint six({.lines = {{.units = 6}}, .syllables = dict}, *tok_);
    write(six, {"fi", "re", " ", "e", "v", "e", "r", "y"});
    EXPECT_FALSE(eog_allowed(six));
    write(six, {" ", "cat"});  // 4..6
    EXPECT_TRUE(eog_allowed(six));
}

TEST_F(SyllableTokens, TheCallersGuessCountsWordsTheDictionaryLacks) {
    auto plain = std::make_shared<const SyllableDictionary>(hand_words());
    auto guessing = std::make_shared<const SyllableDictionary>(hand_words(), vowel_groups);
    FormConstraint strict({.lines = {{.units = 2}}, .syllables = plain}, *tok_);
    EXPECT_FALSE(allowed(strict, {"zork"})[0]);  // no word of the dictionary starts so
    FormConstraint form({.lines = {{.units = 2}}, .syllables = guessing}, *tok_);
    write(form, {"the", " "});
    // zork (1) fits; zorkaba (3) would not: "aba" is ruled out after it.
    EXPECT_EQ(allowed(form, {"zork"}), (std::vector<bool>{true}));
    write(form, {"zork"});
    EXPECT_EQ(allowed(form, {"aba", "s"}), (std::vector<bool>{false, true}));
    EXPECT_TRUE(eog_allowed(form));
}

// The syllable tables are keyed on what they read of the vocabulary, not on the tokenizer object:
// a tokenizer built again from the same vocabulary shares them; one with a piece spelled otherwise,
// or a form that never allows some tokens (those with a 'z'), makes its own.
TEST_F(SyllableTokens, TablesAreSharedByVocabularyNotByTokenizerObject) {
    auto dict = std::make_shared<const SyllableDictionary>(hand_words());
    const auto same = model::Tokenizer::from_vocab(tok_->vocab());
    model::Vocab respelled = tok_->vocab();
    respelled.tokens.back() = std::string("Z");
    const auto other = model::Tokenizer::from_vocab(respelled);
    const FormSpec spec{.lines = {{.units = 3}}, .syllables = dict};
    FormSpec no_z = spec;
    no_z.allowed = [](uint32_t cp) { return cp != 'z'; };
    const FormConstraint first(spec, *tok_);
    const FormConstraint second(spec, *same);
    const FormConstraint elsewhere(spec, *other);
    const FormConstraint without_z(no_z, *tok_);
    EXPECT_EQ(second.syllable_tables_id(), first.syllable_tables_id());
    EXPECT_NE(elsewhere.syllable_tables_id(), first.syllable_tables_id());
    EXPECT_NE(without_z.syllable_tables_id(), first.syllable_tables_id());
}

TEST(SyllableForm, BadFormsAreRefused) {
    const auto tok = testing::piece_vocab({"a", " ", "\n"}, false);
    auto dict = std::make_shared<const SyllableDictionary>(hand_words());
    auto refuse = [&](FormSpec spec, const std::string& what) {
        try {
            FormConstraint f(std::move(spec), *tok);
            FAIL() << "accepted " << what;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    refuse({.lines = {{.units = 5}, {.units = 0}}, .syllables = dict}, "line 2 asks for 0 syllables; expected 1..63");
    refuse({.lines = {{.units = -1}}, .syllables = dict}, "line 1 asks for -1 syllables");
    refuse({.lines = {{.units = 64}}, .syllables = dict}, "line 1 asks for 64 syllables");
    refuse({.lines = {}, .syllables = dict}, "needs lines");
    refuse({.lines = {{.units = 5, .fixed = {{0, 'a'}}}}, .syllables = dict}, "line 1 has fixed characters");
    auto twos = std::make_shared<const SyllableDictionary>(std::vector<SyllableWord>{{"over", bit(2)}});
    refuse({.lines = {{.units = 4}, {.units = 3}}, .syllables = twos}, "line 2 asks for 3 syllables; no words");
}

TEST(FormSpecJson, SyllableUnitWithAnInlineOrNamedDictionary) {
    using nlohmann::json;
    const json good = json::parse(R"({"unit": "syllable", "dictionary": {"the": 1, "Fire": [1, 2], "river": 2},
                                     "lines": [{"units": 3}, {"units": 5}]})");
    const FormSpec spec = form_spec_from_json(good, "f.json");
    ASSERT_TRUE(spec.syllables);
    EXPECT_EQ(spec.syllables->counts("fire"), bit(1) | bit(2));
    EXPECT_EQ(spec.lines[1].units, 5);
    auto named = std::make_shared<const SyllableDictionary>(hand_words());
    json by_name = good;
    by_name["dictionary"] = "cmu";
    EXPECT_EQ(form_spec_from_json(by_name, "f.json", [&](std::string_view n) {
                  return n == "cmu" ? named : nullptr;
              }).syllables,
              named);

    auto refuse = [](const json& j, const std::string& message) {
        try {
            form_spec_from_json(j, "f.json");
            FAIL() << "accepted " << j.dump();
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            EXPECT_EQ(std::string(e.what()), message);
        }
    };
    auto with = [&](const char* key, json v) {
        json j = good;
        j[key] = std::move(v);
        return j;
    };
    refuse(with("unit", "syllables"), "f.json: unit: 'syllables' is not a unit; expected cjk, char, letter or syllable");
    refuse(with("lines", json::parse(R"([{"units": 0}])")),
           "f.json: lines[0].units: 0; expected a syllable count 1..63");
    refuse(with("lines", json::parse(R"([{"units": 5}, {"units": -2}])")),
           "f.json: lines[1].units: -2; expected a syllable count 1..63");
    refuse(with("lines", json::parse(R"([{}])")), "f.json: lines[0].units: missing; expected a syllable count 1..63");
    refuse(with("lines", json::parse(R"([{"units": 5, "rhyme": "A"}])")),
           "f.json: lines[0].rhyme: not with the syllable unit (it names character positions)");
    refuse(with("dictionary", json::parse(R"({"cat": 0})")),
           "f.json: dictionary.cat: 0 is not a syllable count; expected an integer 1..63");
    refuse(with("dictionary", json::parse(R"({"cat": []})")),
           "f.json: dictionary.cat: expected a syllable count 1..63 or an array of them");
    refuse(with("dictionary", "cmu"),
           "f.json: dictionary: 'cmu' is not a dictionary this program knows; expected an object of word: syllables or \"cmu\"");
    json no_dict = good;
    no_dict.erase("dictionary");
    refuse(no_dict, "f.json: dictionary: missing; the syllable unit needs a pronouncing dictionary");
    json cjk_dict = good;
    cjk_dict["unit"] = "cjk";
    refuse(cjk_dict, "f.json: dictionary: only the syllable unit takes a dictionary");
}

// Sampled generations from a random-weight model with a character vocabulary: every line holds
// exactly its syllables by the dictionary, and every run ends on its own.
class SyllableGeneration : public ::testing::Test {
protected:
    void SetUp() override {
        tok_ = model::build_char_vocab(testing::mixed_corpus() + "\n,.'");
        model_ = testing::tiny_model(dir_, *tok_, 0.3f, 23);
    }
    std::vector<std::string> run(FormConstraint& form, int n) { return testing::sample_under(*model_, form, n, 300, "x"); }
    testing::TempDir dir_;
    std::unique_ptr<model::Tokenizer> tok_;
    std::unique_ptr<model::Model> model_;
};

TEST_F(SyllableGeneration, LinesHoldExactlyTheirSyllables) {
    auto dict = std::make_shared<const SyllableDictionary>(hand_words());
    FormConstraint haiku({.lines = {{.units = 5}, {.units = 7}, {.units = 5}},
                          .allowed = [](uint32_t cp) { return (cp >= 'a' && cp <= 'z') || cp == ' ' || cp == ',' || cp == '\''; },
                          .syllables = dict},
                         *tok_);
    int words = 0;
    for (const std::string& text : run(haiku, 12)) {
        const auto lines = split_lines(text);
        ASSERT_EQ(lines.size(), 3u) << text;
        for (size_t i = 0; i < 3; ++i) {
            const int target = i == 1 ? 7 : 5;
            const SyllableMask totals = line_totals(*dict, lines[i]);
            EXPECT_TRUE((totals >> target) & 1) << "line " << i + 1 << " '" << lines[i] << "' of '" << text << "'";
            for (char c : lines[i]) words += c == ' ';
        }
    }
    EXPECT_GT(words, 0);  // not all one word per line
}

TEST_F(SyllableGeneration, GuessedWordsAreCountedByTheGuess) {
    // A tiny dictionary and the vowel-group guess: the model writes mostly words the dictionary
    // lacks, and each line's total by (dictionary, else guess) is exact.
    auto dict = std::make_shared<const SyllableDictionary>(std::vector<SyllableWord>{{"a", bit(1)}}, vowel_groups);
    FormConstraint form({.lines = {{.units = 4}, {.units = 6}},
                         .allowed = [](uint32_t cp) { return (cp >= 'a' && cp <= 'z') || cp == ' '; },
                         .syllables = dict},
                        *tok_);
    for (const std::string& text : run(form, 8)) {
        const auto lines = split_lines(text);
        ASSERT_EQ(lines.size(), 2u) << text;
        EXPECT_TRUE((line_totals(*dict, lines[0]) >> 4) & 1) << text;
        EXPECT_TRUE((line_totals(*dict, lines[1]) >> 6) & 1) << text;
    }
}

// vowel_groups as a fold: a piece's vowel groups and whether it starts and ends on a vowel. Words
// with a digit are answered kAskGuess (the plain guess is then asked), so both paths run.
GuessFold vowel_groups_fold() {
    auto vowel = [](char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; };
    auto one = [vowel](char c) -> uint64_t {
        const uint64_t v = vowel(c) ? 1 : 0;
        return v | (v << 8) | (v << 9) | (uint64_t{1} << 10) | ((c >= '0' && c <= '9') ? uint64_t{1} << 11 : 0);
    };
    auto join = [](uint64_t a, uint64_t b) -> uint64_t {
        if ((a >> 10 & 1) == 0) return b;
        if ((b >> 10 & 1) == 0) return a;
        const uint64_t groups = (a & 255) + (b & 255) - (((a >> 9) & 1) & ((b >> 8) & 1));
        return groups | (a & (1u << 8)) | (b & (1u << 9)) | (uint64_t{1} << 10) | ((a | b) & (uint64_t{1} << 11));
    };
    return {.summary = [one, join](std::string_view piece) {
                uint64_t s = 0;
                for (char c : piece) s = join(s, one(c));
                return s;
            },
            .join = join,
            .counts = [](uint64_t s) -> SyllableMask {
                if ((s >> 11) & 1) return kAskGuess;
                return bit(std::max<int>(static_cast<int>(s & 255), 1));
            }};
}

TEST(SyllableForm, FoldOfTheToyGuessMatchesIt) {
    const GuessFold fold = vowel_groups_fold();
    core::Rng rng(9);
    const std::string alphabet = "aeiouybcdrst";
    for (int i = 0; i < 2000; ++i) {
        std::string w;
        for (int k = 1 + static_cast<int>(rng.uniform() * 9); k > 0; --k)
            w += alphabet[static_cast<size_t>(rng.uniform() * 12) % 12];
        for (size_t cut = 0; cut <= w.size(); ++cut)
            ASSERT_EQ(fold.counts(fold.join(fold.summary(w.substr(0, cut)), fold.summary(w.substr(cut)))), vowel_groups(w))
                << w << " at " << cut;
    }
    EXPECT_EQ(fold.counts(fold.summary("ab3")), kAskGuess);
}

// The mask's precomputed path (whole tokens read once into words and breaks) against the byte
// walk it replaces, over a vocabulary of dictionary words, their pieces, random letter runs with
// and without a leading space, capitals, digits, apostrophes (straight and U+2019), line breaks,
// other punctuation, a multi-byte dash and the byte tokens; with no guess, a guess, and a guess
// with a fold; open and closed forms, with and without an allowed set and a predicate.
TEST(SyllableForm, PrecomputedMaskEqualsTheByteWalkOverManyStates) {
    std::vector<std::string> pieces = {" ", "\n", ",", ", ", ".\n", "'", "\xE2\x80\x99", "\xE2\x80\x94", "\xC3\xA9",
                                       "'s", "n't", " '", "a'b", "3", "42", " 7", "x2", "\n\n", " \n", "Fire", " The",
                                       "CAT", ",the", "the,", "on a", " on\na", "at\xE2\x80\x94", "\xE2\x80\x99t"};
    for (const auto& w : hand_words()) {
        pieces.push_back(w.text);
        pieces.push_back(" " + w.text);
        for (size_t cut = 1; cut < w.text.size(); ++cut) {
            pieces.push_back(w.text.substr(0, cut));
            pieces.push_back(w.text.substr(cut));
        }
    }
    for (char c = 'a'; c <= 'z'; ++c) pieces.emplace_back(1, c);
    core::Rng rng(17);
    const std::string letters = "aeiouyrstlnmcdbgfhw";
    for (int i = 0; i < 300; ++i) {
        std::string p = rng.uniform() < 0.4f ? " " : "";
        for (int k = 1 + static_cast<int>(rng.uniform() * 5); k > 0; --k)
            p += letters[static_cast<size_t>(rng.uniform() * static_cast<float>(letters.size())) % letters.size()];
        if (rng.uniform() < 0.1f) p += rng.uniform() < 0.5f ? "," : " ";
        pieces.push_back(p);
    }
    std::sort(pieces.begin(), pieces.end());
    pieces.erase(std::unique(pieces.begin(), pieces.end()), pieces.end());
    const auto tok = testing::piece_vocab(pieces, true);

    const auto plain = std::make_shared<const SyllableDictionary>(hand_words());
    const auto guessing = std::make_shared<const SyllableDictionary>(hand_words(), vowel_groups);
    const auto folding = std::make_shared<const SyllableDictionary>(hand_words(), vowel_groups, vowel_groups_fold());
    auto no_capitals = [](uint32_t cp) { return !(cp >= 'A' && cp <= 'Z'); };
    int mid_word = 0;
    uint64_t seed = 1;
    for (const auto& dict : {plain, guessing, folding}) {
        for (bool closed : {false, true}) {
            for (int variant = 0; variant < 3; ++variant) {
                FormSpec spec{.lines = {{.units = 3}, {.units = 5}, {.units = 2}}, .closed = closed, .syllables = dict};
                if (variant == 1) spec.allowed = no_capitals;
                if (variant == 2) spec.predicate = [](std::string_view text) { return text.size() < 70; };
                FormConstraint form(std::move(spec), *tok);
                const auto n = testing::check_against_walk(form, *tok, 12, 40, seed++);
                EXPECT_EQ(n.mismatches, 0);
                EXPECT_GT(n.states, 100);
                EXPECT_GT(n.allowed, n.states);  // not a mask that allows next to nothing
                mid_word += n.mid_word;
            }
        }
    }
    EXPECT_GT(mid_word, 300);
}

}  // namespace
}  // namespace lyra::gen::constraint
