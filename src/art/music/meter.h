// The meter engine: every note's duration from the notation (unit length, broken rhythm,
// tuplets, chords, multi-bar rests, inline L:/M:/K: changes), bar durations checked against the
// meter (a critic for any ABC), and the tune as performed (repeats and first/second endings
// expanded, ties merged, accidentals carried through the bar) for MIDI, audio and scoring.
#pragma once

#include <string>
#include <vector>

#include "art/music/abc.h"

namespace lyra::art::music {

// One bar as written.
struct BarSpan {
    Frac dur = {};       // what its notes add up to, in whole notes
    Frac want = {};      // what the meter asks for
    int line = 0, col = 0;  // where the bar starts
    bool short_ok = false;  // a pickup or a section's last bar: may be shorter than `want`
    bool multi = false;     // holds a multi-bar rest (Z4): not checked
};

struct MeterFault {
    int bar = 0;  // 1-based, as written
    int line = 0, col = 0;
    Frac got = {}, want = {};
    std::string message;  // "line 3, column 5: bar 7 lasts 5/8, the meter 6/8 wants 3/4"
};

struct MeterReport {
    std::vector<BarSpan> bars = {};
    std::vector<MeterFault> faults = {};
    bool free = false;  // M:none: nothing to check
    bool ok() const { return faults.empty(); }
};

// Checks every bar against the meter in force. Pickups (a tune's or section's first bar) and a
// section's last bar (before ||, |], :|, an ending or the end) may be short; no bar may be long.
MeterReport check_meter(const Tune& tune);

// A note, chord or rest as written, with where it falls in its bar (for harmony and lyrics).
struct WrittenNote {
    size_t elem = 0;       // index in Tune::body
    int bar = 0;           // 0-based written bar
    Frac offset = {};      // from the start of its bar, whole notes
    Frac dur = {};
    std::vector<int> midi = {};  // empty for a rest
    bool tie = false;
    Frac bar_len = {};     // the meter's bar length there
};
std::vector<WrittenNote> written_notes(const Tune& tune);

// --- the performance ---------------------------------------------------------------------------

struct PlayedNote {
    int midi = 60;
    Frac start = {}, dur = {};  // whole notes from the start
};

struct PlayedChord {
    std::string symbol;  // "Am", "D7", "G/B"
    Frac start = {};
};

struct Performance {
    std::vector<PlayedNote> notes = {};   // sorted by start
    std::vector<PlayedChord> chords = {};  // chord symbols where they fall
    Frac total = {};                       // the performed length
    Meter meter = {};                      // the first meter
    Key key = {};                          // the first key
    int tempo_qpm = 120;                   // quarter notes per minute (Q:, else 120)
};

// Plays the tune: repeats (|: :| ::) and endings ([1 [2) expanded, ties merged. Throws
// Error(InvalidArgument) for an unparsable K:, M: or L: value.
Performance perform(const Tune& tune);

// Share of note time (0..1) on the pitch classes of `key`'s scale.
double key_fit(const Performance& p, const Key& key);

// A chord symbol's pitch classes, root first ("Am" -> A C E, "D7" -> D F# A C, "G/B" -> G B D).
// Empty when the symbol is not a chord (an annotation).
// Diminished triads are "dim" (also "o" and "°"), half-diminished "m7b5" (also "ø").
std::vector<int> chord_pitch_classes(const std::string& symbol);

// The pitch class the bass plays for a chord symbol: the note after '/' in a slash chord (an
// inversion such as "C/E", or another bass such as "D/C"), else the root. -1 when the symbol is
// not a chord.
int chord_bass_pc(const std::string& symbol);

}  // namespace lyra::art::music
