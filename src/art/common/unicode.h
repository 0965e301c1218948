// Unicode text helpers for what players and readers see: matching typed words against names
// whatever their case or width form (NFKC with case folding, on utf8proc's tables), and
// wrapping text to a terminal's columns by display width (CJK and full-width characters take
// two columns, combining marks none). Pure functions of their input; invalid UTF-8 bytes are
// kept as they are (they cannot be normalised, and dropping them would hide them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lyra::art {

// NFKC with full case folding and default-ignorable code points removed (Unicode's
// NFKC_Casefold): "TAKE LAMPE", "ｔａｋｅ ｌａｍｐｅ" and "take lampe" fold alike, so do
// "Tür" written precomposed and as "u" + U+0308, and "STRASSE" and "straße". For matching
// only: the result is not meant to be shown.
std::string fold_text(std::string_view s);
// NFKC without case folding: full-width letters, digits and the ideographic space become their
// ASCII forms, and the case the player typed stays (for slot names).
std::string nfkc_text(std::string_view s);

// Columns a code point takes in a terminal: 2 for East Asian wide and full-width characters
// (CJK ideographs, kana, Hangul, full-width Latin), 0 for combining marks and controls, else 1.
int char_columns(uint32_t cp);
// Columns of a whole string (an invalid byte counts as 1, as a terminal shows one replacement).
int text_columns(std::string_view s);

// Wraps each line of `text` to at most `width` columns, by display width. A line that already
// fits is kept as written (indented help lines). Breaks go at spaces (the space is dropped, runs
// of spaces become one) and between two characters where either is a wide (CJK) one, so Chinese
// and Japanese wrap without spaces; never inside a UTF-8 character, never before a combining
// mark, and, as simple kinsoku, never before closing punctuation (。，、！？」』）and , . ! ? ;
// : ) ] and closing quotes) nor after opening punctuation (「『（ ( [ and opening quotes), also
// across a space ("Bonjour !" and "« oui »" stay whole, the space kept as written). A
// piece that cannot be broken and is wider than `width` gets a line of its own. Every line ends
// in '\n'; `width` < 1 is taken as 1.
std::string wrap_text(std::string_view text, int width);

}  // namespace lyra::art
