// ABC parser and writer (abc.h). The parser reads one line at a time with a cursor that knows
// its line and column, so every error names where it happened.
#include "art/music/abc.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <numeric>

#include "core/error.h"

namespace lyra::art::music {

// --- Frac ------------------------------------------------------------------------------------

Frac::Frac(int64_t n, int64_t d) {
    if (d == 0) throw_error(ErrorKind::InvalidArgument, "fraction: zero denominator");
    if (d < 0) {
        if (n == INT64_MIN || d == INT64_MIN) throw_error(ErrorKind::Corrupt, "abc: note lengths overflow");
        n = -n, d = -d;
    }
    int64_t g = std::gcd(n < 0 ? -n : n, d);
    if (g == 0) g = 1;
    num = n / g;
    den = d / g;
}

namespace {
__extension__ typedef __int128 i128;

i128 gcd128(i128 a, i128 b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b != 0) {
        i128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

Frac make(i128 n, i128 d) {
    if (d == 0) throw_error(ErrorKind::InvalidArgument, "fraction: zero denominator");
    if (d < 0) n = -n, d = -d;
    i128 g = gcd128(n, d);
    if (g > 1) n /= g, d /= g;
    const i128 lim = static_cast<i128>(INT64_MAX);
    if (n > lim || n < -lim || d > lim) {
        throw_error(ErrorKind::Corrupt, "abc: note lengths overflow; expected ordinary durations");
    }
    return Frac(static_cast<int64_t>(n), static_cast<int64_t>(d));
}
}  // namespace

Frac Frac::operator+(const Frac& o) const {
    return make(static_cast<i128>(num) * o.den + static_cast<i128>(o.num) * den, static_cast<i128>(den) * o.den);
}
Frac Frac::operator-(const Frac& o) const {
    return make(static_cast<i128>(num) * o.den - static_cast<i128>(o.num) * den, static_cast<i128>(den) * o.den);
}
Frac Frac::operator*(const Frac& o) const {
    return make(static_cast<i128>(num) * o.num, static_cast<i128>(den) * o.den);
}
Frac Frac::operator/(const Frac& o) const {
    return make(static_cast<i128>(num) * o.den, static_cast<i128>(den) * o.num);
}
bool Frac::operator<(const Frac& o) const {
    return static_cast<i128>(num) * o.den < static_cast<i128>(o.num) * den;
}

std::string Frac::str() const {
    if (den == 1) return std::to_string(num);
    return std::to_string(num) + "/" + std::to_string(den);
}

std::string Tune::field(char f) const {
    for (const auto& [k, v] : header) {
        if (k == f) return v;
    }
    return {};
}

bool Tune::has_field(char f) const {
    return std::any_of(header.begin(), header.end(), [f](const auto& kv) { return kv.first == f; });
}

// --- parser ----------------------------------------------------------------------------------

namespace {

std::string trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    return std::string(s.substr(a, b - a));
}

// Removes a % comment (not an escaped \%) from a line.
std::string_view strip_comment(std::string_view line) {
    bool in_quote = false;
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '"') in_quote = !in_quote;
        if (line[i] == '%' && !in_quote && (i == 0 || line[i - 1] != '\\')) return line.substr(0, i);
    }
    return line;
}

bool is_field_line(std::string_view line) {
    return line.size() >= 2 && line[1] == ':' &&
           (std::isalpha(static_cast<unsigned char>(line[0])) || line[0] == '+');
}

// Field letters recognised as field lines inside a tune body (note letters A-G excluded, so a
// music line "A:|" stays music).
bool is_body_field(char c) {
    return std::string_view("HIKLMNOPQRSTUVWXZmrsw+").find(c) != std::string_view::npos;
}

bool is_note_letter(char c) { return (c >= 'A' && c <= 'G') || (c >= 'a' && c <= 'g'); }

class LineParser {
public:
    LineParser(std::string_view src, std::string_view line, int line_no, std::vector<Element>& out,
               bool strict, std::vector<std::string>& repairs)
        : src_(src), s_(line), line_(line_no), out_(out), strict_(strict), repairs_(repairs) {}

