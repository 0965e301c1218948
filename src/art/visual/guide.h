// Guided drawing: the model starts from the leading shapes of a drawing (a corpus drawing of the
// subject, or one the user gives as SVG or DSL) and writes the rest under the subject grammar, as
// an image model's "variations" or image-to-image start from a picture. The default drawing
// model learned the DSL and the icons' habits but not what a name looks like (models/
// paint-dsl.md, "Subject match"): told "red apple" alone it draws an emoji-like composition; given
// the first shape of the corpus's apple it finishes an apple. What is kept is named in the
// result, so a guided drawing is never passed off as the model's alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "art/visual/dsl.h"

namespace lyra::art::visual {

class ReferenceSet;

// A place the guide drawing may be cut: between top-level items, or between the shapes of a
// top-level group whose members are all plain shapes (the subject grammar nests no deeper).
struct GuideCut {
    size_t shapes = 0;          // shapes kept (groups not counted, their members counted)
    size_t items = 0;           // top-level items begun (an open group counts)
    bool open_group = false;    // the cut falls inside a group: the model writes its "end"
    size_t group_shapes = 0;    // shapes already in that group
    size_t group_shapes_after = 0;  // the guide's shapes in that group after the cut
    size_t items_after = 0;     // the guide's top-level items after the cut (after the open group)
    std::string prefix;         // the kept DSL: the canvas line and every kept line, '\n'-ended
};

struct Guide {
    std::string source;         // what it came from: "corpus: <subject>" or "given drawing"
    size_t shapes = 0;          // shapes in the whole guide drawing
    std::vector<GuideCut> cuts; // every cut, fewest shapes first (the canvas alone is cuts[0])
};

// The share of a guide's shapes a drawing keeps unless told (request key "keep").
inline constexpr double kDefaultKeep = 0.5;
inline constexpr double kMinKeep = 0.1;
inline constexpr double kMaxKeep = 0.9;

Guide make_guide(const Drawing& d, std::string source);

// A drawing the user gives: SVG (through the normalizer) or paint DSL text. Throws
// Error(InvalidArgument) "guide: <what is wrong>" for text that is neither.
Guide guide_from_text(std::string_view text);

// The cut whose kept share is nearest to `keep` among those that keep at least one shape and
// leave at least one for the model; the whole drawing when it is a single shape (the model then
// adds to it). The last cut when no shape of the drawing could be cut at (too long a text).
size_t pick_cut(const Guide& g, double keep);

// The corpus drawings a subject names, best first tier only: those with its name, else those
// whose names share the most of its content words (fewest other words first), else those whose
// tags do. Empty when nothing matches (a subject in a script the corpus does not use).
// `exclude_own_name` leaves out the drawings with the subject's exact name, for the eval: a guide
// must not be the very drawing its result is compared with.
std::vector<size_t> named_drawings(const ReferenceSet& ref, std::string_view subject, bool exclude_own_name = false);

// The guide for a subject from the corpus: one of named_drawings, picked by the seed; for a
// subject no corpus name knows, one of the drawings of the emoji it names in another language
// (english_emoji_names, emoji_names.h; the source then ends "(CLDR: <subject>)"). nullopt when
// none is named.
std::optional<Guide> corpus_guide(const ReferenceSet& ref, std::string_view subject, uint64_t seed,
                                  bool exclude_own_name = false);

// The GBNF root rule that continues after a cut: more items (at least one), or the open group's
// remaining shapes, its "end" and more items. The rest keeps the guide's build: at most as many
// items (and group members) as the guide has after the cut, and half as many again. Unbounded,
// the default model drew on past a stroke icon's group in filled black paths, which the icons
// never have outside their group. `shapes_max` and `group_max` are the subject grammar's own
// bounds on top-level items and on a group's members.
std::string guide_root(const GuideCut& cut, int shapes_max, int group_max);

// A guided drawing with the kept shapes in sight: the model's written shapes (`written`, the text
// after the cut's prefix) are added in order, and one that would leave more than
// kMaxHiddenGuide of the kept shapes' ink changed is left out. The default model often wrote a
// tile or a backdrop over what it was given (an emoji's wall and roof, painted over by a
// rectangle), which no best-of-n reliably avoids at n = 1. Returns the drawing's canonical text
// (to_dsl) and how many written shapes were left out. Throws Error(InvalidArgument) when the
// prefix and `written` together are not a drawing.
inline constexpr double kMaxHiddenGuide = 0.3;
struct GuidedDrawing {
    std::string text;
    size_t dropped = 0;
};
GuidedDrawing keep_guide_in_sight(const GuideCut& cut, std::string_view written);

}  // namespace lyra::art::visual
