// Path geometry shared by the rasterizer and the SVG normalizer: paths as absolute segments in
// doubles (move, line, cubic, quadratic, arc, close), the SVG arc converted to cubic Béziers,
// and 2-D affine matrices. Pure functions.
#pragma once

#include <array>
#include <functional>
#include <vector>

#include "art/visual/dsl.h"

namespace lyra::art::visual {

// One absolute segment. op: 'M' (x y), 'L' (x y), 'C' (x1 y1 x2 y2 x y), 'Q' (x1 y1 x y),
// 'A' (rx ry rotation_deg large sweep x y), 'Z'.
struct Seg {
    char op = 'M';
    std::array<double, 7> v = {};
};

// The DSL path's commands expanded to M L C Q A Z (H/V to L, S/T with reflected controls).
std::vector<Seg> expand_path(const std::vector<PathCmd>& cmds);

// Calls cubic(x1, y1, x2, y2, x, y) for each of the (at most 4) cubics approximating the SVG
// elliptical arc from (x0, y0); a degenerate arc (zero radius) is one straight cubic.
void arc_to_cubics(double x0, double y0, double rx, double ry, double rot_deg, bool large,
                   bool sweep, double x, double y,
                   const std::function<void(double, double, double, double, double, double)>& cubic);

// Affine matrix [a c e; b d f] as in SVG's matrix(a b c d e f).
struct Affine {
    double a = 1, b = 0, c = 0, d = 1, e = 0, f = 0;
    Affine then(const Affine& outer) const;  // apply *this, then outer
    void apply(double& x, double& y) const;
    bool is_identity() const;
    double det() const { return a * d - b * c; }
};

}  // namespace lyra::art::visual