    void run() {
        size_t start = out_.size();
        while (i_ < s_.size()) one();
        // A line left with nothing but blanks (its characters skipped) would write as a blank
        // line, which ends a tune: it leaves no trace.
        bool empty = std::all_of(out_.begin() + static_cast<std::ptrdiff_t>(start), out_.end(),
                                 [](const Element& e) { return e.kind == ElemKind::Space; });
        if (empty && !continued_) {
            out_.resize(start);
            return;
        }
        Element lb = make(ElemKind::LineBreak);
        lb.flag = continued_;
        out_.push_back(std::move(lb));
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw_error(ErrorKind::Corrupt, "{}: line {}, column {}: {}", src_, line_, i_ + 1, what);
    }
    char peek(size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }
    Element make(ElemKind k) const {
        Element e;
        e.kind = k;
        e.line = line_;
        e.col = static_cast<int>(i_) + 1;
        return e;
    }
    std::string read_until(char close, const char* what) {
        size_t start = i_ + 1;
        size_t end = s_.find(close, start);
        if (end == std::string_view::npos) fail(std::string("unterminated ") + what);
        std::string t(s_.substr(start, end - start));
        i_ = end + 1;
        return t;
    }
    int64_t read_int() {
        int64_t v = 0;
        int digits = 0;
        while (std::isdigit(static_cast<unsigned char>(peek()))) {
            v = v * 10 + (peek() - '0');
            ++i_;
            if (++digits > 6) fail("number too long");
        }
        return v;
    }
    // [digits][/[digits] | //...]
    Frac read_length() {
        int64_t num = 1, den = 1;
        if (std::isdigit(static_cast<unsigned char>(peek()))) num = read_int();
        if (peek() == '/') {
            ++i_;
            if (std::isdigit(static_cast<unsigned char>(peek()))) {
                den = read_int();
                if (den == 0) fail("zero in a note length's denominator");
            } else {
                den = 2;
                while (peek() == '/') {
                    ++i_;
                    den *= 2;
                    if (den > 256) fail("too many '/' in a note length");
                }
            }
        }
        return {num, den};
    }
    // accidentals, letter, octave marks, length, tie
    Note read_note() {
        Note n;
        if (peek() == 'z' || peek() == 'x' || peek() == 'Z' || peek() == 'X') {
            n.rest = peek();
            ++i_;
            n.len = read_length();
            return n;
        }
        if (peek() == '^' || peek() == '_' || peek() == '=') {
            if (peek() == '=') {
                n.pitch.acc = 0;
                ++i_;
            } else {
                char c = peek();
                int a = 0;
                while (peek() == c && a < 2) {
                    a += 1;
                    ++i_;
                }
                n.pitch.acc = c == '^' ? a : -a;
            }
        }
        char c = peek();
        if (!is_note_letter(c)) {
            fail(fmt::format("expected a note letter (A-G, a-g) or rest (z), got {}",
                             c ? std::string("'") + c + "'" : std::string("end of line")));
        }
        ++i_;
        n.pitch.letter = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        n.pitch.octave = std::islower(static_cast<unsigned char>(c)) ? 1 : 0;
        while (peek() == '\'' || peek() == ',') {
            n.pitch.octave += peek() == '\'' ? 1 : -1;
            ++i_;
        }
        if (n.pitch.octave < -5 || n.pitch.octave > 5) fail("note octave out of range");
        n.len = read_length();
        if (peek() == '-') {
            n.tie = true;
            ++i_;
        }
        return n;
    }
    // The most recent note or chord, for a '-' written after a space.
    Element* last_tieable() {
        for (auto it = out_.rbegin(); it != out_.rend(); ++it) {
            if (it->kind == ElemKind::Note && it->notes[0].rest == 0) return &*it;
            if (it->kind == ElemKind::Chord) return &*it;
            if (it->kind != ElemKind::Space && it->kind != ElemKind::Broken &&
                it->kind != ElemKind::SlurClose && it->kind != ElemKind::Decoration) {
                return nullptr;
            }
        }
        return nullptr;
    }

