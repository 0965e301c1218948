// SVG -> paint DSL normalizer (svg_import.h).
#include "art/visual/svg_import.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "art/visual/geom.h"
#include "core/error.h"

namespace lyra::art::visual {

namespace {

constexpr size_t kMaxSvgBytes = 32u << 20;
constexpr int kMaxUseDepth = 8;
constexpr int kMaxElements = 200000;
constexpr int kMaxVisits = 15000;  // elements drawn, <use> copies included (< kMaxShapes)

// --- small parsers --------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Scans one SVG number at s[pos] (after separators); false when there is none. NaN/inf text and
// out-of-range exponents count as no number.
bool scan_number(std::string_view s, size_t& pos, double& out) {
    while (pos < s.size() && (is_space(s[pos]) || s[pos] == ',')) ++pos;
    size_t p = pos;
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) ++p;
    const size_t digits0 = p;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
    bool any = p > digits0;
    if (p < s.size() && s[p] == '.') {
        ++p;
        const size_t f0 = p;
        while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
        any = any || p > f0;
    }
    if (!any) return false;
    if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
        size_t q = p + 1;
        if (q < s.size() && (s[q] == '+' || s[q] == '-')) ++q;
        const size_t e0 = q;
        while (q < s.size() && std::isdigit(static_cast<unsigned char>(s[q]))) ++q;
        if (q > e0) p = q;
    }
    size_t start = pos;
    if (s[start] == '+') ++start;
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + p, v);
    if (ec != std::errc() || !std::isfinite(v)) return false;
    out = v;
    pos = p;
    return true;
}

bool scan_flag(std::string_view s, size_t& pos, double& out) {
    while (pos < s.size() && (is_space(s[pos]) || s[pos] == ',')) ++pos;
    if (pos < s.size() && (s[pos] == '0' || s[pos] == '1')) {
        out = s[pos] == '1' ? 1 : 0;
        ++pos;
        return true;
    }
    return false;
}

// A length ("12", "12px", "1e1"); percentages resolve against `ref`. nullopt when unusable.
std::optional<double> parse_length(std::string_view s, double ref) {
    s = trim(s);
    size_t pos = 0;
    double v = 0;
    if (!scan_number(s, pos, v)) return std::nullopt;
    std::string unit = lower(trim(s.substr(pos)));
    if (unit.empty() || unit == "px") return v;
    if (unit == "%") return v * ref / 100.0;
    if (unit == "pt") return v * 4.0 / 3.0;
    if (unit == "pc") return v * 16;
    if (unit == "in") return v * 96;
    if (unit == "cm") return v * 96 / 2.54;
    if (unit == "mm") return v * 96 / 25.4;
    if (unit == "em" || unit == "rem") return v * 16;
    if (unit == "ex") return v * 8;
    return std::nullopt;
}

std::optional<Affine> parse_transform(std::string_view s) {
    Affine m;
    size_t pos = 0;
    while (true) {
        while (pos < s.size() && (is_space(s[pos]) || s[pos] == ',')) ++pos;
        if (pos >= s.size()) break;
        size_t p = pos;
        while (p < s.size() && std::isalpha(static_cast<unsigned char>(s[p]))) ++p;
        const std::string name(s.substr(pos, p - pos));
        while (p < s.size() && is_space(s[p])) ++p;
        if (p >= s.size() || s[p] != '(') return std::nullopt;
        ++p;
        std::vector<double> a;
        double v = 0;
        while (a.size() < 6 && scan_number(s, p, v)) a.push_back(v);
        while (p < s.size() && is_space(s[p])) ++p;
        if (p >= s.size() || s[p] != ')') return std::nullopt;
        pos = p + 1;
        Affine t;
        if (name == "matrix" && a.size() == 6) {
            t = {a[0], a[1], a[2], a[3], a[4], a[5]};
        } else if (name == "translate" && (a.size() == 1 || a.size() == 2)) {
            t.e = a[0];
            t.f = a.size() == 2 ? a[1] : 0;
        } else if (name == "scale" && (a.size() == 1 || a.size() == 2)) {
            t.a = a[0];
            t.d = a.size() == 2 ? a[1] : a[0];
        } else if (name == "rotate" && (a.size() == 1 || a.size() == 3)) {
            const double r = a[0] * M_PI / 180;
            Affine rot{std::cos(r), std::sin(r), -std::sin(r), std::cos(r), 0, 0};
            if (a.size() == 3) {
                t = Affine{1, 0, 0, 1, -a[1], -a[2]}.then(rot).then(Affine{1, 0, 0, 1, a[1], a[2]});
            } else {
                t = rot;
            }
        } else if (name == "skewX" && a.size() == 1) {
            t.c = std::tan(a[0] * M_PI / 180);
        } else if (name == "skewY" && a.size() == 1) {
            t.b = std::tan(a[0] * M_PI / 180);
        } else {
            return std::nullopt;
        }
        // Transforms in a list apply right to left: the rightmost first.
        m = t.then(m);
    }
    return m;
}

