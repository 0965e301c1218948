// Character vocabularies for small models Lyra trains: the most frequent characters of a corpus
// become single-character pieces of a SentencePiece-style ("llama") vocabulary, with the 256
// <0xNN> byte tokens as fallback for anything else, plus <unk>, <s> and </s> (ids 0, 1, 2).
// Stored in GGUF like any other tokenizer, so other GGUF tools read it and give the same text.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "model/tokenizer/tokenizer.h"

namespace lyra::model {

// Counts the characters of `corpus` (UTF-8; invalid bytes are skipped) and keeps the
// `max_chars` most frequent (ties broken by code point, so the result is deterministic).
// max_chars = 0 keeps every character seen.
std::unique_ptr<Tokenizer> build_char_vocab(std::string_view corpus, size_t max_chars = 0);

// A vocabulary of only the control tokens, the 256 byte tokens and the piece "▁" (every text
// encodes as bytes, except that a space is "▁" as in any SentencePiece vocabulary: the space
// escape happens before byte fallback, so without that piece a space would come back as "▁").
//
// Both builders always include "▁" (the space) and record add_space_prefix = false, add_bos =
// true; scores are minus the frequency rank so no two pieces ever merge.
std::unique_ptr<Tokenizer> build_byte_vocab();

}  // namespace lyra::model
