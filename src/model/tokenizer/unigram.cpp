// "t5" vocabularies: SentencePiece Unigram (T5, ALBERT, XLNet, mT5), as SentencePiece's
// unigram_model.cc and Hugging Face's Unigram model encode.
//
// Encoding one text fragment:
//   1. normalise (the vocabulary's normalizer steps, normalize.h);
//   2. every ' ' becomes "▁"; a "▁" is prepended when add_space_prefix, the fragment starts
//      the text or follows a special token, and it does not start with a space already; the text splits into words, each starting at a "▁"
//      (Metaspace with split, as T5's and ALBERT's tokenizer.json say);
//   3. each word is segmented by Viterbi: the sequence of normal or user-defined pieces with the
//      highest total score (log probability). A character no piece starts with becomes an
//      unknown node scoring (lowest piece score - 10); on equal totals the path found first
//      (shorter pieces earlier) is kept, as both references do;
//   4. runs of unknown nodes fuse into one; with "<0xNN>" byte pieces in the vocabulary an
//      unknown stretch becomes its bytes' pieces instead of <unk> (byte fallback).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "model/tokenizer/normalize.h"
#include "model/tokenizer/tokenizer_impl.h"

namespace lyra::model::detail {

namespace {

constexpr double kUnknownPenalty = 10.0;

class UnigramTokenizer final : public TokenizerBase {
public:
    explicit UnigramTokenizer(Vocab v) : TokenizerBase(std::move(v)) {
        byte_ids_.fill(-1);
        double min_score = std::numeric_limits<double>::infinity();
        const TokenId n = n_vocab();
        for (TokenId i = 0; i < n; ++i) {
            const TokenType t = type_of(i);
            if (t == TokenType::Byte) {
                const int b = parse_byte_piece(vocab_.tokens[i]);
                if (b >= 0 && byte_ids_[b] < 0) byte_ids_[b] = i;
                continue;
            }
            if (t != TokenType::Normal && t != TokenType::UserDefined) continue;
            const std::string& piece = vocab_.tokens[i];
            if (piece.empty()) continue;
            pieces_.emplace(piece, i);  // first id wins
            max_piece_bytes_ = std::max(max_piece_bytes_, piece.size());
            min_score = std::min(min_score, score(i));
        }
        unknown_score_ = (std::isfinite(min_score) ? min_score : 0.0) - kUnknownPenalty;
    }

    std::string token_to_bytes(TokenId id) const override {
        if (id < 0 || id >= n_vocab()) return {};
        return sentencepiece_piece_bytes(vocab_.tokens[id], type_of(id));
    }

protected:
    void encode_text(std::string_view text, bool after_special,
                     std::vector<TokenId>& out) const override {
        std::string norm = normalize(text);
        std::string s;
        s.reserve(norm.size() + 8);
        // The prefix mark is added only where the text does not already start with one (a
        // leading space), as Metaspace's prepend does.
        if (vocab_.add_space_prefix && after_special && !norm.empty() && norm[0] != ' ' &&
            norm.compare(0, kSpaceMark.size(), kSpaceMark) != 0)
            s += kSpaceMark;
        for (char c : norm) {
            if (c == ' ')
                s += kSpaceMark;
            else
                s += c;
        }
        size_t start = 0;
        for (size_t i = 0; i < s.size();) {
            const bool mark = s.compare(i, kSpaceMark.size(), kSpaceMark) == 0;
            if (mark && i > start) {
                encode_word(std::string_view(s).substr(start, i - start), out);
                start = i;
            }
            i += mark ? kSpaceMark.size() : utf8_symbol_len(s, i);
        }
        if (start < s.size()) encode_word(std::string_view(s).substr(start), out);
    }

private:
    double score(TokenId id) const {
        return vocab_.scores.empty() ? 0.0 : static_cast<double>(vocab_.scores[id]);
    }

    std::string normalize(std::string_view text) const {
        std::string s(text);
        for (const std::string& step : vocab_.normalizer) {
            if (is_normal_form(step)) s = normalize_form(s, step);
            else if (step == "lowercase") s = lowercase_utf8(s);
            else if (step == "strip_accents") s = strip_accents_utf8(s);
            else if (step == "collapse_spaces") s = collapse_spaces(s);
            else if (step == "collapse_whitespace") s = collapse_whitespace(s);
            else if (auto r = parse_replace_step(step)) s = replace_all(s, r->first, r->second);
        }
        return s;
    }

    // The best segmentation found so far of the text up to one byte offset.
    struct Best {
        double score = -std::numeric_limits<double>::infinity();
        size_t from = 0;  // byte offset where its last piece starts
        TokenId id = -1;  // that piece; -1 = an unknown character
        bool reached = false;
    };

    // Viterbi over the characters of one word.
    void encode_word(std::string_view word, std::vector<TokenId>& out) const {
        std::vector<Best> best(word.size() + 1);
        best[0].score = 0.0;
        best[0].reached = true;
        for (size_t start = 0; start < word.size();) {
            const size_t char_len = utf8_symbol_len(word, start);
            if (best[start].reached) {
                const double base = best[start].score;
                bool single_char_piece = false;
                const size_t limit = std::min(word.size() - start, max_piece_bytes_);
                for (size_t len = char_len; len <= limit;) {
                    auto it = pieces_.find(word.substr(start, len));
                    if (it != pieces_.end()) {
                        if (len == char_len) single_char_piece = true;
                        relax(best[start + len], base + score(it->second), start, it->second);
                    }
                    if (start + len >= word.size()) break;
                    len += utf8_symbol_len(word, start + len);
                }
                if (!single_char_piece)
                    relax(best[start + char_len], base + unknown_score_, start, -1);
            }
            start += char_len;
        }
        // Back from the end; unknown runs fuse into one stretch.
        struct Piece {
            size_t from, to;
            TokenId id;
        };
        std::vector<Piece> path;
        for (size_t end = word.size(); end > 0;) {
            const Best& b = best[end];
            if (b.id < 0 && !path.empty() && path.back().id < 0)
                path.back().from = b.from;
            else
                path.push_back({b.from, end, b.id});
            end = b.from;
        }
        std::reverse(path.begin(), path.end());
        for (const Piece& p : path) {
            if (p.id >= 0) {
                out.push_back(p.id);
                continue;
            }
            push_unknown(word.substr(p.from, p.to - p.from), out);
        }
    }

    static void relax(Best& target, double score, size_t from, TokenId id) {
        if (!target.reached || score > target.score) {
            target.score = score;
            target.from = from;
            target.id = id;
            target.reached = true;
        }
    }

    void push_unknown(std::string_view stretch, std::vector<TokenId>& out) const {
        const bool all_bytes = std::all_of(stretch.begin(), stretch.end(), [&](char c) {
            return byte_ids_[static_cast<unsigned char>(c)] >= 0;
        });
        if (all_bytes) {
            for (char c : stretch) out.push_back(byte_ids_[static_cast<unsigned char>(c)]);
        } else if (vocab_.unk >= 0) {
            out.push_back(vocab_.unk);
        }
    }

    StringIdMap pieces_;
    size_t max_piece_bytes_ = 0;
    double unknown_score_ = -kUnknownPenalty;
    std::array<TokenId, 256> byte_ids_{};
};

}  // namespace

std::unique_ptr<Tokenizer> make_unigram_tokenizer(Vocab v) {
    return std::make_unique<UnigramTokenizer>(std::move(v));
}

}  // namespace lyra::model::detail