    void one() {
        char c = peek();
        if (c == ' ' || c == '\t') {
            Element e = make(ElemKind::Space);
            while (peek() == ' ' || peek() == '\t') ++i_;
            // Blanks around something skipped (` $ or a dropped character) make one space.
            if (!out_.empty() && out_.back().kind == ElemKind::Space && out_.back().line == line_) return;
            out_.push_back(std::move(e));
            return;
        }
        if (c == '`' || c == '$') {  // beam joiner, score line break: no meaning for us
            ++i_;
            // Skipped, it must not join a decoration letter and a ':' bar at the start of a
            // line: "m$:|" written back as "m:|" would read as the macro field m:.
            if (peek() == ':') mark_dropped();
            return;
        }
        if (c == '\\') {
            ++i_;
            while (peek() == ' ' || peek() == '\t') ++i_;
            if (i_ < s_.size()) fail("'\\' continues a line only at its end");
            continued_ = true;
            return;
        }
        if (c == '"') {
            Element e = make(ElemKind::ChordSymbol);
            e.text = read_until('"', "chord symbol (missing closing '\"')");
            out_.push_back(std::move(e));
            return;
        }
        if ((c == '!' || c == '+') && !strict_ && s_.find(c, i_ + 1) == std::string_view::npos) {
            // ABC 1.x used a lone '!' as a line break.
            repairs_.push_back(fmt::format("line {}, column {}: lone '{}' dropped", line_, i_ + 1, c));
            ++i_;
            mark_dropped();
            return;
        }
        if (c == '!' || c == '+') {
            Element e = make(ElemKind::Decoration);
            std::string t = read_until(c, c == '!' ? "decoration (missing closing '!')"
                                                    : "decoration (missing closing '+')");
            if (t.empty() || t.find(' ') != std::string::npos) {
                i_ = static_cast<size_t>(e.col - 1);
                fail("malformed decoration");
            }
            e.text = std::string(1, c) + t + c;
            out_.push_back(std::move(e));
            return;
        }
        // '.', '~' and the user-definable symbols H-W, h-w (ABC 2.1 section 4.16).
        if (c == '.' || c == '~' || (c >= 'H' && c <= 'W') || (c >= 'h' && c <= 'w')) {
            Element e = make(ElemKind::Decoration);
            e.text = std::string(1, c);
            ++i_;
            out_.push_back(std::move(e));
            return;
        }
        if (c == '{') {
            Element e = make(ElemKind::Grace);
            ++i_;
            if (peek() == '/') {
                e.flag = true;
                ++i_;
            }
            while (peek() != '}') {
                if (i_ >= s_.size()) fail("unterminated grace notes (missing '}')");
                if (peek() == ' ') {
                    ++i_;
                    continue;
                }
                if (std::string_view("^_=").find(peek()) == std::string_view::npos &&
                    !is_note_letter(peek())) {
                    fail("expected a grace note or '}' to close the grace notes");
                }
                Note n = read_note();
                if (n.rest) fail("a rest inside grace notes");
                n.tie = false;
                e.notes.push_back(n);
            }
            ++i_;
            if (e.notes.empty()) fail("empty grace notes");
            out_.push_back(std::move(e));
            return;
        }
        if (c == '(') {
            if (std::isdigit(static_cast<unsigned char>(peek(1)))) {
                Element e = make(ElemKind::Tuplet);
                ++i_;
                std::string t;
                while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == ':') {
                    t += peek();
                    ++i_;
                    if (t.size() > 12) fail("malformed tuplet");
                }
                if (t[0] == '0' || t[0] == '1') fail("tuplet of fewer than 2 notes");
                e.text = t;
                out_.push_back(std::move(e));
            } else {
                out_.push_back(make(ElemKind::SlurOpen));
                ++i_;
            }
            return;
        }
        if (c == ')') {
            out_.push_back(make(ElemKind::SlurClose));
            ++i_;
            return;
        }
        if (c == '&') {
            out_.push_back(make(ElemKind::Overlay));
            ++i_;
            return;
        }
        if (c == 'y') {
            out_.push_back(make(ElemKind::Spacer));
            ++i_;
            return;
        }
        if (c == '-') {
            Element* e = last_tieable();
            if (!e) {
                if (strict_) fail("a tie '-' with no note before it");
                repairs_.push_back(fmt::format("line {}, column {}: stray tie dropped", line_, i_ + 1));
                ++i_;
                mark_dropped();  // "m-:|" must not be written back as the field line "m:|"
                return;
            }
            if (e->kind == ElemKind::Chord) e->tie = true;
            else e->notes[0].tie = true;
            ++i_;
            return;
        }
        if (c == '>' || c == '<') {
            // A tie may sit inside a broken-rhythm run ("d>->c"): the tie goes to the note, and
            // the run continues the Broken element just before, as the writer's "d->>c" would
            // read back; two separate '>' elements would not survive write -> parse.
            const bool extends = !out_.empty() && out_.back().kind == ElemKind::Broken && out_.back().text[0] == c;
            Element e = extends ? std::move(out_.back()) : make(ElemKind::Broken);
            if (extends) out_.pop_back();
            while (peek() == c) {
                e.text += c;
                ++i_;
            }
            if (e.text.size() > 3) fail("broken rhythm longer than 3");
            out_.push_back(std::move(e));
            return;
        }
        if (c == '[') {
            char n1 = peek(1);
            if (std::isalpha(static_cast<unsigned char>(n1)) && peek(2) == ':') {
                Element e = make(ElemKind::InlineField);
                e.text = read_until(']', "inline field (missing ']')");
                out_.push_back(std::move(e));
                return;
            }
            if (std::isdigit(static_cast<unsigned char>(n1))) {
                Element e = make(ElemKind::Ending);
                ++i_;
                e.text = read_ending();
                out_.push_back(std::move(e));
                return;
            }
            if (n1 == '|') {
                Element e = make(ElemKind::Bar);
                i_ += 2;
                e.text = "[|";
                out_.push_back(std::move(e));
                return;
            }
            Element e = make(ElemKind::Chord);
            ++i_;
            while (peek() != ']') {
                if (i_ >= s_.size()) fail("unterminated chord (missing ']')");
                if (peek() == ' ' || peek() == '+') {  // '+' is ABC 1.x chord syntax
                    ++i_;
                    continue;
                }
                if (std::string_view("^_=").find(peek()) == std::string_view::npos &&
                    !is_note_letter(peek())) {
                    if (strict_ || e.notes.empty()) fail("expected a note or ']' to close the chord");
                    repairs_.push_back(fmt::format("line {}, column {}: chord closed before '{}'",
                                                   line_, i_ + 1, peek()));
                    out_.push_back(std::move(e));
                    return;
                }
                Note n = read_note();
                if (n.rest) fail("a rest inside a chord");
                e.notes.push_back(n);
            }
            ++i_;
            if (e.notes.empty()) fail("empty chord");
            e.len = read_length();
            if (peek() == '-') {
                e.tie = true;
                ++i_;
            }
            out_.push_back(std::move(e));
            return;
        }
        if (c == '|' || c == ':') {
            Element e = make(ElemKind::Bar);
            while (peek() == '|' || peek() == ':') {
                e.text += peek();
                ++i_;
                if (e.text.size() > 6) fail("malformed bar line");
            }
            if (peek() == ']' && e.text.back() == '|') {
                e.text += ']';
                ++i_;
            }
            if (e.text.find('|') == std::string::npos && e.text != "::") {
                i_ = static_cast<size_t>(e.col - 1);
                fail("':' outside a bar line");
            }
            if (std::isdigit(static_cast<unsigned char>(peek()))) e.ending = read_ending();
            // Two bar lines with only skipped characters between ("|`|") are one bar line, as
            // they would read once written side by side.
            if (!out_.empty() && out_.back().kind == ElemKind::Bar && out_.back().line == line_ &&
                out_.back().ending.empty() && out_.back().text != "[|" &&
                (out_.back().text.back() == '|' || out_.back().text.back() == ':')) {
                Element& prev = out_.back();
                prev.text += e.text;
                prev.ending = e.ending;
                if (prev.text.size() > 6 || prev.text.find('|') == std::string::npos) {
                    fail("malformed bar line");
                }
                return;
            }
            out_.push_back(std::move(e));
            return;
        }
        if (c == '^' || c == '_' || c == '=' || is_note_letter(c) || c == 'z' || c == 'x' ||
            c == 'Z' || c == 'X') {
            Element e = make(ElemKind::Note);
            e.notes.push_back(read_note());
            if (e.notes[0].rest && peek() == '-') fail("a tie after a rest");
            out_.push_back(std::move(e));
            return;
        }
        if (!strict_) {
            repairs_.push_back(fmt::format("line {}, column {}: '{}' dropped", line_, i_ + 1, c));
            ++i_;
            mark_dropped();
            return;
        }
        fail(fmt::format("unexpected character '{}'", c));
    }

    // A dropped character leaves a space, so what stood on either side of it cannot join into
    // something else when written back: "m\x04:|" must not become the field line "m:|".
    void mark_dropped() {
        if (!out_.empty() && out_.back().kind == ElemKind::Space && out_.back().line == line_) return;
        out_.push_back(make(ElemKind::Space));
    }

    std::string read_ending() {
        std::string t;
        while (std::isdigit(static_cast<unsigned char>(peek())) ||
               ((peek() == ',' || peek() == '-') && std::isdigit(static_cast<unsigned char>(peek(1))))) {
            t += peek();
            ++i_;
            if (t.size() > 12) fail("malformed repeat ending");
        }
        return t;
    }

    std::string_view src_;
    std::string_view s_;
    int line_;
    std::vector<Element>& out_;
    bool strict_;
    std::vector<std::string>& repairs_;
    size_t i_ = 0;
    bool continued_ = false;
};

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view l = text.substr(start, end - start);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        lines.push_back(l);
        start = end + 1;
        if (end == text.size()) break;
    }
    return lines;
}

