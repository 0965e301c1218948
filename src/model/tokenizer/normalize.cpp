// Unicode normalisation helpers for the WordPiece and Unigram tokenizers (normalize.h).
#include "model/tokenizer/normalize.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "model/tokenizer/tokenizer_impl.h"

namespace lyra::model::detail {

namespace {

utf8proc_category_t category(uint32_t cp) {
    return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// Calls f(code point) for every valid UTF-8 sequence of `text` and g(byte) for invalid bytes.
template <typename OnCp, typename OnByte>
void for_each_cp(std::string_view text, OnCp f, OnByte g) {
    for (size_t i = 0; i < text.size();) {
        const size_t n = utf8_valid_len(text, i);
        if (n == 0) {
            g(text[i]);
            ++i;
            continue;
        }
        f(utf8_decode(text.substr(i, n)));
        i += n;
    }
}

// utf8proc_map on one valid stretch; returns the input unchanged if utf8proc refuses it.
std::string map_valid(std::string_view text, int options) {
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &out,
                     static_cast<utf8proc_option_t>(options));
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
    if (n < 0) return std::string(text);
    return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

// Applies utf8proc_map with `options` to each maximal valid UTF-8 stretch of `text`, keeping
// invalid bytes where they are.
std::string map_utf8(std::string_view text, int options) {
    std::string out;
    out.reserve(text.size());
    size_t start = 0, i = 0;
    while (i < text.size()) {
        const size_t n = utf8_valid_len(text, i);
        if (n != 0) {
            i += n;
            continue;
        }
        if (i > start) out += map_valid(text.substr(start, i - start), options);
        out += text[i++];
        start = i;
    }
    if (i > start) out += map_valid(text.substr(start, i - start), options);
    return out;
}

}  // namespace

bool is_bert_whitespace(uint32_t cp) {
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool is_bert_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    switch (category(cp)) {
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_CN:
        case UTF8PROC_CATEGORY_CO:
        case UTF8PROC_CATEGORY_CS:
            return true;
        default:
            return false;
    }
}

bool is_bert_punctuation(uint32_t cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126))
        return true;
    switch (category(cp)) {
        case UTF8PROC_CATEGORY_PC:
        case UTF8PROC_CATEGORY_PD:
        case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE:
        case UTF8PROC_CATEGORY_PI:
        case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO:
            return true;
        default:
            return false;
    }
}

bool is_cjk_ideograph(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::string bert_normalize(std::string_view text, bool lowercase, bool strip_accents) {
    std::string cleaned;
    cleaned.reserve(text.size() + 8);
    for_each_cp(
        text,
        [&](uint32_t cp) {
            if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) return;
            if (is_bert_whitespace(cp)) {
                cleaned += ' ';
            } else if (is_cjk_ideograph(cp)) {
                cleaned += ' ';
                append_utf8(cleaned, cp);
                cleaned += ' ';
            } else {
                append_utf8(cleaned, cp);
            }
        },
        [&](char byte) { cleaned += byte; });
    if (strip_accents) cleaned = strip_accents_utf8(cleaned);
    return lowercase ? lowercase_utf8(cleaned) : cleaned;
}

std::string strip_accents_utf8(std::string_view text) {
    const std::string nfd = map_utf8(text, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
    std::string out;
    out.reserve(nfd.size());
    for_each_cp(
        nfd,
        [&](uint32_t cp) {
            if (category(cp) != UTF8PROC_CATEGORY_MN) append_utf8(out, cp);
        },
        [&](char byte) { out += byte; });
    return out;
}

bool is_normal_form(std::string_view form) {
    return form == "nfc" || form == "nfd" || form == "nfkc" || form == "nfkd";
}

std::string normalize_form(std::string_view text, std::string_view form) {
    int options = UTF8PROC_STABLE;
    if (form == "nfc") options |= UTF8PROC_COMPOSE;
    else if (form == "nfd") options |= UTF8PROC_DECOMPOSE;
    else if (form == "nfkc") options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    else if (form == "nfkd") options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    else return std::string(text);
    return map_utf8(text, options);
}

std::string lowercase_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for_each_cp(
        text,
        [&](uint32_t cp) {
            append_utf8(out, static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
        },
        [&](char byte) { out += byte; });
    return out;
}

std::string collapse_spaces(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text)
        if (!(c == ' ' && !out.empty() && out.back() == ' ')) out += c;
    return out;
}

std::string collapse_whitespace(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    for_each_cp(
        text,
        [&](uint32_t cp) {
            const auto cat = category(cp);
            const bool space = (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 ||
                               cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
                               cat == UTF8PROC_CATEGORY_ZP;
            if (space) {
                pending_space = !out.empty();
                return;
            }
            if (pending_space) out += ' ';
            pending_space = false;
            append_utf8(out, cp);
        },
        [&](char byte) {
            if (pending_space) out += ' ';
            pending_space = false;
            out += byte;
        });
    return out;
}

std::optional<std::pair<std::string, std::string>> parse_replace_step(std::string_view step) {
    constexpr std::string_view kHead = "replace\t";
    if (step.substr(0, kHead.size()) != kHead) return std::nullopt;
    const std::string_view rest = step.substr(kHead.size());
    const size_t tab = rest.find('\t');
    if (tab == std::string_view::npos || tab == 0 || rest.find('\t', tab + 1) != std::string_view::npos)
        return std::nullopt;
    return std::pair{std::string(rest.substr(0, tab)), std::string(rest.substr(tab + 1))};
}

std::string make_replace_step(std::string_view from, std::string_view to) {
    return "replace\t" + std::string(from) + "\t" + std::string(to);
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const size_t at = text.find(from, i);
        if (at == std::string_view::npos) break;
        out.append(text.substr(i, at - i));
        out.append(to);
        i = at + from.size();
    }
    out.append(text.substr(i));
    return out;
}

}  // namespace lyra::model::detail
