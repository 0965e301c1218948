// One fault a poem checker found: where it is and what the form wanted there.
// Shared by the Chinese (src/art/poetry) and English (src/art/poetry/en) checkers.
#pragma once

#include <string>

namespace lyra::art::poetry {

struct Fault {
    int line = 0;      // 1-based line number; 0 = the poem as a whole (e.g. line count)
    int position = 0;  // 1-based character (Chinese) or syllable/word (English); 0 = whole line
    std::string expected;  // what the form wants there, e.g. "仄", "7 characters", "rhyme 东"
    std::string found;     // what the poem has, e.g. "花 (平)", "5 characters"
    std::string message;   // full sentence, e.g. "line 3, char 2: 仄 expected, 花 is 平"
};

}  // namespace lyra::art::poetry