bool blank(std::string_view l) {
    return std::all_of(l.begin(), l.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

}  // namespace

std::vector<Tune> parse_abc(std::string_view text, std::string_view source, bool strict) {
    std::vector<Tune> tunes;
    std::vector<std::string_view> lines = split_lines(text);
    size_t i = 0;
    while (i < lines.size()) {
        std::string_view l = lines[i];
        if (!(l.size() >= 2 && l[0] == 'X' && l[1] == ':')) {
            ++i;  // free text between tunes
            continue;
        }
        Tune t;
        t.line = static_cast<int>(i) + 1;
        bool in_body = false;
        for (; i < lines.size(); ++i) {
            std::string_view raw = lines[i];
            int line_no = static_cast<int>(i) + 1;
            if (blank(raw)) {
                ++i;
                break;
            }
            if (raw.size() >= 2 && raw[0] == '%' && raw[1] == '%') continue;  // directive
            std::string_view s = strip_comment(raw);
            if (blank(s)) continue;  // comment line
            if (!t.header.empty() && s.size() >= 2 && s[0] == 'X' && s[1] == ':') break;
            if (!in_body) {
                if (!is_field_line(s)) {
                    throw_error(ErrorKind::Corrupt,
                                "{}: line {}, column 1: expected a header field (such as K:D) before "
                                "the music; got '{}'",
                                source, line_no, trim(s));
                }
                t.header.emplace_back(s[0], trim(s.substr(2)));
                if (s[0] == 'K') in_body = true;
                continue;
            }
            if (is_field_line(s) && is_body_field(s[0])) {
                Element e;
                e.kind = ElemKind::Field;
                e.text = std::string(1, s[0]) + ":" + trim(s.substr(2));
                e.line = line_no;
                e.col = 1;
                t.body.push_back(std::move(e));
                continue;
            }
            LineParser(source, s, line_no, t.body, strict, t.repairs).run();
        }
        if (!in_body) {
            throw_error(ErrorKind::Corrupt,
                        "{}: line {}, column 1: tune has no K: field (the header must end with "
                        "one)",
                        source, t.line);
        }
        tunes.push_back(std::move(t));
    }
    return tunes;
}

Tune parse_tune(std::string_view text, std::string_view source, bool strict) {
    std::string owned;
    std::string_view t = text;
    size_t first = t.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        throw_error(ErrorKind::Corrupt, "{}: line 1, column 1: empty ABC; expected a tune", source);
    }
    if (!(t.substr(first, 2) == "X:")) {
        owned = "X:1\n" + std::string(t.substr(first));
        t = owned;
    }
    std::vector<Tune> tunes = parse_abc(t, source, strict);
    if (tunes.size() != 1) {
        throw_error(ErrorKind::Corrupt, "{}: expected one tune, got {}", source, tunes.size());
    }
    return std::move(tunes[0]);
}

