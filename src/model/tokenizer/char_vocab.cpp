// Character vocabularies (char_vocab.h): SentencePiece-style "llama" vocabularies whose pieces
// are single characters, so every known character is exactly one token.
#include "model/tokenizer/char_vocab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {

namespace {

constexpr uint32_t kSpaceMark = 0x2581;  // "▁", SentencePiece's stand-in for ' '

// ids 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then `chars` as pieces in the given order.
std::unique_ptr<Tokenizer> make_char_vocab(const std::vector<uint32_t>& chars) {
    Vocab v = default_vocab("llama");
    v.add_space_prefix = false;  // text round-trips without an inserted leading space
    auto add = [&](std::string text, TokenType type, float score) {
        v.tokens.push_back(std::move(text));
        v.types.push_back(type);
        v.scores.push_back(score);
    };
    add("<unk>", TokenType::Unknown, 0.0f);
    add("<s>", TokenType::Control, 0.0f);
    add("</s>", TokenType::Control, 0.0f);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), TokenType::Byte, 0.0f);
    for (size_t i = 0; i < chars.size(); ++i) {
        std::string piece;
        detail::append_utf8(piece, chars[i] == ' ' ? kSpaceMark : chars[i]);
        add(std::move(piece), TokenType::Normal, -static_cast<float>(i));
    }
    return Tokenizer::from_vocab(std::move(v));
}

}  // namespace

std::unique_ptr<Tokenizer> build_char_vocab(std::string_view corpus, size_t max_chars) {
    std::map<uint32_t, size_t> counts;
    for (size_t i = 0; i < corpus.size();) {
        size_t n = detail::utf8_valid_len(corpus, i);
        if (n == 0) {  // invalid byte: skipped
            ++i;
            continue;
        }
        uint32_t cp = detail::utf8_decode(corpus.substr(i, n));
        ++counts[cp == kSpaceMark ? ' ' : cp];  // "▁" and ' ' are the same piece
        i += n;
    }
    std::vector<std::pair<uint32_t, size_t>> order(counts.begin(), counts.end());
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (max_chars > 0 && order.size() > max_chars) order.resize(max_chars);
    std::vector<uint32_t> chars;
    bool has_space = false;
    for (const auto& [cp, count] : order) {
        chars.push_back(cp);
        has_space = has_space || cp == ' ';
    }
    if (!has_space) chars.push_back(' ');
    return make_char_vocab(chars);
}

std::unique_ptr<Tokenizer> build_byte_vocab() {
    return make_char_vocab({' '});
}

}  // namespace lyra::model
