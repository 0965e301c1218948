// Shared tokenizer machinery: vocabulary validation, special-token splitting, the pair-merge
// loop, decode with SentencePiece's dummy-prefix rule, and StreamDecoder.
#include "model/tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <queue>

#include <fmt/ranges.h>

#include "core/check.h"
#include "core/error.h"
#include "model/tokenizer/normalize.h"
#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {

// ---------------------------------------------------------------------------------------------
// Vocab defaults, validation and pre-tokenizer table

Vocab default_vocab(const std::string& model) {
    Vocab v;
    v.model = model;
    if (model == "llama") {
        v.bos = 1;
        v.eos = 2;
        v.unk = 0;
        v.add_bos = true;
        v.add_space_prefix = true;
    } else if (model == "bert") {  // [CLS] text [SEP], uncased (llama.cpp's reading too)
        v.add_bos = true;
        v.add_eos = true;
        v.add_space_prefix = false;
        v.normalizer = {"strip_accents", "lowercase"};
    } else if (model == "t5") {  // text </s>
        v.add_eos = true;
        v.add_space_prefix = true;
    } else {
        v.add_space_prefix = false;
    }
    return v;
}

const std::vector<std::string>& normalizer_steps() {
    static const std::vector<std::string> steps = {"nfc", "nfd", "nfkc", "nfkd", "strip_accents",
                                                   "lowercase", "collapse_spaces",
                                                   "collapse_whitespace"};
    return steps;
}

std::vector<std::string> pre_tokenizer_regexes(const std::string& pre) {
    // The patterns are those published with each tokenizer (GPT-2's encoder.py; the
    // pre_tokenizer Split regex of the Llama 3 and Qwen2 tokenizer.json files; SmolLM's
    // Digits(individual_digits) + ByteLevel sequence). See docs/formats/tokenizers.md.
    static const std::string kGpt2 =
        R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
    static const std::string kLlama3 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    static const std::string kQwen2 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    if (pre.empty() || pre == "default" || pre == "gpt2" || pre == "gpt-2") return {kGpt2};
    if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") return {kLlama3};
    if (pre == "qwen2") return {kQwen2};
    if (pre == "smollm" || pre == "starcoder" || pre == "refact") return {R"(\p{N})", kGpt2};
    return {};
}

void validate_vocab(const Vocab& v) {
    if (v.model != "llama" && v.model != "gpt2" && v.model != "bert" && v.model != "t5")
        throw_error(ErrorKind::Unsupported,
                    "tokenizer.ggml.model: unknown tokenizer kind; expected 'llama', 'gpt2', "
                    "'bert' or 't5', got '{}'",
                    v.model);
    for (const std::string& step : v.normalizer) {
        const auto& known = normalizer_steps();
        if (detail::parse_replace_step(step)) continue;
        if (std::find(known.begin(), known.end(), step) == known.end())
            throw_error(ErrorKind::Unsupported,
                        "tokenizer.lyra.normalizer: unknown step '{}'; expected some of {}, or "
                        "replace FROM TO (tab-separated)", step, fmt::join(known, ", "));
    }
    const size_t n = v.tokens.size();
    if (n == 0)
        throw_error(ErrorKind::Corrupt,
                    "tokenizer.ggml.tokens: empty vocabulary; expected at least 1 token, got 0");
    if (n > static_cast<size_t>(INT32_MAX))
        throw_error(ErrorKind::Corrupt, "tokenizer.ggml.tokens: too many tokens ({})", n);
    if (!v.scores.empty() && v.scores.size() != n)
        throw_error(ErrorKind::Corrupt,
                    "tokenizer.ggml.scores: length differs from tokens; expected {}, got {}", n,
                    v.scores.size());
    if (!v.types.empty() && v.types.size() != n)
        throw_error(ErrorKind::Corrupt,
                    "tokenizer.ggml.token_type: length differs from tokens; expected {}, got {}", n,
                    v.types.size());
    for (size_t i = 0; i < v.types.size(); ++i) {
        auto t = static_cast<int32_t>(v.types[i]);
        if (t < 0 || t > 6)
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.token_type[{}]: unknown token type; expected 0..6, got {}",
                        i, t);
    }
    auto check_id = [&](TokenId id, const char* key) {
        if (id < -1 || id >= static_cast<TokenId>(n))
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.{}: token id out of range; expected 0..{}, got {}", key,
                        n - 1, id);
    };
    check_id(v.bos, "bos_token_id");
    check_id(v.eos, "eos_token_id");
    check_id(v.unk, "unknown_token_id");
    check_id(v.pad, "padding_token_id");
    check_id(v.eot, "eot_token_id");
    check_id(v.mask, "mask_token_id");
    if (v.model == "gpt2") {
        if (pre_tokenizer_regexes(v.pre).empty())
            throw_error(ErrorKind::Unsupported,
                        "tokenizer.ggml.pre: unknown pre-tokenizer; expected one of default, "
                        "gpt2, llama-bpe, qwen2, smollm, starcoder, refact, got '{}'",
                        v.pre);
    }
    // Merges are checked against the vocabulary by the BPE tokenizer, which builds its rank table.
}