const std::map<std::string, uint32_t, std::less<>>& css_named_colours() {
    static const std::map<std::string, uint32_t, std::less<>> m = {
        {"black", 0x000000}, {"white", 0xffffff}, {"red", 0xff0000}, {"green", 0x008000},
        {"blue", 0x0000ff}, {"yellow", 0xffff00}, {"orange", 0xffa500}, {"purple", 0x800080},
        {"gray", 0x808080}, {"grey", 0x808080}, {"silver", 0xc0c0c0}, {"maroon", 0x800000},
        {"navy", 0x000080}, {"teal", 0x008080}, {"olive", 0x808000}, {"lime", 0x00ff00},
        {"aqua", 0x00ffff}, {"cyan", 0x00ffff}, {"fuchsia", 0xff00ff}, {"magenta", 0xff00ff},
        {"pink", 0xffc0cb}, {"brown", 0xa52a2a}, {"gold", 0xffd700}, {"beige", 0xf5f5dc},
        {"tan", 0xd2b48c}, {"salmon", 0xfa8072}, {"coral", 0xff7f50}, {"tomato", 0xff6347},
        {"crimson", 0xdc143c}, {"indigo", 0x4b0082}, {"violet", 0xee82ee}, {"khaki", 0xf0e68c},
        {"darkgray", 0xa9a9a9}, {"darkgrey", 0xa9a9a9}, {"lightgray", 0xd3d3d3},
        {"lightgrey", 0xd3d3d3}, {"darkred", 0x8b0000}, {"darkgreen", 0x006400},
        {"darkblue", 0x00008b}, {"lightblue", 0xadd8e6}, {"skyblue", 0x87ceeb},
        {"steelblue", 0x4682b4}, {"chocolate", 0xd2691e}, {"sienna", 0xa0522d},
        {"ivory", 0xfffff0}, {"snow", 0xfffafa}, {"whitesmoke", 0xf5f5f5},
    };
    return m;
}

Color from_rgb(uint32_t v) {
    return Color{static_cast<uint8_t>(v >> 16), static_cast<uint8_t>((v >> 8) & 0xff),
                 static_cast<uint8_t>(v & 0xff), false};
}

// A paint value: a colour, none, currentColor, or a url(#id) reference.
struct Paint {
    enum Kind { None, Rgb, Current, Url } kind = None;
    Color color;
    std::string url;
};

std::optional<Paint> parse_paint(std::string_view raw) {
    std::string s = lower(trim(raw));
    Paint p;
    if (s == "none" || s == "transparent") return p;
    if (s == "currentcolor") {
        p.kind = Paint::Current;
        return p;
    }
    if (s.rfind("url(", 0) == 0) {
        const size_t close = s.find(')');
        if (close == std::string::npos) return std::nullopt;
        std::string_view ref = trim(std::string_view(raw).substr(raw.find('(') + 1));
        ref = ref.substr(0, ref.find(')'));
        ref = trim(ref);
        if (!ref.empty() && (ref.front() == '"' || ref.front() == '\'')) ref = ref.substr(1, ref.size() >= 2 ? ref.size() - 2 : 0);
        if (ref.empty() || ref.front() != '#') return std::nullopt;
        p.kind = Paint::Url;
        p.url = std::string(ref.substr(1));
        // a fallback colour after the url() is ignored
        return p;
    }
    p.kind = Paint::Rgb;
    if (!s.empty() && s[0] == '#') {
        auto c = parse_color(s);
        if (!c) return std::nullopt;
        p.color = *c;
        return p;
    }
    if (s.rfind("rgb(", 0) == 0 || s.rfind("rgba(", 0) == 0) {
        size_t pos = s.find('(') + 1;
        double v[3];
        for (double& x : v) {
            if (!scan_number(s, pos, x)) return std::nullopt;
            while (pos < s.size() && is_space(s[pos])) ++pos;
            if (pos < s.size() && s[pos] == '%') {
                x = x * 255 / 100;
                ++pos;
            }
        }
        p.color = Color{static_cast<uint8_t>(std::clamp(std::lround(v[0]), 0L, 255L)),
                        static_cast<uint8_t>(std::clamp(std::lround(v[1]), 0L, 255L)),
                        static_cast<uint8_t>(std::clamp(std::lround(v[2]), 0L, 255L)), false};
        return p;
    }
    auto it = css_named_colours().find(s);
    if (it == css_named_colours().end()) return std::nullopt;
    p.color = from_rgb(it->second);
    return p;
}

// "a:b; c:d" -> pairs (lower-case property names).
void parse_decls(std::string_view text, std::map<std::string, std::string>& out) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t semi = text.find(';', pos);
        if (semi == std::string_view::npos) semi = text.size();
        const std::string_view decl = text.substr(pos, semi - pos);
        const size_t colon = decl.find(':');
        if (colon != std::string_view::npos) {
            std::string key = lower(trim(decl.substr(0, colon)));
            std::string_view val = trim(decl.substr(colon + 1));
            const size_t imp = val.find("!important");
            if (imp != std::string_view::npos) val = trim(val.substr(0, imp));
            if (!key.empty()) out[key] = std::string(val);
        }
        pos = semi + 1;
    }
}

struct CssRule {
    std::string selector;  // "tag", ".cls" or "#id"
    std::map<std::string, std::string> decls;
};

// Simple selectors only (tag, .class, #id, comma lists); others are counted as unsupported.
void parse_css(std::string_view css, std::vector<CssRule>& rules, int& unsupported) {
    size_t pos = 0;
    while (pos < css.size()) {
        const size_t comment = css.find("/*", pos);
        const size_t open = css.find('{', pos);
        if (open == std::string_view::npos) break;
        if (comment != std::string_view::npos && comment < open) {
            const size_t end = css.find("*/", comment + 2);
            if (end == std::string_view::npos) break;
            pos = end + 2;
            continue;
        }
        const size_t close = css.find('}', open);
        if (close == std::string_view::npos) break;
        std::map<std::string, std::string> decls;
        parse_decls(css.substr(open + 1, close - open - 1), decls);
        std::string_view sels = css.substr(pos, open - pos);
        size_t sp = 0;
        while (sp <= sels.size()) {
            size_t comma = sels.find(',', sp);
            if (comma == std::string_view::npos) comma = sels.size();
            const std::string sel(trim(sels.substr(sp, comma - sp)));
            bool simple = !sel.empty();
            for (size_t k = 0; k < sel.size(); ++k) {
                const char c = sel[k];
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                      ((c == '.' || c == '#') && k == 0))) {
                    simple = false;
                }
            }
            if (simple) {
                rules.push_back({sel, decls});
            } else if (!sel.empty()) {
                ++unsupported;
            }
            sp = comma + 1;
        }
        pos = close + 1;
    }
}

