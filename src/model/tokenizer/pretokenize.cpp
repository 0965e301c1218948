// Pre-tokenization for byte-level BPE (pretokenize.h): the regex split and the byte map.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/tokenizer/pretokenize.h"

#include <pcre2.h>

#include <array>
#include <unordered_map>

#include "core/check.h"
#include "core/error.h"
#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {

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
            detail::append_utf8(to_char[b], cp);
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
                offset = b + detail::utf8_symbol_len(text, b);
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

}  // namespace

struct PreTokenizer::Regexes {
    std::vector<std::unique_ptr<Regex>> list;  // applied in order, each to the previous chunks
};

PreTokenizer::PreTokenizer(const std::string& pre) : regexes_(std::make_unique<Regexes>()) {
    const std::vector<std::string> patterns = pre_tokenizer_regexes(pre);
    if (patterns.empty())
        throw_error(ErrorKind::Unsupported,
                    "pre-tokenizer '{}': unknown; expected one of default, gpt2, llama-bpe, "
                    "qwen2, smollm, starcoder, refact",
                    pre);
    for (const std::string& p : patterns) regexes_->list.push_back(std::make_unique<Regex>(p));
}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
    if (regexes_->list.size() == 1) {  // the common case needs no intermediate list
        regexes_->list[0]->split(text, out);
        return;
    }
    std::vector<std::string_view> chunks{text};
    for (const auto& re : regexes_->list) {
        std::vector<std::string_view> next;
        for (std::string_view c : chunks) re->split(c, next);
        chunks.swap(next);
    }
    out.insert(out.end(), chunks.begin(), chunks.end());
}

const std::string& byte_level_char(unsigned char b) {
    return byte_map().to_char[b];
}

int byte_of_level_char(uint32_t cp) {
    const auto& to_byte = byte_map().to_byte;
    auto it = to_byte.find(cp);
    return it == to_byte.end() ? -1 : it->second;
}

}  // namespace lyra::model
