// libFuzzer target for the ABC parser (src/art/music/abc.h) and the meter engine behind it:
// any bytes must either parse or fail with lyra::Error (never crash, hang or leak), and every
// tune that parses must survive write -> parse unchanged (the round-trip property the unit test
// checks on the corpora). Both the strict and the lenient parser run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "art/music/abc.h"
#include "art/music/meter.h"
#include "core/error.h"

namespace music = lyra::art::music;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 1 << 16) return 0;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (bool strict : {true, false}) {
        std::vector<music::Tune> tunes;
        try {
            tunes = music::parse_abc(text, "fuzz", strict);
        } catch (const lyra::Error&) {
            continue;
        }
        for (const music::Tune& t : tunes) {
            std::string written = music::write_abc(t);
            std::vector<music::Tune> again = music::parse_abc(written, "written", true);
            if (again.size() != 1 || !(again[0] == t)) std::abort();  // the writer's output must reparse
            try {
                music::check_meter(t);
                music::perform(t);
            } catch (const lyra::Error&) {
                // an unknown key or meter value: reported, not a crash
            }
        }
    }
    return 0;
}