// ---------------------------------------------------------------------------------------------
// UTF-8

namespace detail {

size_t utf8_valid_len(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

bool is_valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_valid_len(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

size_t utf8_incomplete_tail(std::string_view s) {
    // Look back over at most 3 continuation bytes for a lead byte whose sequence is longer
    // than what is there and whose bytes so far could still become valid.
    for (size_t k = 1; k <= 3 && k <= s.size(); ++k) {
        auto c = static_cast<unsigned char>(s[s.size() - k]);
        if ((c & 0xC0) == 0x80) continue;
        size_t need = c >= 0xF0 && c <= 0xF4   ? 4
                      : c >= 0xE0 && c <= 0xEF ? 3
                      : c >= 0xC2 && c <= 0xDF ? 2
                                               : 0;
        if (need <= k) return 0;
        if (k >= 2) {  // the second byte's range is narrower after these leads (RFC 3629 §4)
            auto c2 = static_cast<unsigned char>(s[s.size() - k + 1]);
            if ((c == 0xE0 && c2 < 0xA0) || (c == 0xED && c2 > 0x9F) || (c == 0xF0 && c2 < 0x90) ||
                (c == 0xF4 && c2 > 0x8F))
                return 0;
        }
        return k;
    }
    return 0;
}

uint32_t utf8_decode(std::string_view s) {
    auto c = static_cast<unsigned char>(s[0]);
    if (s.size() == 1) return c;
    uint32_t cp = c & (s.size() == 2 ? 0x1Fu : s.size() == 3 ? 0x0Fu : 0x07u);
    for (size_t k = 1; k < s.size(); ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[k]) & 0x3Fu);
    return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// ---------------------------------------------------------------------------------------------
// The merge loop: a linked list of symbols and a priority queue of candidate pairs. A queued
// pair is stale once either side has merged with something else; that is detected on pop by
// comparing the recorded combined length with the symbols' current lengths.

std::vector<std::string_view> merge_symbols(std::string_view text,
                                            const std::vector<size_t>& initial_lens,
                                            const MergePriority& priority) {
    struct Sym {
        int prev, next;
        size_t start, len;
    };
    struct Cand {
        double prio;
        int left, right;
        size_t len;
        bool operator<(const Cand& o) const {  // max-heap: higher prio, then smaller left first
            if (prio != o.prio) return prio < o.prio;
            return left > o.left;
        }
    };
    std::vector<Sym> syms;
    syms.reserve(initial_lens.size());
    size_t pos = 0;
    for (size_t i = 0; i < initial_lens.size(); ++i) {
        syms.push_back({static_cast<int>(i) - 1,
                        i + 1 < initial_lens.size() ? static_cast<int>(i) + 1 : -1, pos,
                        initial_lens[i]});
        pos += initial_lens[i];
    }
    LYRA_CHECK(pos == text.size(), "symbol lengths {} != text size {}", pos, text.size());

    std::priority_queue<Cand> queue;
    auto try_add = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        auto p = priority(text.substr(syms[l].start, syms[l].len),
                          text.substr(syms[r].start, syms[r].len));
        if (p) queue.push({*p, l, r, syms[l].len + syms[r].len});
    };
    for (size_t i = 1; i < syms.size(); ++i) try_add(static_cast<int>(i) - 1, static_cast<int>(i));

    while (!queue.empty()) {
        Cand c = queue.top();
        queue.pop();
        Sym& l = syms[c.left];
        Sym& r = syms[c.right];
        if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.len) continue;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) syms[r.next].prev = c.left;
        try_add(l.prev, c.left);
        try_add(c.left, l.next);
    }

    std::vector<std::string_view> out;
    for (int i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next)
        out.push_back(text.substr(syms[i].start, syms[i].len));
    return out;
}

// ---------------------------------------------------------------------------------------------
// TokenizerBase

