// Regular expression -> GBNF (constraint.h). A recursive-descent parser over the pattern that
// writes the equivalent GBNF expression; the grammar compiler and matcher do the rest, so a
// regex is matched by the same automaton as any grammar.
// GCC 12 reports a false -Wrestrict on `"(" + str + ")"` (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "generate/constraint/constraint.h"

namespace lyra::gen::constraint {

namespace {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

std::string class_cp(uint32_t cp) {
    if (cp == '\\' || cp == ']' || cp == '[' || cp == '-' || cp == '^' || cp == '"') {
        return fmt::format("\\{}", static_cast<char>(cp));
    }
    if (cp == '\n') return "\\n";
    if (cp == '\t') return "\\t";
    if (cp == '\r') return "\\r";
    if (cp < 0x20 || cp == 0x7F) return fmt::format("\\x{:02X}", cp);
    if (cp < 0x80) return std::string(1, static_cast<char>(cp));
    if (cp < 0x10000) return fmt::format("\\u{:04X}", cp);
    return fmt::format("\\U{:08X}", cp);
}

std::string class_text(const Ranges& r, bool negated) {
    std::string out = negated ? "[^" : "[";
    for (auto [lo, hi] : r) {
        out += class_cp(lo);
        if (hi != lo) out += "-" + class_cp(hi);
    }
    return out + "]";
}

// Characters a JSON string may hold unescaped are everything but '"', '\' and U+0000-U+001F.
Ranges json_exclusions() { return {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}; }

Ranges subtract(const Ranges& a, const Ranges& b) {
    Ranges out;
    for (auto [lo, hi] : a) {
        std::vector<std::pair<uint32_t, uint32_t>> pieces{{lo, hi}};
        for (auto [blo, bhi] : b) {
            std::vector<std::pair<uint32_t, uint32_t>> next;
            for (auto [plo, phi] : pieces) {
                if (bhi < plo || blo > phi) {
                    next.emplace_back(plo, phi);
                    continue;
                }
                if (blo > plo) next.emplace_back(plo, blo - 1);
                if (bhi < phi) next.emplace_back(bhi + 1, phi);
            }
            pieces = std::move(next);
        }
        out.insert(out.end(), pieces.begin(), pieces.end());
    }
    return out;
}

class RegexParser {
public:
    RegexParser(std::string_view re, bool json) : re_(re), json_(json) {}

    std::string run() {
        if (pos_ < re_.size() && re_[pos_] == '^') ++pos_;
        std::string out = parse_alt();
        if (pos_ < re_.size()) {
            if (re_[pos_] == ')') fail("unmatched ')'; expected '(' before it");
            fail(fmt::format("unexpected '{}'", re_[pos_]));
        }
        return out.empty() ? "\"\"" : out;
    }

private:
    static constexpr int kMaxGroupDepth = 256;
    int depth_ = 0;  // groups open around the parse position

    [[noreturn]] void fail(const std::string& msg) const {
        throw_error(ErrorKind::InvalidArgument, "regex: column {}: {}", pos_ + 1, msg);
    }

    std::string parse_alt() {
        std::vector<std::string> alts{parse_seq()};
        while (pos_ < re_.size() && re_[pos_] == '|') {
            ++pos_;
            alts.push_back(parse_seq());
        }
        if (alts.size() == 1) return alts[0];
        std::string out = "(";
        for (size_t i = 0; i < alts.size(); ++i) {
            if (i > 0) out += " | ";
            out += alts[i].empty() ? "\"\"" : alts[i];
        }
        return out + ")";
    }

    std::string parse_seq() {
        std::string out;
        while (pos_ < re_.size() && re_[pos_] != '|' && re_[pos_] != ')') {
            if (re_[pos_] == '$' && pos_ + 1 == re_.size()) {  // a final anchor changes nothing
                ++pos_;
                break;
            }
            std::string atom = parse_atom();
            atom += parse_quantifier();
            if (!out.empty()) out += " ";
            out += atom;
        }
        return out;
    }

    std::string parse_quantifier() {
        if (pos_ >= re_.size()) return "";
        const char c = re_[pos_];
        std::string q;
        if (c == '*' || c == '+' || c == '?') {
            q = std::string(1, c);
            ++pos_;
        } else if (c == '{') {
            const size_t close = re_.find('}', pos_);
            if (close == std::string_view::npos) fail("unclosed '{'; expected '}'");
            const std::string_view body = re_.substr(pos_ + 1, close - pos_ - 1);
            for (char d : body) {
                if (!(d >= '0' && d <= '9') && d != ',') fail(fmt::format("expected a repetition like {{2}}, {{2,}} or {{2,5}}, got '{{{}}}'", body));
            }
            if (body.empty() || body[0] == ',') fail("expected a minimum count after '{'");
            q = "{" + std::string(body) + "}";
            pos_ = close + 1;
        } else {
            return "";
        }
        if (pos_ < re_.size() && (re_[pos_] == '?' || re_[pos_] == '+')) ++pos_;  // lazy/possessive: same language
        if (pos_ < re_.size() && (re_[pos_] == '*' || re_[pos_] == '+' || re_[pos_] == '?' || re_[pos_] == '{')) {
            fail("two repetitions in a row; expected one (wrap the item in a group)");
        }
        return q;
    }

    uint32_t parse_utf8() {
        const auto c = static_cast<unsigned char>(re_[pos_]);
        const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || pos_ + len > re_.size()) fail("invalid UTF-8");
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(re_[pos_ + k]) & 0x3Fu);
        pos_ += len;
        return cp;
    }

