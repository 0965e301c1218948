// Guided drawing (guide.h): cuts of a guide drawing, the corpus drawings a subject names, and
// the grammar root that continues after a cut.
#include "art/visual/guide.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "art/visual/emoji_names.h"
#include "art/visual/paint.h"
#include "art/visual/raster.h"
#include "art/visual/svg_import.h"
#include "core/error.h"

namespace lyra::art::visual {

namespace {

// No cut keeps more text than this: more than any drawing model's context would hold, and a
// user's file of thousands of shapes would otherwise cost a copy of its text per cut.
constexpr size_t kMaxPrefixBytes = 16 * 1024;

bool is_flat_group(const Shape& s) {
    return s.kind == ShapeKind::Group && s.children.size() >= 2 &&
           std::none_of(s.children.begin(), s.children.end(), [](const Shape& c) { return c.kind == ShapeKind::Group; });
}

// The share of the kept drawing's ink (its pixels not white) that `now` shows differently.
double hidden_share(const Image& kept, const Image& now) {
    size_t ink = 0, changed = 0;
    for (size_t p = 0; p + 2 < kept.rgb.size(); p += 3) {
        const bool inked = kept.rgb[p] < 247 || kept.rgb[p + 1] < 247 || kept.rgb[p + 2] < 247;
        if (!inked) continue;
        ++ink;
        int diff = 0;
        for (size_t c = 0; c < 3; ++c) diff = std::max(diff, std::abs(int{kept.rgb[p + c]} - int{now.rgb[p + c]}));
        changed += diff > 48 ? 1 : 0;
    }
    return ink == 0 ? 0.0 : static_cast<double>(changed) / static_cast<double>(ink);
}

size_t shared_words(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return static_cast<size_t>(std::count_if(a.begin(), a.end(), [&](const std::string& w) {
        return std::find(b.begin(), b.end(), w) != b.end();
    }));
}

}  // namespace

Guide make_guide(const Drawing& d, std::string source) {
    Guide g;
    g.source = std::move(source);
    g.shapes = static_cast<size_t>(count_shapes(d));
    Drawing kept = d;
    kept.shapes.clear();
    // Adds the cut after what `kept` holds now; false once the kept text is too long to go on.
    const auto add_cut = [&](bool open_group, size_t group_shapes) {
        GuideCut c;
        c.shapes = static_cast<size_t>(count_shapes(kept));
        c.items = kept.shapes.size();
        c.open_group = open_group;
        c.group_shapes = group_shapes;
        c.prefix = to_dsl(kept);
        constexpr std::string_view kEnd = "end\n";
        if (open_group) c.prefix.resize(c.prefix.size() - kEnd.size());  // the group stays open
        if (c.prefix.size() > kMaxPrefixBytes) return false;
        g.cuts.push_back(std::move(c));
        return true;
    };
    const size_t items = d.shapes.size();
    add_cut(false, 0);
    g.cuts.back().items_after = items;
    for (size_t i = 0; i < items; ++i) {
        const Shape& s = d.shapes[i];
        if (is_flat_group(s)) {
            Shape open = s;
            open.children.clear();
            kept.shapes.push_back(std::move(open));
            for (size_t j = 0; j + 1 < s.children.size(); ++j) {
                kept.shapes.back().children.push_back(s.children[j]);
                if (!add_cut(true, j + 1)) return g;
                g.cuts.back().group_shapes_after = s.children.size() - (j + 1);
                g.cuts.back().items_after = items - (i + 1);
            }
            kept.shapes.back() = s;
        } else {
            kept.shapes.push_back(s);
        }
        if (!add_cut(false, 0)) return g;
        g.cuts.back().items_after = items - (i + 1);
    }
    return g;
}

Guide guide_from_text(std::string_view text) {
    const size_t first = text.find_first_not_of(" \t\r\n\xef\xbb\xbf");
    const bool svg = first != std::string_view::npos && text[first] == '<';
    Drawing d;
    try {
        d = svg ? normalize_svg(text).drawing : parse_dsl(text);
    } catch (const Error& e) {
        throw_error(ErrorKind::InvalidArgument, "guide: {}", e.what());
    }
    if (count_shapes(d) == 0) {
        throw_error(ErrorKind::InvalidArgument, "guide: the drawing has no shapes; expected an SVG or paint DSL drawing with at least one");
    }
    return make_guide(d, "given drawing");
}

size_t pick_cut(const Guide& g, double keep) {
    const double want = keep * static_cast<double>(g.shapes);
    // A drawing of a single shape has no cut inside it: it is kept whole, and the model adds to
    // it. From the canvas alone the default model drew what it draws unguided (a tabler star's
    // one path gave way to two stray unstroked lines, a blank drawing).
    size_t best = g.cuts.size() - 1;
    double best_gap = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < g.cuts.size(); ++i) {
        const GuideCut& c = g.cuts[i];
        if (c.shapes == 0 || c.shapes >= g.shapes) continue;
        const double gap = std::fabs(static_cast<double>(c.shapes) - want);
        if (gap < best_gap) {  // ties keep the earlier, shorter cut
            best_gap = gap;
            best = i;
        }
    }
    return best;
}