// --- the walk -------------------------------------------------------------------------------

struct Inherited {
    Paint fill{Paint::Rgb, Color{0, 0, 0, false}, {}};
    Paint stroke{};
    double stroke_width = 1;
    double fill_opacity = 1, stroke_opacity = 1;
    Color current{0, 0, 0, false};
    bool visible = true;
};

class Normalizer {
public:
    NormalizeResult run(std::string_view svg) {
        if (svg.size() > kMaxSvgBytes) {
            throw_error(ErrorKind::InvalidArgument, "svg: too large; expected at most {} bytes, got {}", kMaxSvgBytes, svg.size());
        }
        pugi::xml_parse_result pr = doc_.load_buffer(svg.data(), svg.size(), pugi::parse_default, pugi::encoding_utf8);
        if (!pr) {
            throw_error(ErrorKind::Corrupt, "svg: not well-formed XML at byte {}; expected an SVG document, got a parse error ({})", pr.offset, pr.description());
        }
        pugi::xml_node root = doc_.document_element();
        if (!root || local_name(root) != "svg") {
            throw_error(ErrorKind::Corrupt, "svg: wrong root element; expected <svg>, got <{}>", root ? root.name() : "");
        }
        index(root);
        // The drawing's frame: the viewBox, else width/height.
        double vx = 0, vy = 0, vw = 0, vh = 0;
        if (auto vb = root.attribute("viewBox"); vb) {
            std::string_view s = vb.value();
            size_t pos = 0;
            double v[4];
            int got = 0;
            while (got < 4 && scan_number(s, pos, v[got])) ++got;
            if (got == 4 && v[2] > 0 && v[3] > 0) {
                vx = v[0]; vy = v[1]; vw = v[2]; vh = v[3];
            }
        }
        if (vw <= 0 || vh <= 0) {
            auto w = parse_length(root.attribute("width").value(), 0);
            auto h = parse_length(root.attribute("height").value(), 0);
            if (!w || !h || *w <= 0 || *h <= 0) {
                throw_error(ErrorKind::InvalidArgument, "svg: no usable size; expected a viewBox or positive width and height, got viewBox '{}', width '{}', height '{}'",
                            root.attribute("viewBox").value(), root.attribute("width").value(), root.attribute("height").value());
            }
            vw = *w;
            vh = *h;
        }
        if (!(vw < 1e12 && vh < 1e12 && std::isfinite(vx) && std::isfinite(vy))) {
            throw_error(ErrorKind::InvalidArgument, "svg: viewBox out of range; expected finite sizes below 1e12, got {} x {}", vw, vh);
        }
        // Whole-unit frames (icons on a 24 grid) get a whole-number scale when that keeps at
        // least 90% of the grid: 24 -> 120 maps every integer coordinate exactly.
        double scale = kGrid / std::max(vw, vh);
        const double whole = std::floor(scale);
        if (whole >= 1 && vw == std::round(vw) && vh == std::round(vh) && whole * std::max(vw, vh) >= 0.9 * kGrid) {
            scale = whole;
        }
        NormalizeResult res;
        res.drawing.width = std::clamp(static_cast<int>(std::lround(vw * scale)), 1, kGrid);
        res.drawing.height = std::clamp(static_cast<int>(std::lround(vh * scale)), 1, kGrid);
        ref_w_ = vw;
        ref_h_ = vh;
        const Affine base = Affine{1, 0, 0, 1, -vx, -vy}.then(Affine{scale, 0, 0, scale, 0, 0});
        Inherited inh;
        visit_children(root, base, style_of(root, inh), 0, res.drawing.shapes);
        hoist_common_style(res.drawing);
        for (const auto& [what, n] : notes_) res.notes.push_back(fmt::format("{} ({}x)", what, n));
        return res;
    }

private:
    static std::string_view local_name(const pugi::xml_node& n) {
        std::string_view s = n.name();
        const size_t colon = s.find(':');
        return colon == std::string_view::npos ? s : s.substr(colon + 1);
    }

    void note(const std::string& what) { ++notes_[what]; }

    void index(const pugi::xml_node& root) {
        int n = 0;
        std::vector<pugi::xml_node> stack = {root};
        while (!stack.empty()) {
            pugi::xml_node node = stack.back();
            stack.pop_back();
            if (++n > kMaxElements) {
                throw_error(ErrorKind::InvalidArgument, "svg: too many elements; expected at most {}, got more", kMaxElements);
            }
            if (auto id = node.attribute("id"); id && *id.value()) ids_.emplace(id.value(), node);
            if (local_name(node) == "style") {
                int unsupported = 0;
                parse_css(node.child_value(), css_, unsupported);
                for (pugi::xml_node t : node.children()) {
                    if (t.type() == pugi::node_cdata) parse_css(t.value(), css_, unsupported);
                }
                if (unsupported > 0) notes_["ignored CSS selectors other than tag, .class and #id"] += unsupported;
            }
            for (pugi::xml_node c = node.last_child(); c; c = c.previous_sibling()) {
                if (c.type() == pugi::node_element) stack.push_back(c);
            }
        }
    }

    // The element's own declarations: presentation attributes < tag < class < id < style attribute.
    std::map<std::string, std::string> decls_of(const pugi::xml_node& n) const {
        std::map<std::string, std::string> d;
        for (pugi::xml_attribute a : n.attributes()) d[lower(a.name())] = a.value();
        d.erase("style");
        d.erase("class");
        const std::string tag(local_name(n));
        for (const CssRule& r : css_) {
            if (r.selector == tag) for (const auto& [k, v] : r.decls) d[k] = v;
        }
        std::string_view classes = n.attribute("class").value();
        size_t pos = 0;
        while (pos < classes.size()) {
            while (pos < classes.size() && is_space(classes[pos])) ++pos;
            size_t e = pos;
            while (e < classes.size() && !is_space(classes[e])) ++e;
            if (e > pos) {
                const std::string sel = "." + std::string(classes.substr(pos, e - pos));
                for (const CssRule& r : css_) {
                    if (r.selector == sel) for (const auto& [k, v] : r.decls) d[k] = v;
                }
            }
            pos = e;
        }
        if (auto id = n.attribute("id"); id) {
            const std::string sel = std::string("#") + id.value();
            for (const CssRule& r : css_) {
                if (r.selector == sel) for (const auto& [k, v] : r.decls) d[k] = v;
            }
        }
        parse_decls(n.attribute("style").value(), d);
        return d;
    }

