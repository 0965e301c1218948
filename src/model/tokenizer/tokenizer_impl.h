// Internal to src/model/tokenizer/: the shared base of the two tokenizer kinds (vocabulary
// lookup, special-token splitting, end-of-generation set), the pair-merge loop both BPE flavours
// use, and UTF-8 helpers. Not included from outside the tokenizer module.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model::detail {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

// Length of the UTF-8 sequence starting at s[i] if it is a complete, valid encoding
// (no overlongs, no surrogates, <= U+10FFFF); 0 if the bytes there are not valid UTF-8.
size_t utf8_valid_len(std::string_view s, size_t i);
// Length of the symbol starting at s[i]: the valid sequence, or 1 byte for an invalid one.
inline size_t utf8_symbol_len(std::string_view s, size_t i) {
    size_t n = utf8_valid_len(s, i);
    return n == 0 ? 1 : n;
}
bool is_valid_utf8(std::string_view s);
// Number of bytes at the end of `s` that start a valid UTF-8 sequence not yet complete.
size_t utf8_incomplete_tail(std::string_view s);
void append_utf8(std::string& out, uint32_t cp);
// Code point of one valid UTF-8 sequence (as measured by utf8_valid_len).
uint32_t utf8_decode(std::string_view seq);

// A piece of text to encode: either raw text or an already-known special token.
struct Fragment {
    std::string_view text;  // raw text (when token < 0)
    TokenId token = -1;
};

// Priority of merging two adjacent symbols (higher first), or nullopt if they cannot merge.
using MergePriority =
    std::function<std::optional<double>(std::string_view left, std::string_view right)>;
// Splits `text` into initial symbols (given by their byte lengths, summing to text.size()),
// then repeatedly merges the adjacent pair of highest priority (leftmost on ties) until no pair
// can merge. Returns the final symbols as substrings of `text`.
std::vector<std::string_view> merge_symbols(std::string_view text,
                                            const std::vector<size_t>& initial_lens,
                                            const MergePriority& priority);

class TokenizerBase : public Tokenizer {
public:
    explicit TokenizerBase(Vocab v);

    std::vector<TokenId> encode(std::string_view text, bool add_bos,
                                bool parse_special) const final;
    std::string decode(std::span<const TokenId> ids) const final;
    int32_t n_vocab() const final { return static_cast<int32_t>(vocab_.tokens.size()); }
    TokenId bos() const final { return vocab_.bos; }
    TokenId eos() const final { return vocab_.eos; }
    bool is_eog(TokenId id) const final;
    bool is_control(TokenId id) const final;
    std::string kind() const final { return vocab_.model; }
    void write_gguf(GgufWriter& w) const final;
    const Vocab& vocab() const final { return vocab_; }
    uint64_t vocab_fingerprint() const final { return fingerprint_; }
    TokenId find_token(std::string_view text) const final;

    // Stored type of `id` (Normal when the file has no types); `id` must be in range.
    TokenType type_of(TokenId id) const;
    // Whether decode drops the leading space of a text piece that starts the output or follows
    // a special token (SentencePiece's dummy prefix; WordPiece's word-initial pieces).
    bool strips_prefix_space() const {
        return vocab_.model == "bert" ||
               ((vocab_.model == "llama" || vocab_.model == "t5") && vocab_.add_space_prefix);
    }

protected:
    // Encodes one raw-text fragment; `after_special` is true at the start of the text and
    // right after a special token (where SentencePiece adds its dummy prefix).
    virtual void encode_text(std::string_view text, bool after_special,
                             std::vector<TokenId>& out) const = 0;

    Vocab vocab_;
    StringIdMap token_ids_;  // piece text -> first id with that text

private:
    std::vector<Fragment> split_special(std::string_view text, bool parse_special) const;

    // Tokens split out of raw text before encoding, longest first: user-defined tokens always,
    // control tokens only with parse_special.
    struct Special {
        std::string_view text;
        TokenId id;
        bool control;
    };
    std::vector<Special> specials_;
    std::array<bool, 256> special_first_byte_{};  // some special token starts with this byte
    std::vector<bool> eog_;
    uint64_t fingerprint_ = 0;
};

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab v);
std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab v);
std::unique_ptr<Tokenizer> make_wordpiece_tokenizer(Vocab v);
std::unique_ptr<Tokenizer> make_unigram_tokenizer(Vocab v);

// SentencePiece piece conventions, shared by "llama" and "t5": "▁" marks a space, "<0xNN>"
// byte pieces stand for one raw byte.
inline constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁" (U+2581)
// The byte of a "<0xNN>" piece (either hex case), or -1 if `t` is not of that form.
int parse_byte_piece(std::string_view t);
// What a piece of this type decodes to: a byte piece its byte, <unk> " ⁇ ", control pieces
// their text, others their text with "▁" turned back into ' '.
std::string sentencepiece_piece_bytes(std::string_view text, TokenType type);

}  // namespace lyra::model::detail
