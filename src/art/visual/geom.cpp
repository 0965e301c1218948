// Path geometry (geom.h). The arc conversion follows the SVG 1.1 implementation notes (F.6.5:
// endpoint to centre parameterisation), then splits the sweep into <= 90 degree pieces.
#include "art/visual/geom.h"

#include <algorithm>
#include <cmath>

namespace lyra::art::visual {

std::vector<Seg> expand_path(const std::vector<PathCmd>& cmds) {
    std::vector<Seg> out;
    double cx = 0, cy = 0, sx = 0, sy = 0;
    double last_c2x = 0, last_c2y = 0, last_qx = 0, last_qy = 0;
    char prev = 0;
    for (const PathCmd& c : cmds) {
        const auto& a = c.args;
        auto v = [&](size_t i) { return static_cast<double>(a[i]); };
        Seg s;
        switch (c.op) {
            case 'M':
                s = {'M', {v(0), v(1)}};
                cx = sx = v(0);
                cy = sy = v(1);
                break;
            case 'L': s = {'L', {v(0), v(1)}}; cx = v(0); cy = v(1); break;
            case 'H': s = {'L', {v(0), cy}}; cx = v(0); break;
            case 'V': s = {'L', {cx, v(0)}}; cy = v(0); break;
            case 'C':
                s = {'C', {v(0), v(1), v(2), v(3), v(4), v(5)}};
                last_c2x = v(2); last_c2y = v(3); cx = v(4); cy = v(5);
                break;
            case 'S': {
                double x1 = cx, y1 = cy;
                if (prev == 'C' || prev == 'S') { x1 = 2 * cx - last_c2x; y1 = 2 * cy - last_c2y; }
                s = {'C', {x1, y1, v(0), v(1), v(2), v(3)}};
                last_c2x = v(0); last_c2y = v(1); cx = v(2); cy = v(3);
                break;
            }
            case 'Q':
                s = {'Q', {v(0), v(1), v(2), v(3)}};
                last_qx = v(0); last_qy = v(1); cx = v(2); cy = v(3);
                break;
            case 'T': {
                double x1 = cx, y1 = cy;
                if (prev == 'Q' || prev == 'T') { x1 = 2 * cx - last_qx; y1 = 2 * cy - last_qy; }
                s = {'Q', {x1, y1, v(0), v(1)}};
                last_qx = x1; last_qy = y1; cx = v(0); cy = v(1);
                break;
            }
            case 'A':
                s = {'A', {v(0), v(1), v(2), v(3), v(4), v(5), v(6)}};
                cx = v(5); cy = v(6);
                break;
            case 'Z':
                s = {'Z', {}};
                cx = sx; cy = sy;
                break;
            default: continue;
        }
        prev = c.op;
        out.push_back(s);
    }
    return out;
}

void arc_to_cubics(double x0, double y0, double rx, double ry, double rot_deg, bool large,
                   bool sweep, double x, double y,
                   const std::function<void(double, double, double, double, double, double)>& cubic) {
    rx = std::fabs(rx);
    ry = std::fabs(ry);
    if ((x0 == x && y0 == y)) return;
    if (rx < 1e-9 || ry < 1e-9) {
        cubic(x0, y0, x, y, x, y);
        return;
    }
    const double phi = rot_deg * M_PI / 180.0;
    const double cp = std::cos(phi), sp = std::sin(phi);
    const double dx = (x0 - x) / 2, dy = (y0 - y) / 2;
    const double x1p = cp * dx + sp * dy, y1p = -sp * dx + cp * dy;
    const double lambda = (x1p * x1p) / (rx * rx) + (y1p * y1p) / (ry * ry);
    if (lambda > 1) {
        const double s = std::sqrt(lambda);
        rx *= s;
        ry *= s;
    }
    const double num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p;
    const double den = rx * rx * y1p * y1p + ry * ry * x1p * x1p;
    double coef = den > 0 ? std::sqrt(std::max(0.0, num / den)) : 0;
    if (large == sweep) coef = -coef;
    const double cxp = coef * rx * y1p / ry, cyp = -coef * ry * x1p / rx;
    const double ccx = cp * cxp - sp * cyp + (x0 + x) / 2;
    const double ccy = sp * cxp + cp * cyp + (y0 + y) / 2;
    auto angle = [](double ux, double uy, double vx, double vy) {
        return std::atan2(ux * vy - uy * vx, ux * vx + uy * vy);
    };
    const double ux = (x1p - cxp) / rx, uy = (y1p - cyp) / ry;
    const double vx = (-x1p - cxp) / rx, vy = (-y1p - cyp) / ry;
    const double theta1 = angle(1, 0, ux, uy);
    double dtheta = angle(ux, uy, vx, vy);
    if (!sweep && dtheta > 0) dtheta -= 2 * M_PI;
    if (sweep && dtheta < 0) dtheta += 2 * M_PI;
    if (!std::isfinite(dtheta) || !std::isfinite(theta1)) {
        cubic(x0, y0, x, y, x, y);
        return;
    }
    const int n = std::max(1, static_cast<int>(std::ceil(std::fabs(dtheta) / (M_PI / 2) - 1e-9)));
    const double step = dtheta / n;
    const double k = 4.0 / 3.0 * std::tan(step / 4);
    auto point = [&](double t, double& px, double& py, double& tx, double& ty) {
        const double ct = std::cos(t), st = std::sin(t);
        px = ccx + rx * ct * cp - ry * st * sp;
        py = ccy + rx * ct * sp + ry * st * cp;
        tx = -rx * st * cp - ry * ct * sp;  // derivative
        ty = -rx * st * sp + ry * ct * cp;
    };
    double t = theta1;
    double px, py, tx, ty;
    point(t, px, py, tx, ty);
    for (int i = 0; i < n; ++i) {
        const double t2 = t + step;
        double qx, qy, qtx, qty;
        point(t2, qx, qy, qtx, qty);
        if (i == n - 1) { qx = x; qy = y; }
        cubic(px + k * tx, py + k * ty, qx - k * qtx, qy - k * qty, qx, qy);
        px = qx; py = qy; tx = qtx; ty = qty;
        t = t2;
    }
}

Affine Affine::then(const Affine& o) const {
    return Affine{o.a * a + o.c * b, o.b * a + o.d * b, o.a * c + o.c * d,
                  o.b * c + o.d * d, o.a * e + o.c * f + o.e, o.b * e + o.d * f + o.f};
}

void Affine::apply(double& x, double& y) const {
    const double nx = a * x + c * y + e;
    const double ny = b * x + d * y + f;
    x = nx;
    y = ny;
}

bool Affine::is_identity() const {
    return a == 1 && b == 0 && c == 0 && d == 1 && e == 0 && f == 0;
}

}  // namespace lyra::art::visual
