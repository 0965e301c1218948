// `paint`: drawings written by a language model in the paint DSL under a grammar, so every
// output is a complete, valid drawing that ends inside its length limit; rendered to SVG and
// PNG, ranked by critics (renders, not blank, colour variety, shape count, balance, coverage,
// novelty against the training corpus's thumbnails, model log-likelihood). Modes: a subject
// ("red apple", any language) or an abstract style (mondrian, kandinsky, albers, malevich,
// riley, free), each a small grammar the model fills in; --palette and --mood shape the grammar.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"
#include "art/visual/dsl.h"
#include "art/visual/guide.h"
#include "art/visual/raster.h"

namespace lyra::art::visual {

inline constexpr std::string_view kDefaultModelFile = "paint-dsl.gguf";
inline constexpr std::string_view kDefaultReference = "build/data/paint-dsl.txt";
// Classifier-free guidance (generate/guidance.h) of every drawing: the scale `lyra paint` uses
// unless told (request key "guidance", 0..kMaxGuidance; 0 = off), and the subject whose prompt
// is the unconditioned context. Off by default: on the default model no scale from 0.5 to 3
// raised `lyra paint eval`'s subject match (15% word match at 0, 6-11% guided), and from 2 on
// some subject and free drawings came out blank (models/paint-dsl.md, "Subject match"). The
// empty subject (the line "subject: ") names nothing, so guidance pushes away from no content of its
// own; it matched or beat "icon", "drawing" and the corpus's most common name word "off".
inline constexpr float kDefaultGuidance = 0.0f;
inline constexpr float kMaxGuidance = 10.0f;
inline constexpr std::string_view kNeutralSubject = "";

// The one bound on a drawing's guidance scale, for every way one comes in: `lyra paint` and
// `lyra paint eval`'s --guidance, the request key "guidance" (server, studio page) and
// EvalOptions. A finite number from 0 to kMaxGuidance; the engine's own check
// (gen::check_guidance_scale) sets no upper bound, so the art form keeps this one.
// guidance_problem returns "" for an accepted scale, else what is wrong ("out of range; expected
// a number from 0 to 10 (0 = off), got <written>"); `written` is the value as the user typed it
// (empty: the number itself), so a flag that is not a number at all gets the same message.
std::string guidance_problem(double scale, std::string_view written = {});
// Throws Error(InvalidArgument) "guidance: <guidance_problem>" unless the scale is accepted.
void check_guidance(double scale);

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
// The subject grammar of the rest of a guided drawing: what may follow the guide's cut (guide.h).
std::string paint_grammar(const PaintSpec& spec, const GuideCut& cut);
// The prompt in the training format: "subject: <text>\n" (styles use a description of theirs).
std::string paint_prompt(const PaintSpec& spec);
// Shape counts the critics expect for the mode: [lo, hi].
std::pair<int, int> shape_range(const PaintSpec& spec);

// Thumbnails (16x16) of the training corpus's drawings, for the novelty critic, each with its
// document's subject (the text after "subject: "), for the subject-match figure.
class ReferenceSet {
public:
    // Reads a corpus text file (documents "subject: ...\n<DSL>" separated by blank lines); a
    // document whose DSL does not parse is skipped. Throws Error(NotFound) if it cannot be read.
    static std::shared_ptr<const ReferenceSet> load(const std::string& path, size_t limit = 20000);
    // The same from the corpus text itself; `path` only names it.
    static std::shared_ptr<const ReferenceSet> parse(std::string_view text, const std::string& path, size_t limit = 20000);
    // The smallest pixel distance (0..1) from img to any reference thumbnail.
    double nearest(const Image& img) const;
    // The indices of the k reference thumbnails nearest to img by that distance, nearest first
    // (ties in corpus order).
    std::vector<size_t> nearest_k(const Image& img, size_t k) const;
    // The smallest pixel distance from img to the drawings of `subject` (subject_name of it) in
    // the corpus: those with its name, else those sharing a content word with it (see
    // content_words); nullopt when there are none.
    std::optional<double> nearest_named(const Image& img, std::string_view subject) const;
    size_t size() const { return thumbs_.size(); }
    const std::string& subject(size_t i) const { return subjects_.at(i); }
    // The document's name_key and its content_words, and its drawing (DSL text, as the corpus
    // has it): what a guide (guide.h) looks up and starts from.
    const std::string& name(size_t i) const { return names_.at(i); }
    const std::vector<std::string>& words(size_t i) const { return words_.at(i); }
    const std::string& drawing(size_t i) const { return drawings_.at(i); }
    const std::string& path() const { return path_; }

private:
    std::vector<Image> thumbs_;
    std::vector<std::string> subjects_;
    std::vector<std::string> drawings_;
    std::vector<std::string> names_;                // subject_name, lower case
    std::vector<std::vector<std::string>> words_;   // content_words of the name
    std::string path_;
};

// Subject match: does a drawing look like the training drawings of its subject? Its nearest
// reference thumbnails (the novelty critic's distance) are looked up and their subjects compared
// with the one the drawing was asked for. A corpus subject is a name, for icons followed by
// "; " and tags; only the name counts.
std::string subject_name(std::string_view subject);
// The subject_name in ASCII lower case: how names are compared.
std::string name_key(std::string_view subject);
// The name's content words: lower-case ASCII, split at anything but letters, digits and
// non-ASCII bytes, words of 3+ bytes, without function words and skin-tone modifiers (which
// hundreds of emoji names share, so they would say nothing about the shape).
std::vector<std::string> content_words(std::string_view name);
struct SubjectMatch {
    bool exact_top1 = false;  // the nearest neighbour has the subject's name
    bool exact_topk = false;  // one of the k nearest has it
    bool word_topk = false;   // one of the k nearest shares a content word with it
};
// `neighbours`: the subjects of a drawing's nearest references, nearest first.
SubjectMatch match_subject(const std::vector<std::string>& neighbours, std::string_view subject);
// The subjects the eval asks for: `count` distinct emoji names of the corpus (subjects with no
// tag list), spread evenly over it in corpus order; every subject when the corpus has no emoji.
std::vector<std::string> match_subjects(const ReferenceSet& ref, size_t count);

// The critics on one drawing text. In the subject mode with a reference, `subject_likeness`
// (1 at the subject's own training drawings, 0 at a distance of 0.3 or more; nearest_named)
// joins the total, so best-of-n prefers a candidate that looks like the thing named.
nlohmann::json paint_scores(std::string_view dsl, const PaintSpec& spec, const ReferenceSet* ref,
                            double loglik_per_token, double& total);

// The art form: request keys subject, style, palette, mood, size (PNG pixels, 16..4096),
// length (token budget, 64..4096), reference (corpus file for novelty; "" = the default if it
// exists), guidance (classifier-free guidance scale, 0..kMaxGuidance), guide ("auto", the
// default: a corpus drawing of the subject when the reference names one; "none"; or a drawing as
// SVG or DSL text; guide.h) and keep (the share of the guide's shapes kept, 0.1..0.9, default
// 0.5), plus the common keys. A guided drawing's scores name its guide and the shapes kept.
ArtResult paint(const nlohmann::json& request, Context& ctx);

// `lyra paint eval`: `count` drawings per mode with seeds 0..count-1 on one model; the share
// rsvg-convert renders, the share not blank, diversity (mean pairwise pixel distance at 32 px)
// and novelty (mean nearest distance to the reference thumbnails; null without one). With a
// reference, the subject mode also draws `count` of the corpus's own emoji names (seeds
// 0..count-1, best of `match_candidates` by the critics) and reports "subject_match": the shares
// whose nearest / 5 nearest references match their subject (match_subject), the same shares for
// a random name (each drawing checked against every other eval subject, averaged: the chance
// level), and those drawings' novelty.
struct EvalOptions {
    std::string model;
    std::vector<std::string> modes;  // empty = subject + every style
    int count = 100;
    int length = 640;
    int threads = 0;
    std::string reference;  // "" = kDefaultReference if it exists
    int match_candidates = 1;
    float temperature = 0.8f;  // of every mode's drawings
    float guidance = kDefaultGuidance;              // CFG scale of every mode's drawings; 0 = off
    std::string neutral = std::string(kNeutralSubject);  // the unconditioned subject line's text
    // Subject drawings: "auto" starts each from a corpus drawing its subject names (guide.h; for
    // the subject match never one of the subject's own name), "none" lets the model draw alone.
    std::string guide = "auto";
    double keep = kDefaultKeep;  // the share of a guide's shapes kept (kMinKeep..kMaxKeep)
};
nlohmann::json paint_eval(const EvalOptions& opt, Context& ctx);

}  // namespace lyra::art::visual
