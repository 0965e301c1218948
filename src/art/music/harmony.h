// Harmony and lyrics for a melody.
//
// harmonize(): chord symbols for each bar, or half-bar where the melody asks for a change, chosen
// among the key's diatonic triads with a perfect fifth (plus the major dominant in minor modes,
// and the diminished vii° in major and ii° in minor, "Bdim"), each also in first inversion
// ("C/E", "Bdim/D"), by a Viterbi pass: melody fit (note time on chord tones, the segment's first
// note counting more), voice-leading (common tones, falling-fifth root motion, vii° to I, and for
// inversions a bass that moves by step), and cadences (the tonic at the start, dominant then tonic
// at each section end, all in root position).
//
// set_lyrics(): syllables placed on the notes, one per note, as aligned w: lines under each
// music line; notes beyond the syllables hold the previous syllable (_), spread evenly.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "art/music/abc.h"
#include "art/music/meter.h"

namespace lyra::art::music {

// Replaces the tune's chord symbols with new ones. Returns the chords chosen, in order.
std::vector<std::string> harmonize(Tune& tune);

// The chord symbols a model may write in `key` (`--chords model`, TuneConstraint): the diatonic
// triads with a perfect fifth ("D", "Em", ...; the diminished triad is left out here, while
// harmonize() uses vii° and ii° where the melody outlines them), the diatonic dominant sevenths
// (V7 in major, I7 in Mixolydian, IV7 in Dorian, VII7 in minor), the major dominant and its
// seventh in minor and Dorian (the raised leading tone), and in major the secondary dominant V/V
// and V7/V ("E", "E7" in D). Roots are spelled by the key signature. Tonic triad first.
std::vector<std::string> key_chords(const Key& key);

// A chord symbol as the corpora write it: a root A-G with # or b, a quality from a fixed list
// (m, 7, m7, maj7, dim, dim7, aug, sus4, 6, m6, 9, m9, 7b9, m7b5; the aliases min, +,
// Nottingham's "d" and the lead-sheet "o" and "°" for dim, and "ø" for m7b5 are read too) and an optional bass after '/', which Nottingham writes
// in lower case with '+' for sharp ("D/f+" is D/F#).
struct ChordName {
    char root = 'C';
    int root_acc = 0;     // -1 flat, +1 sharp
    std::string quality;  // canonical: "", "m", "7", "dim"...
    char bass = 0;        // 0 = no bass note
    int bass_acc = 0;
    std::string str() const;  // canonical: "D/F#", "Gdim", "Bbm"
};
// Nothing when the text is not a chord of that form (annotations "^fine", "(E7)", "Moderate").
std::optional<ChordName> parse_chord_name(std::string_view symbol);

// Moves a chord symbol with a transposed tune: each letter (root and bass) moves up
// `letter_steps` letters (the key's tonic letter change) and `semitones` in pitch, so a chord
// keeps its degree spelling in the new key; a double sharp or flat is respelled on the next
// letter (never written). Returns the canonical text, or "" when `symbol` is not a chord.
// transpose_chord(s, 0, 0) is the canonical spelling of s.
std::string transpose_chord(std::string_view symbol, int letter_steps, int semitones);

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

// The notes a singer gives a syllable each, in order: not rests, and a tied note's continuation
// is not a new note (it holds the syllable, as abc2midi and abcm2ps align w: lines).
std::vector<WrittenNote> sung_notes(const Tune& tune);
// sung_notes(tune).size().
int count_sung_notes(const Tune& tune);

// The written bars (0-based, counted as written_notes() counts them) that end a section: the bar
// before ":|", "::", "||" or "|]". The tune's last bar is not added unless such a bar line ends it.
std::set<int> section_end_bars(const Tune& tune);

}  // namespace lyra::art::music