// --- writer ----------------------------------------------------------------------------------

namespace {

std::string write_length(const Frac& f) {
    if (f.num == 1 && f.den == 1) return {};
    if (f.den == 1) return std::to_string(f.num);
    std::string s = f.num == 1 ? std::string() : std::to_string(f.num);
    s += '/';
    s += std::to_string(f.den);
    return s;
}

std::string write_pitch(const Pitch& p) {
    std::string s;
    if (p.acc != kNoAccidental) {
        if (p.acc == 0) s += '=';
        for (int k = 0; k < p.acc; ++k) s += '^';
        for (int k = 0; k < -p.acc; ++k) s += '_';
    }
    if (p.octave >= 1) {
        s += static_cast<char>(std::tolower(static_cast<unsigned char>(p.letter)));
        for (int k = 1; k < p.octave; ++k) s += '\'';
    } else {
        s += p.letter;
        for (int k = 0; k < -p.octave; ++k) s += ',';
    }
    return s;
}

}  // namespace

std::string write_note(const Note& n) {
    std::string s = n.rest ? std::string(1, n.rest) : write_pitch(n.pitch);
    s += write_length(n.len);
    if (n.tie) s += '-';
    return s;
}

std::string write_body(const std::vector<Element>& body) {
    std::string s;
    for (const Element& e : body) {
        switch (e.kind) {
            case ElemKind::Note: s += write_note(e.notes[0]); break;
            case ElemKind::Chord:
                s += '[';
                for (const Note& n : e.notes) s += write_note(n);
                s += ']';
                s += write_length(e.len);
                if (e.tie) s += '-';
                break;
            case ElemKind::Grace:
                s += e.flag ? "{/" : "{";
                for (const Note& n : e.notes) s += write_note(n);
                s += '}';
                break;
            case ElemKind::Bar: s += e.text + e.ending; break;
            case ElemKind::Ending: s += "[" + e.text; break;
            case ElemKind::Broken: s += e.text; break;
            case ElemKind::Tuplet: s += "(" + e.text; break;
            case ElemKind::SlurOpen: s += '('; break;
            case ElemKind::SlurClose: s += ')'; break;
            case ElemKind::Decoration: s += e.text; break;
            case ElemKind::ChordSymbol: s += '"' + e.text + '"'; break;
            case ElemKind::InlineField: s += '[' + e.text + ']'; break;
            case ElemKind::Field: s += e.text + "\n"; break;
            case ElemKind::Space: s += ' '; break;
            case ElemKind::LineBreak: s += e.flag ? "\\\n" : "\n"; break;
            case ElemKind::Overlay: s += '&'; break;
            case ElemKind::Spacer: s += 'y'; break;
        }
    }
    return s;
}

