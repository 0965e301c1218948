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
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <unordered_map>

#include "core/check.h"
#include "core/error.h"
#include "model/tokenizer/tokenizer_impl.h"

namespace lyra::model::detail {

namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves; the other 68 bytes
// (controls, space, 0x7F-0xA0, 0xAD) take code points 256, 257, ... in byte order.
struct ByteMap {
    std::array<std::string, 256> to_char;
    std::unordered_map<uint32_t, unsigned char> to_byte;
    ByteMap() {
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            uint32_t cp = printable ? b : next++;
            append_utf8(to_char[b], cp);
            to_byte[cp] = static_cast<unsigned char>(b);
        }
    }
};
const ByteMap& byte_map() {
    static const ByteMap m;
    return m;
}

class Regex {
public:
    explicit Regex(const std::string& pattern) {
        int err = 0;
        PCRE2_SIZE off = 0;
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, nullptr);
        LYRA_CHECK(code_ != nullptr, "pre-tokenizer regex failed to compile at {}: {}", off,
                   pattern);
        pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // optional: falls back to the interpreter
    }
    ~Regex() { pcre2_code_free(code_); }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Appends to `out` the matches of this regex in `text` and the text between them, in order.
    void split(std::string_view text, std::vector<std::string_view>& out) const {
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
        LYRA_CHECK(md != nullptr, "out of memory creating regex match data");
        size_t last = 0, offset = 0;
        while (offset < text.size()) {
            int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                                 offset, 0, md, nullptr);
            if (rc < 0) break;  // PCRE2_ERROR_NOMATCH (or a resource limit: keep the rest whole)
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            size_t b = ov[0], e = ov[1];
            if (e <= b) {  // empty match: step over one symbol
                offset = b + utf8_symbol_len(text, b);
                continue;
            }
            if (b > last) out.push_back(text.substr(last, b - last));
            out.push_back(text.substr(b, e - b));
            last = offset = e;
        }
        if (last < text.size()) out.push_back(text.substr(last));
        pcre2_match_data_free(md);
    }

private:
    pcre2_code* code_ = nullptr;
};

class BpeTokenizer final : public TokenizerBase {
public:
    explicit BpeTokenizer(Vocab v) : TokenizerBase(std::move(v)) {
        for (const std::string& p : pre_tokenizer_regexes(vocab_.pre))
            regexes_.push_back(std::make_unique<Regex>(p));
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
        const ByteMap& m = byte_map();
        std::string out;
        for (size_t i = 0; i < text.size();) {
            size_t n = utf8_valid_len(text, i);
            if (n == 0) {
                out += text[i++];
                continue;
            }
            uint32_t cp = utf8_decode(text.substr(i, n));
            auto it = m.to_byte.find(cp);
            if (it != m.to_byte.end())
                out += static_cast<char>(it->second);
            else
                out.append(text, i, n);
            i += n;
        }
        return out;
    }

protected:
    void encode_text(std::string_view text, bool /*after_special*/,
                     std::vector<TokenId>& out) const override {
        std::vector<std::string_view> chunks{text};
        for (const auto& re : regexes_) {
            std::vector<std::string_view> next;
            for (std::string_view c : chunks) re->split(c, next);
            chunks.swap(next);
        }
        const ByteMap& m = byte_map();
        std::string mapped;
        std::vector<size_t> lens;
        for (std::string_view chunk : chunks) {
            mapped.clear();
            lens.clear();
            for (char c : chunk) {
                const std::string& s = m.to_char[static_cast<unsigned char>(c)];
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

    std::vector<std::unique_ptr<Regex>> regexes_;
    std::unordered_map<uint64_t, int32_t> ranks_;
    bool ignore_merges_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab v) {
    return std::make_unique<BpeTokenizer>(std::move(v));
}

}  // namespace lyra::model::detail
