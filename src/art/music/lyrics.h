// Model-written lyrics for a melody (`lyra tune --write-lyrics en|zh`, issue #6): the melody's
// sung notes are counted per phrase, a language model writes one line per phrase with exactly
// that many syllables under the form layer (FormConstraint: English syllables from the CMU
// dictionary the English poems use, Chinese one CJK character per syllable), and the lines become
// the syllables set_lyrics() puts under the notes, one per note.
// Stateless functions; the model is shared and read-only. Errors are lyra::Error (below).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "art/common/art.h"
#include "art/music/abc.h"
#include "art/music/harmony.h"

namespace lyra::art::music {

// The languages --write-lyrics knows, and each one's default model file in models/.
inline constexpr std::string_view kLyricsModelEn = "verse-en.gguf";
inline constexpr std::string_view kLyricsModelZh = "poetry-zh.gguf";

// "en" or "zh" -> its default model file. Throws Error(InvalidArgument) for any other language.
std::string_view lyrics_model_file(std::string_view language);

// Sung notes per lyric line. A phrase is two written bars of one section (the section ends at
// :|, ::, || or |]); a pickup bar joins the phrase after it and an odd bar left at a section's end
// joins the phrase before it. Phrases without a sung note (rests only) get no line, and a phrase
// of more notes than a form line can count (kMaxLineSyllables) is split into near-equal lines.
// Sung notes are sung_notes()'s: ties hold, rests are skipped. Empty when the tune has no notes.
std::vector<int> phrase_syllables(const Tune& tune);

struct LyricsOptions {
    std::string language = {};  // "en" or "zh"
    std::string title = {};     // the prompt's title (the tune's); "" = none
    CommonOptions common = {};  // sampling options and seed; common.model is not used
};

struct WrittenLyrics {
    std::vector<std::string> lines = {};  // one per entry of the syllable counts, no '\n'
    double logprob_sum = 0;               // over the tokens of every pass
    int tokens = 0;                       // generated in every pass
    int passes = 0;  // generation passes (more than 1 when the context is short)
};

// Writes lines[i] with exactly syllables[i] syllables (each 1..kMaxLineSyllables) with `model`.
// The prompt is the model's own corpus header (English "form: verse\ntitle: T\n", Chinese
// "形式:词\n题:T\n"); when the lines do not fit the model's context in one pass, the next pass
// continues from the lines written so far (as many as fit in half the context). Throws
// Error(InvalidArgument) for a bad language or count, Error(ContextFull) when the context cannot
// hold one line.
WrittenLyrics write_lyrics(const std::vector<int>& syllables, const LyricsOptions& options,
                           const model::Model& model, Context& ctx);

// The syllables of lines written by write_lyrics, for set_lyrics(): line i gives exactly
// syllables[i] entries. English words take the counts the CMU dictionary (or its letter-to-sound
// guess) gives them, a pronunciation chosen per word so the line adds up (preferring one the
// spelling can be split into), and are split by split_word(); a word said with more syllables
// than its spelling splits into holds the rest ("_"). Punctuation stays on the syllable before
// it. Chinese: one character per syllable. Throws Error(InvalidArgument) when a line cannot make
// its count.
std::vector<Syllable> lyric_syllables(const std::vector<std::string>& lines,
                                      const std::vector<int>& syllables, std::string_view language);

}  // namespace lyra::art::music