std::string write_abc(const Tune& tune) {
    std::string s;
    for (const auto& [k, v] : tune.header) {
        s += k;
        s += ':';
        s += v;
        s += '\n';
    }
    s += write_body(tune.body);
    return s;
}

std::string write_abc(const std::vector<Tune>& tunes) {
    std::string s;
    for (size_t i = 0; i < tunes.size(); ++i) {
        if (i) s += '\n';
        s += write_abc(tunes[i]);
    }
    return s;
}

// --- keys and meters -------------------------------------------------------------------------

int letter_index(char letter) {
    switch (std::toupper(static_cast<unsigned char>(letter))) {
        case 'C': return 0;
        case 'D': return 1;
        case 'E': return 2;
        case 'F': return 3;
        case 'G': return 4;
        case 'A': return 5;
        case 'B': return 6;
        default: return 0;
    }
}

int letter_semitone(char letter) {
    static const int semis[7] = {0, 2, 4, 5, 7, 9, 11};
    return semis[letter_index(letter)];
}

int midi_pitch(const Pitch& p, int acc_in_force) {
    int acc = acc_in_force == kNoAccidental ? 0 : acc_in_force;
    return 60 + 12 * p.octave + letter_semitone(p.letter) + acc;
}

const char* mode_name(Mode m) {
    switch (m) {
        case Mode::Major: return "major";
        case Mode::Minor: return "minor";
        case Mode::Dorian: return "dorian";
        case Mode::Phrygian: return "phrygian";
        case Mode::Lydian: return "lydian";
        case Mode::Mixolydian: return "mixolydian";
        case Mode::Locrian: return "locrian";
    }
    return "major";
}

namespace {
// Semitone offset of each mode's tonic above its relative major's tonic, and the scale degree.
int mode_degree(Mode m) {
    switch (m) {
        case Mode::Major: return 0;
        case Mode::Dorian: return 1;
        case Mode::Phrygian: return 2;
        case Mode::Lydian: return 3;
        case Mode::Mixolydian: return 4;
        case Mode::Minor: return 5;
        case Mode::Locrian: return 6;
    }
    return 0;
}
}  // namespace

int Key::tonic_pc() const { return ((letter_semitone(tonic) + tonic_acc) % 12 + 12) % 12; }