std::vector<size_t> named_drawings(const ReferenceSet& ref, std::string_view subject, bool exclude_own_name) {
    const std::string want = name_key(subject);
    const std::vector<std::string> want_words = content_words(want);
    // Tiers, best first: the name itself; then the most shared name words, fewer other name
    // words breaking ties ("apple" before "apple pie" for "red apple"); then the most shared
    // tag words. Scores keep the tiers apart: no name has 1,000 words.
    constexpr double kExact = 1e9, kWord = 1e6, kTagDivisor = 1e3;
    std::vector<double> score(ref.size(), 0);
    for (size_t i = 0; i < ref.size(); ++i) {
        const bool same = ref.name(i) == want;
        if (same) {
            score[i] = exclude_own_name ? 0 : kExact;
            continue;
        }
        const size_t shared = shared_words(want_words, ref.words(i));
        if (shared > 0) {
            score[i] = kWord * static_cast<double>(shared) - static_cast<double>(ref.words(i).size() - shared);
            continue;
        }
        const std::string_view full = ref.subject(i);
        const size_t tags = full.find("; ");
        if (tags != std::string_view::npos) {
            score[i] = static_cast<double>(shared_words(want_words, content_words(full.substr(tags + 2)))) / kTagDivisor;
        }
    }
    const double top = score.empty() ? 0 : *std::max_element(score.begin(), score.end());
    std::vector<size_t> out;
    if (top <= 0) return out;
    for (size_t i = 0; i < score.size(); ++i) {
        if (score[i] == top) out.push_back(i);
    }
    return out;
}

std::optional<Guide> corpus_guide(const ReferenceSet& ref, std::string_view subject, uint64_t seed, bool exclude_own_name) {
    std::vector<size_t> named = named_drawings(ref, subject, exclude_own_name);
    // A subject the corpus's English names do not know may be an emoji's name in another
    // language (or the emoji itself): CLDR gives its English names, whose drawings are taken.
    std::string via;
    if (named.empty()) {
        for (const std::string& english : english_emoji_names(subject)) {
            for (size_t i : named_drawings(ref, english, exclude_own_name)) {
                if (std::find(named.begin(), named.end(), i) == named.end()) named.push_back(i);
            }
        }
        via = fmt::format(" (CLDR: {})", subject);
    }
    if (named.empty()) return std::nullopt;
    const size_t i = named[seed % named.size()];
    return make_guide(parse_dsl(ref.drawing(i)), "corpus: " + ref.subject(i) + via);
}

GuidedDrawing keep_guide_in_sight(const GuideCut& cut, std::string_view written) {
    const Drawing full = parse_dsl(cut.prefix + std::string(written));
    // The kept drawing (its open group closed) and the written shapes, in the order drawn.
    Drawing out = full;
    out.shapes.resize(std::min(cut.items, full.shapes.size()));
    std::vector<Shape> group_written;
    if (cut.open_group && !out.shapes.empty()) {
        std::vector<Shape>& members = out.shapes.back().children;
        group_written.assign(members.begin() + static_cast<std::ptrdiff_t>(std::min(cut.group_shapes, members.size())),
                             members.end());
        members.resize(std::min(cut.group_shapes, members.size()));
    }
    constexpr int kPx = 64;
    const Image kept = render(out, kPx);
    GuidedDrawing g;
    const auto try_add = [&](std::vector<Shape>& into, const Shape& s) {
        into.push_back(s);
        if (hidden_share(kept, render(out, kPx)) > kMaxHiddenGuide) {
            into.pop_back();
            ++g.dropped;
        }
    };
    for (const Shape& s : group_written) try_add(out.shapes.back().children, s);
    for (size_t i = cut.items; i < full.shapes.size(); ++i) try_add(out.shapes, full.shapes[i]);
    g.text = to_dsl(out);
    return g;
}

std::string guide_root(const GuideCut& cut, int shapes_max, int group_max) {
    const auto with_slack = [](size_t n) { return static_cast<int>(n + (n + 1) / 2); };
    const int items_left = std::min(std::max(0, shapes_max - static_cast<int>(cut.items)), with_slack(cut.items_after));
    if (!cut.open_group) return fmt::format("root ::= item{{1,{}}}\n", std::max(1, items_left));
    const int members_left =
        std::min(std::max(0, group_max - static_cast<int>(cut.group_shapes)), with_slack(cut.group_shapes_after));
    std::string root = "root ::=";
    if (members_left > 0) root += fmt::format(" (shape \"\\n\"){{0,{}}}", members_left);
    root += " \"end\\n\"";
    if (items_left > 0) root += fmt::format(" item{{0,{}}}", items_left);
    return root + "\n";
}

}  // namespace lyra::art::visual
