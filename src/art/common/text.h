// Text helpers the art forms share for model output: a language model (random, byte-level or
// cut off by a token budget) can stop inside a UTF-8 character or write stray bytes, and what
// goes into prompts, files and saves must be valid text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lyra::art {

// `s` without its first `n` bytes, the cut moved forward to the next UTF-8 character boundary
// (used to keep the tail of a long text within a prompt budget).
std::string drop_front_utf8(std::string_view s, size_t n);

// `s` with every byte that is not part of a valid UTF-8 sequence removed, in one pass.
std::string drop_invalid_utf8(std::string_view s);

// The character that starts at byte `i` of `s`: sets `cp` and returns its length in bytes, or
// returns 0 when the bytes there are not one whole, valid UTF-8 character (a stray byte, a cut-off
// sequence, an overlong form or a surrogate), so callers can step over text of any script.
size_t utf8_char_at(std::string_view s, size_t i, uint32_t& cp);

// `s` with & < > " written as XML/HTML entities, for text between tags and inside a
// double-quoted attribute.
std::string xml_escape(std::string_view s);

}  // namespace lyra::art