std::array<int, 7> Key::signature() const {
    std::array<int, 7> sig{};
    if (!none) {
        // The relative major: go down mode_degree scale steps from the tonic.
        static const int major_steps[7] = {0, 2, 4, 5, 7, 9, 11};
        int deg = mode_degree(mode);
        int maj_letter = (letter_index(tonic) - deg + 7) % 7;
        int maj_pc = ((tonic_pc() - major_steps[deg]) % 12 + 12) % 12;
        for (int k = 0; k < 7; ++k) {
            int letter = (maj_letter + k) % 7;
            int want = (maj_pc + major_steps[k]) % 12;
            static const int nat[7] = {0, 2, 4, 5, 7, 9, 11};
            int d = ((want - nat[letter]) % 12 + 12) % 12;
            if (d > 6) d -= 12;
            sig[static_cast<size_t>(letter)] = d;
        }
    }
    for (size_t k = 0; k < 7; ++k) {
        if (extra[k] != kNoAccidental) sig[k] = extra[k];
    }
    return sig;
}

std::array<int, 7> Key::scale_pcs() const {
    std::array<int, 7> sig = signature();
    std::array<int, 7> pcs{};
    int li = letter_index(tonic);
    static const int nat[7] = {0, 2, 4, 5, 7, 9, 11};
    for (int k = 0; k < 7; ++k) {
        int letter = (li + k) % 7;
        pcs[static_cast<size_t>(k)] = ((nat[letter] + sig[static_cast<size_t>(letter)]) % 12 + 12) % 12;
    }
    return pcs;
}

std::string Key::str() const {
    if (none) return "none";
    std::string s(1, tonic);
    if (tonic_acc > 0) s += '#';
    if (tonic_acc < 0) s += 'b';
    switch (mode) {
        case Mode::Major: break;
        case Mode::Minor: s += 'm'; break;
        case Mode::Dorian: s += "dor"; break;
        case Mode::Phrygian: s += "phr"; break;
        case Mode::Lydian: s += "lyd"; break;
        case Mode::Mixolydian: s += "mix"; break;
        case Mode::Locrian: s += "loc"; break;
    }
    static const char letters[] = "CDEFGAB";
    for (size_t k = 0; k < 7; ++k) {
        if (extra[k] == kNoAccidental) continue;
        s += ' ';
        if (extra[k] == 0) s += '=';
        for (int a = 0; a < extra[k]; ++a) s += '^';
        for (int a = 0; a < -extra[k]; ++a) s += '_';
        s += static_cast<char>(std::tolower(static_cast<unsigned char>(letters[k])));
    }
    return s;
}

Key parse_key(std::string_view value) {
    std::string v = trim(value);
    Key k;
    auto bad = [&](const std::string& what) {
        throw_error(ErrorKind::InvalidArgument,
                    "key: {}; expected a tonic A-G with optional # or b and a mode (m, min, maj, "
                    "dor, phr, lyd, mix, aeo, loc), e.g. D, Em, Ador, Bb, F#m; got '{}'",
                    what, v);
    };
    std::string lower;
    for (char c : v) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v.empty()) bad("empty key");
    if (lower == "none" || lower.rfind("none ", 0) == 0) {
        k.none = true;
        return k;
    }
    if (v == "HP" || v == "Hp") {  // highland pipes: written without a signature
        k.none = true;
        return k;
    }
    size_t i = 0;
    char t = v[0];
    if (t < 'A' || t > 'G') bad("unknown tonic");
    k.tonic = t;
    ++i;
    if (i < v.size() && (v[i] == '#' || v[i] == 'b')) {
        k.tonic_acc = v[i] == '#' ? 1 : -1;
        ++i;
    }
    while (i < v.size() && v[i] == ' ') ++i;
    // The mode word: letters up to a space.
    size_t j = i;
    while (j < v.size() && std::isalpha(static_cast<unsigned char>(v[j]))) ++j;
    std::string mode = lower.substr(i, j - i);
    if (mode.empty() || mode == "maj" || mode == "major" || mode == "ion" || mode == "ionian") {
        k.mode = Mode::Major;
    } else if (mode == "m" || mode.rfind("min", 0) == 0 || mode.rfind("aeo", 0) == 0) {
        k.mode = Mode::Minor;
    } else if (mode.rfind("dor", 0) == 0) {
        k.mode = Mode::Dorian;
    } else if (mode.rfind("phr", 0) == 0) {
        k.mode = Mode::Phrygian;
    } else if (mode.rfind("lyd", 0) == 0) {
        k.mode = Mode::Lydian;
    } else if (mode.rfind("mix", 0) == 0) {
        k.mode = Mode::Mixolydian;
    } else if (mode.rfind("loc", 0) == 0) {
        k.mode = Mode::Locrian;
    } else if (mode.rfind("maj", 0) == 0) {
        k.mode = Mode::Major;
    } else {
        bad("unknown mode '" + mode + "'");
    }
    i = j;
    // Explicit accidentals and key=value words (clef=treble, ...).
    while (i < v.size()) {
        if (v[i] == ' ' || v[i] == '\t') {
            ++i;
            continue;
        }
        size_t w = v.find(' ', i);
        if (w == std::string::npos) w = v.size();
        std::string word = v.substr(i, w - i);
        i = w;
        if (word.find('=') != std::string::npos && word[0] != '=') continue;  // clef=..., etc.
        size_t a = 0;
        int acc = 0;
        if (word[0] == '=') {
            a = 1;
        } else {
            while (a < word.size() && (word[a] == '^' || word[a] == '_')) {
                acc += word[a] == '^' ? 1 : -1;
                ++a;
            }
            if (a == 0) bad("unknown word '" + word + "'");
        }
        if (a + 1 != word.size() || !is_note_letter(word[a])) bad("malformed accidental '" + word + "'");
        k.extra[static_cast<size_t>(letter_index(word[a]))] = acc;
    }
    return k;
}

