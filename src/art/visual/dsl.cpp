// The paint DSL: parser, printer and SVG writer (dsl.h, docs/formats/paint-dsl.md).
#include "art/visual/dsl.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/error.h"

namespace lyra::art::visual {

namespace {

Color rgb(uint32_t v) {
    return Color{static_cast<uint8_t>(v >> 16), static_cast<uint8_t>((v >> 8) & 0xff),
                 static_cast<uint8_t>(v & 0xff), false};
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int path_arity(char op) {
    switch (op) {
        case 'M': case 'L': case 'T': return 2;
        case 'H': case 'V': return 1;
        case 'C': return 6;
        case 'S': case 'Q': return 4;
        case 'A': return 7;
        case 'Z': return 0;
        default: return -1;
    }
}

struct Word {
    std::string_view text;
    int col = 0;  // 1-based
};

std::string shown(std::string_view s) {
    if (s.size() > 24) return fmt::format("'{}...'", s.substr(0, 24));
    return fmt::format("'{}'", s);
}

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    Drawing run() {
        Drawing d;
        bool have_canvas = false;
        std::vector<Shape*> stack;  // open groups
        size_t pos = 0;
        int n_shapes = 0;
        while (pos <= text_.size()) {
            size_t eol = text_.find('\n', pos);
            if (eol == std::string_view::npos) eol = text_.size();
            ++line_;
            split(text_.substr(pos, eol - pos));
            pos = eol + 1;
            if (words_.empty()) {
                if (eol == text_.size()) break;
                continue;
            }
            const std::string_view kw = words_[0].text;
            if (!have_canvas) {
                if (kw != "canvas") fail(words_[0], "the first line must be the canvas", "'canvas W H [colour]'", shown(kw));
                parse_canvas(d);
                have_canvas = true;
                continue;
            }
            if (kw == "canvas") fail(words_[0], "a second canvas line", "one canvas line at the top", "'canvas'");
            if (kw == "end") {
                if (words_.size() > 1) fail(words_[1], "text after 'end'", "end of line", shown(words_[1].text));
                if (stack.empty()) fail(words_[0], "'end' without an open group", "a shape", "'end'");
                if (stack.back()->children.empty()) fail(words_[0], "an empty group", "at least one shape before 'end'", "'end'");
                stack.pop_back();
                continue;
            }
            Shape s = parse_shape();
            if (++n_shapes > kMaxShapes) fail(words_[0], "too many shapes", fmt::format("at most {}", kMaxShapes), std::to_string(n_shapes));
            std::vector<Shape>& into = stack.empty() ? d.shapes : stack.back()->children;
            into.push_back(std::move(s));
            if (into.back().kind == ShapeKind::Group) {
                if (static_cast<int>(stack.size()) >= kMaxDepth) fail(words_[0], "groups nested too deep", fmt::format("at most {} levels", kMaxDepth), std::to_string(stack.size() + 1));
                stack.push_back(&into.back());
            }
            if (eol == text_.size()) break;
        }
        if (!have_canvas) {
            throw_error(ErrorKind::InvalidArgument, "paint dsl: line 1, column 1: no canvas line; expected 'canvas W H [colour]', got {}", text_.empty() ? "empty text" : "only blank lines");
        }
        if (!stack.empty()) {
            throw_error(ErrorKind::InvalidArgument, "paint dsl: line {}: a group is not closed; expected 'end', got the end of the text", line_);
        }
        return d;
    }

private:
    [[noreturn]] void fail(const Word& w, std::string_view problem, std::string_view expected, std::string_view got) const {
        throw_error(ErrorKind::InvalidArgument, "paint dsl: line {}, column {}: {}; expected {}, got {}", line_, w.col, problem, expected, got);
    }
    [[noreturn]] void fail_eol(std::string_view problem, std::string_view expected) const {
        throw_error(ErrorKind::InvalidArgument, "paint dsl: line {}, column {}: {}; expected {}, got the end of the line", line_, eol_col_, problem, expected);
    }

    void split(std::string_view line) {
        words_.clear();
        i_ = 0;
        size_t p = 0;
        while (p < line.size()) {
            const char c = line[p];
            if (c == ' ' || c == '\t' || c == '\r') {
                ++p;
                continue;
            }
            size_t q = p;
            while (q < line.size() && line[q] != ' ' && line[q] != '\t' && line[q] != '\r') ++q;
            words_.push_back({line.substr(p, q - p), static_cast<int>(p) + 1});
            p = q;
        }
        eol_col_ = static_cast<int>(line.size()) + 1;
    }

    bool more() const { return i_ < words_.size(); }
    const Word& next() {
        if (!more()) fail_eol("the line ends early", "more values");
        return words_[i_++];
    }

    int number(const Word& w, std::string_view text, int lo, int hi, std::string_view what) const {
        int v = 0;
        const char* b = text.data();
        const char* e = b + text.size();
        if (text.empty()) fail(w, fmt::format("a missing {}", what), "an integer", shown(w.text));
        auto [ptr, ec] = std::from_chars(b, e, v);
        if (ec == std::errc::result_out_of_range) fail(w, fmt::format("{} out of range", what), fmt::format("{}..{}", lo, hi), shown(text));
        if (ec != std::errc() || ptr != e) fail(w, fmt::format("{} is not an integer", what), "an integer", shown(text));
        if (v < lo || v > hi) fail(w, fmt::format("{} out of range", what), fmt::format("{}..{}", lo, hi), shown(text));
        return v;
    }
    int number(int lo, int hi, std::string_view what) {
        const Word& w = next();
        return number(w, w.text, lo, hi, what);
    }
    int coord() { return number(kCoordMin, kCoordMax, "coordinate"); }

    Color color(const Word& w) const {
        auto c = parse_color(w.text);
        if (!c) fail(w, "unknown colour", "a palette name (red, blue, ...), #rgb, #rrggbb or none", shown(w.text));
        return *c;
    }

    void parse_canvas(Drawing& d) {
        i_ = 1;
        d.width = number(1, kGrid, "canvas width");
        d.height = number(1, kGrid, "canvas height");
        if (more()) {
            const Word& w = next();
            d.background = color(w);
        }
        if (more()) fail(words_[i_], "text after the canvas", "end of line", shown(words_[i_].text));
    }

    Style parse_style() {
        Style st;
        while (more()) {
            const Word& k = next();
            if (k.text == "f" || k.text == "s") {
                auto& slot = k.text == "f" ? st.fill : st.stroke;
                if (slot) fail(k, "attribute given twice", "each attribute once", shown(k.text));
                slot = color(next());
            } else if (k.text == "w") {
                if (st.width) fail(k, "attribute given twice", "each attribute once", "'w'");
                st.width = number(1, kMaxWidth, "stroke width");
            } else if (k.text == "o") {
                if (st.opacity) fail(k, "attribute given twice", "each attribute once", "'o'");
                st.opacity = number(0, 100, "opacity");
            } else {
                fail(k, "unknown attribute", "f COLOUR, s COLOUR, w WIDTH or o OPACITY", shown(k.text));
            }
        }
        return st;
    }

    void parse_path(Shape& s) {
        // Words: "M10" (command + first value), "M" alone, or a value; commands are upper case.
        bool first = true;
        while (more()) {
            const Word& w = words_[i_];
            const char c = w.text[0];
            if (c >= 'a' && c <= 'z') break;  // attributes
            ++i_;
            const int arity = path_arity(c);
            if (arity < 0) fail(w, "unknown path command", "one of M L H V C S Q T A Z", shown(w.text));
            if (first && c != 'M') fail(w, "a path must start with M", "'M'", shown(w.text));
            first = false;
            PathCmd cmd;
            cmd.op = c;
            for (int k = 0; k < arity; ++k) {
                const bool inline_first = k == 0 && w.text.size() > 1;
                const Word& vw = inline_first ? w : next();
                const std::string_view vt = inline_first ? w.text.substr(1) : vw.text;
                if (!inline_first && !vt.empty() && path_arity(vt[0]) >= 0) fail(vw, fmt::format("command {} needs {} values", c, arity), "a number", shown(vt));
                int lo = kCoordMin, hi = kCoordMax;
                std::string_view what = "coordinate";
                if (c == 'A') {
                    if (k < 2) { lo = 0; hi = kCoordMax; what = "arc radius"; }
                    else if (k == 2) { lo = -360; hi = 360; what = "arc rotation"; }
                    else if (k < 5) { lo = 0; hi = 1; what = "arc flag"; }
                }
                cmd.args.push_back(number(vw, vt, lo, hi, what));
            }
            if (arity == 0 && w.text.size() > 1) fail(w, "Z takes no values", "'Z'", shown(w.text));
            s.path.push_back(std::move(cmd));
        }
        if (s.path.empty()) fail_eol("a path without commands", "'M x y' then more commands");
    }

    Shape parse_shape() {
        const Word& kw = words_[0];
        i_ = 1;
        Shape s;
        if (kw.text == "circle") {
            s.kind = ShapeKind::Circle;
            s.nums = {coord(), coord(), number(0, kCoordMax, "radius")};
        } else if (kw.text == "ellipse") {
            s.kind = ShapeKind::Ellipse;
            s.nums = {coord(), coord(), number(0, kCoordMax, "radius"), number(0, kCoordMax, "radius")};
        } else if (kw.text == "rect") {
            s.kind = ShapeKind::Rect;
            s.nums = {coord(), coord(), number(0, kCoordMax, "width"), number(0, kCoordMax, "height")};
        } else if (kw.text == "polygon" || kw.text == "polyline") {
            s.kind = kw.text == "polygon" ? ShapeKind::Polygon : ShapeKind::Polyline;
            while (more() && !(words_[i_].text[0] >= 'a' && words_[i_].text[0] <= 'z')) s.nums.push_back(coord());
            if (s.nums.size() < 4 || s.nums.size() % 2 != 0) fail(kw, fmt::format("{} needs x y pairs", kw.text), "at least two points", fmt::format("{} values", s.nums.size()));
        } else if (kw.text == "path") {
            s.kind = ShapeKind::Path;
            parse_path(s);
        } else if (kw.text == "g") {
            s.kind = ShapeKind::Group;
        } else {
            fail(kw, "unknown shape", "canvas, path, circle, ellipse, rect, polygon, polyline, g or end", shown(kw.text));
        }
        s.style = parse_style();
        return s;
    }

    std::string_view text_;
    int line_ = 0;
    std::vector<Word> words_;
    size_t i_ = 0;
    int eol_col_ = 1;
};

void print_style(std::string& out, const Style& st) {
    if (st.fill) {
        out += " f ";
        out += color_word(*st.fill);
    }
    if (st.stroke) {
        out += " s ";
        out += color_word(*st.stroke);
    }
    if (st.width) out += fmt::format(" w {}", *st.width);
    if (st.opacity) out += fmt::format(" o {}", *st.opacity);
}

void print_shape(std::string& out, const Shape& s) {
    out += shape_kind_name(s.kind);
    if (s.kind == ShapeKind::Path) {
        for (const PathCmd& c : s.path) {
            out += ' ';
            out += c.op;
            for (size_t k = 0; k < c.args.size(); ++k) {
                if (k > 0) out += ' ';
                out += std::to_string(c.args[k]);
            }
        }
    } else {
        for (int v : s.nums) {
            out += ' ';
            out += std::to_string(v);
        }
    }
    print_style(out, s.style);
    out += '\n';
    if (s.kind == ShapeKind::Group) {
        for (const Shape& c : s.children) print_shape(out, c);
        out += "end\n";
    }
}

void svg_style(std::string& out, const Style& st) {
    if (st.fill) out += fmt::format(" fill=\"{}\"", color_hex(*st.fill));
    if (st.stroke) out += fmt::format(" stroke=\"{}\"", color_hex(*st.stroke));
    if (st.width) out += fmt::format(" stroke-width=\"{}\"", *st.width);
    if (st.opacity) out += fmt::format(" opacity=\"{}\"", *st.opacity / 100.0);
}

void svg_shape(std::string& out, const Shape& s, int depth) {
    out.append(static_cast<size_t>(depth) * 2, ' ');
    const auto& n = s.nums;
    switch (s.kind) {
        case ShapeKind::Circle:
            out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"", n[0], n[1], n[2]);
            break;
        case ShapeKind::Ellipse:
            out += fmt::format("<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\"", n[0], n[1], n[2], n[3]);
            break;
        case ShapeKind::Rect:
            out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", n[0], n[1], n[2], n[3]);
            break;
        case ShapeKind::Polygon:
        case ShapeKind::Polyline: {
            out += s.kind == ShapeKind::Polygon ? "<polygon points=\"" : "<polyline points=\"";
            for (size_t k = 0; k < n.size(); ++k) {
                if (k > 0) out += k % 2 == 0 ? " " : ",";
                out += std::to_string(n[k]);
            }
            out += '"';
            break;
        }
        case ShapeKind::Path: {
            out += "<path d=\"";
            bool first = true;
            for (const PathCmd& c : s.path) {
                if (!first) out += ' ';
                first = false;
                out += c.op;
                for (size_t k = 0; k < c.args.size(); ++k) {
                    if (k > 0) out += ' ';
                    out += std::to_string(c.args[k]);
                }
            }
            out += '"';
            break;
        }
        case ShapeKind::Group:
            out += "<g";
            svg_style(out, s.style);
            out += ">\n";
            for (const Shape& c : s.children) svg_shape(out, c, depth + 1);
            out.append(static_cast<size_t>(depth) * 2, ' ');
            out += "</g>\n";
            return;
    }
    svg_style(out, s.style);
    out += "/>\n";
}

int count_in(const std::vector<Shape>& shapes) {
    int n = 0;
    for (const Shape& s : shapes) n += s.kind == ShapeKind::Group ? count_in(s.children) : 1;
    return n;
}

}  // namespace

