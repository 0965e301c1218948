// The paint art form (paint.h): grammars per mode, prompt, critics, best-of-n, eval.
#include "art/visual/paint.h"
#include "art/common/critic.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "art/common/artifacts.h"
#include "art/common/process.h"
#include "art/visual/guide.h"
#include "art/visual/roundtrip.h"
#include "core/error.h"
#include "generate/constraint/constraint.h"
#include "generate/constraint/matcher.h"
#include "generate/generator.h"

namespace lyra::art::visual {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::map<std::string, std::vector<std::string>>& palettes() {
    static const std::map<std::string, std::vector<std::string>> m = {
        {"all", {"black", "white", "gray", "silver", "red", "orange", "yellow", "green", "teal", "sky", "blue",
                 "navy", "purple", "pink", "brown", "cream"}},
        {"primary", {"red", "yellow", "blue", "black", "white"}},
        {"pastel", {"pink", "sky", "cream", "silver", "white", "yellow"}},
        {"earth", {"brown", "orange", "cream", "green", "gray", "black"}},
        {"mono", {"black", "gray", "silver", "white"}},
        {"ocean", {"navy", "blue", "sky", "teal", "white"}},
        {"warm", {"red", "orange", "yellow", "pink", "brown"}},
        {"cool", {"blue", "teal", "green", "purple", "sky", "navy"}},
    };
    return m;
}

struct MoodInfo {
    std::string palette;  // default palette under this mood
    double count_scale;   // scales the style's maximum shape count
};

const std::map<std::string, MoodInfo>& moods() {
    static const std::map<std::string, MoodInfo> m = {
        {"calm", {"pastel", 0.5}},   {"energetic", {"warm", 1.5}}, {"dark", {"mono", 1.0}},
        {"bright", {"primary", 1.0}}, {"melancholy", {"cool", 0.75}},
    };
    return m;
}

std::vector<std::string> split_palette(std::string_view p) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= p.size()) {
        size_t comma = p.find(',', pos);
        if (comma == std::string_view::npos) comma = p.size();
        std::string w(p.substr(pos, comma - pos));
        while (!w.empty() && w.front() == ' ') w.erase(w.begin());
        while (!w.empty() && w.back() == ' ') w.pop_back();
        if (!w.empty()) out.push_back(w);
        pos = comma + 1;
    }
    return out;
}