    Inherited style_of(const pugi::xml_node& n, const Inherited& parent) {
        Inherited s = parent;
        const auto d = decls_of(n);
        auto get = [&](const char* k) -> const std::string* {
            auto it = d.find(k);
            if (it == d.end() || trim(it->second) == "inherit") return nullptr;
            return &it->second;
        };
        if (const std::string* v = get("color")) {
            if (auto p = parse_paint(*v); p && p->kind == Paint::Rgb) s.current = p->color;
        }
        if (const std::string* v = get("fill")) {
            if (auto p = parse_paint(*v)) s.fill = *p;
            else note("ignored unreadable fill values");
        }
        if (const std::string* v = get("stroke")) {
            if (auto p = parse_paint(*v)) s.stroke = *p;
            else note("ignored unreadable stroke values");
        }
        if (const std::string* v = get("stroke-width")) {
            if (auto w = parse_length(*v, std::hypot(ref_w_, ref_h_) / std::sqrt(2.0)); w && *w >= 0) s.stroke_width = *w;
        }
        auto opacity = [&](const char* k, double& into) {
            if (const std::string* v = get(k)) {
                size_t pos = 0;
                double x = 1;
                if (scan_number(*v, pos, x)) {
                    if (pos < v->size() && (*v)[pos] == '%') x /= 100;
                    into = std::clamp(x, 0.0, 1.0);
                }
            }
        };
        opacity("fill-opacity", s.fill_opacity);
        opacity("stroke-opacity", s.stroke_opacity);
        if (const std::string* v = get("display"); v && trim(*v) == "none") s.visible = false;
        if (const std::string* v = get("visibility"); v && (trim(*v) == "hidden" || trim(*v) == "collapse")) s.visible = false;
        own_opacity_ = 1;
        if (auto it = d.find("opacity"); it != d.end()) {
            size_t pos = 0;
            double x = 1;
            if (scan_number(it->second, pos, x)) {
                if (pos < it->second.size() && it->second[pos] == '%') x /= 100;
                own_opacity_ = std::clamp(x, 0.0, 1.0);
            }
        }
        own_clip_ = d.count("clip-path") > 0 && trim(d.at("clip-path")) != "none";
        own_mask_ = d.count("mask") > 0 && trim(d.at("mask")) != "none";
        own_filter_ = d.count("filter") > 0 && trim(d.at("filter")) != "none";
        own_evenodd_ = d.count("fill-rule") > 0 && trim(d.at("fill-rule")) == "evenodd";
        own_transform_.reset();
        transform_ok_ = true;
        if (auto it = d.find("transform"); it != d.end()) {
            own_transform_ = parse_transform(it->second);
            if (!own_transform_) transform_ok_ = false;
        }
        return s;
    }

    std::optional<Color> resolve_paint(const Paint& p, const Inherited& s) {
        switch (p.kind) {
            case Paint::None: return std::nullopt;
            case Paint::Rgb: return p.color;
            case Paint::Current: return s.current;
            case Paint::Url: {
                auto avg = gradient_colour(p.url, 0);
                if (!avg) {
                    note("dropped paint servers other than gradients (patterns, missing references)");
                    return std::nullopt;
                }
                note("approximated gradients by the mean of their stops");
                return avg;
            }
        }
        return std::nullopt;
    }

    std::optional<Color> gradient_colour(const std::string& id, int depth) {
        auto it = ids_.find(id);
        if (it == ids_.end() || depth > 8) return std::nullopt;
        pugi::xml_node g = it->second;
        const std::string_view kind = local_name(g);
        if (kind != "linearGradient" && kind != "radialGradient") return std::nullopt;
        double sum[3] = {0, 0, 0};
        double weight = 0;
        for (pugi::xml_node stop : g.children()) {
            if (local_name(stop) != "stop") continue;
            auto d = decls_of(stop);
            Color c{0, 0, 0, false};
            if (auto itc = d.find("stop-color"); itc != d.end()) {
                auto p = parse_paint(itc->second);
                if (p && p->kind == Paint::Rgb) c = p->color;
            }
            double op = 1;
            if (auto ito = d.find("stop-opacity"); ito != d.end()) {
                size_t pos = 0;
                double x = 1;
                if (scan_number(ito->second, pos, x)) op = std::clamp(x, 0.0, 1.0);
            }
            // Transparent stops show white (the background the round trip compares on).
            sum[0] += c.r * op + 255 * (1 - op);
            sum[1] += c.g * op + 255 * (1 - op);
            sum[2] += c.b * op + 255 * (1 - op);
            weight += 1;
        }
        if (weight == 0) {
            std::string_view href = g.attribute("href") ? g.attribute("href").value() : g.attribute("xlink:href").value();
            if (!href.empty() && href[0] == '#') return gradient_colour(std::string(href.substr(1)), depth + 1);
            return std::nullopt;
        }
        return Color{static_cast<uint8_t>(std::lround(sum[0] / weight)), static_cast<uint8_t>(std::lround(sum[1] / weight)),
                     static_cast<uint8_t>(std::lround(sum[2] / weight)), false};
    }

    void visit_children(const pugi::xml_node& n, const Affine& ctm, const Inherited& s, int use_depth, std::vector<Shape>& out) {
        for (pugi::xml_node c : n.children()) {
            if (c.type() == pugi::node_element) visit(c, ctm, s, use_depth, out);
        }
    }