std::string Meter::str() const {
    if (free) return "none";
    return std::to_string(beats_num) + "/" + std::to_string(beats_den);
}

Meter parse_meter(std::string_view value) {
    std::string v = trim(value);
    Meter m;
    auto bad = [&]() {
        throw_error(ErrorKind::InvalidArgument,
                    "meter: expected a time signature such as 6/8, 4/4, 3/4, C or C|; got '{}'", v);
    };
    if (v == "none" || v.empty()) {
        if (v.empty()) bad();
        m.free = true;
        return m;
    }
    if (v == "C") return m;
    if (v == "C|") {
        m.bar = {2, 2};
        m.beats_num = m.beats_den = 2;
        return m;
    }
    size_t slash = v.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 >= v.size()) bad();
    std::string top = v.substr(0, slash), bottom = trim(v.substr(slash + 1));
    if (!top.empty() && top.front() == '(' && top.back() == ')') top = top.substr(1, top.size() - 2);
    int64_t num = 0;
    size_t p = 0;
    while (p < top.size()) {
        size_t q = p;
        int64_t term = 0;
        while (q < top.size() && std::isdigit(static_cast<unsigned char>(top[q]))) {
            term = term * 10 + (top[q] - '0');
            if (term > 64) bad();
            ++q;
        }
        if (q == p) bad();
        num += term;
        while (q < top.size() && top[q] == ' ') ++q;
        if (q < top.size()) {
            if (top[q] != '+') bad();
            ++q;
        }
        p = q;
    }
    for (char c : bottom) {
        if (!std::isdigit(static_cast<unsigned char>(c))) bad();
    }
    if (bottom.size() > 3) bad();
    int den = std::atoi(bottom.c_str());
    if (num <= 0 || (den != 1 && den != 2 && den != 4 && den != 8 && den != 16 && den != 32)) bad();
    m.bar = {num, den};
    m.beats_num = static_cast<int>(num);
    m.beats_den = den;
    return m;
}

Frac default_unit(const Meter& m) {
    if (m.free) return {1, 8};
    return m.bar < Frac(3, 4) ? Frac(1, 16) : Frac(1, 8);
}

Frac parse_unit(std::string_view value) {
    std::string v = trim(value);
    size_t slash = v.find('/');
    auto bad = [&]() {
        throw_error(ErrorKind::InvalidArgument,
                    "unit note length: expected L: such as 1/8 or 1/16; got '{}'", v);
    };
    if (slash == std::string::npos || slash == 0 || slash + 1 >= v.size() || v.size() > 8) bad();
    for (size_t i = 0; i < v.size(); ++i) {
        if (i != slash && !std::isdigit(static_cast<unsigned char>(v[i]))) bad();
    }
    int64_t n = std::atoll(v.substr(0, slash).c_str()), d = std::atoll(v.substr(slash + 1).c_str());
    if (n <= 0 || d <= 0) bad();
    return {n, d};
}

}  // namespace lyra::art::music
