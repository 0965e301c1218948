// The normalizer's round trip over the icon corpora (issue #7's proof): each SVG file is
// rendered by rsvg-convert as it is, and again after SVG -> DSL (by rsvg-convert from the DSL's
// SVG, or by our Cairo rasterizer, which matches it); a file passes when the
// two renders' mean absolute pixel difference (RGB over white, 0..1) is at most the threshold.
// Files the normalizer refuses, or rsvg-convert cannot render in the original, fail with the
// reason. Also measures this module's Cairo rasterizer against rsvg-convert on the DSL's SVG.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lyra::art::visual {

// The SVG files of a corpus: "twemoji" (npm @twemoji/svg), "tabler" (npm @tabler/icons, outline
// and filled) or "all"; sorted by path. Throws Error(InvalidArgument) for another name and
// Error(NotFound) when the package is not installed.
std::vector<std::string> corpus_svg_files(std::string_view corpus);

struct RoundTripOptions {
    int px = 64;              // render size
    double threshold = 0.03;  // pass when the mean absolute difference is at most this
    int threads = 2;
    // true: the DSL side is rendered by rsvg-convert from to_svg() too (and our Cairo render is
    // compared with it); false: the DSL side is our Cairo render (half the rsvg-convert runs).
    bool rsvg_both = false;
};

struct RoundTripFile {
    std::string path;
    bool passed = false;
    double distance = 1;        // rsvg(original) vs rsvg(DSL's SVG)
    double cairo_distance = -1;  // rsvg(DSL's SVG) vs our Cairo render of the DSL; -1 if n/a
    std::string reason;          // why it failed
    int dsl_bytes = 0;
};

struct RoundTripReport {
    int total = 0, passed = 0;
    double mean_distance = 0, mean_cairo_distance = 0, mean_dsl_bytes = 0;
    std::vector<RoundTripFile> files;  // in input order
    double share() const { return total > 0 ? static_cast<double>(passed) / total : 0; }
};

// Needs rsvg-convert (Debian librsvg2-bin; Error(NotFound) otherwise).
RoundTripReport round_trip(const std::vector<std::string>& files, const RoundTripOptions& opt);

// One file's round trip (the unit of round_trip()).
RoundTripFile round_trip_file(const std::string& path, const RoundTripOptions& opt);

// rsvg-convert's render of an SVG document, px wide, over white. Throws Error(Corrupt) with
// rsvg-convert's message when it refuses the document.
struct Image;
Image rsvg_render(std::string_view svg, int px);

}  // namespace lyra::art::visual
