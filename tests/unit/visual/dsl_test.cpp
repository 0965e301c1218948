// The paint DSL: parse/print round trip, exact SVG, line:column errors.
#include <gtest/gtest.h>

#include "art/visual/dsl.h"
#include "core/error.h"

namespace lyra::art::visual {
namespace {

const char* kSample =
    "canvas 128 96 cream\n"
    "rect 0 0 64 48 f red s black w 3\n"
    "g f blue o 50\n"
    "circle 64 48 20\n"
    "path M10 10 L20 20 H30 V40 C1 2 3 4 5 6 S7 8 9 10 Q11 12 13 14 T15 16 A5 6 30 1 0 17 18 Z s #123456\n"
    "end\n"
    "polygon 1 2 3 4 5 6 f none s white\n"
    "polyline 0 0 127 127 f #abc w 2\n"
    "ellipse 10 20 30 40 o 0\n";

std::string error_of(std::string_view text) {
    try {
        parse_dsl(text);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
        return e.what();
    }
    return "no error";
}

TEST(PaintDsl, ParsePrintRoundTrip) {
    const Drawing d = parse_dsl(kSample);
    EXPECT_EQ(d.width, 128);
    EXPECT_EQ(d.height, 96);
    ASSERT_EQ(d.shapes.size(), 5u);
    EXPECT_EQ(d.shapes[1].kind, ShapeKind::Group);
    EXPECT_EQ(d.shapes[1].children.size(), 2u);
    EXPECT_EQ(d.shapes[1].children[1].path.size(), 10u);
    EXPECT_EQ(count_shapes(d), 6);
    const std::string text = to_dsl(d);
    EXPECT_EQ(parse_dsl(text), d);
    // "#abc" is printed in its long form; everything else is already canonical
    std::string expected = kSample;
    expected.replace(expected.find("#abc"), 4, "#aabbcc");
    EXPECT_EQ(text, expected);
}

TEST(PaintDsl, SvgIsExact) {
    const std::string svg = to_svg(parse_dsl(kSample));
    EXPECT_NE(svg.find("viewBox=\"0 0 128 96\""), std::string::npos);
    EXPECT_NE(svg.find("<rect width=\"128\" height=\"96\" fill=\"#f4ecd8\"/>"), std::string::npos);
    EXPECT_NE(svg.find("<rect x=\"0\" y=\"0\" width=\"64\" height=\"48\" fill=\"#e02020\" stroke=\"#000000\" stroke-width=\"3\"/>"), std::string::npos);
    EXPECT_NE(svg.find("<g fill=\"#2060d0\" opacity=\"0.5\">"), std::string::npos);
    EXPECT_NE(svg.find("d=\"M10 10 L20 20 H30 V40 C1 2 3 4 5 6 S7 8 9 10 Q11 12 13 14 T15 16 A5 6 30 1 0 17 18 Z\""), std::string::npos);
    EXPECT_NE(svg.find("<polygon points=\"1,2 3,4 5,6\" fill=\"none\" stroke=\"#ffffff\"/>"), std::string::npos);
    EXPECT_NE(svg.find("opacity=\"0\""), std::string::npos);
}

TEST(PaintDsl, Colours) {
    EXPECT_EQ(color_word(*parse_color("#e02020")), "red");
    EXPECT_EQ(color_word(*parse_color("#f00")), "#ff0000");
    EXPECT_TRUE(parse_color("none")->none);
    EXPECT_FALSE(parse_color("#12345").has_value());
    EXPECT_FALSE(parse_color("#ggg").has_value());
    EXPECT_FALSE(parse_color("crimson").has_value());
}

TEST(PaintDsl, ErrorsNameLineAndColumn) {
    EXPECT_EQ(error_of(""), "paint dsl: line 1, column 1: no canvas line; expected 'canvas W H [colour]', got empty text");
    EXPECT_EQ(error_of("circle 1 2 3\n"),
              "paint dsl: line 1, column 1: the first line must be the canvas; expected 'canvas W H [colour]', got 'circle'");
    EXPECT_EQ(error_of("canvas 128 128\nstar 1 2\n"),
              "paint dsl: line 2, column 1: unknown shape; expected canvas, path, circle, ellipse, rect, polygon, polyline, g or end, got 'star'");
    EXPECT_EQ(error_of("canvas 128 128\ncircle 1 2 x\n"),
              "paint dsl: line 2, column 12: radius is not an integer; expected an integer, got 'x'");
    EXPECT_EQ(error_of("canvas 128 128\ncircle 1 999 3\n"),
              "paint dsl: line 2, column 10: coordinate out of range; expected -128..255, got '999'");
    EXPECT_EQ(error_of("canvas 129 128\n"), "paint dsl: line 1, column 8: canvas width out of range; expected 1..128, got '129'");
    EXPECT_EQ(error_of("canvas 128 128\ncircle 1 2\n"),
              "paint dsl: line 2, column 11: the line ends early; expected more values, got the end of the line");
    EXPECT_EQ(error_of("canvas 128 128\ncircle 1 2 3 f mauve\n"),
              "paint dsl: line 2, column 16: unknown colour; expected a palette name (red, blue, ...), #rgb, #rrggbb or none, got 'mauve'");
    EXPECT_EQ(error_of("canvas 128 128\npath L1 2\n"),
              "paint dsl: line 2, column 6: a path must start with M; expected 'M', got 'L1'");
    EXPECT_EQ(error_of("canvas 128 128\npath M1 2 L3\n"),
              "paint dsl: line 2, column 13: the line ends early; expected more values, got the end of the line");
    EXPECT_EQ(error_of("canvas 128 128\npath M1 2 A1 1 0 2 0 5 5\n"),
              "paint dsl: line 2, column 18: arc flag out of range; expected 0..1, got '2'");
    EXPECT_EQ(error_of("canvas 128 128\ng\ncircle 1 2 3\n"),
              "paint dsl: line 4: a group is not closed; expected 'end', got the end of the text");
    EXPECT_EQ(error_of("canvas 128 128\nend\n"),
              "paint dsl: line 2, column 1: 'end' without an open group; expected a shape, got 'end'");
    EXPECT_EQ(error_of("canvas 128 128\ncircle 1 2 3 w 2 w 3\n"),
              "paint dsl: line 2, column 18: attribute given twice; expected each attribute once, got 'w'");
    EXPECT_EQ(error_of("canvas 128 128\npolygon 1 2 3\n"),
              "paint dsl: line 2, column 1: polygon needs x y pairs; expected at least two points, got 3 values");
    EXPECT_EQ(error_of("canvas 128 128\ncircle 1 2 99999999999999\n"),
              "paint dsl: line 2, column 12: radius out of range; expected 0..255, got '99999999999999'");
}

TEST(PaintDsl, GroupsNestOnlySoDeep) {
    std::string text = "canvas 128 128\n";
    for (int i = 0; i <= kMaxDepth; ++i) text += "g\n";
    EXPECT_NE(error_of(text).find("groups nested too deep"), std::string::npos);
}

}  // namespace
}  // namespace lyra::art::visual