namespace {
bool is_eog_text(std::string_view t) {
    static constexpr std::array<std::string_view, 10> kEog = {
        "<|eot_id|>", "<|im_end|>", "<|endoftext|>",   "<end_of_turn>", "</s>",
        "<|end|>",    "<|eom_id|>", "<|end_of_text|>", "<|EOT|>",       "<eos>"};
    return std::find(kEog.begin(), kEog.end(), t) != kEog.end();
}

// Tokenizer::vocab_fingerprint: every field the tokenizer reads, each in the form write_gguf and
// from_gguf keep it, so that a vocabulary written and read back keeps its fingerprint (no types
// and type 0 hash as Normal, no scores as zeros, a "gpt2" vocabulary's empty pre as "default";
// merges only for "gpt2", add_space_prefix only for "llama"/"t5" and the normalizer only for
// "bert"/"t5": the only kinds that read them, and the only ones write_gguf stores them for).
// Counts go in before each list so that no two lists of strings run together. ~2 ms a 150k
// vocabulary (twice that with its merges), once per load.
uint64_t fingerprint_of(const Vocab& v) {
    auto mix = [](uint64_t h, uint64_t x) {
        h = (h ^ x) * 0x9E3779B97F4A7C15ull;
        return h ^ (h >> 29);
    };
    auto mix_text = [&](uint64_t h, std::string_view s) {
        return mix(h, std::hash<std::string_view>{}(s));
    };
    const bool spm_like = v.model == "llama" || v.model == "t5";
    uint64_t h = mix_text(0, v.model);
    h = mix_text(h, v.model == "gpt2" && v.pre.empty() ? "default" : v.pre);
    h = mix(h, v.tokens.size());
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        const bool typed = i < v.types.size() && static_cast<int32_t>(v.types[i]) != 0;
        const TokenType type = typed ? v.types[i] : TokenType::Normal;
        const float score = i < v.scores.size() ? v.scores[i] : 0.0f;
        h = mix_text(h, v.tokens[i]);
        h = mix(h, static_cast<uint64_t>(type) << 32 | std::bit_cast<uint32_t>(score));
    }
    if (v.model == "gpt2") {
        h = mix(h, v.merges.size());
        for (const std::string& m : v.merges) h = mix_text(h, m);
    }
    for (TokenId id : {v.bos, v.eos, v.unk, v.pad, v.eot, v.mask})
        h = mix(h, static_cast<uint32_t>(id));
    const bool prefix = spm_like && v.add_space_prefix;
    h = mix(h, (v.add_bos ? 1u : 0u) | (v.add_eos ? 2u : 0u) | (prefix ? 4u : 0u));
    if (v.model == "bert" || v.model == "t5") {
        h = mix(h, v.normalizer.size());
        for (const std::string& step : v.normalizer) h = mix_text(h, step);
    }
    return h;
}
}  // namespace

TokenizerBase::TokenizerBase(Vocab v) : vocab_(std::move(v)) {
    validate_vocab(vocab_);
    fingerprint_ = fingerprint_of(vocab_);
    const auto n = static_cast<TokenId>(vocab_.tokens.size());
    token_ids_.reserve(vocab_.tokens.size());
    for (TokenId i = 0; i < n; ++i) token_ids_.emplace(vocab_.tokens[i], i);  // first id wins
    eog_.assign(vocab_.tokens.size(), false);
    for (TokenId i = 0; i < n; ++i) {
        TokenType t = type_of(i);
        bool special = t == TokenType::Control || t == TokenType::UserDefined;
        if (special && is_eog_text(vocab_.tokens[i])) eog_[i] = true;
        if ((special || t == TokenType::Unknown) && !vocab_.tokens[i].empty())
            specials_.push_back({vocab_.tokens[i], i, t != TokenType::UserDefined});
    }
    if (vocab_.eos >= 0) eog_[vocab_.eos] = true;
    if (vocab_.eot >= 0) eog_[vocab_.eot] = true;
    std::stable_sort(specials_.begin(), specials_.end(), [](const Special& a, const Special& b) {
        return a.text.size() > b.text.size();
    });
    for (const Special& sp : specials_)
        special_first_byte_[static_cast<unsigned char>(sp.text[0])] = true;
}

TokenType TokenizerBase::type_of(TokenId id) const {
    if (vocab_.types.empty()) return TokenType::Normal;
    TokenType t = vocab_.types[id];
    return static_cast<int32_t>(t) == 0 ? TokenType::Normal : t;  // 0 = "undefined" in the wild
}

