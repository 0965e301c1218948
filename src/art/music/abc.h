// ABC 2.1 notation (https://abcnotation.com/wiki/abc:standard:v2.1) for what folk tunes use:
// a parser into a flat list of body elements and a writer back to text, so that
// parse -> write -> parse is the identity on every tune (tests/unit/music/abc_test.cpp runs it
// over the Nottingham and O'Neill's corpora). Comments and %% directives are dropped; spacing is
// kept only where it means something (a space breaks a beam, a line break ends a staff line).
// Keys and meters are parsed here too: the meter engine (meter.h), the MIDI writer and the
// decoding constraint all read them. Thread-safe (no state).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lyra::art::music {

// A non-negative rational in lowest terms (note lengths, bar durations in whole notes).
struct Frac {
    int64_t num = 0, den = 1;
    Frac() = default;
    Frac(int64_t n, int64_t d = 1);  // normalises; d must be > 0
    // Arithmetic is exact (128-bit intermediates); a result outside 64 bits throws
    // Error(Corrupt) — only absurd notation (thousands of unrelated tuplets) gets there.
    Frac operator+(const Frac& o) const;
    Frac operator-(const Frac& o) const;
    Frac operator*(const Frac& o) const;
    Frac operator/(const Frac& o) const;
    bool operator==(const Frac& o) const { return num == o.num && den == o.den; }
    bool operator<(const Frac& o) const;
    bool operator<=(const Frac& o) const { return !(o < *this); }
    double value() const { return static_cast<double>(num) / static_cast<double>(den); }
    std::string str() const;  // "3/8", "1"
};

constexpr int kNoAccidental = 99;

// A pitch as written: letter 'A'..'G', octave 0 for C..B (middle C = C), 1 for c..b, -1 for C,..B,
// and the explicit accidental (-2 __, -1 _, 0 =, 1 ^, 2 ^^, kNoAccidental when none).
struct Pitch {
    char letter = 'C';
    int octave = 0;
    int acc = kNoAccidental;
    bool operator==(const Pitch&) const = default;
};

// A note or rest symbol. Rests have letter 'z' (or 'x' invisible; 'Z'/'X' multi-bar, where
// `len` counts bars). `len` multiplies the unit note length L.
struct Note {
    Pitch pitch = {};
    char rest = 0;  // 0 for a note; 'z', 'x', 'Z' or 'X' for a rest
    Frac len = {1, 1};
    bool tie = false;  // followed by '-'
    bool operator==(const Note&) const = default;
};

enum class ElemKind {
    Note,         // notes[0]
    Chord,        // [CEG]: notes; len multiplies each note's length; tie
    Grace,        // {gag}: notes; flag = acciaccatura ({/g})
    Bar,          // text: "|", "||", "|]", "[|", "|:", ":|", "::", ":|:"...; ending: "1", "1,2" after it
    Ending,       // a lone "[1" / "[2": text "1"
    Broken,       // text ">", ">>", "<"...
    Tuplet,       // text "3", "3:2:3"
    SlurOpen,     // (
    SlurClose,    // )
    Decoration,   // text "~", ".", "T", "!trill!", "+fermata+"
    ChordSymbol,  // text between the quotes: "Am", "D7", "^annotation"
    InlineField,  // text "K:D" inside [ ]
    Field,        // a field line in the body: text "w:some words", "P:B", "K:G"
    Space,        // blanks between symbols (beam break)
    LineBreak,    // end of a music line; flag = continued with '\'
    Overlay,      // &
    Spacer,       // y
};

struct Element {
    ElemKind kind = ElemKind::Space;
    std::vector<Note> notes = {};
    Frac len = {1, 1};
    bool tie = false;
    bool flag = false;
    std::string text = {};
    std::string ending = {};
    int line = 0, col = 0;  // where it was read (1-based); not part of equality
    bool operator==(const Element& o) const {
        return kind == o.kind && notes == o.notes && len == o.len && tie == o.tie &&
               flag == o.flag && text == o.text && ending == o.ending;
    }
};