    // An escape after '\' (pos_ at the letter): a class (\d \w \s and negations) or one char.
    bool parse_escape(Ranges& r, bool& negated, uint32_t& cp) {
        if (pos_ >= re_.size()) fail("pattern ends with '\\'; expected an escaped character");
        const char e = re_[pos_++];
        negated = false;
        switch (e) {
            case 'd': r = {{'0', '9'}}; return true;
            case 'D': r = {{'0', '9'}}; negated = true; return true;
            case 'w': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; return true;
            case 'W': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; negated = true; return true;
            case 's': r = {{'\t', '\r'}, {' ', ' '}}; return true;
            case 'S': r = {{'\t', '\r'}, {' ', ' '}}; negated = true; return true;
            case 'n': cp = '\n'; return false;
            case 't': cp = '\t'; return false;
            case 'r': cp = '\r'; return false;
            case 'f': cp = '\f'; return false;
            case 'v': cp = '\v'; return false;
            case 'b': case 'B': case 'A': case 'z': case 'Z':
                --pos_;
                fail(fmt::format("'\\{}' (an anchor or word boundary) is not supported; the whole output is matched", e));
            default:
                if ((e >= '1' && e <= '9') || e == 'k') {
                    --pos_;
                    fail("back-references are not supported (a grammar cannot express them)");
                }
                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) {
                    --pos_;
                    fail(fmt::format("unknown escape '\\{}'", e));
                }
                --pos_;
                cp = parse_utf8();
                return false;
        }
    }

    std::string emit_class(Ranges r, bool negated) const {
        if (json_) {
            if (negated) {
                auto ex = json_exclusions();
                r.insert(r.end(), ex.begin(), ex.end());
            } else {
                r = subtract(r, json_exclusions());
            }
        }
        return class_text(r, negated);
    }

    std::string emit_literal(uint32_t cp) const {
        if (json_) {  // what the character looks like inside a JSON string
            if (cp == '"') return "\"\\\\\\\"\"";
            if (cp == '\\') return "\"\\\\\\\\\"";
            if (cp == '\n') return "\"\\\\n\"";
            if (cp == '\t') return "\"\\\\t\"";
            if (cp == '\r') return "\"\\\\r\"";
            if (cp < 0x20) return fmt::format("\"\\\\u{:04x}\"", cp);
        }
        if (cp == '"') return "\"\\\"\"";
        return "[" + class_cp(cp) + "]";
    }

    std::string parse_atom() {
        const char c = re_[pos_];
        if (c == '(') {
            ++pos_;
            if (re_.substr(pos_, 2) == "?:") {
                pos_ += 2;
            } else if (pos_ < re_.size() && re_[pos_] == '?') {
                fail("lookarounds and named groups are not supported; expected '(' or '(?:'");
            }
            // The parser recurses once a group: a bound keeps a hostile pattern (lyra serve takes
            // them in response_format schemas) from running the thread out of stack.
            if (++depth_ > kMaxGroupDepth) {
                fail(fmt::format("groups nested more than {} deep; expected fewer", kMaxGroupDepth));
            }
            std::string inner = parse_alt();
            --depth_;
            if (pos_ >= re_.size() || re_[pos_] != ')') fail("unclosed '('; expected ')'");
            ++pos_;
            return "(" + (inner.empty() ? std::string("\"\"") : inner) + ")";
        }
        if (c == '[') return parse_class();
        if (c == '.') {
            ++pos_;
            return emit_class({{'\n', '\n'}}, true);
        }
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            fail(fmt::format("nothing to repeat before '{}'", c));
        }
        if (c == '^') fail("'^' is only supported at the start of the pattern");
        if (c == '$') fail("'$' is only supported at the end of the pattern");
        if (c == '\\') {
            ++pos_;
            Ranges r;
            bool negated = false;
            uint32_t cp = 0;
            if (parse_escape(r, negated, cp)) return emit_class(r, negated);
            return emit_literal(cp);
        }
        return emit_literal(parse_utf8());
    }

    std::string parse_class() {
        const size_t open = pos_++;
        bool negated = false;
        if (pos_ < re_.size() && re_[pos_] == '^') {
            negated = true;
            ++pos_;
        }
        Ranges r;
        bool first = true;
        while (pos_ < re_.size() && (re_[pos_] != ']' || first)) {
            first = false;
            uint32_t lo = 0;
            if (re_[pos_] == '\\') {
                ++pos_;
                Ranges sub;
                bool sub_neg = false;
                if (parse_escape(sub, sub_neg, lo)) {
                    if (sub_neg) fail("negated classes like \\D inside [...] are not supported");
                    r.insert(r.end(), sub.begin(), sub.end());
                    continue;
                }
            } else {
                lo = parse_utf8();
            }
            uint32_t hi = lo;
            if (pos_ + 1 < re_.size() && re_[pos_] == '-' && re_[pos_ + 1] != ']') {
                ++pos_;
                if (re_[pos_] == '\\') {
                    ++pos_;
                    Ranges sub;
                    bool sub_neg = false;
                    if (parse_escape(sub, sub_neg, hi)) fail("a class like \\d cannot end a range");
                } else {
                    hi = parse_utf8();
                }
                if (hi < lo) fail("range out of order; expected the start to come before the end");
            }
            r.emplace_back(lo, hi);
        }
        if (pos_ >= re_.size()) {
            pos_ = open;
            fail("unclosed '['; expected ']'");
        }
        ++pos_;
        return emit_class(r, negated);
    }

    std::string_view re_;
    bool json_;
    size_t pos_ = 0;
};

}  // namespace

std::string regex_to_gbnf_rule(std::string_view regex, const std::string& rule, bool json_string) {
    return rule + " ::= " + RegexParser(regex, json_string).run() + "\n";
}

std::string regex_to_gbnf(std::string_view regex) {
    return regex_to_gbnf_rule(regex, "root", false);
}

}  // namespace lyra::gen::constraint