TokenId TokenizerBase::find_token(std::string_view text) const {
    auto it = token_ids_.find(text);
    return it == token_ids_.end() ? -1 : it->second;
}

bool TokenizerBase::is_eog(TokenId id) const {
    return id >= 0 && id < n_vocab() && eog_[id];
}

bool TokenizerBase::is_control(TokenId id) const {
    return id >= 0 && id < n_vocab() && type_of(id) == TokenType::Control;
}

std::vector<Fragment> TokenizerBase::split_special(std::string_view text,
                                                   bool parse_special) const {
    std::vector<Fragment> out;
    size_t start = 0;  // start of the pending raw text
    size_t i = 0;
    while (i < text.size()) {
        if (!special_first_byte_[static_cast<unsigned char>(text[i])]) {
            ++i;
            continue;
        }
        const Special* hit = nullptr;
        for (const Special& sp : specials_) {
            if (sp.control && !parse_special) continue;
            if (text.compare(i, sp.text.size(), sp.text) == 0) {
                hit = &sp;
                break;
            }
        }
        if (!hit) {
            ++i;
            continue;
        }
        if (i > start) out.push_back({text.substr(start, i - start), -1});
        out.push_back({{}, hit->id});
        i += hit->text.size();
        start = i;
    }
    if (start < text.size()) out.push_back({text.substr(start), -1});
    return out;
}

std::vector<TokenId> TokenizerBase::encode(std::string_view text, bool add_bos,
                                           bool parse_special) const {
    std::vector<TokenId> out;
    if (add_bos && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
    bool after_special = true;
    std::vector<Fragment> frags =
        specials_.empty() ? std::vector<Fragment>{{text, -1}} : split_special(text, parse_special);
    for (const Fragment& f : frags) {
        if (f.token >= 0) {
            out.push_back(f.token);
            after_special = true;
        } else if (!f.text.empty()) {
            encode_text(f.text, after_special, out);
            after_special = false;
        }
    }
    if (add_bos && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
    return out;
}

std::string TokenizerBase::decode(std::span<const TokenId> ids) const {
    std::string out;
    bool at_start = true;  // at the start, or right after a special token
    for (TokenId id : ids) {
        if (id < 0 || id >= n_vocab()) continue;  // e.g. padding rows of a larger output layer
        TokenType t = type_of(id);
        if (t == TokenType::Control) {
            at_start = true;
            continue;
        }
        std::string piece = token_to_bytes(id);
        if (at_start && strips_prefix_space() && t != TokenType::UserDefined && !piece.empty() &&
            piece[0] == ' ')
            piece.erase(0, 1);
        at_start = t == TokenType::UserDefined;
        out += piece;
    }
    return out;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Tokenizer conveniences and the factory

const std::string& Tokenizer::token_text(TokenId id) const {
    LYRA_CHECK(id >= 0 && id < n_vocab(), "token id {} out of range", id);
    return vocab().tokens[id];
}

TokenType Tokenizer::token_type(TokenId id) const {
    LYRA_CHECK(id >= 0 && id < n_vocab(), "token id {} out of range", id);
    const auto& types = vocab().types;
    if (types.empty() || static_cast<int32_t>(types[id]) == 0) return TokenType::Normal;
    return types[id];
}

const std::string& Tokenizer::chat_template() const {
    return vocab().chat_template;
}

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(Vocab vocab) {
    validate_vocab(vocab);
    if (vocab.model == "llama") return detail::make_spm_tokenizer(std::move(vocab));
    if (vocab.model == "bert") return detail::make_wordpiece_tokenizer(std::move(vocab));
    if (vocab.model == "t5") return detail::make_unigram_tokenizer(std::move(vocab));
    return detail::make_bpe_tokenizer(std::move(vocab));
}

// ---------------------------------------------------------------------------------------------
// StreamDecoder

std::string StreamDecoder::push(TokenId id) {
    if (id < 0 || id >= tok_.n_vocab()) return {};
    TokenType t = tok_.token_type(id);
    if (t == TokenType::Control) {
        first_ = true;
        return {};
    }
    // decode() of a single id applies the dummy-prefix rule exactly as for a whole sequence.
    const TokenId one[1] = {id};
    pending_ += first_ ? tok_.decode(one) : tok_.token_to_bytes(id);
    first_ = t == TokenType::UserDefined;
    size_t hold = detail::utf8_incomplete_tail(pending_);
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StreamDecoder::finish() {
    std::string out = std::move(pending_);
    pending_.clear();
    first_ = true;
    return out;
}

}  // namespace lyra::model
