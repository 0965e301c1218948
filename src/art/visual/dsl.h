// The paint DSL (docs/formats/paint-dsl.md): a compact, line-based vector drawing language a
// language model writes one character at a time. A drawing is a canvas line, then one shape or
// group per line; coordinates are integers on a grid (the visible area is 0..W-1 x 0..H-1 with
// W, H <= 128); colours are palette names or hex. DSL -> SVG is exact (to_svg); the parser
// reports "paint dsl: line L, column C: ..." errors. Everything here is pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lyra::art::visual {

// Limits of the language (the parser refuses values outside them).
inline constexpr int kGrid = 128;         // the canvas is at most kGrid x kGrid units
inline constexpr int kCoordMin = -128;    // coordinates may reach past the canvas (control points)
inline constexpr int kCoordMax = 255;
inline constexpr int kMaxWidth = 64;      // stroke width
inline constexpr int kMaxDepth = 16;      // group nesting
inline constexpr int kMaxShapes = 20000;  // shapes in one drawing

struct Color {
    uint8_t r = 0, g = 0, b = 0;
    bool none = false;  // "none": nothing painted
    bool operator==(const Color&) const = default;
};

// The palette names the DSL knows, with their colours (fixed; the grammar's colour words).
struct NamedColor {
    const char* name;
    Color color;
};
const std::vector<NamedColor>& palette_colors();
// "red" / "#e02020" / "#f00" / "none" -> Color; std::nullopt when not a colour.
std::optional<Color> parse_color(std::string_view word);
// The palette name when the colour is exactly one, else "#rrggbb" (or "none").
std::string color_word(const Color& c);
std::string color_hex(const Color& c);  // "#rrggbb"; "none" for none

// Attributes a shape or group may set; unset ones are inherited (fill, stroke, width) or
// default (fill black, stroke none, width 1, opacity 100) as in SVG.
struct Style {
    std::optional<Color> fill, stroke;
    std::optional<int> width;    // stroke width, 1..kMaxWidth
    std::optional<int> opacity;  // percent 0..100; applies to the element as a whole
    bool operator==(const Style&) const = default;
};

// One path command with its integer arguments (absolute; commands M L H V C S Q T A Z).
struct PathCmd {
    char op = 'M';
    std::vector<int> args;
    bool operator==(const PathCmd&) const = default;
};

enum class ShapeKind { Path, Circle, Ellipse, Rect, Polygon, Polyline, Group };
const char* shape_kind_name(ShapeKind k);  // the DSL keyword ("g" for a group)

struct Shape {
    ShapeKind kind = ShapeKind::Path;
    std::vector<int> nums;        // circle: cx cy r; ellipse: cx cy rx ry; rect: x y w h;
                                  // polygon/polyline: x y pairs
    std::vector<PathCmd> path;    // Path only
    Style style;
    std::vector<Shape> children;  // Group only
    bool operator==(const Shape&) const = default;
};

struct Drawing {
    int width = kGrid, height = kGrid;
    std::optional<Color> background;  // unset = transparent
    std::vector<Shape> shapes;
    bool operator==(const Drawing&) const = default;
};

// Parses DSL text. Throws Error(InvalidArgument) "paint dsl: line L, column C: <problem>;
// expected <x>, got <y>" for any syntax or range error.
Drawing parse_dsl(std::string_view text);
// The canonical text of a drawing (parse_dsl(to_dsl(d)) == d). Ends with '\n'.
std::string to_dsl(const Drawing& d);
// An SVG document that draws exactly what the DSL says.
std::string to_svg(const Drawing& d);

// Shapes in the drawing, groups not counted, their members counted.
int count_shapes(const Drawing& d);

}  // namespace lyra::art::visual