    void visit(const pugi::xml_node& n, const Affine& parent_ctm, const Inherited& parent, int use_depth, std::vector<Shape>& out) {
        if (++visits_ > kMaxVisits) {
            if (visits_ == kMaxVisits + 1) note("stopped after 15000 drawn elements");
            return;
        }
        const std::string tag(local_name(n));
        static const std::set<std::string> skipped = {"defs", "symbol", "linearGradient", "radialGradient", "style",
                                                      "title", "desc", "metadata", "clipPath", "mask", "marker",
                                                      "pattern", "filter", "script"};
        if (skipped.count(tag)) return;
        const Inherited s = style_of(n, parent);
        const double opacity = own_opacity_;
        const bool clip = own_clip_, mask = own_mask_, filter = own_filter_, evenodd = own_evenodd_;
        Affine ctm = parent_ctm;
        if (!transform_ok_) note("ignored unreadable transforms");
        if (own_transform_) ctm = own_transform_->then(parent_ctm);
        if (!s.visible) return;
        if (clip) note("dropped clip paths");
        if (mask) note("dropped masks");
        if (filter) note("dropped filters");
        if (evenodd) note("drew evenodd fills as nonzero");
        if (opacity <= 0) return;

        std::vector<Shape> local;
        std::vector<Shape>& into = opacity < 1 ? local : out;
        if (tag == "g" || tag == "a" || tag == "switch" || tag == "svg") {
            Affine inner = ctm;
            if (tag == "svg") {  // nested viewport: position only (its viewBox scaling is rare)
                auto x = parse_length(n.attribute("x").value(), ref_w_);
                auto y = parse_length(n.attribute("y").value(), ref_h_);
                inner = Affine{1, 0, 0, 1, x.value_or(0), y.value_or(0)}.then(ctm);
                if (n.attribute("viewBox")) note("ignored nested <svg> viewBox scaling");
            }
            visit_children(n, inner, s, use_depth, into);
        } else if (tag == "use") {
            std::string_view href = n.attribute("href") ? n.attribute("href").value() : n.attribute("xlink:href").value();
            auto it = (href.size() > 1 && href[0] == '#') ? ids_.find(std::string(href.substr(1))) : ids_.end();
            if (it == ids_.end()) {
                note("dropped <use> elements with missing references");
            } else if (use_depth >= kMaxUseDepth) {
                note("dropped <use> chains deeper than 8 (or cyclic)");
            } else {
                auto x = parse_length(n.attribute("x").value(), ref_w_);
                auto y = parse_length(n.attribute("y").value(), ref_h_);
                const Affine t = Affine{1, 0, 0, 1, x.value_or(0), y.value_or(0)}.then(ctm);
                pugi::xml_node target = it->second;
                if (local_name(target) == "symbol") {
                    const Inherited ts = style_of(target, s);
                    visit_children(target, t, ts, use_depth + 1, into);
                } else {
                    // visit() would skip a target inside <defs> only by its own tag, so call it directly
                    visit(target, t, s, use_depth + 1, into);
                }
            }
        } else if (tag == "path" || tag == "rect" || tag == "circle" || tag == "ellipse" || tag == "line" ||
                   tag == "polyline" || tag == "polygon") {
            emit_shape(n, tag, ctm, s, into);
        } else {
            note("dropped <" + tag + "> elements");
        }
        if (opacity < 1 && local.size() == 1 && local[0].kind != ShapeKind::Group) {
            Shape& one = local[0];
            one.style.opacity = std::clamp(static_cast<int>(std::lround(one.style.opacity.value_or(100) * opacity)), 0, 100);
            if (*one.style.opacity > 0) out.push_back(std::move(one));
        } else if (opacity < 1 && !local.empty()) {
            Shape g;
            g.kind = ShapeKind::Group;
            g.style.opacity = static_cast<int>(std::lround(opacity * 100));
            g.children = std::move(local);
            out.push_back(std::move(g));
        }
    }

    // --- geometry -------------------------------------------------------------------------