struct Tune {
    std::vector<std::pair<char, std::string>> header = {};  // X first, K last, values trimmed
    std::vector<Element> body = {};
    int line = 0;  // line of the X: field
    std::vector<std::string> repairs = {};  // what a lenient parse fixed (not part of equality)
    bool operator==(const Tune& o) const { return header == o.header && body == o.body; }
    // The header field's value ("" when absent); the first occurrence.
    std::string field(char f) const;
    bool has_field(char f) const;
};

// Parses every tune in `text` (tunes start at X:, end at a blank line, the next X: or the end).
// Throws Error(Corrupt) "<source>: line L, column C: <problem>" for malformed notation. Lenient
// parsing (strict = false, for the corpora) repairs the few slips real collections have (a
// chord missing its ']') and records each in Tune::repairs.
std::vector<Tune> parse_abc(std::string_view text, std::string_view source = "abc",
                            bool strict = true);
// Parses text that must hold exactly one tune (a header without X: is accepted: X:1 is added).
Tune parse_tune(std::string_view text, std::string_view source = "abc", bool strict = true);

std::string write_abc(const Tune& tune);
std::string write_abc(const std::vector<Tune>& tunes);  // separated by blank lines
std::string write_body(const std::vector<Element>& body);
std::string write_note(const Note& n);

// --- keys and meters -------------------------------------------------------------------------

enum class Mode { Major, Minor, Dorian, Phrygian, Lydian, Mixolydian, Locrian };
const char* mode_name(Mode m);  // "major", "minor", "dorian", ...

struct Key {
    char tonic = 'C';   // 'A'..'G'
    int tonic_acc = 0;  // -1 flat, +1 sharp
    Mode mode = Mode::Major;
    bool none = false;  // K:none / K:HP: no signature
    std::array<int, 7> extra = {kNoAccidental, kNoAccidental, kNoAccidental, kNoAccidental,
                                kNoAccidental, kNoAccidental, kNoAccidental};  // explicit, by letter C..G
    // The accidental the signature gives each letter, indexed C=0 .. B=6.
    std::array<int, 7> signature() const;
    int tonic_pc() const;  // pitch class 0..11 of the tonic
    // Pitch classes of the scale, tonic first.
    std::array<int, 7> scale_pcs() const;
    std::string str() const;  // canonical ABC: "D", "Em", "Ador", "Bb", "F#m"
};

// Parses a K: value ("D", "Em", "Ador", "Bb", "F#m", "G mixolydian", "D ^c", "none", "HP").
// Clef and other key=value words are ignored. Throws Error(InvalidArgument)
// "key: unknown mode ...; expected ..." for anything else.
Key parse_key(std::string_view value);

struct Meter {
    Frac bar = {4, 4};  // whole notes per bar
    bool free = false;  // M:none
    int beats_num = 4, beats_den = 4;  // as written, for MIDI time signatures
    bool compound() const { return beats_den == 8 && beats_num % 3 == 0 && beats_num > 3; }
    std::string str() const;  // "6/8", "C|" is written "2/2"
};
// "6/8", "C", "C|", "2+3/8", "none". Throws Error(InvalidArgument).
Meter parse_meter(std::string_view value);
// The unit note length when L: is absent (ABC 2.1: 1/16 below 3/4, else 1/8).
Frac default_unit(const Meter& m);
// "1/8" -> 1/8. Throws Error(InvalidArgument).
Frac parse_unit(std::string_view value);

// Letter index C=0 .. B=6 and natural semitone above C.
int letter_index(char letter);
int letter_semitone(char letter);
// MIDI number of a pitch given the accidental in force (middle C = 60).
int midi_pitch(const Pitch& p, int acc_in_force);

}  // namespace lyra::art::music
