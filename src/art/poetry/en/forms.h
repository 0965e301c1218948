// The English verse forms (issue #5) and the checker that judges a poem against one the way a
// teacher of the form would: line count, syllables per line, rhyme scheme (no rhyme word
// repeated), acrostic letters, and for the sonnet an iambic-stress critic score.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/poetry/fault.h"

namespace lyra::art::poetry::en {

struct LineSpec {
    int min_syllables = 0;
    int max_syllables = 0;
    char rhyme = 0;  // rhyme group letter ('A', 'B', ...); 0 = the line need not rhyme
};

struct VerseForm {
    std::string name;         // "haiku", "limerick", "sonnet", "acrostic"
    std::string description;  // one line for --list-forms
    std::vector<LineSpec> lines;  // empty for "acrostic" until the letters are known
    bool iambic = false;      // the meter critic scores iambic stress
};

// The forms in display order.
const std::vector<VerseForm>& verse_forms();
// Null when `name` is not an English form.
const VerseForm* find_verse_form(std::string_view name);
// The form's lines for a request: `acrostic` (letters, may be empty) must have one letter per
// line for the fixed forms, and sets the line count of the "acrostic" form. Throws
// Error(InvalidArgument) for an unknown form or a wrong acrostic.
VerseForm resolve_form(std::string_view name, std::string_view acrostic);

// What the checker found in one poem.
struct VerseReport {
    std::vector<Fault> faults;
    int lines = 0;                 // non-blank lines in the poem
    double syllable_accuracy = 0;  // share of the form's lines with the right syllable count
    double rhyme_accuracy = 0;     // share of rhyming lines (after each group's first) that rhyme
    double acrostic_accuracy = 1;  // share of lines starting with their letter (1 without acrostic)
    double meter = 0;              // iambic fit 0..1 for iambic forms; share of syllable pairs
                                   // without a stress clash otherwise
    bool compliant() const { return faults.empty(); }
    nlohmann::json to_json() const;
};

// Checks `text` (one line per line of verse; blank lines are ignored) against a resolved form.
// `acrostic` may be empty (no letters required).
VerseReport analyse_poem(const VerseForm& form, std::string_view text, std::string_view acrostic);

// The poem's non-blank lines, trimmed.
std::vector<std::string> poem_lines(std::string_view text);

}  // namespace lyra::art::poetry::en
