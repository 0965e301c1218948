// libFuzzer target for the SVG normalizer and the paint DSL parser: arbitrary bytes as an SVG
// document and as DSL text. Each is either accepted or refused with lyra::Error; whatever the
// normalizer accepts must print as DSL that parses back to the same drawing and renders. Any
// other outcome — a crash, a hang, a sanitizer report, another exception type — is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "art/visual/dsl.h"
#include "art/visual/raster.h"
#include "art/visual/svg_import.h"
#include "core/error.h"

// libFuzzer's entry point (declared here for -Wmissing-prototypes).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace v = lyra::art::visual;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const v::NormalizeResult r = v::normalize_svg(text);
        const std::string dsl = v::to_dsl(r.drawing);
        const v::Drawing back = v::parse_dsl(dsl);  // must not throw: the printer writes valid DSL
        if (!(back == r.drawing)) std::abort();
        (void)v::render(back, 16);
    } catch (const lyra::Error&) {
    }
    try {
        const v::Drawing d = v::parse_dsl(text);
        if (!(v::parse_dsl(v::to_dsl(d)) == d)) std::abort();
        (void)v::to_svg(d);
        (void)v::render(d, 8);
    } catch (const lyra::Error&) {
    }
    return 0;
}