std::string list_names(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

// The colour words of the spec's palette (explicit, else the mood's, else `fallback`).
std::vector<std::string> colours(const PaintSpec& spec, const std::string& fallback) {
    std::string name = spec.palette;
    if (name.empty() && !spec.mood.empty()) name = moods().at(spec.mood).palette;
    if (name.empty()) name = fallback;
    auto it = palettes().find(name);
    if (it != palettes().end()) return it->second;
    std::vector<std::string> out;
    for (const std::string& w : split_palette(name)) {
        auto c = parse_color(w);
        // canonical words, so the grammar writes what to_dsl would
        out.push_back(color_word(*c));
    }
    return out;
}

std::string alt(const std::vector<std::string>& words) {
    std::string s;
    for (const auto& w : words) s += (s.empty() ? "" : " | ") + fmt::format("\"{}\"", w);
    return s;
}

int max_count(const PaintSpec& spec, int base) {
    double scale = spec.mood.empty() ? 1.0 : moods().at(spec.mood).count_scale;
    return std::max(1, static_cast<int>(std::lround(base * scale)));
}

// Rules every grammar shares: numbers on the grid.
const char* kNumbers =
    "n ::= [0-9] | [1-9] [0-9] | \"1\" [01] [0-9] | \"12\" [0-7]\n"
    "pt ::= n \" \" n\n"
    "r ::= [1-9] | [1-5] [0-9] | \"6\" [0-3]\n"
    "op ::= [2-9] \"0\"\n"
    "wd ::= [1-8]\n";

// The item, group and shape rules the free and subject grammars share. They differ only in
// their bounds and number rules, so one builder keeps the two from drifting apart: `group_max`
// shapes per group, up to `points_max` more points on a polygon or polyline (a polygon needs at
// least 3 in all, a polyline 2), `coord` the rule for an H/V coordinate, `size` for a radius
// or side and `rotation` for an arc's x-axis rotation. Each grammar adds its own root, path,
// sty, col and number rules.
struct ShapeBounds {
    int group_max;
    int points_max;
    const char* coord;
    const char* size;
    const char* rotation;  // an arc's x-axis rotation
};

std::string shape_rules(const ShapeBounds& b) {
    return fmt::format(
        "item ::= (shape | group) \"\\n\"\n"
        "group ::= \"g\" sty \"\\n\" (shape \"\\n\"){{1,{0}}} \"end\"\n"
        "shape ::= circle | ellipse | rect | polygon | polyline | path\n"
        "circle ::= \"circle \" pt \" \" {3} sty\n"
        "ellipse ::= \"ellipse \" pt \" \" {3} \" \" {3} sty\n"
        "rect ::= \"rect \" pt \" \" {3} \" \" {3} sty\n"
        "polygon ::= \"polygon \" pt (\" \" pt){{2,{1}}} sty\n"
        "polyline ::= \"polyline \" pt (\" \" pt){{1,{1}}} sty\n"
        "seg ::= \"L\" pt | \"H\" {2} | \"V\" {2} | \"C\" pt \" \" pt \" \" pt | \"S\" pt \" \" pt | \"Q\" pt \" \" pt | \"T\" pt"
        " | \"A\" {3} \" \" {3} \" \" {4} \" \" [01] \" \" [01] \" \" pt\n",
        b.group_max, b.points_max, b.coord, b.size, b.rotation);
}

// The colours a free or subject drawing may use: the palette's (or mood's) words when one is
// given, else every palette word and any #rrggbb. The drawing model learned hex colours from the
// corpus; held to words alone, a subword model put nearly all its weight on its most frequent
// colour word, " white", and drew 70% of free compositions white on white.
std::string colour_rule(const PaintSpec& spec) {
    const bool any_colour = spec.palette.empty() && spec.mood.empty();
    return any_colour ? alt(colours(spec, "all")) + " | \"#\" hx hx hx hx hx hx" : alt(colours(spec, "all"));
}

std::string free_grammar(const PaintSpec& spec, int shapes_max) {
    std::string g = fmt::format(
        "root ::= \"canvas 128 128\" (\" \" col)? \"\\n\" item{{1,{}}}\n"
        "path ::= \"path M\" pt (\" \" seg){{1,8}} \" Z\"? sty\n"
        "sty ::= (\" f \" col)? (\" s \" col \" w \" wd)? (\" o \" op)?\n"
        "col ::= {}\n"
        "hx ::= [0-9a-f]\n",
        shapes_max, colour_rule(spec));
    return g + shape_rules({.group_max = 5, .points_max = 6, .coord = "n", .size = "r", .rotation = "\"0\""}) + kNumbers;
}

// A subject group's members at most (the corpus's stroke icons are one group of their paths).
constexpr int kSubjectGroupMax = 24;

// Subjects are drawn in the DSL the model learned from (the svg-icons corpus the normalizer
// writes): 120- or 128-unit canvases, hex colours, `none` (the stroke-drawn icons are groups
// `g f none s black w 10`), long paths with several subpaths and coordinates just past the
// canvas. Held to the palette-word grammar above, the model was off its corpus from the first
// line (canvas 120, f none, #dd2e44 and paths of 9+ segments were all impossible) and drew
// blobs. A given palette or mood still limits the colours to its words (and none).
//
// Every subject rule but the root: the shapes, styles and numbers a subject drawing, or the rest
// of a guided one, is written with.
std::string subject_rules(const PaintSpec& spec) {
    std::string g = fmt::format(
        "path ::= \"path \" sub (\" \" sub){{0,31}} sty\n"
        "sub ::= \"M\" pt (\" \" seg){{0,128}} \" Z\"?\n"
        "sty ::= (\" f \" col)? (\" s \" col)? (\" w \" sw)? (\" o \" so)?\n"
        "col ::= {} | \"none\"\n"
        "hx ::= [0-9a-f]\n"
        "c ::= \"-\" [1-9] [0-9]? | sz\n"
        "pt ::= c \" \" c\n"
        "sz ::= [0-9] | [1-9] [0-9] | \"1\" [0-9] [0-9] | \"2\" [0-4] [0-9] | \"25\" [0-5]\n"
        "sw ::= [1-9] | \"1\" [0-6]\n"
        "so ::= [0-9] | [1-9] [0-9] | \"100\"\n"
        "deg ::= [0-9] | [1-9] [0-9] | [12] [0-9] [0-9] | \"3\" [0-5] [0-9] | \"360\"\n",
        colour_rule(spec));
    return g + shape_rules({.group_max = kSubjectGroupMax, .points_max = 16, .coord = "c", .size = "sz", .rotation = "deg"});
}

std::string subject_grammar(const PaintSpec& spec, int shapes_max) {
    return fmt::format("root ::= \"canvas \" (\"128 128\" | \"120 120\") \"\\n\" item{{1,{}}}\n", shapes_max) +
           subject_rules(spec);
}

std::string grid8(bool size) {
    std::vector<std::string> v;
    for (int k = size ? 8 : 0; k <= (size ? 128 : 120); k += 8) v.push_back(std::to_string(k));
    return alt(v);
}

// Albers' nested squares: each lies inside the one before whatever offsets the model picks, and
// each differs in colour from what it lies on (the canvas, then the square around it). The
// paintings are studies of how neighbouring colours act on each other, and a square the colour
// of its ground draws nothing: without this rule the BPE drawing model painted white on white in
// 11 of 100. A rule per (level, colour below) carries the colour below down the chain.
std::string albers_grammar(const std::vector<std::string>& cols) {
    struct Level {
        const char* rect;
        const char* offsets;
    };
    static constexpr std::array<Level, 3> kLevels = {{{"rect 16 ", "(\"20\" | \"24\" | \"28\") \" 96 96 f \""},
                                                      {"rect 32 ", "(\"40\" | \"44\" | \"48\") \" 64 64 f \""},
                                                      {"rect 48 ", "(\"56\" | \"60\" | \"64\") \" 32 32 f \""}}};
    // "X" "\n" sq<level><i> for every colour X, or every colour but cols[below].
    auto choices = [&](size_t level, size_t below) {
        std::string out;
        for (size_t i = 0; i < cols.size(); ++i) {
            if (i == below) continue;
            out += fmt::format("{}\"{}\" \"\\n\"", out.empty() ? "" : " | ", cols[i]);
            if (level < kLevels.size()) out += fmt::format(" sq{}x{}", level, i);
        }
        return out;
    };
    std::string g = "root ::= \"canvas 128 128 \" (" + choices(0, cols.size()) + ")\n";
    for (size_t level = 0; level < kLevels.size(); ++level) {
        for (size_t below = 0; below < cols.size(); ++below) {
            const bool optional = level + 1 == kLevels.size();  // the third square may be left out
            g += fmt::format("sq{}x{} ::= {}\"{}\" {} ({}){}\n", level, below, optional ? "(" : "", kLevels[level].rect,
                             kLevels[level].offsets, choices(level + 1, below), optional ? ")?" : "");
        }
    }
    return g;
}

std::string style_grammar(const PaintSpec& spec) {
    const std::string& m = spec.mode;
    if (m == "subject") return subject_grammar(spec, max_count(spec, 32));
    if (m == "free") return free_grammar(spec, max_count(spec, 16));
    if (m == "mondrian") {
        auto cols = colours(spec, "primary");
        if (std::find(cols.begin(), cols.end(), "white") == cols.end()) cols.push_back("white");
        return fmt::format(
                   "root ::= \"canvas 128 128 white\\n\" block{{2,{}}} line{{1,{}}}\n"
                   "block ::= \"rect \" g \" \" g \" \" gs \" \" gs \" f \" col \" s black w \" [3-5] \"\\n\"\n"
                   "line ::= \"path M\" g \" \" g \" \" (\"H\" | \"V\") g \" f none s black w \" [3-6] \"\\n\"\n"
                   "g ::= {}\n"
                   "gs ::= {}\n"
                   "col ::= {}\n",
                   max_count(spec, 10), max_count(spec, 6), grid8(false), grid8(true), alt(cols)) +
               kNumbers;
    }
    if (m == "kandinsky") {
        const auto cols = colours(spec, "all");
        return fmt::format(
                   "root ::= \"canvas 128 128 \" (\"cream\" | \"white\" | \"sky\") \"\\n\" item{{3,{}}}\n"
                   "item ::= (disc | ring | line | arc | tri) \"\\n\"\n"
                   "disc ::= \"circle \" pt \" \" r \" f \" col (\" o \" op)?\n"
                   "ring ::= \"circle \" pt \" \" r \" f none s \" col \" w \" [2-6]\n"
                   "line ::= \"polyline \" pt \" \" pt \" f none s black w \" [1-4]\n"
                   "arc ::= \"path M\" pt \" Q\" pt \" \" pt \" f none s \" col \" w \" [1-4]\n"
                   "tri ::= \"polygon \" pt \" \" pt \" \" pt \" f \" col\n"
                   "col ::= {}\n",
                   max_count(spec, 14), alt(cols)) +
               kNumbers;
    }
    if (m == "albers") {
        const auto cols = colours(spec, "all");
        if (cols.size() >= 2) return albers_grammar(cols);
        // One colour: nothing to set against it, so the squares just share it.
        return fmt::format(
                   "root ::= \"canvas 128 128 \" col \"\\n\" \"rect 16 \" (\"20\" | \"24\" | \"28\") \" 96 96 f \" col \"\\n\""
                   " \"rect 32 \" (\"40\" | \"44\" | \"48\") \" 64 64 f \" col \"\\n\""
                   " (\"rect 48 \" (\"56\" | \"60\" | \"64\") \" 32 32 f \" col \"\\n\")?\n"
                   "col ::= {}\n",
                   alt(cols)) +
               kNumbers;
    }
    if (m == "malevich") {
        const auto cols = colours(spec, "primary");
        std::vector<std::string> forms;
        for (const auto& c : cols) {
            if (c != "white" && c != "cream") forms.push_back(c);
        }
        if (forms.empty()) forms = {"black"};
        return fmt::format(
                   "root ::= \"canvas 128 128 \" (\"white\" | \"cream\") \"\\n\" form{{1,{}}}\n"
                   "form ::= (bar | block | disc) \"\\n\"\n"
                   "bar ::= \"polygon \" pt \" \" pt \" \" pt \" \" pt \" f \" col\n"
                   "block ::= \"rect \" pt \" \" r \" \" r \" f \" col\n"
                   "disc ::= \"circle \" pt \" \" r \" f \" col\n"
                   "col ::= {}\n",
                   max_count(spec, 7), alt(forms)) +
               kNumbers;
    }
    if (m == "riley") {
        auto cols = colours(spec, "mono");
        cols.erase(std::remove(cols.begin(), cols.end(), "white"), cols.end());
        if (cols.empty()) cols = {"black"};
        return fmt::format(
                   "root ::= \"canvas 128 128 white\\n\" stripe{{6,{}}}\n"
                   "stripe ::= \"path M0 \" n \" C\" pt \" \" pt \" 127 \" n \" f none s \" col \" w \" [2-6] \"\\n\"\n"
                   "col ::= {}\n",
                   max_count(spec, 18), alt(cols)) +
               kNumbers;
    }
    throw_error(ErrorKind::InvalidArgument, "style: unknown; expected one of {}, got '{}'", list_names(style_names()), m);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// An image at the reference thumbnails' 16x16, for the distances the critics compare.
Image thumbnail(const Image& img) { return (img.width == 16 && img.height == 16) ? img : resize(img, 16, 16); }

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(ErrorKind::NotFound, "reference corpus '{}': cannot open; expected a corpus text file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The subject as one clean line: control characters become spaces, at most 200 bytes (cut at
// a character boundary). Throws for invalid UTF-8.
std::string clean_subject(std::string_view s) {
    if (auto bad = gen::find_invalid_utf8(s)) {
        throw_error(ErrorKind::InvalidArgument, "subject: invalid UTF-8 at byte {}; expected UTF-8 text", *bad);
    }
    std::string out;
    for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    if (out.size() > 200) {
        size_t cut = 200;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
        out.resize(cut);
    }
    return out;
}

std::shared_ptr<const ReferenceSet> default_reference(const std::string& path) {
    std::error_code ec;
    if (!path.empty()) return ReferenceSet::load(path);
    if (fs::exists(std::string(kDefaultReference), ec)) return ReferenceSet::load(std::string(kDefaultReference));
    return nullptr;
}

}  // namespace

const std::vector<std::string>& style_names() {
    static const std::vector<std::string> v = {"mondrian", "kandinsky", "albers", "malevich", "riley", "free"};
    return v;
}

const std::vector<std::string>& palette_names() {
    static const std::vector<std::string> v = [] {
        std::vector<std::string> out;
        for (const auto& [k, _] : palettes()) out.push_back(k);
        return out;
    }();
    return v;
}

const std::vector<std::string>& mood_names() {
    static const std::vector<std::string> v = [] {
        std::vector<std::string> out;
        for (const auto& [k, _] : moods()) out.push_back(k);
        return out;
    }();
    return v;
}

std::string guidance_problem(double scale, std::string_view written) {
    if (std::isfinite(scale) && scale >= 0 && scale <= static_cast<double>(kMaxGuidance)) return {};
    const std::string got = written.empty() ? fmt::format("{}", scale) : std::string(written);
    return fmt::format("out of range; expected a number from 0 to {} (0 = off), got {}",
                       kMaxGuidance, got);
}

void check_guidance(double scale) {
    if (std::string problem = guidance_problem(scale); !problem.empty()) {
        throw_error(ErrorKind::InvalidArgument, "guidance: {}", problem);
    }
}

void check_spec(const PaintSpec& spec) {
    if (spec.mode != "subject" && std::find(style_names().begin(), style_names().end(), spec.mode) == style_names().end()) {
        throw_error(ErrorKind::InvalidArgument, "style: unknown; expected one of {}, got '{}'", list_names(style_names()), spec.mode);
    }
    if (!spec.mood.empty() && !moods().count(spec.mood)) {
        throw_error(ErrorKind::InvalidArgument, "mood: unknown; expected one of {}, got '{}'", list_names(mood_names()), spec.mood);
    }
    if (!spec.palette.empty() && !palettes().count(spec.palette)) {
        const auto words = split_palette(spec.palette);
        if (words.empty()) {
            throw_error(ErrorKind::InvalidArgument, "palette: empty; expected a name ({}) or colours like 'red,#123456', got '{}'",
                        list_names(palette_names()), spec.palette);
        }
        for (const std::string& w : words) {
            auto c = parse_color(w);
            if (!c || c->none) {
                throw_error(ErrorKind::InvalidArgument, "palette: unknown colour; expected a palette name ({}) or a list of DSL colours (red, blue, ..., #rgb, #rrggbb), got '{}'",
                            list_names(palette_names()), w);
            }
        }
    }
}

std::string paint_grammar(const PaintSpec& spec) {
    check_spec(spec);
    return style_grammar(spec);
}

std::string paint_grammar(const PaintSpec& spec, const GuideCut& cut) {
    check_spec(spec);
    return guide_root(cut, max_count(spec, 32), kSubjectGroupMax) + subject_rules(spec);
}

std::string paint_prompt(const PaintSpec& spec) {
    std::string text;
    if (spec.mode == "subject") {
        text = clean_subject(spec.subject);
    } else {
        static const std::map<std::string, std::string> desc = {
            {"mondrian", "abstract grid of primary colours, after Mondrian"},
            {"kandinsky", "abstract circles and lines, after Kandinsky"},
            {"albers", "nested squares, homage to the square, after Albers"},
            {"malevich", "suprematist geometric forms, after Malevich"},
            {"riley", "optical black and white stripes, after Bridget Riley"},
            {"free", "abstract composition"},
        };
        text = desc.at(spec.mode);
        if (!spec.subject.empty()) text += ", " + clean_subject(spec.subject);
    }
    if (!spec.mood.empty()) text += ", " + spec.mood;
    return "subject: " + text + "\n";
}

std::pair<int, int> shape_range(const PaintSpec& spec) {
    if (spec.mode == "albers") return {2, 3};
    if (spec.mode == "riley") return {6, std::max(6, max_count(spec, 18))};
    if (spec.mode == "malevich") return {1, max_count(spec, 7)};
    return {2, std::max(2, max_count(spec, spec.mode == "mondrian" ? 16 : 16))};
}

std::shared_ptr<const ReferenceSet> ReferenceSet::load(const std::string& path, size_t limit) {
    return parse(read_text(path), path, limit);
}

std::shared_ptr<const ReferenceSet> ReferenceSet::parse(std::string_view text, const std::string& path, size_t limit) {
    auto set = std::make_shared<ReferenceSet>();
    set->path_ = path;
    size_t pos = 0;
    while (pos < text.size() && set->thumbs_.size() < limit) {
        size_t end = text.find("\n\n", pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view doc = text.substr(pos, end - pos);
        pos = end + 2;
        const size_t nl = doc.find('\n');
        if (nl == std::string_view::npos) continue;
        std::string_view head = doc.substr(0, nl);
        constexpr std::string_view kSubject = "subject: ";
        if (head.substr(0, kSubject.size()) == kSubject) head.remove_prefix(kSubject.size());
        try {
            set->thumbs_.push_back(render(parse_dsl(doc.substr(nl + 1)), 16));
            set->subjects_.emplace_back(head);
            set->drawings_.emplace_back(doc.substr(nl + 1));
            set->names_.push_back(name_key(head));
            set->words_.push_back(content_words(set->names_.back()));
        } catch (const Error&) {
            // not a drawing document: skipped
        }
    }
    return set;
}

double ReferenceSet::nearest(const Image& img) const {
    if (thumbs_.empty()) return 1;
    const Image small = thumbnail(img);
    double best = 1;
    for (const Image& t : thumbs_) {
        if (t.width == 16 && t.height == 16) best = std::min(best, pixel_distance(small, t));
    }
    return best;
}

std::optional<double> ReferenceSet::nearest_named(const Image& img, std::string_view subject) const {
    const std::string want = name_key(subject);
    const std::vector<std::string> want_words = content_words(want);
    const Image small = thumbnail(img);
    std::optional<double> exact, shared;
    for (size_t i = 0; i < thumbs_.size(); ++i) {
        const bool same = names_[i] == want;
        const bool share = !same && std::any_of(words_[i].begin(), words_[i].end(), [&](const std::string& w) {
            return std::find(want_words.begin(), want_words.end(), w) != want_words.end();
        });
        if (!same && (!share || exact)) continue;
        const double d = pixel_distance(small, thumbs_[i]);
        std::optional<double>& slot = same ? exact : shared;
        slot = slot ? std::min(*slot, d) : d;
    }
    return exact ? exact : shared;
}

std::vector<size_t> ReferenceSet::nearest_k(const Image& img, size_t k) const {
    const Image small = thumbnail(img);
    std::vector<std::pair<double, size_t>> d;
    d.reserve(thumbs_.size());
    for (size_t i = 0; i < thumbs_.size(); ++i) d.emplace_back(pixel_distance(small, thumbs_[i]), i);
    k = std::min(k, d.size());
    std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(k), d.end());
    std::vector<size_t> out;
    for (size_t i = 0; i < k; ++i) out.push_back(d[i].second);
    return out;
}

std::string subject_name(std::string_view subject) {
    const size_t tags = subject.find("; ");
    std::string name(subject.substr(0, tags));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    return name;
}

std::string name_key(std::string_view subject) { return lower(subject_name(subject)); }

std::vector<std::string> content_words(std::string_view name) {
    static const std::set<std::string, std::less<>> kSkip = {
        "and", "the", "with", "for", "from", "into", "out", "off", "not", "one", "two",
        // "man: medium-dark skin tone" and 1,000 more: a skin tone is no shape
        "skin", "tone", "light", "medium", "dark"};
    std::vector<std::string> words;
    std::string w;
    const auto flush = [&] {
        if (w.size() >= 3 && !kSkip.contains(w) && std::find(words.begin(), words.end(), w) == words.end()) {
            words.push_back(w);
        }
        w.clear();
    };
    for (char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80 || std::isalnum(c)) {
            w += static_cast<char>(std::tolower(c));
        } else {
            flush();
        }
    }
    flush();
    return words;
}

SubjectMatch match_subject(const std::vector<std::string>& neighbours, std::string_view subject) {
    SubjectMatch m;
    const std::string want = name_key(subject);
    const std::vector<std::string> want_words = content_words(want);
    for (size_t i = 0; i < neighbours.size(); ++i) {
        const std::string name = name_key(neighbours[i]);
        if (name == want) {
            m.exact_topk = true;
            if (i == 0) m.exact_top1 = true;
        }
        for (const std::string& w : content_words(name)) {
            if (std::find(want_words.begin(), want_words.end(), w) != want_words.end()) m.word_topk = true;
        }
    }
    return m;
}

std::vector<std::string> match_subjects(const ReferenceSet& ref, size_t count) {
    std::vector<std::string> emoji, all;
    std::set<std::string, std::less<>> seen;
    for (size_t i = 0; i < ref.size(); ++i) {
        const std::string& s = ref.subject(i);
        if (s.empty() || !seen.insert(s).second) continue;
        all.push_back(s);
        if (s.find("; ") == std::string::npos) emoji.push_back(s);
    }
    const std::vector<std::string>& from = emoji.empty() ? all : emoji;
    if (from.size() <= count) return from;
    std::vector<std::string> out;
    const double step = static_cast<double>(from.size()) / static_cast<double>(count);
    for (size_t i = 0; i < count; ++i) out.push_back(from[static_cast<size_t>(static_cast<double>(i) * step)]);
    return out;
}

json paint_scores(std::string_view dsl, const PaintSpec& spec, const ReferenceSet* ref, double loglik_per_token,
                  double& total) {
    json s = json::object();
    Drawing d;
    Image img;
    try {
        d = parse_dsl(dsl);
        img = render(d, 64);
    } catch (const Error& e) {
        s["renders"] = 0;
        s["error"] = e.what();
        total = -100;
        return s;
    }
    const double ink = ink_fraction(img);
    const int ncol = colour_count(img);
    const int nshapes = count_shapes(d);
    const auto [lo, hi] = shape_range(spec);
    const double bal = balance(img);
    s["renders"] = 1;
    s["not_blank"] = ink > 0.01 ? 1 : 0;
    s["colours"] = ncol;
    s["shapes"] = nshapes;
    s["shapes_in_range"] = (nshapes >= lo && nshapes <= hi) ? 1 : 0;
    s["coverage"] = std::round(ink * 1000) / 1000;
    s["balance"] = std::round(bal * 1000) / 1000;
    s["loglik_per_token"] = std::round(loglik_per_token * 1000) / 1000;
    const double coverage_score = std::clamp(1.0 - std::fabs(ink - 0.45) / 0.45, 0.0, 1.0);
    total = 2.0 * (ink > 0.01 ? 1 : 0) + 0.5 * std::min(ncol, 5) / 5.0 + (nshapes >= lo && nshapes <= hi ? 1 : 0) +
            0.5 * bal + 0.5 * coverage_score + 0.1 * loglik_per_token;
    if (ref != nullptr && ref->size() > 0) {
        const double nov = ref->nearest(img);
        s["novelty"] = std::round(nov * 1000) / 1000;
        total += 0.5 * std::min(1.0, nov * 5);
        // Looks like the thing named: near the corpus's drawings of the subject. The novelty
        // term above still weighs against a copy of one of them.
        if (spec.mode == "subject") {
            if (const auto named = ref->nearest_named(img, spec.subject)) {
                const double likeness = std::clamp(1.0 - *named / 0.3, 0.0, 1.0);
                s["subject_likeness"] = std::round(likeness * 1000) / 1000;
                total += likeness;
            }
        }
    }
    s["total"] = std::round(total * 1000) / 1000;
    return s;
}

namespace {

struct Generated {
    std::string text;
    double loglik_per_token = 0;  // of the tokens the model wrote (a guide's kept lines not counted)
    size_t tokens = 0;
    bool ended = false;  // the sequence ended (end of text), not cut at the token budget
    size_t guide_shapes = 0;  // shapes kept from the guide (0 = unguided)
    size_t guide_dropped = 0;  // written shapes left out for hiding the guide's (keep_guide_in_sight)
};

// Classifier-free guidance of a drawing: scale 0 = off; the unconditioned context is the
// prompt of the `neutral` subject (paint_prompt), read in its own session beside the real one.
struct GuidanceSpec {
    float scale = 0.0f;
    std::string neutral;
};

// What a subject drawing starts from: the guide (guide.h) and the share of its shapes to keep.
struct GuideSpec {
    const Guide* guide = nullptr;  // null = the model draws alone
    double keep = kDefaultKeep;
};

// The model needs room for at least this much of its own after a guide's kept lines; a cut that
// leaves less gives way to the one before it.
constexpr int64_t kGuideRoom = 256;

std::vector<Generated> generate_drawings(const model::Model& model, core::ThreadPool& pool, const PaintSpec& spec,
                                         const CommonOptions& common, int length, int n, const GuidanceSpec& guidance,
                                         const GuideSpec& guide = {},
                                         const std::function<bool(std::string_view)>& on_text = {}) {
    auto trie = std::make_shared<const gen::constraint::TokenTrie>(model.tokenizer());
    // A drawing ends with the model's end-of-text token wherever the grammar may end. A
    // vocabulary without one (a BPE recipe with no `special` token) can only stop at the budget,
    // and a drawing that completes its grammar earlier has nothing left to write: it would run
    // into a dead end and fill the rest with whatever token the sampler falls back on.
    if (trie->eog_tokens().empty()) {
        throw_error(ErrorKind::Unsupported,
                    "paint: the model's vocabulary has no end-of-text token, so a drawing could not end; "
                    "expected a model trained with one (a BPE recipe needs special = [\"<|endoftext|>\"])");
    }
    const int64_t n_ctx = model.hparams().n_ctx;
    const auto prompt_tokens_of = [&](const std::string& p) {
        return static_cast<int64_t>(model.tokenizer().encode(p, true).size());
    };
    // A guided drawing's prompt carries the kept lines, so the model reads them as its own start
    // and writes the rest under the grammar of what may follow the cut.
    const GuideCut* cut = nullptr;
    std::string prompt = paint_prompt(spec);
    int64_t prompt_tokens = 0;
    if (guide.guide != nullptr) {
        size_t at = pick_cut(*guide.guide, guide.keep);
        for (;; --at) {
            prompt_tokens = prompt_tokens_of(prompt + guide.guide->cuts[at].prefix);
            if (at == 0 || n_ctx - prompt_tokens - 1 >= std::min<int64_t>(length, kGuideRoom)) break;
        }
        cut = &guide.guide->cuts[at];
        prompt += cut->prefix;
    } else {
        prompt_tokens = prompt_tokens_of(prompt);
    }
    const std::string gbnf = cut != nullptr ? paint_grammar(spec, *cut) : paint_grammar(spec);
    const int64_t room = n_ctx - prompt_tokens - 1;
    const int max_tokens = static_cast<int>(std::min<int64_t>(length, room));
    auto grammar = std::make_shared<const gen::constraint::Grammar>(gen::constraint::compile_gbnf(gbnf, "paint-" + spec.mode));
    const uint32_t need = grammar->rule_min_bytes.empty() ? 0 : grammar->rule_min_bytes[grammar->root];
    if (max_tokens < static_cast<int>(need) + 1) {
        throw_error(ErrorKind::ContextFull, "paint: no room for a {} drawing; expected a budget of at least {} tokens, got {} (length {}, model context {}, prompt {} tokens); hint: raise --length, shorten the subject or use a model with a longer context",
                    spec.mode, need + 1, max_tokens, length, n_ctx, prompt_tokens);
    }
    gen::constraint::GrammarConstraint constraint(grammar, trie, gen::constraint::GrammarOptions{.max_tokens = max_tokens});
    gen::GenerateOptions opt = generate_options(common, max_tokens);
    opt.n_candidates = n;
    opt.constraint = &constraint;
    opt.guidance = guidance.scale;
    // The unconditioned context reads the same kept lines: guidance then pushes only on what the
    // subject line adds.
    opt.guidance_prompt = paint_prompt(PaintSpec{"subject", guidance.neutral, "", ""}) + (cut != nullptr ? cut->prefix : "");
    gen::Generator generator(model, pool);
    gen::StreamFn stream;
    if (on_text) {
        // The kept lines come first, as the reader would see them drawn; a reader that has gone
        // away is noticed at the model's first piece.
        if (cut != nullptr) (void)on_text(cut->prefix);
        stream = [&](int, std::string_view piece) { return on_text(piece); };
    }
    const gen::GenerateResult res = generator.run(prompt, opt, stream);
    std::vector<Generated> out;
    for (const gen::Completion& c : res.candidates) {
        Generated g;
        g.text = (cut != nullptr ? cut->prefix : "") + c.text;
        if (cut != nullptr) {
            try {
                GuidedDrawing kept = keep_guide_in_sight(*cut, c.text);
                g.text = std::move(kept.text);
                g.guide_dropped = kept.dropped;
            } catch (const Error&) {
                // Not a drawing after all: kept whole, so the critics score it "renders 0" as
                // they would an unguided one, rather than the request failing.
            }
        }
        g.loglik_per_token = c.tokens.empty() ? 0 : c.logprob_sum() / static_cast<double>(c.tokens.size());
        g.tokens = c.tokens.size();
        g.ended = c.finish != gen::FinishReason::Length;
        g.guide_shapes = cut != nullptr ? cut->shapes : 0;
        out.push_back(std::move(g));
    }
    return out;
}

PaintSpec spec_from_request(const json& request) {
    PaintSpec spec;
    spec.subject = get_string(request, "subject");
    const std::string style = get_string(request, "style");
    spec.mode = style.empty() ? (spec.subject.empty() ? "free" : "subject") : style;
    spec.palette = get_string(request, "palette");
    spec.mood = get_string(request, "mood");
    check_spec(spec);
    if (spec.mode == "subject") clean_subject(spec.subject);
    return spec;
}

}  // namespace

namespace {

// The guide a request asks for (request key "guide"): "auto" (the default) takes one of the
// corpus's drawings of the subject when the reference corpus names it, "none" lets the model draw
// alone, anything else is a drawing (SVG or DSL text) to start from. Only subject drawings follow
// a guide; a style's grammar has no place for one.
std::optional<Guide> request_guide(const std::string& guide, const PaintSpec& spec, const ReferenceSet* ref,
                                   uint64_t seed) {
    if (guide == "none") return std::nullopt;
    if (guide == "auto") {
        if (spec.mode != "subject" || ref == nullptr) return std::nullopt;
        return corpus_guide(*ref, spec.subject, seed);
    }
    if (spec.mode != "subject") {
        throw_error(ErrorKind::InvalidArgument, "guide: only subject drawings follow a guide; expected no style, got style '{}'", spec.mode);
    }
    return guide_from_text(guide);
}

}  // namespace

ArtResult paint(const json& request, Context& ctx) {
    if (!request.is_object()) {
        throw_error(ErrorKind::InvalidArgument, "paint request: wrong type; expected a JSON object, got {}", request.type_name());
    }
    check_keys(request, {"subject", "style", "palette", "mood", "size", "length", "reference", "guidance", "guide", "keep"}, "paint");
    const CommonOptions common = parse_common(request);
    const std::string guide_text = get_string(request, "guide", "auto");
    PaintSpec spec = spec_from_request(request);
    // A drawing to start from is a subject drawing even with no subject line to go with it.
    const bool given_drawing = guide_text != "auto" && guide_text != "none";
    if (given_drawing && spec.mode == "free" && get_string(request, "style").empty()) spec.mode = "subject";
    const int size = static_cast<int>(get_int(request, "size", 512, 16, 4096));
    const int length = static_cast<int>(get_int(request, "length", 640, 64, 4096));
    const std::string reference = get_string(request, "reference");
    // get_number checks only that it is a number; the range is check_guidance's, so the request
    // key is refused with the CLI flag's words.
    const double inf = std::numeric_limits<double>::infinity();
    const double scale = get_number(request, "guidance", kDefaultGuidance, -inf, inf);
    check_guidance(scale);
    const GuidanceSpec guidance{static_cast<float>(scale), std::string(kNeutralSubject)};
    const double keep = get_number(request, "keep", kDefaultKeep, kMinKeep, kMaxKeep);
    const std::string model_path = resolve_model(common, kDefaultModelFile);
    auto model = ctx.models->get(model_path);
    auto ref = default_reference(reference);
    const std::optional<Guide> guide = request_guide(guide_text, spec, ref.get(), common.seed);

    const std::vector<Generated> drawings = generate_drawings(*model, *ctx.pool, spec, common, length, common.n, guidance,
                                                              GuideSpec{guide ? &*guide : nullptr, keep}, ctx.on_text);
    ArtResult r;
    r.form = "paint";
    r.seed = common.seed;
    r.model = model_path;
    r.model_sha256 = ctx.models->sha256(model_path);
    for (const Generated& g : drawings) {
        Candidate c;
        c.text = g.text;
        c.scores = paint_scores(g.text, spec, ref.get(), g.loglik_per_token, c.score);
        if (guide) {
            // Said with the scores, so a guided drawing is never taken for the model's alone.
            c.scores["guide"] = guide->source;
            c.scores["guide_shapes_kept"] = g.guide_shapes;
            c.scores["guide_shapes"] = guide->shapes;
            c.scores["guide_hiders_dropped"] = g.guide_dropped;
        }
        r.candidates.push_back(std::move(c));
    }
    apply_encoder_critic(r, common, spec.subject, ctx);
    rank_candidates(r);
    r.request = request;
    r.request["style"] = spec.mode == "subject" ? "" : spec.mode;
    r.request["subject"] = spec.subject;
    r.request["palette"] = spec.palette;
    r.request["mood"] = spec.mood;
    r.request["size"] = size;
    r.request["length"] = length;
    r.request["reference"] = reference;
    r.request["guidance"] = guidance.scale;
    r.request["guide"] = guide_text;
    r.request["keep"] = keep;
    const json common_json = common_to_json(common);
    r.request.update(common_json);
    r.request["model"] = model_path;

    if (!ctx.out_dir.empty()) {
        // Render everything before writing anything; the set commits all files or none.
        const Drawing best = parse_dsl(r.text);
        const std::string svg = to_svg(best);
        const std::string png = encode_png(render(best, size));
        std::vector<Image> thumbs;
        for (const Candidate& c : r.candidates) {
            try {
                thumbs.push_back(render(parse_dsl(c.text), 160));
            } catch (const Error&) {
                thumbs.push_back(Image{160, 160, std::vector<uint8_t>(160 * 160 * 3, 255)});
            }
        }
        const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(thumbs.size()))));
        const std::string sheet = encode_png(contact_sheet(thumbs, cols));
        ArtifactSet set(ctx.out_dir);
        set.add("svg", "drawing.svg", svg);
        set.add("png", "drawing.png", png);
        set.add("contact", "contact.png", sheet);
        set.add("dsl", "drawing.paint", r.text);
        r.files = set.commit();
    }
    return r;
}

