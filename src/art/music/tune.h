// The `tune` art form (issue #6): a folk tune composed in ABC by a language model under the
// meter/key constraint (tune_constraint.h), optionally harmonized and set to lyrics, rendered to
// MIDI, WAV and SVG. Also the evaluation (`lyra tune eval`) and the "abc" corpus builder.
//
// Request keys (the CLI flags, snake_case): key ("D", "Em", "Ador"...), meter ("6/8"), rhythm
// ("reel", "jig", "slip jig", "hornpipe", "polka", "waltz", "march", "slide", "air",
// "mazurka"), bars (per part), parts ("AABB"), tempo (quarter notes per minute), title, chords
// (true or "scored": harmonize() after composing; "model": the model writes them under the
// constraint, from key_chords()), lyrics (a text file), write_lyrics ("en" or "zh": a language
// model writes the words, lyrics.h; not with lyrics), lyrics_model (its GGUF; default
// models/verse-en.gguf or models/poetry-zh.gguf), melody (an ABC file used instead of
// generating), plus the common keys. With write_lyrics each candidate's scores carry "lyrics"
// (one line per phrase) and "lyrics_loglik_per_token", and -o DIR also gets lyrics.txt. The model prompt is the ABC header the corpus builder writes:
//   X:1 / T:<title> / R:<rhythm> / M:<meter> / L:1/8 / Q:1/4=<tempo> / K:<key>
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "art/common/art.h"
#include "art/music/abc.h"

namespace lyra::art::music {

constexpr const char* kTuneModelFile = "abc-tunes.gguf";

ArtResult run_tune(const nlohmann::json& request, Context& ctx);

// The prompt for a request's conditioning (also what the corpus builder writes as the header).
std::string tune_header(const std::string& title, const std::string& rhythm, const Meter& meter,
                        int tempo_qpm, const Key& key);

// Checks ABC with abc2midi (Debian abcmidi): clean = exit 0, no "Error" and no bar-length
// ("time units") warning in its output. `detail` gets the first complaint.
bool abc2midi_clean(const std::string& abc, std::string* detail = nullptr);

// `lyra tune eval`: request keys rhythm ("" = every rhythm), count, bars, parts, chords ("model":
// model-written chords, adding "chords_per_bar" to the figures), plus the common keys (model,
// seed = the first seed). Returns the per-rhythm and total figures:
// {"rhythms": {"reel": {"count", "abc2midi_clean", "meter_ok", "key_fit", "parts_ok",
//   "novelty_in_corpus", "loglik_per_token"}...}, "total": {...}}.
nlohmann::json eval_tunes(const nlohmann::json& request, Context& ctx);

// The "abc" corpus builder: every tune of ../shared/data's ABC folders (de-duplicated by
// melody), header reduced to the conditioning fields, body without chord symbols, comments or
// lyrics; options {"transpose": [semitones...]} adds transposed copies (default [-2, 2, 5]),
// {"dirs": [...]} chooses the folders, {"chords": true} keeps the chord symbols (in canonical
// spelling, "D/f+" -> "D/F#"; annotations still dropped) and moves them with each transposed
// copy, so that a model learns to write them (`lyra tune --chords model`).
void build_abc_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit);

// Transposes a tune by `semitones`, spelling the new key with the usual signature (at most 6
// sharps or flats). Chord symbols are dropped, or with `keep_chords` transposed with the tune
// (transpose_chord: root and bass move by the same letters as the key, so "A7" in D becomes
// "B7" in E and "G/B" becomes "A/C#"; annotations are dropped). Returns false (tune untouched)
// when a note cannot be spelled.
bool transpose_tune(Tune& tune, int semitones, bool keep_chords = false);

}  // namespace lyra::art::music
