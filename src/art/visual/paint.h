// `paint`: drawings written by a language model in the paint DSL under a grammar, so every
// output is a complete, valid drawing that ends inside its length limit; rendered to SVG and
// PNG, ranked by critics (renders, not blank, colour variety, shape count, balance, coverage,
// novelty against the training corpus's thumbnails, model log-likelihood). Modes: a subject
// ("red apple", any language) or an abstract style (mondrian, kandinsky, albers, malevich,
// riley, free), each a small grammar the model fills in; --palette and --mood shape the grammar.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"
#include "art/visual/dsl.h"
#include "art/visual/raster.h"

namespace lyra::art::visual {

inline constexpr std::string_view kDefaultModelFile = "paint-dsl.gguf";
inline constexpr std::string_view kDefaultReference = "build/data/paint-dsl.txt";

// The styles, "free" included ("subject" is the mode when a subject is given without a style).
const std::vector<std::string>& style_names();
// Named palettes (each a list of DSL colour words) and moods.
const std::vector<std::string>& palette_names();
const std::vector<std::string>& mood_names();

struct PaintSpec {
    std::string mode = "subject";  // "subject" or a style name
    std::string subject;           // the conditioning text (subject mode)
    std::string palette;           // "" = the style's or mood's default; a name or "c1,c2,..."
    std::string mood;              // "" = none
};

// Validates the spec (unknown style/palette/mood, bad colour -> Error(InvalidArgument)).
void check_spec(const PaintSpec& spec);
// The GBNF grammar for the spec's drawings.
std::string paint_grammar(const PaintSpec& spec);
// The prompt in the training format: "subject: <text>\n" (styles use a description of theirs).
std::string paint_prompt(const PaintSpec& spec);
// Shape counts the critics expect for the mode: [lo, hi].
std::pair<int, int> shape_range(const PaintSpec& spec);

// Thumbnails (16x16) of the training corpus's drawings, for the novelty critic.
class ReferenceSet {
public:
    // Reads a corpus text file (documents "subject: ...\n<DSL>" separated by blank lines); a
    // document whose DSL does not parse is skipped. Throws Error(NotFound) if it cannot be read.
    static std::shared_ptr<const ReferenceSet> load(const std::string& path, size_t limit = 20000);
    // The smallest pixel distance (0..1) from img to any reference thumbnail.
    double nearest(const Image& img) const;
    size_t size() const { return thumbs_.size(); }
    const std::string& path() const { return path_; }

private:
    std::vector<Image> thumbs_;
    std::string path_;
};

// The critics on one drawing text.
nlohmann::json paint_scores(std::string_view dsl, const PaintSpec& spec, const ReferenceSet* ref,
                            double loglik_per_token, double& total);

// The art form: request keys subject, style, palette, mood, size (PNG pixels, 16..4096),
// length (token budget, 64..4096), reference (corpus file for novelty; "" = the default if it
// exists), plus the common keys.
ArtResult paint(const nlohmann::json& request, Context& ctx);

// `lyra paint eval`: `count` drawings per mode with seeds 0..count-1 on one model; the share
// rsvg-convert renders, the share not blank, diversity (mean pairwise pixel distance at 32 px)
// and novelty (mean nearest distance to the reference thumbnails; null without one).
struct EvalOptions {
    std::string model;
    std::vector<std::string> modes;  // empty = subject + every style
    int count = 100;
    int length = 640;
    int threads = 0;
    std::string reference;  // "" = kDefaultReference if it exists
};
nlohmann::json paint_eval(const EvalOptions& opt, Context& ctx);

}  // namespace lyra::art::visual
