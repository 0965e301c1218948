// "llama" vocabularies: SentencePiece-style BPE with scores and <0xNN> byte fallback (Llama 2,
// TinyLlama, Lyra's character vocabularies).
//
// Encoding one text fragment (SentencePiece bpe_model.cc, as llama.cpp's llm_tokenizer_spm):
//   1. a dummy prefix space when add_space_prefix and the fragment starts the text or follows
//      a special token; every ' ' becomes "▁" (U+2581);
//   2. split into UTF-8 characters (an invalid byte is a symbol of its own);
//   3. repeatedly merge the adjacent pair whose concatenation is a piece with the highest score
//      (leftmost on ties);
//   4. a final symbol that is not a piece becomes its bytes' <0xNN> tokens (or <unk>).
#include <array>
#include <cstdio>

#include "model/tokenizer/tokenizer_impl.h"

namespace lyra::model::detail {

namespace {

class SpmTokenizer final : public TokenizerBase {
public:
    explicit SpmTokenizer(Vocab v) : TokenizerBase(std::move(v)) {
        byte_ids_.fill(-1);
        const TokenId n = n_vocab();
        mergeable_.assign(static_cast<size_t>(n), false);
        for (TokenId i = 0; i < n; ++i) {
            TokenType t = type_of(i);
            mergeable_[i] = t == TokenType::Normal || t == TokenType::UserDefined;
            if (t == TokenType::Byte) {
                int b = parse_byte_piece(vocab_.tokens[i]);
                if (b >= 0 && byte_ids_[b] < 0) byte_ids_[b] = i;
            }
        }
    }

    std::string token_to_bytes(TokenId id) const override {
        if (id < 0 || id >= n_vocab()) return {};
        return sentencepiece_piece_bytes(vocab_.tokens[id], type_of(id));
    }

protected:
    void encode_text(std::string_view text, bool after_special,
                     std::vector<TokenId>& out) const override {
        std::string s;
        s.reserve(text.size() + 8);
        if (vocab_.add_space_prefix && after_special) s += kSpaceMark;
        for (char c : text) {
            if (c == ' ')
                s += kSpaceMark;
            else
                s += c;
        }
        std::vector<size_t> lens;
        lens.reserve(s.size());
        for (size_t i = 0; i < s.size();) {
            lens.push_back(utf8_symbol_len(s, i));
            i += lens.back();
        }
        auto priority = [this](std::string_view l, std::string_view r) -> std::optional<double> {
            // The two symbols are adjacent substrings of `s`, so their concatenation is too.
            TokenId id = mergeable_id(std::string_view(l.data(), l.size() + r.size()));
            if (id < 0) return std::nullopt;
            return vocab_.scores.empty() ? 0.0 : static_cast<double>(vocab_.scores[id]);
        };
        for (std::string_view sym : merge_symbols(s, lens, priority)) {
            TokenId id = mergeable_id(sym);
            if (id >= 0) {
                out.push_back(id);
                continue;
            }
            for (char c : sym) {  // byte fallback
                TokenId b = byte_ids_[static_cast<unsigned char>(c)];
                if (b >= 0)
                    out.push_back(b);
                else if (vocab_.unk >= 0)
                    out.push_back(vocab_.unk);
            }
        }
    }

private:
    TokenId mergeable_id(std::string_view piece) const {
        TokenId id = find_token(piece);
        return id >= 0 && mergeable_[id] ? id : -1;
    }

    std::array<TokenId, 256> byte_ids_{};
    std::vector<bool> mergeable_;
};

}  // namespace

int parse_byte_piece(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string sentencepiece_piece_bytes(std::string_view text, TokenType type) {
    switch (type) {
        case TokenType::Byte: {
            int b = parse_byte_piece(text);
            return b < 0 ? std::string(text) : std::string(1, static_cast<char>(b));
        }
        case TokenType::Control:
            return std::string(text);
        case TokenType::Unknown:
            return " \xE2\x81\x87 ";  // " ⁇ ", as SentencePiece decodes <unk>
        default:
            break;
    }
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
            out += ' ';
            i += kSpaceMark.size();
        } else {
            out += text[i++];
        }
    }
    return out;
}

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab v) {
    return std::make_unique<SpmTokenizer>(std::move(v));
}

}  // namespace lyra::model::detail
