// TuneConstraint: the meter and key engine as a decoding constraint (gen::Constraint). The
// model writes a tune body after an ABC header; this constraint lets through only tokens that
// keep the body a prefix of a well-formed tune in the subset Lyra generates:
//   notes a-g A-G with one octave mark (C, .. c'), rests z, lengths "", /2, 3/2, 2, 3, 4, 6 of
//   the unit L, broken rhythm (A>B between two unit notes), single spaces (beam breaks),
// and it writes the structure itself: every bar is filled exactly to the meter before its bar
// line; parts are opened with |: and closed with :| when repeated; a line break every
// `bars_per_line` bars; the tune ends on the key's tonic, on a complete bar, with |] (or :|)
// and a newline, then only end-of-generation. Accidentals are not allowed: every note is in
// the key (the key/mode constraint). A token budget is honoured: a token is allowed only if the
// shortest completion from there still fits (so the tune always finishes within max_tokens on
// char or byte vocabularies).
//
// Model-written chords (`lyra tune --chords model`, TuneSpec::chords non-empty): the model may
// also write quoted chord symbols, "Am"A2, but only names from TuneSpec::chords (key_chords():
// diatonic to the key), only right before a note or rest (never inside one, never before a
// space, bar line or broken-rhythm mark), only at the start of a bar or, in meters of an even
// number of beats, at its middle, so at most two per bar; the tune's first note carries one,
// so the accompaniment always has a chord to follow. Chords take no time: bars stay full.
//
// One per generation stream; not thread-safe; never throws after construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "art/music/abc.h"
#include "generate/sampler.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::art::music {

struct PartPlan {
    char name = 'A';
    int bars = 8;
    bool repeat = false;  // played twice: |: ... :|
};

struct TuneSpec {
    Meter meter = {};
    Frac unit = {1, 8};
    Key key = {};
    std::vector<PartPlan> parts = {{'A', 8, true}, {'B', 8, true}};
    int bars_per_line = 4;
    int min_notes = 0;    // at least this many notes (lyrics need one per syllable)
    int max_tokens = 0;   // the run's token budget (0 = none)
    bool broken_rhythm = true;  // A>B allowed (off for hornpipes: abc2midi swings R:hornpipe
                                // itself and refuses explicit pairs that cross its own)
    std::vector<std::string> chords = {};  // chord symbols the model may write (empty: none)
};

// Parses --parts ("AABB", "AB", "ABC", "AAB"): each letter once or twice in a row, letters in
// order A, B, C... Throws Error(InvalidArgument).
std::vector<PartPlan> parse_parts(const std::string& parts, int bars_per_part);

class TuneConstraint final : public gen::Constraint {
public:
    // Throws Error(InvalidArgument) when the meter and unit give a bar that is not a whole
    // number of half units (e.g. M:5/16 with L:1/8... is fine; free meter is refused).
    TuneConstraint(TuneSpec spec, const model::Tokenizer& tok);

    void apply(gen::CandidateSet& c) override;
    void accept(gen::TokenId id) override;
    void reset() override;

    bool complete() const;               // the tune has ended (final bar line written)
    const std::string& text() const { return text_; }
    bool dead_end() const { return dead_end_; }
    int bar_half_units() const { return bar_units_; }
    // The fewest tokens (characters) a whole tune of this spec takes, end-of-generation included.
    int min_tokens() const;

    // Feeds text directly (tests, and to check a body): false at the first character refused.
    bool feed(std::string_view s);

    struct State {
        int part = 0, bar = 0;  // current part and bar within it
        int rem = 0;            // half units left in the bar
        int notes = 0;          // notes written (rests excluded)
        std::string forced;     // structure text that must come next
        bool done = false;
        bool in_note = false;
        char letter = 0;        // the note being written ('z' for a rest)
        bool octave_mark = false;
        std::string dur;        // its length text so far
        bool prev_unit_note = false;  // the last symbol was a note of length "" (broken rhythm may follow)
        bool broken = false;    // a > or < was written: the next note has length ""
        bool last_space = false;
        bool bar_has_symbol = false;
        bool in_chord = false;  // inside "...": `chord` holds the name so far
        std::string chord;
        bool after_chord = false;  // a chord symbol was closed: a note or rest must follow
        int chords = 0;            // chord symbols written
        int tokens = 0;         // tokens accepted
    };

private:
    bool step(State& s, char c) const;
    bool finish_note(State& s) const;           // ends the note being written
    bool note_ok(const State& s, int len) const;  // may the current note take `len`?
    bool viable(const State& s) const;
    int min_chars_to_end(const State& s) const;
    void end_bar(State& s) const;               // sets the forced bar line text
    bool final_bar(const State& s) const;
    bool is_tonic(char letter) const;
    bool chord_slot(const State& s) const;      // may a chord symbol start here?
    int chord_close_cost(const std::string& prefix) const;  // characters to finish "prefix..."

    TuneSpec spec_;
    std::vector<std::string> bytes_;
    std::vector<uint8_t> eog_;
    int bar_units_ = 0;
    std::vector<int> fill_cost_;  // fewest characters that fill n half units
    int half_bar_ = -1;           // half units left at the bar's middle chord slot (-1: none)
    State st_;
    std::string text_;
    bool dead_end_ = false;
};

}  // namespace lyra::art::music
