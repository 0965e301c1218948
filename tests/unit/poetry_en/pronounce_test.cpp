// English pronunciation: the CMU dictionary, the letter-to-sound fallback, word splitting.
#include <gtest/gtest.h>

#include "art/poetry/en/pronounce.h"
#include "core/error.h"

namespace lyra::art::poetry::en {
namespace {

int syllables(std::string_view w) {
    const auto p = Dictionary::get().lookup(w);
    return p.empty() ? -1 : p.front().syllables;
}
std::string rhyme(std::string_view w) {
    const auto p = Dictionary::get().lookup(w);
    return p.empty() ? "" : p.front().rhyme;
}

TEST(Pronounce, DictionaryLoadsOnceWithItsWords) {
    const Dictionary& d = Dictionary::get();
    EXPECT_GT(d.size(), 120000u);
    EXPECT_EQ(&d, &Dictionary::get());
    EXPECT_EQ(syllables("night"), 1);
    EXPECT_EQ(syllables("beautiful"), 3);
    EXPECT_EQ(syllables("Summer"), 2);
    EXPECT_EQ(rhyme("night"), "AY T");
    EXPECT_EQ(rhyme("day"), rhyme("away"));
    EXPECT_NE(rhyme("day"), rhyme("night"));
    EXPECT_EQ(Dictionary::get().lookup("happy").front().stress, "10");
    // Variants: "every" has a 2- and a 3-syllable reading.
    const auto* every = d.find("every");
    ASSERT_NE(every, nullptr);
    EXPECT_GE(every->size(), 2u);
}

TEST(Pronounce, TruncatedDictionaryIsRefused) {
    EXPECT_THROW(Dictionary("export const dictionary = {\n  \"a\": \"AH0\",\n"), Error);
    EXPECT_THROW(Dictionary(""), Error);
}

TEST(Pronounce, PhonesGiveSyllablesStressAndRhyme) {
    const Pron p = pron_from_phones("AH0 B IH1 L AH0 T IY0");
    EXPECT_EQ(p.syllables, 4);
    EXPECT_EQ(p.stress, "0100");
    EXPECT_EQ(p.rhyme, "IH L AH T IY");
    EXPECT_EQ(pron_from_phones("S EH1 V AH0 N T IY2 N").rhyme, "IY N");  // secondary stress counts
}

TEST(Pronounce, PunctuationHyphensApostrophesNumbers) {
    EXPECT_EQ(syllables(split_words("day?").front()), 1);
    EXPECT_EQ(syllables("well-known"), 2);
    EXPECT_EQ(syllables("Heaven\xE2\x80\x99s"), 2);  // curly apostrophe
    EXPECT_EQ(syllables("dimm'd"), 1);                // -'d elision read as -ed
    EXPECT_EQ(syllables("42"), 3);                    // forty two
    EXPECT_EQ(number_to_words("1999"), "one thousand nine hundred ninety nine");
    const auto words = split_words("  \"Shall I -- compare thee\xE2\x80\x94to a summer's day?\" ");
    ASSERT_EQ(words.size(), 8u);
    EXPECT_EQ(words[0], "Shall");
    EXPECT_EQ(words[3], "thee");
    EXPECT_EQ(words[6], "summer's");
    EXPECT_EQ(words[7], "day");
    EXPECT_EQ(split_words("\xE2\x80\x98Tis the season")[0], "'Tis");
}

TEST(Pronounce, LetterToSoundFallbackForUnknownWords) {
    EXPECT_EQ(Dictionary::get().find("glimmerous"), nullptr);
    const auto p = Dictionary::get().lookup("glimmerous");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_TRUE(p[0].guessed);
    EXPECT_EQ(p[0].syllables, 3);
    EXPECT_EQ(p[0].rhyme.front(), '~');
    EXPECT_EQ(guess_pron("stone").syllables, 1);     // silent e
    EXPECT_EQ(guess_pron("table").syllables, 2);     // -le
    EXPECT_EQ(guess_pron("loved").syllables, 1);     // silent -ed
    EXPECT_EQ(guess_pron("wanted").syllables, 2);
    EXPECT_EQ(guess_pron("roses").syllables, 2);
    EXPECT_EQ(guess_pron("blight").rhyme, guess_pron("flight").rhyme);
}

// The CMU dictionary as the form layer's syllable unit (`"dictionary": "cmu"`): every reading's
// count, and the same rules as lookup for words it lacks.
TEST(Pronounce, CmuIsASyllableDictionaryForTheFormLayer) {
    using gen::constraint::SyllableMask;
    auto bit = [](int k) { return SyllableMask{1} << k; };
    const auto dict = cmu_syllables();
    EXPECT_EQ(dict.get(), cmu_syllables().get());  // built once
    EXPECT_TRUE(dict->has_guess());
    EXPECT_EQ(dict->counts("night"), bit(1));
    EXPECT_EQ(dict->counts("fire"), bit(1) | bit(2));   // F AY1 R, F AY1 ER0
    EXPECT_EQ(dict->counts("every"), bit(2) | bit(3));  // EH1 V R IY0, EH1 V ER0 IY0
    EXPECT_EQ(dict->counts("beautiful"), bit(3));
    EXPECT_EQ(dict->counts("blorptastic"), bit(3));  // not in it: the letter-to-sound guess
    EXPECT_EQ(dict->counts("42"), bit(3));           // "forty two"
    EXPECT_GT(dict->words().size(), 100000u);
}

}  // namespace
}  // namespace lyra::art::poetry::en
