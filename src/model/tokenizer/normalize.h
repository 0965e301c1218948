// Text normalisation for the WordPiece ("bert") and Unigram ("t5") tokenizer kinds, on
// utf8proc's Unicode tables. Internal to src/model/tokenizer/. Every function takes and returns
// UTF-8; a byte that is not valid UTF-8 passes through unchanged (it cannot be normalised, and
// dropping it would make the text lie about its input).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace lyra::model::detail {

// Unicode classes as BERT's tokenizer defines them (Hugging Face tokenizers, BertNormalizer and
// BertPreTokenizer): whitespace = \t \n \r or category Zs; control = category C* except
// \t \n \r; punctuation = any ASCII non-alphanumeric printable or category P*; Chinese = the CJK
// ideograph blocks (not Japanese kana nor Hangul, which BERT treats as ordinary letters).
bool is_bert_whitespace(uint32_t cp);
bool is_bert_control(uint32_t cp);
bool is_bert_punctuation(uint32_t cp);
bool is_cjk_ideograph(uint32_t cp);

// BertNormalizer: drops NUL, U+FFFD and control characters, turns whitespace into ' ', puts
// spaces around CJK ideographs, then (if asked) strips accents (NFD, then drop category Mn)
// and lowercases.
std::string bert_normalize(std::string_view text, bool lowercase, bool strip_accents);

// NFD, then every combining mark (category Mn) dropped: "café" -> "cafe".
std::string strip_accents_utf8(std::string_view text);
// Unicode normalisation forms ("nfc", "nfd", "nfkc", "nfkd"); returns false for another name.
bool is_normal_form(std::string_view form);
std::string normalize_form(std::string_view text, std::string_view form);
// Full-case lowercasing, one code point at a time (as Rust's char::to_lowercase for the
// letters utf8proc maps one to one).
std::string lowercase_utf8(std::string_view text);
// A literal replacement step, "replace\tFROM\tTO" (ALBERT's Replace("``", "\"")): FROM and TO, or
// nullopt when `step` is not of that form (FROM must not be empty; neither may hold a tab).
std::optional<std::pair<std::string, std::string>> parse_replace_step(std::string_view step);
std::string make_replace_step(std::string_view from, std::string_view to);
// Every FROM in `text` (left to right, not overlapping) becomes TO.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);
// Runs of two or more ' ' become one (the Replace(" {2,}", " ") normaliser of T5 tokenizers).
std::string collapse_spaces(std::string_view text);
// Runs of Unicode whitespace become one ' ' and the ends are trimmed (a WhitespaceSplit
// pre-tokenizer followed by Metaspace gives the same words).
std::string collapse_whitespace(std::string_view text);

}  // namespace lyra::model::detail
