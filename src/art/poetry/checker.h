// The Chinese checker (`lyra poem --check`, the critics, `lyra poem eval`): reads a poem the way
// a teacher of the form would — line count and lengths, 平仄 against the form's patterns (the
// opening that fits best), one rhyme group per rhyme set, no rhyme character repeated — and
// explains each fault ("line 3, char 2: 仄 expected, 花 is 平"). Traditional text is folded to
// Simplified first; a character missing from the prosody table is not judged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "art/poetry/fault.h"
#include "art/poetry/forms.h"
#include "art/poetry/prosody.h"

namespace lyra::art::poetry {

struct CheckResult {
    std::vector<Fault> faults = {};
    std::string variant = {};    // the opening / 词牌 the poem was read against
    bool length_ok = false;      // line count and every line's length
    bool tone_ok = false;        // every judged character fits its position's 平/仄
    bool rhyme_ok = false;       // one group per rhyme set, no repeated rhyme character
    int tone_faults = 0, rhyme_faults = 0, length_faults = 0;
    bool ok() const { return faults.empty(); }
};

// The poem's verse lines: split at punctuation and line breaks, blanks and '#' lines dropped,
// folded to Simplified (unless `fold` is false: the text already is); each line the code points
// of its characters.
std::vector<std::u32string> split_verse(std::string_view text, bool fold = true);

CheckResult check_zh(const FormDef& form, std::string_view text, RhymeBook book);

}  // namespace lyra::art::poetry