const std::vector<NamedColor>& palette_colors() {
    static const std::vector<NamedColor> list = {
        {"black", rgb(0x000000)},  {"white", rgb(0xffffff)}, {"gray", rgb(0x808080)},
        {"silver", rgb(0xc8c8c8)}, {"red", rgb(0xe02020)},   {"orange", rgb(0xf08020)},
        {"yellow", rgb(0xf8d020)}, {"green", rgb(0x30a040)}, {"teal", rgb(0x20a0a0)},
        {"sky", rgb(0x80c0f0)},    {"blue", rgb(0x2060d0)},  {"navy", rgb(0x203070)},
        {"purple", rgb(0x8040c0)}, {"pink", rgb(0xf080b0)},  {"brown", rgb(0x805030)},
        {"cream", rgb(0xf4ecd8)},
    };
    return list;
}

std::optional<Color> parse_color(std::string_view w) {
    if (w == "none") return Color{0, 0, 0, true};
    if (!w.empty() && w[0] == '#') {
        const std::string_view h = w.substr(1);
        if (h.size() != 3 && h.size() != 6) return std::nullopt;
        int v[6] = {};
        for (size_t k = 0; k < h.size(); ++k) {
            v[k] = hex_digit(h[k]);
            if (v[k] < 0) return std::nullopt;
        }
        if (h.size() == 3) {
            return Color{static_cast<uint8_t>(v[0] * 17), static_cast<uint8_t>(v[1] * 17),
                         static_cast<uint8_t>(v[2] * 17), false};
        }
        return Color{static_cast<uint8_t>(v[0] * 16 + v[1]), static_cast<uint8_t>(v[2] * 16 + v[3]),
                     static_cast<uint8_t>(v[4] * 16 + v[5]), false};
    }
    for (const NamedColor& n : palette_colors()) {
        if (w == n.name) return n.color;
    }
    return std::nullopt;
}

