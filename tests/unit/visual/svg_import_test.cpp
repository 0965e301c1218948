// The SVG normalizer on hand-written documents: path syntax, shapes, transforms, CSS, <use>,
// gradients, losses reported, and malformed input.
#include <gtest/gtest.h>

#include <limits>

#include "art/visual/dsl.h"
#include "art/visual/raster.h"
#include "art/visual/svg_import.h"
#include "core/error.h"

namespace lyra::art::visual {
namespace {

std::string dsl_of(const std::string& body, const std::string& view = "0 0 128 128") {
    return to_dsl(normalize_svg("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"" + view + "\">" + body + "</svg>").drawing);
}

std::string notes_of(const std::string& body) {
    std::string all;
    for (const auto& n : normalize_svg("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 128 128\">" + body + "</svg>").notes) all += n + "\n";
    return all;
}

TEST(SvgImport, PathSyntaxRelativeImplicitAndArcs) {
    // relative moveto with implicit lineto repeats, packed numbers, compact arc flags
    EXPECT_EQ(dsl_of("<path d='m10 10 20 0 0 20-20 0z'/>"), "canvas 128 128\npath M10 10 H30 V30 H10 Z\n");
    EXPECT_EQ(dsl_of("<path d='M10,10L20.4,30.6l.5.5'/>"), "canvas 128 128\npath M10 10 L20 31 H21\n");
    EXPECT_EQ(dsl_of("<path d='M10 10a5 5 0 014 3'/>"), "canvas 128 128\npath M10 10 A5 5 0 0 1 14 13\n");
    // an arc whose chord is near its diameter becomes curves (rounding would move its centre)
    EXPECT_EQ(dsl_of("<path d='M10 10a5 5 0 1110 0'/>").find(" A"), std::string::npos);
    EXPECT_EQ(dsl_of("<path d='M0 0c1 2 3 4 5 6s1 1 2 2'/>"), "canvas 128 128\npath M0 0 C1 2 3 4 5 6 C7 8 6 7 7 8\n");
    EXPECT_EQ(dsl_of("<path d='M0 0q10 10 20 0t20 0'/>"), "canvas 128 128\npath M0 0 Q10 10 20 0 Q30 -10 40 0\n");
}

TEST(SvgImport, ScalesTheViewBoxOntoTheGrid) {
    EXPECT_EQ(dsl_of("<circle cx='18' cy='18' r='9' fill='#f00'/>", "0 0 36 36"), "canvas 128 128\ncircle 64 64 32 f #ff0000\n");
    // whole-unit frames get a whole-number scale (24 -> 120) when it keeps 90% of the grid
    EXPECT_EQ(dsl_of("<rect x='0' y='0' width='24' height='12'/>", "0 0 24 12"), "canvas 120 60\nrect 0 0 120 60\n");
}

TEST(SvgImport, FlattensNestedTransforms) {
    EXPECT_EQ(dsl_of("<g transform='translate(10 20)'><g transform='scale(2)'><circle cx='5' cy='5' r='3'/></g></g>"),
              "canvas 128 128\ncircle 20 30 6\n");
    // a rotated rectangle becomes a path
    EXPECT_EQ(dsl_of("<rect x='0' y='0' width='10' height='10' transform='rotate(90)'/>"),
              "canvas 128 128\npath M0 0 V10 H-10 V0 Z\n");
    // non-uniform scale turns a circle into an ellipse
    EXPECT_EQ(dsl_of("<circle cx='10' cy='10' r='5' transform='scale(2 1)'/>"), "canvas 128 128\nellipse 20 10 10 5\n");
}

TEST(SvgImport, StylesClassesAndInheritance) {
    const std::string body =
        "<style>.a{fill:#0f0} circle{stroke:blue} #x{fill:#00f}</style>"
        "<g fill='red' stroke-width='3'><rect class='a' width='5' height='5' stroke='black'/>"
        "<circle id='x' cx='1' cy='1' r='1' style='stroke:none'/><path d='M0 0H9' fill='none' stroke='currentColor'/></g>";
    EXPECT_EQ(dsl_of(body),
              "canvas 128 128\n"
              "rect 0 0 5 5 f #00ff00 s black w 3\n"
              "circle 1 1 1 f #0000ff\n"
              "path M0 0 H9 f none s black w 3\n");
}

TEST(SvgImport, UseDefsAndGradients) {
    const std::string body =
        "<defs><linearGradient id='g'><stop offset='0' stop-color='#000'/><stop offset='1' stop-color='#fff'/></linearGradient>"
        "<circle id='c' cx='0' cy='0' r='4'/></defs>"
        "<use href='#c' x='10' y='10'/><rect width='2' height='2' fill='url(#g)'/><use href='#nothing'/>";
    EXPECT_EQ(dsl_of(body), "canvas 128 128\ncircle 10 10 4\nrect 0 0 2 2 f gray\n");
    const std::string notes = notes_of(body);
    EXPECT_NE(notes.find("approximated gradients by the mean of their stops (1x)"), std::string::npos) << notes;
    EXPECT_NE(notes.find("dropped <use> elements with missing references (1x)"), std::string::npos) << notes;
}

TEST(SvgImport, ReportsWhatItDrops) {
    const std::string notes = notes_of(
        "<text x='1' y='1'>hi</text><image href='x.png'/><circle cx='1' cy='1' r='1' clip-path='url(#k)'/>"
        "<path d='M0 0 L5 5 X 9 9'/>");
    EXPECT_NE(notes.find("dropped <text> elements (1x)"), std::string::npos) << notes;
    EXPECT_NE(notes.find("dropped <image> elements (1x)"), std::string::npos) << notes;
    EXPECT_NE(notes.find("dropped clip paths (1x)"), std::string::npos) << notes;
    EXPECT_NE(notes.find("drew path data only up to its first error (1x)"), std::string::npos) << notes;
}

TEST(SvgImport, OpacityBecomesAGroupOrAnAttribute) {
    EXPECT_EQ(dsl_of("<circle cx='5' cy='5' r='5' opacity='.5'/>"), "canvas 128 128\ncircle 5 5 5 o 50\n");
    EXPECT_EQ(dsl_of("<g opacity='0.25'><circle cx='5' cy='5' r='5'/><circle cx='9' cy='5' r='5'/></g>"),
              "canvas 128 128\ng o 25\ncircle 5 5 5\ncircle 9 5 5\nend\n");
}

TEST(SvgImport, HugeAndNonFiniteNumbers) {
    // NaN and out-of-range exponents are not numbers: the path stops there
    EXPECT_EQ(dsl_of("<path d='M0 0 L10 10 L NaN 5'/>"), "canvas 128 128\npath M0 0 L10 10\n");
    EXPECT_EQ(dsl_of("<path d='M0 0 L1e999 5'/>"), "canvas 128 128\n");
    // huge finite coordinates are clamped to the DSL's range
    EXPECT_EQ(dsl_of("<path d='M0 0 L1e300 -1e300'/>"), "canvas 128 128\npath M0 0 L255 -128\n");
    EXPECT_EQ(dsl_of("<circle cx='nan' cy='1' r='1'/>"), "canvas 128 128\n");
    // the output always parses
    for (const char* d : {"M1e308 1e308 A1e308 1e308 1e308 1 1 -1e308 5", "M0 0 A0 0 0 0 0 0 0", "M 5 5 Z Z Z L"}) {
        EXPECT_NO_THROW(parse_dsl(dsl_of(std::string("<path d='") + d + "'/>"))) << d;
    }
}

TEST(SvgImport, MalformedDocuments) {
    auto kind_of = [](std::string_view svg) {
        try {
            normalize_svg(svg);
        } catch (const Error& e) {
            return std::string(error_kind_name(e.kind())) + ": " + e.what();
        }
        return std::string("no error");
    };
    EXPECT_NE(kind_of("<svg><path d='M0 0'").find("svg: not well-formed XML at byte"), std::string::npos);
    EXPECT_NE(kind_of("").find("svg: "), std::string::npos);
    EXPECT_NE(kind_of("<html/>").find("svg: wrong root element; expected <svg>, got <html>"), std::string::npos);
    EXPECT_NE(kind_of("<svg/>").find("svg: no usable size"), std::string::npos);
    EXPECT_NE(kind_of("<svg viewBox='0 0 1e300 1e300'/>").find("viewBox out of range"), std::string::npos);
    // self-referencing <use> ends
    const auto r = normalize_svg("<svg viewBox='0 0 10 10'><g id='a'><use href='#a'/><circle cx='1' cy='1' r='1'/></g></svg>");
    EXPECT_GE(count_shapes(r.drawing), 1);
}

}  // namespace
}  // namespace lyra::art::visual
