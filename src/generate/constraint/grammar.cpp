// GBNF parser and compile-time checks (grammar.h). The parser builds each rule as a list of
// alternatives of elements; repetition and groups become generated rules (right-recursive, so
// the pushdown matcher never loops): x* -> R ::= x R | ; x{2,4} -> x x O2, O2 ::= x O1 | , ...
#include "generate/constraint/grammar.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "core/error.h"

namespace lyra::gen::constraint {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kInf = std::numeric_limits<uint32_t>::max() / 4;
constexpr int kMaxRepeat = 10000;  // {m,n} bounds beyond this are refused (grammar blow-up)
constexpr size_t kMaxElems = 1000000;  // items created by repetition, over the whole grammar

uint32_t utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

using Alt = std::vector<Elem>;

// Sorts and merges ranges, complements them if negated, and removes surrogates.
CharSet normalize_set(std::vector<std::pair<uint32_t, uint32_t>> r, bool negated) {
    std::sort(r.begin(), r.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (auto [lo, hi] : r) {
        if (!merged.empty() && lo <= merged.back().second + 1) {
            merged.back().second = std::max(merged.back().second, hi);
        } else {
            merged.emplace_back(lo, hi);
        }
    }
    if (negated) {
        std::vector<std::pair<uint32_t, uint32_t>> inv;
        uint32_t next = 0;
        for (auto [lo, hi] : merged) {
            if (lo > next) inv.emplace_back(next, lo - 1);
            next = hi + 1;
        }
        if (next <= kMaxCodePoint) inv.emplace_back(next, kMaxCodePoint);
        merged = std::move(inv);
    }
    CharSet out;
    for (auto [lo, hi] : merged) {
        if (hi < 0xD800 || lo > 0xDFFF) {
            out.ranges.emplace_back(lo, hi);
            continue;
        }
        if (lo < 0xD800) out.ranges.emplace_back(lo, 0xD7FF);
        if (hi > 0xDFFF) out.ranges.emplace_back(0xE000, hi);
    }
    return out;
}

class Parser {
public:
    Parser(std::string_view text, std::string_view name) : src_(text), name_(name) {}

    Grammar run() {
        skip_space();
        while (pos_ < src_.size()) {
            parse_rule();
            skip_space();
        }
        return finish();
    }

private:
    // --- errors -------------------------------------------------------------------------
    static constexpr int kMaxGroupDepth = 512;  // a regex's 256 groups, with room for its wrappers
    int depth_ = 0;  // groups open around the parse position

    [[noreturn]] void fail_at(size_t at, const std::string& msg) const {
        int line = 1, col = 1;
        for (size_t i = 0; i < at && i < src_.size(); ++i) {
            if (src_[i] == '\n') {
                ++line;
                col = 1;
            } else if ((static_cast<unsigned char>(src_[i]) & 0xC0) != 0x80) {
                ++col;
            }
        }
        throw_error(ErrorKind::InvalidArgument, "grammar '{}': line {}, column {}: {}", name_, line,
                    col, msg);
    }
    [[noreturn]] void fail(const std::string& msg) const { fail_at(pos_, msg); }
    std::string got() const {
        if (pos_ >= src_.size()) return "end of input";
        const char c = src_[pos_];
        if (c == '\n') return "end of line";
        return fmt::format("'{}'", std::string(1, c));
    }
    int line_of(size_t at) const {
        return 1 + static_cast<int>(std::count(src_.begin(), src_.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    }

    // --- lexing -------------------------------------------------------------------------
    void skip_space() {
        while (pos_ < src_.size()) {
            const char c = src_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                ++pos_;
            } else if (c == '#') {
                while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
            } else {
                break;
            }
        }
    }
    std::string_view parse_name() {
        const size_t start = pos_;
        while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
        return src_.substr(start, pos_ - start);
    }
    // True if a rule definition `name ::=` starts at pos_ (ends the previous rule's body).
    bool at_rule_start() const {
        size_t p = pos_;
        while (p < src_.size() && is_name_char(src_[p])) ++p;
        if (p == pos_) return false;
        while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t')) ++p;
        return src_.substr(p, 3) == "::=";
    }
    uint32_t parse_hex(int digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            if (pos_ >= src_.size()) fail(fmt::format("expected {} hex digits, got end of input", digits));
            const char c = src_[pos_];
            uint32_t d = 0;
            if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
            else fail(fmt::format("expected a hex digit, got {}", got()));
            v = v * 16 + d;
            ++pos_;
        }
        return v;
    }
    // One character of a literal or class: an escape or one UTF-8 encoded code point.
    uint32_t parse_char() {
        const size_t start = pos_;
        const auto c = static_cast<unsigned char>(src_[pos_]);
        if (c == '\\') {
            ++pos_;
            if (pos_ >= src_.size()) fail("expected an escape after '\\', got end of input");
            const char e = src_[pos_++];
            switch (e) {
                case 'n': return '\n';
                case 'r': return '\r';
                case 't': return '\t';
                case '0': return 0;
                case '\\': case '"': case '\'': case '[': case ']': case '-': case '/': case '^':
                    return static_cast<uint32_t>(e);
                case 'x': return parse_hex(2);
                case 'u': return check_cp(parse_hex(4), start);
                case 'U': return check_cp(parse_hex(8), start);
                default:
                    fail_at(start, fmt::format("unknown escape '\\{}'; expected one of \\n \\r \\t \\\\ \\\" "
                                     "\\[ \\] \\- \\xHH \\uHHHH \\UHHHHHHHH", e));
            }
        }
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || pos_ + len > src_.size()) fail("invalid UTF-8 in the grammar text");
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(src_[pos_ + k]);
            if ((b & 0xC0) != 0x80) fail("invalid UTF-8 in the grammar text");
            cp = (cp << 6) | (b & 0x3Fu);
        }
        pos_ += len;
        return check_cp(cp, start);
    }
    uint32_t check_cp(uint32_t cp, size_t at) const {
        if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) {
            fail_at(at, fmt::format("character U+{:X} is not a Unicode scalar value; expected at "
                                    "most U+10FFFF and no surrogate", cp));
        }
        return cp;
    }

    // --- rules --------------------------------------------------------------------------
    uint32_t rule_id(std::string_view name, size_t ref_at) {
        auto it = ids_.find(std::string(name));
        if (it != ids_.end()) return it->second;
        const auto id = static_cast<uint32_t>(rules_.size());
        ids_.emplace(std::string(name), id);
        rules_.push_back(PendingRule{.name = std::string(name), .first_ref = ref_at});
        return id;
    }
    uint32_t new_generated_rule(const std::string& parent, std::vector<Alt> alts) {
        const auto id = static_cast<uint32_t>(rules_.size());
        rules_.push_back(PendingRule{.name = fmt::format("{}-{}", parent, ++generated_),
                                     .alts = std::move(alts),
                                     .defined = true,
                                     .generated = true,
                                     .def_at = pos_});
        return id;
    }

    void parse_rule() {
        const size_t start = pos_;
        const std::string_view name = parse_name();
        if (name.empty()) fail(fmt::format("expected a rule name, got {}", got()));
        while (pos_ < src_.size() && (src_[pos_] == ' ' || src_[pos_] == '\t')) ++pos_;
        if (src_.substr(pos_, 3) != "::=") {
            fail(fmt::format("expected '::=' after the rule name '{}', got {}", name, got()));
        }
        pos_ += 3;
        const uint32_t id = rule_id(name, start);
        if (rules_[id].defined) {
            fail_at(start, fmt::format("rule '{}' is defined twice; expected one definition "
                                       "(the first is on line {})",
                                       name, line_of(rules_[id].def_at)));
        }
        rules_[id].defined = true;
        rules_[id].def_at = start;
        auto alts = parse_alternates(std::string(name), false);
        rules_[id].alts = std::move(alts);
    }

    std::vector<Alt> parse_alternates(const std::string& rule, bool nested) {
        std::vector<Alt> alts;
        alts.push_back(parse_sequence(rule, nested));
        while (pos_ < src_.size() && src_[pos_] == '|') {
            ++pos_;
            alts.push_back(parse_sequence(rule, nested));
        }
        return alts;
    }

    Alt parse_sequence(const std::string& rule, bool nested) {
        Alt out;
        size_t last_start = std::string::npos;  // where the last atom's elements begin
        for (;;) {
            skip_space();
            if (pos_ >= src_.size()) break;
            const char c = src_[pos_];
            if (c == '|' || (c == ')' && nested)) break;
            if (c == ')') fail("unexpected ')'; expected a rule body item (no group is open)");
            if (!nested && at_rule_start()) break;
            if (c == '"') {
                const size_t open = pos_++;
                last_start = out.size();
                while (pos_ < src_.size() && src_[pos_] != '"') {
                    if (src_[pos_] == '\n') fail_at(open, "unterminated string literal; expected a closing '\"' on the same line");
                    out.push_back(chars_elem({{parse_char(), 0}}, false, true));
                }
                if (pos_ >= src_.size()) fail_at(open, "unterminated string literal; expected a closing '\"'");
                ++pos_;
                if (out.size() == last_start) last_start = std::string::npos;  // "" adds nothing
            } else if (c == '[') {
                const size_t open = pos_++;
                bool negated = false;
                if (pos_ < src_.size() && src_[pos_] == '^') {
                    negated = true;
                    ++pos_;
                }
                std::vector<std::pair<uint32_t, uint32_t>> ranges;
                while (pos_ < src_.size() && src_[pos_] != ']') {
                    if (src_[pos_] == '\n') fail_at(open, "unterminated character class; expected ']' on the same line");
                    const uint32_t lo = parse_char();
                    uint32_t hi = lo;
                    if (pos_ + 1 < src_.size() && src_[pos_] == '-' && src_[pos_ + 1] != ']') {
                        ++pos_;
                        const size_t at = pos_;
                        hi = parse_char();
                        if (hi < lo) fail_at(at, fmt::format("character range is backwards; expected an end at or after U+{:X}, got U+{:X}", lo, hi));
                    }
                    ranges.emplace_back(lo, hi);
                }
                if (pos_ >= src_.size()) fail_at(open, "unterminated character class; expected ']'");
                ++pos_;
                last_start = out.size();
                out.push_back(chars_elem(std::move(ranges), negated, false));
            } else if (c == '.') {
                ++pos_;
                last_start = out.size();
                out.push_back(chars_elem({{0, kMaxCodePoint}}, false, false));
            } else if (c == '(') {
                const size_t open = pos_++;
                // One recursion a group: bounded, so a hostile grammar (a response_format pattern
                // becomes one) cannot run the thread out of stack.
                if (++depth_ > kMaxGroupDepth) {
                    fail_at(open, fmt::format("groups nested more than {} deep; expected fewer", kMaxGroupDepth));
                }
                auto alts = parse_alternates(rule, true);
                --depth_;
                skip_space();
                if (pos_ >= src_.size() || src_[pos_] != ')') fail_at(open, "unclosed '('; expected ')'");
                ++pos_;
                last_start = out.size();
                out.push_back({ElemKind::Rule, new_generated_rule(rule, std::move(alts))});
            } else if (is_name_char(c)) {
                const size_t at = pos_;
                const std::string_view ref = parse_name();
                last_start = out.size();
                out.push_back({ElemKind::Rule, rule_id(ref, at)});
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (last_start == std::string::npos) {
                    fail(fmt::format("expected an item before the repetition '{}'", c));
                }
                apply_repeat(rule, out, last_start);
            } else {
                fail(fmt::format("expected a rule body item (\"literal\", [class], rule name, '(' or "
                                 "'.'), got {}", got()));
            }
        }
        return out;
    }

    void parse_int(int& v) {
        const size_t start = pos_;
        long long x = 0;
        while (pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '9') {
            x = x * 10 + (src_[pos_] - '0');
            if (x > kMaxRepeat) fail_at(start, fmt::format("repetition count too large; expected at most {}", kMaxRepeat));
            ++pos_;
        }
        if (pos_ == start) fail(fmt::format("expected a number in the repetition, got {}", got()));
        v = static_cast<int>(x);
    }

    void apply_repeat(const std::string& rule, Alt& out, size_t last_start) {
        const Alt atom(out.begin() + static_cast<std::ptrdiff_t>(last_start), out.end());
        out.resize(last_start);
        const char op = src_[pos_++];
        int min = 0, max = -1;  // -1 = unbounded
        if (op == '*') {
            min = 0;
        } else if (op == '+') {
            min = 1;
        } else if (op == '?') {
            max = 1;
        } else {  // {m}, {m,}, {m,n}
            skip_inline();
            parse_int(min);
            skip_inline();
            if (pos_ < src_.size() && src_[pos_] == ',') {
                ++pos_;
                skip_inline();
                if (pos_ < src_.size() && src_[pos_] != '}') {
                    const size_t at = pos_;
                    parse_int(max);
                    if (max < min) fail_at(at, fmt::format("repetition bounds are backwards; expected a maximum of at least {}, got {}", min, max));
                }
            } else {
                max = min;
            }
            skip_inline();
            if (pos_ >= src_.size() || src_[pos_] != '}') fail(fmt::format("expected '}}' to close the repetition, got {}", got()));
            ++pos_;
        }
        // Repetition copies its item; nested counts ("x{9999}{9999}") could exhaust memory.
        total_elems_ += atom.size() * static_cast<size_t>(std::max(min, max) + 1);
        if (total_elems_ > kMaxElems) {
            fail(fmt::format("the grammar is too large after expanding repetitions; expected at "
                             "most {} items", kMaxElems));
        }
        for (int i = 0; i < min; ++i) out.insert(out.end(), atom.begin(), atom.end());
        if (max < 0) {  // R ::= atom R |
            const auto id = new_generated_rule(rule, {});
            Alt loop = atom;
            loop.push_back({ElemKind::Rule, id});
            rules_[id].alts = {loop, Alt{}};
            out.push_back({ElemKind::Rule, id});
        } else if (max > min) {  // O1 ::= atom | ; Ok ::= atom O(k-1) |
            uint32_t inner = new_generated_rule(rule, {atom, Alt{}});
            for (int k = 2; k <= max - min; ++k) {
                Alt a = atom;
                a.push_back({ElemKind::Rule, inner});
                inner = new_generated_rule(rule, {a, Alt{}});
            }
            out.push_back({ElemKind::Rule, inner});
        }
    }
    void skip_inline() {
        while (pos_ < src_.size() && (src_[pos_] == ' ' || src_[pos_] == '\t')) ++pos_;
    }

    Elem chars_elem(std::vector<std::pair<uint32_t, uint32_t>> ranges, bool negated, bool single) {
        if (single) ranges[0].second = ranges[0].first;
        CharSet set = normalize_set(std::move(ranges), negated);
        auto key = set.ranges;
        auto it = set_ids_.find(key);
        if (it != set_ids_.end()) return {ElemKind::Chars, it->second};
        const auto id = static_cast<uint32_t>(sets_.size());
        sets_.push_back(std::move(set));
        set_ids_.emplace(std::move(key), id);
        return {ElemKind::Chars, id};
    }

    // --- checks -------------------------------------------------------------------------
    Grammar finish();

    struct PendingRule {
        std::string name;
        std::vector<Alt> alts = {};
        bool defined = false;
        bool generated = false;
        size_t first_ref = 0;
        size_t def_at = 0;
    };

    std::string_view src_;
    std::string name_;
    size_t pos_ = 0;
    int generated_ = 0;
    size_t total_elems_ = 0;
    std::vector<PendingRule> rules_;
    std::map<std::string, uint32_t> ids_;
    std::vector<CharSet> sets_;
    std::map<std::vector<std::pair<uint32_t, uint32_t>>, uint32_t> set_ids_;

};

}  // namespace

