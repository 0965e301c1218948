// "bert" vocabularies: WordPiece (BERT and its descendants), as Hugging Face's BertNormalizer +
// BertPreTokenizer + WordPiece model encode.
//
// Pieces are stored as GGUF files of this kind store them (llama.cpp's converter): a word-initial
// piece carries a leading "▁" ("▁play"), a continuation piece is bare ("ing", Hugging Face's
// "##ing"), and control/unknown pieces ("[CLS]", "[UNK]") are verbatim.
//
// Encoding one text fragment:
//   1. normalise (normalize.h bert_normalize: clean control characters, space out CJK, then
//      strip accents / lowercase when the vocabulary says so);
//   2. split on whitespace, and make every punctuation character a word of its own;
//   3. each word: longest word-initial piece that prefixes it, then repeatedly the longest
//      continuation piece that prefixes the rest; a word longer than 100 characters, or one
//      where some rest has no piece, becomes a single [UNK].
#include "model/tokenizer/normalize.h"
#include "model/tokenizer/tokenizer_impl.h"

#include <algorithm>

namespace lyra::model::detail {

namespace {

constexpr size_t kMaxWordChars = 100;  // Hugging Face's max_input_chars_per_word default

class WordPieceTokenizer final : public TokenizerBase {
public:
    explicit WordPieceTokenizer(Vocab v) : TokenizerBase(std::move(v)) {
        for (const std::string& step : vocab_.normalizer) {
            if (step == "lowercase") lowercase_ = true;
            if (step == "strip_accents") strip_accents_ = true;
        }
        const TokenId n = n_vocab();
        for (TokenId i = 0; i < n; ++i) {
            if (type_of(i) != TokenType::Normal) continue;
            const std::string& t = vocab_.tokens[i];
            const bool initial = t.compare(0, kSpaceMark.size(), kSpaceMark) == 0;
            std::string piece = initial ? t.substr(kSpaceMark.size()) : t;
            if (piece.empty()) continue;
            max_piece_bytes_ = std::max(max_piece_bytes_, piece.size());
            (initial ? initial_ : continuation_).emplace(std::move(piece), i);  // first id wins
        }
    }

    std::string token_to_bytes(TokenId id) const override {
        if (id < 0 || id >= n_vocab()) return {};
        const std::string& t = vocab_.tokens[id];
        switch (type_of(id)) {
            case TokenType::Normal:
                if (t.compare(0, kSpaceMark.size(), kSpaceMark) == 0)
                    return with_space(std::string_view(t).substr(kSpaceMark.size()));
                return t;
            case TokenType::Unknown:
                return with_space(t);  // [UNK] stands for a whole word
            default:
                return t;
        }
    }

protected:
    void encode_text(std::string_view text, bool, std::vector<TokenId>& out) const override {
        const std::string norm = bert_normalize(text, lowercase_, strip_accents_);
        size_t word_start = 0;
        auto flush = [&](size_t end) {
            if (end > word_start) encode_word(std::string_view(norm).substr(word_start, end - word_start), out);
        };
        for (size_t i = 0; i < norm.size();) {
            const size_t n = utf8_symbol_len(norm, i);
            const uint32_t cp = utf8_valid_len(norm, i) ? utf8_decode(std::string_view(norm).substr(i, n)) : 0xFFFFFFFFu;
            if (cp == ' ') {
                flush(i);
                word_start = i + n;
            } else if (cp != 0xFFFFFFFFu && is_bert_punctuation(cp)) {
                flush(i);
                encode_word(std::string_view(norm).substr(i, n), out);
                word_start = i + n;
            }
            i += n;
        }
        flush(norm.size());
    }

private:
    static std::string with_space(std::string_view word) {
        std::string out;
        out.reserve(word.size() + 1);
        out += ' ';
        out += word;
        return out;
    }

    void encode_word(std::string_view word, std::vector<TokenId>& out) const {
        std::vector<size_t> bounds;  // byte offsets of character starts, then word.size()
        for (size_t i = 0; i < word.size(); i += utf8_symbol_len(word, i)) bounds.push_back(i);
        const size_t n_chars = bounds.size();
        bounds.push_back(word.size());
        if (n_chars > kMaxWordChars) {
            push_unknown(out);
            return;
        }
        const size_t before = out.size();
        size_t c = 0;  // character index where the rest starts
        while (c < n_chars) {
            const auto& map = c == 0 ? initial_ : continuation_;
            TokenId found = -1;
            size_t found_end = c;
            for (size_t e = n_chars; e > c; --e) {  // longest first
                const size_t len = bounds[e] - bounds[c];
                if (len > max_piece_bytes_) continue;
                auto it = map.find(word.substr(bounds[c], len));
                if (it != map.end()) {
                    found = it->second;
                    found_end = e;
                    break;
                }
            }
            if (found < 0) {
                out.resize(before);
                push_unknown(out);
                return;
            }
            out.push_back(found);
            c = found_end;
        }
    }

    void push_unknown(std::vector<TokenId>& out) const {
        if (vocab_.unk >= 0) out.push_back(vocab_.unk);
    }

    bool lowercase_ = false, strip_accents_ = false;
    size_t max_piece_bytes_ = 0;
    StringIdMap initial_, continuation_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_wordpiece_tokenizer(Vocab v) {
    return std::make_unique<WordPieceTokenizer>(std::move(v));
}

}  // namespace lyra::model::detail