    // Path data -> absolute segments (M L C Q A Z). Stops at the first error, keeping what came
    // before (as SVG renderers do).
    std::vector<Seg> parse_path_data(std::string_view d) {
        std::vector<Seg> out;
        size_t pos = 0;
        double cx = 0, cy = 0, sx = 0, sy = 0;
        double lc2x = 0, lc2y = 0, lqx = 0, lqy = 0;
        char prev = 0, cmd = 0;
        bool error = false;
        while (true) {
            while (pos < d.size() && (is_space(d[pos]) || d[pos] == ',')) ++pos;
            if (pos >= d.size()) break;
            const char ch = d[pos];
            if (std::isalpha(static_cast<unsigned char>(ch))) {
                if (std::string_view("MmLlHhVvCcSsQqTtAaZz").find(ch) == std::string_view::npos) {
                    error = true;
                    break;
                }
                cmd = ch;
                ++pos;
                if (out.empty() && cmd != 'M' && cmd != 'm') {
                    error = true;
                    break;
                }
                if (cmd == 'Z' || cmd == 'z') {
                    out.push_back({'Z', {}});
                    cx = sx;
                    cy = sy;
                    prev = 'Z';
                    continue;
                }
            } else if (cmd == 0 || cmd == 'Z' || cmd == 'z') {
                error = true;
                break;
            }
            const bool rel = std::islower(static_cast<unsigned char>(cmd)) != 0;
            const char op = static_cast<char>(std::toupper(static_cast<unsigned char>(cmd)));
            const int arity = op == 'M' || op == 'L' || op == 'T' ? 2 : op == 'H' || op == 'V' ? 1 : op == 'C' ? 6 : op == 'A' ? 7 : 4;
            double v[7];
            bool ok = true;
            for (int k = 0; k < arity && ok; ++k) {
                ok = (op == 'A' && (k == 3 || k == 4)) ? scan_flag(d, pos, v[k]) : scan_number(d, pos, v[k]);
            }
            if (!ok) {
                error = true;
                break;
            }
            auto absx = [&](double x) { return rel ? cx + x : x; };
            auto absy = [&](double y) { return rel ? cy + y : y; };
            Seg s;
            switch (op) {
                case 'M':
                    s = {'M', {absx(v[0]), absy(v[1])}};
                    cx = sx = s.v[0];
                    cy = sy = s.v[1];
                    cmd = rel ? 'l' : 'L';  // implicit repeats of a moveto are linetos
                    break;
                case 'L': s = {'L', {absx(v[0]), absy(v[1])}}; cx = s.v[0]; cy = s.v[1]; break;
                case 'H': s = {'L', {absx(v[0]), cy}}; cx = s.v[0]; break;
                case 'V': s = {'L', {cx, absy(v[0])}}; cy = s.v[1]; break;
                case 'C':
                    s = {'C', {absx(v[0]), absy(v[1]), absx(v[2]), absy(v[3]), absx(v[4]), absy(v[5])}};
                    lc2x = s.v[2]; lc2y = s.v[3]; cx = s.v[4]; cy = s.v[5];
                    break;
                case 'S': {
                    double x1 = cx, y1 = cy;
                    if (prev == 'C' || prev == 'S') { x1 = 2 * cx - lc2x; y1 = 2 * cy - lc2y; }
                    s = {'C', {x1, y1, absx(v[0]), absy(v[1]), absx(v[2]), absy(v[3])}};
                    lc2x = s.v[2]; lc2y = s.v[3]; cx = s.v[4]; cy = s.v[5];
                    break;
                }
                case 'Q':
                    s = {'Q', {absx(v[0]), absy(v[1]), absx(v[2]), absy(v[3])}};
                    lqx = s.v[0]; lqy = s.v[1]; cx = s.v[2]; cy = s.v[3];
                    break;
                case 'T': {
                    double x1 = cx, y1 = cy;
                    if (prev == 'Q' || prev == 'T') { x1 = 2 * cx - lqx; y1 = 2 * cy - lqy; }
                    s = {'Q', {x1, y1, absx(v[0]), absy(v[1])}};
                    lqx = x1; lqy = y1; cx = s.v[2]; cy = s.v[3];
                    break;
                }
                case 'A':
                    s = {'A', {v[0], v[1], v[2], v[3], v[4], absx(v[5]), absy(v[6])}};
                    cx = s.v[5]; cy = s.v[6];
                    break;
                default: break;
            }
            prev = op;
            out.push_back(s);
        }
        if (error) note("drew path data only up to its first error");
        return out;
    }

    static double num_attr(const pugi::xml_node& n, const char* name, double ref, bool& bad) {
        auto a = n.attribute(name);
        if (!a) return 0;
        auto v = parse_length(a.value(), ref);
        if (!v) {
            bad = true;
            return 0;
        }
        return *v;
    }

