// The normalizer's round trip on a fixed sample of the icon corpora (the full corpus runs with
// `lyra paint roundtrip`): SVG -> DSL -> SVG renders within the stated pixel difference.
#include <gtest/gtest.h>

#include <cstdio>

#include "art/common/process.h"
#include "art/visual/roundtrip.h"

namespace lyra::art::visual {
namespace {

TEST(RoundTrip, SampleOfBothCorporaPasses) {
    if (find_program("rsvg-convert").empty()) GTEST_SKIP() << "rsvg-convert (librsvg2-bin) not installed";
    std::vector<std::string> sample;
    for (const char* corpus : {"twemoji", "tabler"}) {
        const auto files = corpus_svg_files(corpus);
        ASSERT_GT(files.size(), 500u) << corpus;
        // every 331st file: a fixed spread over the sorted list
        for (size_t i = 0; i < files.size(); i += 331) sample.push_back(files[i]);
    }
    RoundTripOptions opt;
    opt.rsvg_both = true;
    const RoundTripReport rep = round_trip(sample, opt);
    for (const RoundTripFile& f : rep.files) {
        if (!f.passed) std::printf("FAIL %s: %s\n", f.path.c_str(), f.reason.c_str());
    }
    std::printf("round trip sample: %d/%d passed, mean difference %.4f, cairo vs rsvg %.4f, mean DSL %.0f bytes\n",
                rep.passed, rep.total, rep.mean_distance, rep.mean_cairo_distance, rep.mean_dsl_bytes);
    EXPECT_GE(rep.share(), 0.95);
    EXPECT_LT(rep.mean_cairo_distance, 0.02);
}

}  // namespace
}  // namespace lyra::art::visual
