// "gpt2" vocabularies: byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM).
//
// Encoding one text fragment (GPT-2's encoder.py; Hugging Face ByteLevel + BPE):
//   1. pre-tokenize: split the text with the pre-tokenizer's regexes (PCRE2, UTF + Unicode
//      properties); text between matches is kept as its own chunk, so nothing is lost — bytes
//      that are not valid UTF-8 never match and end up in such chunks;
//   2. map every byte of a chunk to its printable stand-in character (bytes_to_unicode);
//   3. merge adjacent symbols by merge rank (lowest first, leftmost on ties);
//   4. look each symbol up in the vocabulary.
// Decoding maps the stand-in characters back to bytes.
#include <unordered_map>

#include "core/check.h"
#include "core/error.h"
#include "model/tokenizer/pretokenize.h"
#include "model/tokenizer/tokenizer_impl.h"

namespace lyra::model::detail {

namespace {

class BpeTokenizer final : public TokenizerBase {
public:
    explicit BpeTokenizer(Vocab v) : TokenizerBase(std::move(v)), pre_(vocab_.pre) {
        ignore_merges_ =
            vocab_.pre == "llama-bpe" || vocab_.pre == "llama3" || vocab_.pre == "llama-v3";
        ranks_.reserve(vocab_.merges.size());
        for (size_t i = 0; i < vocab_.merges.size(); ++i) add_merge(i);
    }

    std::string token_to_bytes(TokenId id) const override {
        if (id < 0 || id >= n_vocab()) return {};
        const std::string& text = vocab_.tokens[id];
        TokenType t = type_of(id);
        if (t == TokenType::Control || t == TokenType::UserDefined) return text;
        std::string out;
        for (size_t i = 0; i < text.size();) {
            size_t n = utf8_valid_len(text, i);
            if (n == 0) {
                out += text[i++];
                continue;
            }
            int byte = byte_of_level_char(utf8_decode(text.substr(i, n)));
            if (byte >= 0)
                out += static_cast<char>(byte);
            else
                out.append(text, i, n);
            i += n;
        }
        return out;
    }

protected:
    void encode_text(std::string_view text, bool /*after_special*/,
                     std::vector<TokenId>& out) const override {
        std::vector<std::string_view> chunks;
        pre_.split(text, chunks);
        std::string mapped;
        std::vector<size_t> lens;
        for (std::string_view chunk : chunks) {
            mapped.clear();
            lens.clear();
            for (char c : chunk) {
                const std::string& s = byte_level_char(static_cast<unsigned char>(c));
                mapped += s;
                lens.push_back(s.size());
            }
            if (ignore_merges_) {  // Llama 3: a chunk that is a whole piece is used as is
                TokenId id = find_token(mapped);
                if (id >= 0 && type_of(id) == TokenType::Normal) {
                    out.push_back(id);
                    continue;
                }
            }
            auto priority = [this](std::string_view l,
                                   std::string_view r) -> std::optional<double> {
                TokenId a = find_token(l), b = find_token(r);
                if (a < 0 || b < 0) return std::nullopt;
                auto it = ranks_.find(pair_key(a, b));
                if (it == ranks_.end()) return std::nullopt;
                return -static_cast<double>(it->second);
            };
            for (std::string_view sym : merge_symbols(mapped, lens, priority)) {
                TokenId id = find_token(sym);
                if (id >= 0) {
                    out.push_back(id);
                    continue;
                }
                // Not a piece (a vocabulary missing some byte characters): per character.
                for (size_t i = 0; i < sym.size();) {
                    size_t n = utf8_symbol_len(sym, i);
                    TokenId cid = find_token(sym.substr(i, n));
                    if (cid >= 0)
                        out.push_back(cid);
                    else if (vocab_.unk >= 0)
                        out.push_back(vocab_.unk);
                    i += n;
                }
            }
        }
    }

private:
    static uint64_t pair_key(TokenId a, TokenId b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }

    void add_merge(size_t rank) {
        const std::string& m = vocab_.merges[rank];
        size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (sp == std::string::npos)
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.merges[{}]: not a pair; expected 'left right', got '{}'",
                        rank, m);
        std::string_view left = std::string_view(m).substr(0, sp);
        std::string_view right = std::string_view(m).substr(sp + 1);
        TokenId a = find_token(left), b = find_token(right);
        if (a < 0 || b < 0)
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.merges[{}]: names a token not in the vocabulary; "
                        "expected known pieces, got '{}'",
                        rank, m);
        std::string joined = std::string(left) + std::string(right);
        if (find_token(joined) < 0)
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.merges[{}]: merged piece '{}' is not in the vocabulary; "
                        "expected a known piece, got '{}'",
                        rank, joined, m);
        ranks_.emplace(pair_key(a, b), static_cast<int32_t>(rank));  // first rank wins
    }

    PreTokenizer pre_;  // the regex split (pretokenize.h), shared with the BPE trainer
    std::unordered_map<uint64_t, int32_t> ranks_;
    bool ignore_merges_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab v) {
    return std::make_unique<BpeTokenizer>(std::move(v));
}

}  // namespace lyra::model::detail