    void emit_shape(const pugi::xml_node& n, const std::string& tag, const Affine& ctm, const Inherited& s, std::vector<Shape>& out) {
        std::optional<Color> fill = resolve_paint(s.fill, s);
        std::optional<Color> stroke = resolve_paint(s.stroke, s);
        if (s.stroke_width <= 0) stroke.reset();
        if (tag == "line" || tag == "polyline") {
            // SVG fills a polyline too; a line never
            if (tag == "line") fill.reset();
        }
        if (!fill && !stroke) return;
        bool bad = false;
        const double rw = ref_w_, rh = ref_h_;
        std::vector<Seg> segs;
        // Exact primitives kept as such when the transform allows it.
        const bool axis = ctm.b == 0 && ctm.c == 0;
        const bool similar = std::fabs(std::fabs(ctm.a) - std::fabs(ctm.d)) < 1e-9 * std::max(1.0, std::fabs(ctm.a));
        Shape shape;
        bool primitive = false;
        if (tag == "circle" || tag == "ellipse") {
            const double cx = num_attr(n, "cx", rw, bad), cy = num_attr(n, "cy", rh, bad);
            double rx = 0, ry = 0;
            if (tag == "circle") {
                rx = ry = num_attr(n, "r", std::hypot(rw, rh) / std::sqrt(2.0), bad);
            } else {
                rx = num_attr(n, "rx", rw, bad);
                ry = num_attr(n, "ry", rh, bad);
                if (!n.attribute("rx")) rx = ry;
                if (!n.attribute("ry")) ry = rx;
            }
            if (bad) return note_bad();
            if (rx <= 0 || ry <= 0) return;
            if (axis) {
                double x = cx, y = cy;
                ctm.apply(x, y);
                const double srx = rx * std::fabs(ctm.a), sry = ry * std::fabs(ctm.d);
                const int irx = clamp_len(srx), iry = clamp_len(sry);
                if (irx == iry && (tag == "circle" || similar || std::fabs(srx - sry) < 0.5)) {
                    shape.kind = ShapeKind::Circle;
                    shape.nums = {clamp_coord(x), clamp_coord(y), irx};
                } else {
                    shape.kind = ShapeKind::Ellipse;
                    shape.nums = {clamp_coord(x), clamp_coord(y), irx, iry};
                }
                if (irx == 0 && iry == 0) {
                    // smaller than a grid unit: keep a dot
                    shape.nums[2] = 1;
                    if (shape.kind == ShapeKind::Ellipse) shape.nums[3] = 1;
                }
                primitive = true;
            } else {
                segs = {{'M', {cx + rx, cy}}, {'A', {rx, ry, 0, 0, 1, cx - rx, cy}}, {'A', {rx, ry, 0, 0, 1, cx + rx, cy}}, {'Z', {}}};
            }
        } else if (tag == "rect") {
            const double x = num_attr(n, "x", rw, bad), y = num_attr(n, "y", rh, bad);
            const double w = num_attr(n, "width", rw, bad), h = num_attr(n, "height", rh, bad);
            double rx = num_attr(n, "rx", rw, bad), ry = num_attr(n, "ry", rh, bad);
            if (bad) return note_bad();
            if (w <= 0 || h <= 0) return;
            if (!n.attribute("rx")) rx = ry;
            if (!n.attribute("ry")) ry = rx;
            rx = std::min(std::max(rx, 0.0), w / 2);
            ry = std::min(std::max(ry, 0.0), h / 2);
            if (rx <= 0 || ry <= 0) {
                if (axis) {
                    double x0 = x, y0 = y, x1 = x + w, y1 = y + h;
                    ctm.apply(x0, y0);
                    ctm.apply(x1, y1);
                    const int ix0 = clamp_coord(std::min(x0, x1)), iy0 = clamp_coord(std::min(y0, y1));
                    const int ix1 = clamp_coord(std::max(x0, x1)), iy1 = clamp_coord(std::max(y0, y1));
                    shape.kind = ShapeKind::Rect;
                    shape.nums = {ix0, iy0, std::clamp(ix1 - ix0, 1, kCoordMax), std::clamp(iy1 - iy0, 1, kCoordMax)};
                    primitive = true;
                } else {
                    segs = {{'M', {x, y}}, {'L', {x + w, y}}, {'L', {x + w, y + h}}, {'L', {x, y + h}}, {'Z', {}}};
                }
            } else {
                segs = {{'M', {x + rx, y}},
                        {'L', {x + w - rx, y}},
                        {'A', {rx, ry, 0, 0, 1, x + w, y + ry}},
                        {'L', {x + w, y + h - ry}},
                        {'A', {rx, ry, 0, 0, 1, x + w - rx, y + h}},
                        {'L', {x + rx, y + h}},
                        {'A', {rx, ry, 0, 0, 1, x, y + h - ry}},
                        {'L', {x, y + ry}},
                        {'A', {rx, ry, 0, 0, 1, x + rx, y}},
                        {'Z', {}}};
            }
        } else if (tag == "line") {
            const double x1 = num_attr(n, "x1", rw, bad), y1 = num_attr(n, "y1", rh, bad);
            const double x2 = num_attr(n, "x2", rw, bad), y2 = num_attr(n, "y2", rh, bad);
            if (bad) return note_bad();
            segs = {{'M', {x1, y1}}, {'L', {x2, y2}}};
        } else if (tag == "polyline" || tag == "polygon") {
            std::string_view pts = n.attribute("points").value();
            size_t pos = 0;
            double x = 0, y = 0;
            while (scan_number(pts, pos, x)) {
                if (!scan_number(pts, pos, y)) break;
                segs.push_back({segs.empty() ? 'M' : 'L', {x, y}});
            }
            if (segs.size() < 2) return;
            if (tag == "polygon") segs.push_back({'Z', {}});
        } else {  // path
            segs = parse_path_data(n.attribute("d").value());
        }
        if (!primitive) {
            if (!to_dsl_path(segs, ctm, shape)) return;
        }
        // Style, fully resolved (the output has no inheritance except opacity groups).
        if (!fill) shape.style.fill = Color{0, 0, 0, true};
        else if (!(*fill == Color{0, 0, 0, false})) shape.style.fill = *fill;
        double op = 1;
        if (fill && stroke) {
            op = std::max(s.fill_opacity, s.stroke_opacity);
            if (s.fill_opacity != s.stroke_opacity) note("approximated different fill and stroke opacities by one");
        } else if (fill) {
            op = s.fill_opacity;
        } else {
            op = s.stroke_opacity;
        }
        if (stroke) {
            shape.style.stroke = *stroke;
            const double w = s.stroke_width * std::sqrt(std::fabs(ctm.det()));
            const int iw = std::clamp(static_cast<int>(std::lround(w)), 1, kMaxWidth);
            if (iw != 1) shape.style.width = iw;
            if (std::fabs(w - iw) > 0.5) note("rounded stroke widths to whole grid units (some by more than half a unit)");
        }
        if (op <= 0) return;
        if (op < 1) shape.style.opacity = std::clamp(static_cast<int>(std::lround(op * 100)), 1, 100);
        out.push_back(std::move(shape));
    }

    void note_bad() { note("dropped shapes with unreadable or non-finite sizes"); }

    int clamp_coord(double v) {
        if (!std::isfinite(v)) v = 0;
        const double r = std::round(v);
        if (r < kCoordMin || r > kCoordMax) {
            note("clamped coordinates far outside the canvas");
            return static_cast<int>(std::clamp(r, static_cast<double>(kCoordMin), static_cast<double>(kCoordMax)));
        }
        return static_cast<int>(r);
    }
    int clamp_len(double v) {
        if (!std::isfinite(v) || v < 0) return 0;
        return static_cast<int>(std::min(std::round(v), static_cast<double>(kCoordMax)));
    }

