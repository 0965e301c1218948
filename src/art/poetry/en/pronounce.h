// English pronunciation for the verse forms (issue #5): syllable counts, stress patterns and
// rhyme keys from the CMU Pronouncing Dictionary (npm cmu-pronouncing-dictionary, ARPAbet with
// 0/1/2 stress digits), with a rule-based letter-to-sound fallback for words it lacks.
// The dictionary is parsed once per process (Dictionary::get) and is read-only afterwards, so
// it is thread-safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "generate/constraint/syllable.h"

namespace lyra::art::poetry::en {

// One pronunciation of a word.
struct Pron {
    int syllables = 0;
    std::string stress;     // one digit per syllable: '1' primary, '2' secondary, '0' none,
                            // '?' unknown (letter-to-sound guesses)
    std::string rhyme;      // phones from the last stressed vowel on, stress marks dropped
                            // ("AY T" for "night"); spelling-based keys start with '~'
    bool guessed = false;   // from the letter-to-sound rules, not the dictionary
};

class Dictionary {
public:
    // The process-wide dictionary, loaded on first use from npm_package_dir(
    // "cmu-pronouncing-dictionary")/index.js. Throws Error(NotFound/Corrupt) on first use if the
    // package is missing or unreadable.
    static const Dictionary& get();
    // Parses index.js-formatted text (lines `  "word": "PHONES",`); "word(2)" adds a variant.
    explicit Dictionary(std::string_view index_js);

    // The dictionary's pronunciations of a lower-case word; null when absent.
    const std::vector<Pron>* find(std::string_view word) const;
    // Every pronunciation of a word as written in a poem (any case, curly or straight
    // apostrophes, surrounding punctuation, hyphens joining parts, digits): the dictionary's,
    // else combinations of its parts, else one letter-to-sound guess. Empty only for a token
    // with no letters or digits at all.
    std::vector<Pron> lookup(std::string_view word) const;
    size_t size() const { return words_.size(); }
    // Every dictionary word (lower case), for building generation lexicons.
    const std::unordered_map<std::string, std::vector<Pron>>& words() const { return words_; }

private:
    std::unordered_map<std::string, std::vector<Pron>> words_;
};

// The CMU dictionary as the form layer's syllable unit (`"dictionary": "cmu"` in form files):
// every word of letters, digits and inner apostrophes with the counts of all its pronunciations,
// and Dictionary::lookup (parts, numbers, endings, then the letter-to-sound guess) for the rest.
// Built once per process; throws like Dictionary::get().
std::shared_ptr<const gen::constraint::SyllableDictionary> cmu_syllables();

// guess_pron's syllable count as a GuessFold (syllable.h), for words of letters a-z; anything else
// is answered kAskGuess. cmu_syllables() gives it to the decoder beside the guess.
gen::constraint::GuessFold letter_guess_fold();

// Builds a Pron from ARPAbet phones ("N AY1 T").
Pron pron_from_phones(std::string_view phones);
// Letter-to-sound guess for a lower-case word of letters (and apostrophes): vowel groups with
// the usual silent-e and -ed/-es rules, and a rhyme key from the spelling of the last vowel
// group on ("~ight").
Pron guess_pron(std::string_view word);
// "42" -> "forty two"; numbers 0..999999 (larger ones are read digit by digit).
std::string number_to_words(std::string_view digits);
// Splits a line into its words as a reader voices them: whitespace and dashes separate, leading
// and trailing punctuation is dropped, curly apostrophes become straight, case is kept.
std::vector<std::string> split_words(std::string_view line);
// Lower-cases ASCII letters and maps U+2019 to '\''.
std::string normalize_word(std::string_view word);

}  // namespace lyra::art::poetry::en
