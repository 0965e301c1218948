// libFuzzer target for the ABC parser (src/art/music/abc.h) and the meter engine behind it:
// any bytes must either parse or fail with lyra::Error (never crash, hang or leak), and every
// tune that parses, strict or lenient, must survive write -> parse unchanged (the round trip of
// tests/fixtures/abc_round_trip.h, which the unit tests check on the corpora and fuzz findings).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "art/music/abc.h"
#include "art/music/meter.h"
#include "core/error.h"
#include "fixtures/abc_round_trip.h"

namespace music = lyra::art::music;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 1 << 16) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::string problem = lyra::test::abc_round_trip_problem(text, [](const music::Tune& t) {
        try {
            music::check_meter(t);
            music::perform(t);
        } catch (const lyra::Error&) {
            // an unknown key or meter value: reported, not a crash
        }
    });
    if (!problem.empty()) {
        std::fprintf(stderr, "fuzz_abc: the round trip failed: %s\n", problem.c_str());
        std::abort();
    }
    return 0;
}