bool CharSet::contains(uint32_t cp) const {
    // Sets are small; a linear scan beats a binary search for the common 1-4 ranges.
    for (const auto& [lo, hi] : ranges) {
        if (cp < lo) return false;
        if (cp <= hi) return true;
    }
    return false;
}

bool CharSet::intersects(uint32_t lo, uint32_t hi) const {
    for (const auto& [a, b] : ranges) {
        if (a > hi) return false;
        if (b >= lo) return true;
    }
    return false;
}

Grammar Parser::finish() {
    for (const auto& r : rules_) {
        if (!r.defined) {
            fail_at(r.first_ref, fmt::format("rule '{}' is used but never defined; expected a "
                                             "line '{} ::= ...'", r.name, r.name));
        }
    }
    auto root_it = ids_.find("root");
    if (root_it == ids_.end()) {
        fail_at(src_.size(), "no 'root' rule; expected a line 'root ::= ...' where matching starts");
    }
    const size_t n = rules_.size();
    auto elem_min = [&](const Elem& e, const std::vector<uint32_t>& rule_min) -> uint32_t {
        if (e.kind == ElemKind::Rule) return rule_min[e.value];
        const auto& s = sets_[e.value];
        return s.ranges.empty() ? kInf : utf8_len(s.ranges.front().first);
    };
    // Shortest match per rule (Bellman-Ford style fixpoint); kInf = the rule can never finish.
    std::vector<uint32_t> rule_min(n, kInf);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < n; ++r) {
            for (const auto& alt : rules_[r].alts) {
                uint64_t sum = 0;
                for (const auto& e : alt) sum += elem_min(e, rule_min);
                if (sum < rule_min[r]) {
                    rule_min[r] = static_cast<uint32_t>(std::min<uint64_t>(sum, kInf));
                    changed = true;
                }
            }
        }
    }
    // Rules reachable from root, for the "can never finish" report.
    const uint32_t root = root_it->second;
    std::vector<char> reach(n, 0);
    std::vector<uint32_t> todo{root};
    reach[root] = 1;
    while (!todo.empty()) {
        const uint32_t r = todo.back();
        todo.pop_back();
        for (const auto& alt : rules_[r].alts)
            for (const auto& e : alt)
                if (e.kind == ElemKind::Rule && !reach[e.value]) {
                    reach[e.value] = 1;
                    todo.push_back(e.value);
                }
    }
    // Report a dead rule the root needs before the root itself: it is the cause.
    std::vector<size_t> order;
    for (size_t r = 0; r < n; ++r)
        if (r != root) order.push_back(r);
    order.push_back(root);
    for (size_t r : order) {
        if (reach[r] && rule_min[r] >= kInf && (!rules_[r].generated || r == root)) {
            fail_at(rules_[r].def_at,
                    fmt::format("rule '{}' can never finish (every alternative needs a rule that "
                                "never ends, or an empty character class); the grammar {}",
                                rules_[r].name, r == root ? "matches nothing" : "has a dead rule"));
        }
    }
    // Drop alternatives that can never finish, so every matcher state can complete.
    for (auto& r : rules_) {
        std::erase_if(r.alts, [&](const Alt& alt) {
            for (const auto& e : alt)
                if (elem_min(e, rule_min) >= kInf) return true;
            return false;
        });
    }
    // Left recursion: an edge A -> B when B can come first in A (after nullable items).
    std::vector<std::vector<uint32_t>> first(n);
    for (size_t r = 0; r < n; ++r) {
        for (const auto& alt : rules_[r].alts) {
            for (const auto& e : alt) {
                if (e.kind != ElemKind::Rule) break;
                first[r].push_back(e.value);
                if (rule_min[e.value] != 0) break;
            }
        }
    }
    std::vector<int> color(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<uint32_t> path;
    auto visible = [&](uint32_t r) {  // the user-facing rule a generated one came from
        return rules_[r].name;
    };
    std::function<void(uint32_t)> dfs = [&](uint32_t r) {
        color[r] = 1;
        path.push_back(r);
        for (uint32_t s : first[r]) {
            if (color[s] == 1) {
                std::string cycle;
                auto it = std::find(path.begin(), path.end(), s);
                for (; it != path.end(); ++it) cycle += visible(*it) + " -> ";
                cycle += visible(s);
                fail_at(rules_[s].def_at,
                        fmt::format("rule '{}' is left-recursive ({}); expected right recursion, "
                                    "e.g. 'list ::= item (\",\" item)*' instead of 'list ::= list "
                                    "\",\" item | item'",
                                    visible(s), cycle));
            }
            if (color[s] == 0) dfs(s);
        }
        path.pop_back();
        color[r] = 2;
    };
    for (size_t r = 0; r < n; ++r)
        if (color[r] == 0) dfs(static_cast<uint32_t>(r));

    Grammar g;
    g.root = root;
    g.char_sets = std::move(sets_);
    g.rule_min_bytes = rule_min;
    for (auto& r : rules_) {
        Rule out{.name = r.name, .alts = {}, .line = line_of(r.def_at)};
        for (const auto& alt : r.alts) {
            out.alts.push_back(static_cast<uint32_t>(g.elems.size()));
            g.elems.insert(g.elems.end(), alt.begin(), alt.end());
            g.elems.push_back({ElemKind::End, 0});
        }
        g.rules.push_back(std::move(out));
    }
    g.rest_min_bytes.assign(g.elems.size(), 0);
    uint32_t acc = 0;
    for (size_t i = g.elems.size(); i-- > 0;) {
        const Elem& e = g.elems[i];
        if (e.kind == ElemKind::End) {
            acc = 0;
        } else {
            acc += e.kind == ElemKind::Rule ? rule_min[e.value]
                                            : utf8_len(g.char_sets[e.value].ranges.front().first);
        }
        g.rest_min_bytes[i] = acc;
    }
    return g;
}

