// SVG -> paint DSL normalizer for real-world files (emoji and icon sets): parses path data
// (absolute and relative, implicit repeats, packed arc flags), the basic shapes, nested
// transforms (flattened into the coordinates), presentation attributes, style attributes and
// <style> class/tag/id rules, <use>/<defs>/<symbol>, and approximates gradients by the mean of
// their stops. Everything is scaled onto the DSL grid and rounded to integers. What cannot be
// represented (text, images, clip paths, masks, filters, patterns, ...) is dropped and listed in
// the result, as are approximations. Robust to malformed input: bad path data is drawn up to the
// error (as browsers do), NaN and infinite numbers drop their element, huge ones are clamped.
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "art/visual/dsl.h"

namespace lyra::art::visual {

struct NormalizeResult {
    Drawing drawing;
    // One entry per kind of loss, with a count: "dropped 2 <text> elements",
    // "approximated 1 gradient by a solid colour", ...
    std::vector<std::string> notes;
};

// Throws Error(Corrupt) "svg: ..." when the text is not XML or its root is not <svg>, and
// Error(InvalidArgument) when the document has no usable size (no viewBox, width or height).
NormalizeResult normalize_svg(std::string_view svg);

}  // namespace lyra::art::visual
