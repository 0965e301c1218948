// Folding and display-width wrapping (unicode.h), on utf8proc's Unicode tables.
#include "art/common/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "art/common/text.h"

namespace lyra::art {

namespace {

// utf8proc_map over one stretch of valid UTF-8 (it refuses invalid input as a whole, so the
// caller hands it only valid stretches).
std::string map_valid(std::string_view s, int options) {
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                            static_cast<utf8proc_ssize_t>(s.size()), &out,
                                            static_cast<utf8proc_option_t>(options));
    const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
    if (n < 0) return std::string(s);
    return {reinterpret_cast<const char*>(out), static_cast<size_t>(n)};
}

// Maps every maximal valid stretch of `s`; an invalid byte stays where it is, between them.
std::string map_text(std::string_view s, int options) {
    std::string out;
    size_t start = 0;
    for (size_t i = 0; i < s.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_char_at(s, i, cp);
        if (n > 0) {
            i += n;
            continue;
        }
        out += map_valid(s.substr(start, i - start), options);
        out += s[i++];
        start = i;
    }
    out += map_valid(s.substr(start), options);
    return out;
}

constexpr int kNfkc = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;

bool in_list(uint32_t cp, std::u32string_view list) { return list.find(static_cast<char32_t>(cp)) != std::u32string_view::npos; }

// Characters a line must not start with: closing brackets and quotes (categories Pe, Pf), the
// stops and commas of Latin and CJK text, and the Japanese marks that lean on the character
// before them (small kana, the long-vowel mark, iteration marks).
bool is_closing(uint32_t cp) {
    const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    if (c == UTF8PROC_CATEGORY_PE || c == UTF8PROC_CATEGORY_PF) return true;
    return in_list(cp, U",.:;!?%、。，．：；！？％・･‥…‼⁇⁈⁉｡､ー々ゝゞヽヾ"
                       U"ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ");
}

// Characters a line must not end with: opening brackets and quotes (categories Ps, Pi).
bool is_opening(uint32_t cp) {
    const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    return c == UTF8PROC_CATEGORY_PS || c == UTF8PROC_CATEGORY_PI;
}

// Whether a line may break between `prev` and `cp` written with no space between: only where
// one of them is wide (CJK writes no spaces; Latin words stay whole), and not where kinsoku or
// a combining mark forbids it.
bool can_break_between(uint32_t prev, uint32_t cp) {
    if (char_columns(prev) != 2 && char_columns(cp) != 2) return false;
    return char_columns(cp) > 0 && !is_closing(cp) && !is_opening(prev);
}

// A piece of a line that is never broken, and whether a space stood before it.
struct Piece {
    std::string text = {};
    int columns = 0;
    bool space_before = false;
    uint32_t first = 0, last = 0;  // its first and last code points
};

// Kinsoku across a space: a closing mark after a space ("Bonjour !", "« oui »") stays on the
// line of the word before it, and a word after an opening mark and a space ("( voir") stays on
// the mark's line. The space goes inside the glued piece, so it is kept as written.
void glue_spaced_marks(std::vector<Piece>& pieces) {
    std::vector<Piece> out;
    for (Piece& p : pieces) {
        if (!out.empty() && p.space_before && (is_closing(p.first) || is_opening(out.back().last))) {
            Piece& prev = out.back();
            prev.text += ' ' + p.text;
            prev.columns += 1 + p.columns;
            prev.last = p.last;
        } else {
            out.push_back(std::move(p));
        }
    }
    pieces = std::move(out);
}

std::vector<Piece> pieces_of(std::string_view line) {
    std::vector<Piece> out;
    Piece cur;
    bool space = false;
    uint32_t prev = 0;
    for (size_t i = 0; i < line.size();) {
        uint32_t cp = 0;
        size_t n = utf8_char_at(line, i, cp);
        const bool valid = n > 0;
        if (!valid) {
            n = 1;
            cp = 0xFFFD;  // shown as one replacement character; never a break
        }
        if (cp == ' ' || cp == '\t') {
            if (!cur.text.empty()) out.push_back(std::move(cur));
            cur = {};
            space = true;
            i += n;
            continue;
        }
        if (!cur.text.empty() && valid && prev != 0xFFFD && can_break_between(prev, cp)) {
            out.push_back(std::move(cur));
            cur = {};
        }
        if (cur.text.empty()) {
            cur.space_before = space;
            cur.first = cp;
            space = false;
        }
        cur.last = cp;
        cur.text.append(line.substr(i, n));
        cur.columns += valid ? char_columns(cp) : 1;
        prev = cp;
        i += n;
    }
    if (!cur.text.empty()) out.push_back(std::move(cur));
    glue_spaced_marks(out);
    return out;
}

void wrap_line(std::string_view line, int width, std::string& out) {
    if (text_columns(line) <= width) {  // kept as written, indentation and all
        out.append(line);
        out += '\n';
        return;
    }
    std::string cur;
    int cols = 0;
    for (const Piece& p : pieces_of(line)) {
        const int gap = !cur.empty() && p.space_before ? 1 : 0;
        if (!cur.empty() && cols + gap + p.columns > width) {
            out += cur + '\n';
            cur.clear();
            cols = 0;
        }
        if (!cur.empty() && p.space_before) {
            cur += ' ';
            ++cols;
        }
        cur += p.text;
        cols += p.columns;
    }
    if (!cur.empty()) out += cur + '\n';
}

}  // namespace

std::string fold_text(std::string_view s) {
    return map_text(s, kNfkc | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
}

std::string nfkc_text(std::string_view s) { return map_text(s, kNfkc); }

int char_columns(uint32_t cp) {
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 0;  // controls print nothing
    return std::max(0, utf8proc_charwidth(static_cast<utf8proc_int32_t>(cp)));
}

int text_columns(std::string_view s) {
    int n = 0;
    for (size_t i = 0; i < s.size();) {
        uint32_t cp = 0;
        const size_t len = utf8_char_at(s, i, cp);
        n += len > 0 ? char_columns(cp) : 1;
        i += std::max<size_t>(len, 1);
    }
    return n;
}

std::string wrap_text(std::string_view text, int width) {
    width = std::max(width, 1);
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = std::min(text.find('\n', start), text.size());
        wrap_line(text.substr(start, end - start), width, out);
        start = end + 1;
    }
    return out;
}

}  // namespace lyra::art