namespace {

// How many nearest references the subject match looks at ("5 nearest").
constexpr size_t kMatchNeighbours = 5;

// The subject-match figures of paint_eval (see paint.h). A model that ties names to shapes draws
// "red apple" near the corpus's red apple (or some other apple); one that does not lands near
// whatever its composition resembles, which matches its subject about as often as a random
// name does. The baseline makes that chance level explicit, since "face" or "flag" alone
// matches many neighbours.
json subject_match_eval(const model::Model& model, core::ThreadPool& pool, const ReferenceSet& ref,
                        const EvalOptions& opt) {
    const std::vector<std::string> subjects = match_subjects(ref, static_cast<size_t>(opt.count));
    const GuidanceSpec guidance{opt.guidance, opt.neutral};
    CommonOptions common;
    common.threads = opt.threads;
    common.temperature = opt.temperature;
    std::vector<std::vector<std::string>> neighbours;
    double novelty = 0, guided = 0;
    for (size_t i = 0; i < subjects.size(); ++i) {
        common.seed = i;
        const PaintSpec spec{"subject", subjects[i], "", ""};
        // A guide never is the drawing of the subject's own name: the figure would measure the
        // copy, not the drawing.
        const std::optional<Guide> guide =
            opt.guide == "auto" ? corpus_guide(ref, subjects[i], common.seed, /*exclude_own_name=*/true) : std::nullopt;
        guided += guide ? 1 : 0;
        // The best of the candidates by the critics, as `lyra paint -n` would pick it.
        std::string best;
        double best_total = -1e9;
        for (const Generated& g : generate_drawings(model, pool, spec, common, opt.length, opt.match_candidates, guidance,
                                                    GuideSpec{guide ? &*guide : nullptr, opt.keep})) {
            double total = 0;
            paint_scores(g.text, spec, &ref, g.loglik_per_token, total);
            if (total > best_total) {
                best_total = total;
                best = g.text;
            }
        }
        const Image img = render(parse_dsl(best), 32);
        novelty += ref.nearest(img);
        std::vector<std::string> names;
        for (size_t k : ref.nearest_k(img, kMatchNeighbours)) names.push_back(ref.subject(k));
        neighbours.push_back(std::move(names));
    }
    double top1 = 0, top5 = 0, word5 = 0, base1 = 0, base5 = 0, base_word5 = 0;
    const size_t n = subjects.size();
    for (size_t i = 0; i < n; ++i) {
        const SubjectMatch m = match_subject(neighbours[i], subjects[i]);
        top1 += m.exact_top1;
        top5 += m.exact_topk;
        word5 += m.word_topk;
        // chance: the same drawing checked against each other subject's name
        double b1 = 0, b5 = 0, bw = 0;
        for (size_t j = 0; j < n; ++j) {
            if (j == i) continue;
            const SubjectMatch r = match_subject(neighbours[i], subjects[j]);
            b1 += r.exact_top1;
            b5 += r.exact_topk;
            bw += r.word_topk;
        }
        if (n > 1) {
            base1 += b1 / static_cast<double>(n - 1);
            base5 += b5 / static_cast<double>(n - 1);
            base_word5 += bw / static_cast<double>(n - 1);
        }
    }
    const double d = std::max<double>(1, static_cast<double>(n));
    return {{"subjects", n},
            {"candidates", opt.match_candidates},
            {"neighbours", kMatchNeighbours},
            {"name_nearest", top1 / d},
            {"name_in_nearest_5", top5 / d},
            {"word_in_nearest_5", word5 / d},
            {"random_name_nearest", base1 / d},
            {"random_name_in_nearest_5", base5 / d},
            {"random_word_in_nearest_5", base_word5 / d},
            {"guided", guided / d},
            {"novelty", novelty / d}};
}

}  // namespace