std::string color_hex(const Color& c) {
    if (c.none) return "none";
    return fmt::format("#{:02x}{:02x}{:02x}", c.r, c.g, c.b);
}

std::string color_word(const Color& c) {
    if (c.none) return "none";
    for (const NamedColor& n : palette_colors()) {
        if (n.color == c) return n.name;
    }
    return color_hex(c);
}

const char* shape_kind_name(ShapeKind k) {
    switch (k) {
        case ShapeKind::Path: return "path";
        case ShapeKind::Circle: return "circle";
        case ShapeKind::Ellipse: return "ellipse";
        case ShapeKind::Rect: return "rect";
        case ShapeKind::Polygon: return "polygon";
        case ShapeKind::Polyline: return "polyline";
        case ShapeKind::Group: return "g";
    }
    return "?";
}

Drawing parse_dsl(std::string_view text) { return Parser(text).run(); }

std::string to_dsl(const Drawing& d) {
    std::string out = fmt::format("canvas {} {}", d.width, d.height);
    if (d.background) {
        out += ' ';
        out += color_word(*d.background);
    }
    out += '\n';
    for (const Shape& s : d.shapes) print_shape(out, s);
    return out;
}

std::string to_svg(const Drawing& d) {
    std::string out = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "stroke-linecap=\"round\" stroke-linejoin=\"round\">\n",
        d.width, d.height);
    if (d.background && !d.background->none) {
        out += fmt::format("  <rect width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", d.width, d.height, color_hex(*d.background));
    }
    for (const Shape& s : d.shapes) svg_shape(out, s, 1);
    out += "</svg>\n";
    return out;
}

int count_shapes(const Drawing& d) { return count_in(d.shapes); }

}  // namespace lyra::art::visual
