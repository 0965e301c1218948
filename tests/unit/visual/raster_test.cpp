// The Cairo rasterizer, PNG round trip and the pixel measures.
#include <gtest/gtest.h>

#include "art/visual/dsl.h"
#include "art/visual/raster.h"
#include "core/error.h"

namespace lyra::art::visual {
namespace {

TEST(Raster, RendersAtAnySize) {
    const Drawing d = parse_dsl("canvas 128 64 white\nrect 0 0 64 64 f red\n");
    const Image img = render(d, 200);
    EXPECT_EQ(img.width, 200);
    EXPECT_EQ(img.height, 100);
    // left half red, right half white
    const uint8_t* left = &img.rgb[(50 * 200 + 20) * 3];
    const uint8_t* right = &img.rgb[(50 * 200 + 180) * 3];
    EXPECT_EQ(left[0], 0xe0);
    EXPECT_EQ(left[1], 0x20);
    EXPECT_EQ(right[0], 255);
    EXPECT_NEAR(ink_fraction(img), 0.5, 0.01);
    EXPECT_THROW(render(d, 0), Error);
}

TEST(Raster, BlankAndColourMeasures) {
    const Image blank = render(parse_dsl("canvas 128 128 blue\n"), 64);
    EXPECT_EQ(ink_fraction(blank), 0);
    EXPECT_EQ(colour_count(blank), 1);
    const Image two = render(parse_dsl("canvas 128 128\ncircle 64 64 40 f red\ncircle 20 20 10 f green\n"), 64);
    EXPECT_GT(ink_fraction(two), 0.2);
    EXPECT_GE(colour_count(two), 3);  // white, red, green (+ anti-aliased edge shades)
    EXPECT_LE(colour_count(two), 5);
    EXPECT_GT(balance(two), 0.8);
    const Image corner = render(parse_dsl("canvas 128 128\nrect 0 0 10 10\n"), 64);
    EXPECT_LT(balance(corner), 0.2);
}

TEST(Raster, OpacityAndStrokes) {
    const Image img = render(parse_dsl("canvas 128 128\nrect 0 0 128 128 f black o 50\n"), 8);
    EXPECT_NEAR(img.rgb[0], 128, 2);
    const Image stroked = render(parse_dsl("canvas 128 128\npath M0 64 H128 f none s black w 16\n"), 128);
    EXPECT_EQ(stroked.rgb[(64 * 128 + 64) * 3], 0);
    EXPECT_EQ(stroked.rgb[(10 * 128 + 64) * 3], 255);
}

TEST(Raster, PngRoundTripAndContactSheet) {
    const Image img = render(parse_dsl("canvas 128 128\ncircle 64 64 30 f teal\n"), 48);
    const std::string png = encode_png(img);
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png.substr(1, 3), "PNG");
    const Image back = decode_png(png);
    EXPECT_EQ(back.width, 48);
    EXPECT_EQ(pixel_distance(img, back), 0);
    EXPECT_THROW(decode_png("not a png"), Error);
    const Image sheet = contact_sheet({img, img, img}, 2, 4);
    EXPECT_EQ(sheet.width, 4 + 2 * (48 + 4));
    EXPECT_EQ(sheet.height, 4 + 2 * (48 + 4));
}

}  // namespace
}  // namespace lyra::art::visual