json paint_eval(const EvalOptions& opt, Context& ctx) {
    if (opt.count < 1 || opt.count > 1000) {
        throw_error(ErrorKind::InvalidArgument, "count: out of range; expected 1..1000, got {}", opt.count);
    }
    if (opt.match_candidates < 1 || opt.match_candidates > 64) {
        throw_error(ErrorKind::InvalidArgument, "match candidates: out of range; expected 1..64, got {}", opt.match_candidates);
    }
    if (!(opt.temperature >= 0) || opt.temperature > 10) {
        throw_error(ErrorKind::InvalidArgument, "temperature: out of range; expected 0..10, got {}", opt.temperature);
    }
    check_guidance(opt.guidance);
    if (opt.guide != "auto" && opt.guide != "none") {
        throw_error(ErrorKind::InvalidArgument, "guide: unknown; expected auto or none, got '{}'", opt.guide);
    }
    if (!(opt.keep >= kMinKeep && opt.keep <= kMaxKeep)) {
        throw_error(ErrorKind::InvalidArgument, "keep: out of range; expected {}..{}, got {}", kMinKeep, kMaxKeep, opt.keep);
    }
    const GuidanceSpec guidance{opt.guidance, opt.neutral};
    std::vector<std::string> modes = opt.modes;
    if (modes.empty()) {
        modes.push_back("subject");
        for (const auto& s : style_names()) modes.push_back(s);
    }
    for (const auto& m : modes) check_spec(PaintSpec{m, "", "", ""});
    const bool have_rsvg = !find_program("rsvg-convert").empty();
    if (!have_rsvg) {
        throw_error(ErrorKind::NotFound, "rsvg-convert: not installed; expected the program on PATH for the render check, got none; install Debian package librsvg2-bin");
    }
    auto model = ctx.models->get(opt.model);
    auto ref = default_reference(opt.reference);
    // Subjects in several scripts, cycled over the subject-mode seeds.
    static const std::vector<std::string> subjects = {
        "red apple", "smiling face", "house with a tree", "blue fish", "star", "heart", "cat", "sun and cloud",
        "苹果", "月亮", "カメラ", "сердце", "قلب", "फूल", "🌈 rainbow", "Ωmega"};
    json out = json::object();
    out["model"] = opt.model;
    out["count"] = opt.count;
    out["reference"] = ref ? json(ref->path()) : json(nullptr);
    out["length"] = opt.length;
    out["guidance"] = opt.guidance;
    out["neutral"] = opt.neutral;
    out["guide"] = opt.guide;
    out["keep"] = opt.keep;
    out["modes"] = json::object();
    for (const std::string& mode : modes) {
        std::vector<Generated> drawings;
        double guided = 0;
        CommonOptions common;
        common.threads = opt.threads;
        common.temperature = opt.temperature;
        if (mode == "subject") {
            for (int i = 0; i < opt.count; ++i) {
                common.seed = static_cast<uint64_t>(i);
                PaintSpec spec{"subject", subjects[static_cast<size_t>(i) % subjects.size()], "", ""};
                const std::optional<Guide> guide = request_guide(opt.guide, spec, ref.get(), common.seed);
                guided += guide ? 1 : 0;
                auto one = generate_drawings(*model, *ctx.pool, spec, common, opt.length, 1, guidance,
                                             GuideSpec{guide ? &*guide : nullptr, opt.keep});
                drawings.push_back(one.at(0));
            }
        } else {
            common.seed = 0;  // candidate i draws with seed i
            drawings = generate_drawings(*model, *ctx.pool, PaintSpec{mode, "", "", ""}, common, opt.length, opt.count, guidance);
        }
        int rendered = 0, parsed = 0, not_blank = 0;
        // How long the drawings run, and how many end before the budget cuts them: a model that
        // learned where a drawing ends stops on its own, well inside --length.
        double tokens = 0, ended = 0;
        for (const Generated& g : drawings) {
            tokens += static_cast<double>(g.tokens);
            ended += g.ended ? 1 : 0;
        }
        std::vector<Image> imgs;
        double novelty = 0;
        std::vector<std::string> failures;
        for (const Generated& g : drawings) {
            Drawing d;
            try {
                d = parse_dsl(g.text);
                ++parsed;
            } catch (const Error& e) {
                failures.push_back(e.what());
                continue;
            }
            try {
                rsvg_render(to_svg(d), 64);
                ++rendered;
            } catch (const Error& e) {
                failures.push_back(e.what());
            }
            Image img = render(d, 32);
            not_blank += ink_fraction(img) > 0.01 ? 1 : 0;
            if (ref) novelty += ref->nearest(img);
            imgs.push_back(std::move(img));
        }
        double div = 0;
        int pairs = 0;
        for (size_t i = 0; i < imgs.size(); ++i) {
            for (size_t j = i + 1; j < imgs.size(); ++j) {
                div += pixel_distance(imgs[i], imgs[j]);
                ++pairs;
            }
        }
        const double n = static_cast<double>(drawings.size());
        json m = {{"drawings", drawings.size()},
                  {"parsed", parsed / n},
                  {"rendered_by_rsvg", rendered / n},
                  {"not_blank", not_blank / n},
                  {"ended", ended / n},
                  {"mean_tokens", tokens / n},
                  {"guided", guided / n},
                  {"diversity", pairs > 0 ? div / pairs : 0.0},
                  {"novelty", ref && !imgs.empty() ? json(novelty / static_cast<double>(imgs.size())) : json(nullptr)}};
        if (!failures.empty()) m["failures"] = failures;
        if (mode == "subject" && ref) m["subject_match"] = subject_match_eval(*model, *ctx.pool, *ref, opt);
        out["modes"][mode] = m;
    }
    return out;
}

}  // namespace lyra::art::visual