    // Transforms absolute segments and writes them as DSL commands. false when nothing to draw.
    bool to_dsl_path(const std::vector<Seg>& segs, const Affine& m, Shape& shape) {
        shape.kind = ShapeKind::Path;
        const double sx = std::hypot(m.a, m.b), sy = std::hypot(m.c, m.d);
        const bool similar = std::fabs(sx - sy) < 1e-9 * std::max(1.0, sx) && std::fabs(m.a * m.c + m.b * m.d) < 1e-9 * std::max(1.0, sx * sx);
        const double rot_deg = std::atan2(m.b, m.a) * 180 / M_PI;
        const bool flips = m.det() < 0;
        double cx = 0, cy = 0, startx = 0, starty = 0;  // current point, untransformed
        int lx = 0, ly = 0;                              // last emitted point (grid)
        bool drawn = false;
        bool arc_as_arc = false;
        for (const Seg& s : segs) {
            for (double v : s.v) {
                if (!std::isfinite(v)) return false;
            }
        }
        auto pt = [&](double x, double y, std::vector<int>& args) {
            m.apply(x, y);
            args.push_back(clamp_coord(x));
            args.push_back(clamp_coord(y));
        };
        for (const Seg& s : segs) {
            PathCmd c;
            const auto& v = s.v;
            switch (s.op) {
                case 'M':
                    c.op = 'M';
                    pt(v[0], v[1], c.args);
                    cx = startx = v[0];
                    cy = starty = v[1];
                    break;
                case 'L':
                    c.op = 'L';
                    pt(v[0], v[1], c.args);
                    if (c.args[1] == ly && c.args[0] != lx) c = {'H', {c.args[0]}};
                    else if (c.args[0] == lx && c.args[1] != ly) c = {'V', {c.args[1]}};
                    cx = v[0];
                    cy = v[1];
                    drawn = true;
                    break;
                case 'C':
                    c.op = 'C';
                    pt(v[0], v[1], c.args);
                    pt(v[2], v[3], c.args);
                    pt(v[4], v[5], c.args);
                    cx = v[4];
                    cy = v[5];
                    drawn = true;
                    break;
                case 'Q':
                    c.op = 'Q';
                    pt(v[0], v[1], c.args);
                    pt(v[2], v[3], c.args);
                    cx = v[2];
                    cy = v[3];
                    drawn = true;
                    break;
                case 'A': {
                    drawn = true;
                    // Arcs whose chord is near the diameter move their centre a long way when
                    // the endpoints are rounded: those are written as curves.
                    double ax = cx, ay = cy, bx = v[5], by = v[6];
                    m.apply(ax, ay);
                    m.apply(bx, by);
                    const double rmin = std::min(std::fabs(v[0]), std::fabs(v[1])) * sx;
                    const bool as_arc = similar && std::hypot(bx - ax, by - ay) < 1.6 * rmin;
                    arc_as_arc = as_arc;
                    if (as_arc) {
                        c.op = 'A';
                        int rx = clamp_len(std::fabs(v[0]) * sx), ry = clamp_len(std::fabs(v[1]) * sx);
                        if ((rx == 0 || ry == 0) && v[0] != 0 && v[1] != 0) {
                            rx = std::max(rx, 1);
                            ry = std::max(ry, 1);
                        }
                        double rot = std::fmod(v[2] + rot_deg, 360.0);
                        c.args = {rx, ry, static_cast<int>(std::lround(rot)), v[3] != 0 ? 1 : 0,
                                  (v[4] != 0) != flips ? 1 : 0};
                        pt(v[5], v[6], c.args);
                    } else {
                        arc_to_cubics(cx, cy, v[0], v[1], v[2], v[3] != 0, v[4] != 0, v[5], v[6],
                                      [&](double a, double b, double c2, double d, double e, double f) {
                                          PathCmd cc{'C', {}};
                                          pt(a, b, cc.args);
                                          pt(c2, d, cc.args);
                                          pt(e, f, cc.args);
                                          lx = cc.args[4];
                                          ly = cc.args[5];
                                          shape.path.push_back(std::move(cc));
                                      });
                        if (!similar) note("converted arcs under skewing transforms to curves");
                    }
                    cx = v[5];
                    cy = v[6];
                    break;
                }
                case 'Z':
                    c.op = 'Z';
                    cx = startx;
                    cy = starty;
                    break;
                default: continue;
            }
            if (s.op == 'A' && !arc_as_arc) continue;
            if (c.op == 'Z') {
                double x = startx, y = starty;
                m.apply(x, y);
                shape.path.push_back(c);
                lx = clamp_coord(x);
                ly = clamp_coord(y);
                continue;
            }
            const size_t na = c.args.size();
            if (c.op == 'H') lx = c.args[0];
            else if (c.op == 'V') ly = c.args[0];
            else {
                lx = c.args[na - 2];
                ly = c.args[na - 1];
            }
            shape.path.push_back(std::move(c));
        }
        // A trailing moveto draws nothing.
        while (!shape.path.empty() && shape.path.back().op == 'M') shape.path.pop_back();
        return drawn && !shape.path.empty();
    }

    // When every top-level shape shares fill, stroke and width, they move onto one group.
    static void hoist_common_style(Drawing& d) {
        if (d.shapes.size() < 2) return;
        const Style& first = d.shapes[0].style;
        for (const Shape& s : d.shapes) {
            if (s.kind == ShapeKind::Group || s.style.fill != first.fill || s.style.stroke != first.stroke ||
                s.style.width != first.width) {
                return;
            }
        }
        if (!first.fill && !first.stroke && !first.width) return;
        Shape g;
        g.kind = ShapeKind::Group;
        g.style.fill = first.fill;
        g.style.stroke = first.stroke;
        g.style.width = first.width;
        for (Shape& s : d.shapes) {
            s.style.fill.reset();
            s.style.stroke.reset();
            s.style.width.reset();
        }
        g.children = std::move(d.shapes);
        d.shapes.clear();
        d.shapes.push_back(std::move(g));
    }

    pugi::xml_document doc_;
    std::unordered_map<std::string, pugi::xml_node> ids_;
    std::vector<CssRule> css_;
    std::map<std::string, int> notes_;
    double ref_w_ = 0, ref_h_ = 0;
    // set by style_of for the element it was called on
    double own_opacity_ = 1;
    bool own_clip_ = false, own_mask_ = false, own_filter_ = false, own_evenodd_ = false;
    std::optional<Affine> own_transform_;
    bool transform_ok_ = true;
    int visits_ = 0;
};

}  // namespace

NormalizeResult normalize_svg(std::string_view svg) { return Normalizer().run(svg); }

}  // namespace lyra::art::visual