int32_t Grammar::find_rule(std::string_view name) const {
    for (size_t i = 0; i < rules.size(); ++i)
        if (rules[i].name == name) return static_cast<int32_t>(i);
    return -1;
}

namespace {

void append_cp(std::string& out, uint32_t cp, bool in_class) {
    if (cp == '\n') out += "\\n";
    else if (cp == '\r') out += "\\r";
    else if (cp == '\t') out += "\\t";
    else if (cp == '\\') out += "\\\\";
    else if (cp == '"' && !in_class) out += "\\\"";
    else if (in_class && (cp == ']' || cp == '-' || cp == '^' || cp == '[')) out += fmt::format("\\{}", static_cast<char>(cp));
    else if (cp < 0x20 || cp == 0x7F) out += fmt::format("\\x{:02X}", cp);
    else if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x10000) out += fmt::format("\\u{:04X}", cp);
    else out += fmt::format("\\U{:08X}", cp);
}

}  // namespace

std::string gbnf_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) out += c;  // UTF-8 passes through as a literal
        else append_cp(out, u, false);
    }
    return out;
}

std::string Grammar::to_gbnf() const {
    std::string out;
    for (const auto& r : rules) {
        out += r.name + " ::=";
        for (size_t a = 0; a < r.alts.size(); ++a) {
            if (a > 0) out += " |";
            for (uint32_t p = r.alts[a]; elems[p].kind != ElemKind::End; ++p) {
                const Elem& e = elems[p];
                if (e.kind == ElemKind::Rule) {
                    out += " " + rules[e.value].name;
                    continue;
                }
                out += " [";
                for (auto [lo, hi] : char_sets[e.value].ranges) {
                    append_cp(out, lo, true);
                    if (hi != lo) {
                        out += '-';
                        append_cp(out, hi, true);
                    }
                }
                out += "]";
            }
        }
        out += "\n";
    }
    return out;
}

Grammar compile_gbnf(std::string_view text, std::string_view source_name) {
    return Parser(text, source_name).run();
}

}  // namespace lyra::gen::constraint
