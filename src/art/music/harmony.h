// Harmony and lyrics for a melody.
//
// harmonize(): chord symbols for each bar, or half-bar where the melody asks for a change, chosen
// among the key's diatonic triads (plus the major dominant in minor modes) by a Viterbi pass:
// melody fit (note time on chord tones, the segment's first note counting more), voice-leading
// (common tones and falling-fifth root motion), and cadences (the tonic at the start, dominant
// then tonic at each section end).
//
// set_lyrics(): syllables placed on the notes, one per note, as aligned w: lines under each
// music line; notes beyond the syllables hold the previous syllable (_), spread evenly.
#pragma once

#include <string>
#include <vector>

#include "art/music/abc.h"

namespace lyra::art::music {

// Replaces the tune's chord symbols with new ones. Returns the chords chosen, in order.
std::vector<std::string> harmonize(Tune& tune);

struct Syllable {
    std::string text;
    bool word_end = true;
};

// English words split into syllables (counts from the CMU pronouncing dictionary when
// `cmu_index_js` names its index.js, else from vowel groups); Chinese (CJK) text one character per
// syllable. Punctuation is dropped. Throws Error(InvalidArgument) when there are no syllables.
std::vector<Syllable> syllabify(const std::string& text, const std::string& cmu_index_js = {});

// Syllables in the vowel-group heuristic (exposed for tests): "melody" -> me lo dy.
std::vector<std::string> split_word(const std::string& word, int want_syllables = 0);

// Adds w: lines. Throws Error(InvalidArgument) when there are more syllables than notes.
void set_lyrics(Tune& tune, const std::vector<Syllable>& syllables);

// Notes (not rests; a tied note's continuation counts once) in the tune.
int count_sung_notes(const Tune& tune);

}  // namespace lyra::art::music
