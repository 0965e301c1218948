// Cairo rasterizer and pixel measures (raster.h).
#include "art/visual/raster.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include <cairo.h>

#include "art/visual/geom.h"
#include "core/error.h"

namespace lyra::art::visual {

namespace {

struct SurfaceDeleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
    void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using ContextPtr = std::unique_ptr<cairo_t, ContextDeleter>;

struct Resolved {
    Color fill{0, 0, 0, false};
    Color stroke{0, 0, 0, true};
    int width = 1;
};

Resolved inherit(const Resolved& parent, const Style& st) {
    Resolved r = parent;
    if (st.fill) r.fill = *st.fill;
    if (st.stroke) r.stroke = *st.stroke;
    if (st.width) r.width = *st.width;
    return r;
}

void set_color(cairo_t* cr, const Color& c) {
    cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0);
}

// Builds the shape's outline as the current path; false when SVG would draw nothing.
bool build_path(cairo_t* cr, const Shape& s) {
    const auto& n = s.nums;
    cairo_new_path(cr);
    switch (s.kind) {
        case ShapeKind::Circle:
            if (n[2] <= 0) return false;
            cairo_new_sub_path(cr);
            cairo_arc(cr, n[0], n[1], n[2], 0, 2 * M_PI);
            cairo_close_path(cr);
            return true;
        case ShapeKind::Ellipse: {
            if (n[2] <= 0 || n[3] <= 0) return false;
            cairo_save(cr);
            cairo_translate(cr, n[0], n[1]);
            cairo_scale(cr, n[2], n[3]);
            cairo_new_sub_path(cr);
            cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
            cairo_close_path(cr);
            cairo_restore(cr);
            return true;
        }
        case ShapeKind::Rect:
            if (n[2] <= 0 || n[3] <= 0) return false;
            cairo_rectangle(cr, n[0], n[1], n[2], n[3]);
            return true;
        case ShapeKind::Polygon:
        case ShapeKind::Polyline:
            cairo_move_to(cr, n[0], n[1]);
            for (size_t k = 2; k + 1 < n.size(); k += 2) cairo_line_to(cr, n[k], n[k + 1]);
            if (s.kind == ShapeKind::Polygon) cairo_close_path(cr);
            return true;
        case ShapeKind::Path: {
            for (const Seg& g : expand_path(s.path)) {
                const auto& v = g.v;
                switch (g.op) {
                    case 'M': cairo_move_to(cr, v[0], v[1]); break;
                    case 'L': cairo_line_to(cr, v[0], v[1]); break;
                    case 'C': cairo_curve_to(cr, v[0], v[1], v[2], v[3], v[4], v[5]); break;
                    case 'Q': {
                        double x0 = 0, y0 = 0;
                        cairo_get_current_point(cr, &x0, &y0);
                        cairo_curve_to(cr, x0 + 2.0 / 3 * (v[0] - x0), y0 + 2.0 / 3 * (v[1] - y0),
                                       v[2] + 2.0 / 3 * (v[0] - v[2]), v[3] + 2.0 / 3 * (v[1] - v[3]),
                                       v[2], v[3]);
                        break;
                    }
                    case 'A': {
                        double x0 = 0, y0 = 0;
                        cairo_get_current_point(cr, &x0, &y0);
                        arc_to_cubics(x0, y0, v[0], v[1], v[2], v[3] != 0, v[4] != 0, v[5], v[6],
                                      [&](double a, double b, double c, double d, double e, double f) {
                                          cairo_curve_to(cr, a, b, c, d, e, f);
                                      });
                        break;
                    }
                    case 'Z': cairo_close_path(cr); break;
                    default: break;
                }
            }
            return true;
        }
        case ShapeKind::Group: return false;
    }
    return false;
}

void draw_shapes(cairo_t* cr, const std::vector<Shape>& shapes, const Resolved& parent);

void draw_shape(cairo_t* cr, const Shape& s, const Resolved& parent) {
    const Resolved r = inherit(parent, s.style);
    const int opacity = s.style.opacity.value_or(100);
    if (opacity <= 0) return;
    const bool grouped = opacity < 100;
    if (grouped) cairo_push_group(cr);
    if (s.kind == ShapeKind::Group) {
        draw_shapes(cr, s.children, r);
    } else if (build_path(cr, s)) {
        if (!r.fill.none) {
            set_color(cr, r.fill);
            cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
            cairo_fill_preserve(cr);
        }
        if (!r.stroke.none && r.width > 0) {
            set_color(cr, r.stroke);
            cairo_set_line_width(cr, r.width);
            cairo_stroke_preserve(cr);
        }
        cairo_new_path(cr);
    }
    if (grouped) {
        cairo_pop_group_to_source(cr);
        cairo_paint_with_alpha(cr, opacity / 100.0);
    }
}

void draw_shapes(cairo_t* cr, const std::vector<Shape>& shapes, const Resolved& parent) {
    for (const Shape& s : shapes) draw_shape(cr, s, parent);
}

Image from_surface(cairo_surface_t* surf) {
    cairo_surface_flush(surf);
    Image img;
    img.width = cairo_image_surface_get_width(surf);
    img.height = cairo_image_surface_get_height(surf);
    const int stride = cairo_image_surface_get_stride(surf);
    const unsigned char* data = cairo_image_surface_get_data(surf);
    const cairo_format_t fmt = cairo_image_surface_get_format(surf);
    img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            uint32_t px = 0;
            std::memcpy(&px, data + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * 4, 4);
            const uint32_t a = fmt == CAIRO_FORMAT_RGB24 ? 255 : px >> 24;
            // premultiplied over white
            const uint32_t r = ((px >> 16) & 0xff) + (255 - a);
            const uint32_t g = ((px >> 8) & 0xff) + (255 - a);
            const uint32_t b = (px & 0xff) + (255 - a);
            uint8_t* o = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
            o[0] = static_cast<uint8_t>(std::min<uint32_t>(r, 255));
            o[1] = static_cast<uint8_t>(std::min<uint32_t>(g, 255));
            o[2] = static_cast<uint8_t>(std::min<uint32_t>(b, 255));
        }
    }
    return img;
}

cairo_status_t write_png_chunk(void* closure, const unsigned char* data, unsigned int len) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), len);
    return CAIRO_STATUS_SUCCESS;
}

struct ReadState {
    std::string_view bytes;
    size_t pos = 0;
};

cairo_status_t read_png_chunk(void* closure, unsigned char* data, unsigned int len) {
    auto* st = static_cast<ReadState*>(closure);
    if (st->bytes.size() - st->pos < len) return CAIRO_STATUS_READ_ERROR;
    std::memcpy(data, st->bytes.data() + st->pos, len);
    st->pos += len;
    return CAIRO_STATUS_SUCCESS;
}

}  // namespace

Image render(const Drawing& d, int px) {
    if (px < 1 || px > 8192) {
        throw_error(ErrorKind::InvalidArgument, "render size: out of range; expected 1..8192 pixels, got {}", px);
    }
    const int w = px;
    const int h = std::max(1, static_cast<int>(std::lround(static_cast<double>(px) * d.height / d.width)));
    SurfacePtr surf(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h));
    if (cairo_surface_status(surf.get()) != CAIRO_STATUS_SUCCESS) {
        throw_error(ErrorKind::Io, "render: cairo could not create a {}x{} surface", w, h);
    }
    ContextPtr cr(cairo_create(surf.get()));
    cairo_set_antialias(cr.get(), CAIRO_ANTIALIAS_GOOD);
    cairo_set_source_rgb(cr.get(), 1, 1, 1);
    cairo_paint(cr.get());
    cairo_scale(cr.get(), static_cast<double>(w) / d.width, static_cast<double>(h) / d.height);
    cairo_rectangle(cr.get(), 0, 0, d.width, d.height);
    cairo_clip(cr.get());
    if (d.background && !d.background->none) {
        set_color(cr.get(), *d.background);
        cairo_paint(cr.get());
    }
    cairo_set_line_cap(cr.get(), CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr.get(), CAIRO_LINE_JOIN_ROUND);
    draw_shapes(cr.get(), d.shapes, Resolved{});
    if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
        throw_error(ErrorKind::Io, "render: cairo failed: {}", cairo_status_to_string(cairo_status(cr.get())));
    }
    return from_surface(surf.get());
}

std::string encode_png(const Image& img) {
    SurfacePtr surf(cairo_image_surface_create(CAIRO_FORMAT_RGB24, img.width, img.height));
    if (cairo_surface_status(surf.get()) != CAIRO_STATUS_SUCCESS) {
        throw_error(ErrorKind::Io, "png: cairo could not create a {}x{} surface", img.width, img.height);
    }
    cairo_surface_flush(surf.get());
    unsigned char* data = cairo_image_surface_get_data(surf.get());
    const int stride = cairo_image_surface_get_stride(surf.get());
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            const uint8_t* p = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
            const uint32_t v = 0xff000000u | (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
            std::memcpy(data + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * 4, &v, 4);
        }
    }
    cairo_surface_mark_dirty(surf.get());
    std::string out;
    if (cairo_surface_write_to_png_stream(surf.get(), write_png_chunk, &out) != CAIRO_STATUS_SUCCESS) {
        throw_error(ErrorKind::Io, "png: cairo could not encode the image");
    }
    return out;
}

Image decode_png(std::string_view png) {
    ReadState st{png, 0};
    SurfacePtr surf(cairo_image_surface_create_from_png_stream(read_png_chunk, &st));
    if (cairo_surface_status(surf.get()) != CAIRO_STATUS_SUCCESS) {
        throw_error(ErrorKind::Corrupt, "png: cannot decode; expected PNG bytes, got {} bytes that cairo refuses ({})",
                    png.size(), cairo_status_to_string(cairo_surface_status(surf.get())));
    }
    return from_surface(surf.get());
}

Image resize(const Image& img, int w, int h) {
    Image out;
    out.width = w;
    out.height = h;
    out.rgb.assign(static_cast<size_t>(w) * h * 3, 255);
    if (img.width <= 0 || img.height <= 0) return out;
    for (int y = 0; y < h; ++y) {
        const int y0 = y * img.height / h;
        const int y1 = std::max(y0 + 1, (y + 1) * img.height / h);
        for (int x = 0; x < w; ++x) {
            const int x0 = x * img.width / w;
            const int x1 = std::max(x0 + 1, (x + 1) * img.width / w);
            uint32_t sum[3] = {0, 0, 0};
            for (int yy = y0; yy < y1; ++yy) {
                for (int xx = x0; xx < x1; ++xx) {
                    const uint8_t* p = &img.rgb[(static_cast<size_t>(yy) * img.width + xx) * 3];
                    sum[0] += p[0];
                    sum[1] += p[1];
                    sum[2] += p[2];
                }
            }
            const uint32_t n = static_cast<uint32_t>((y1 - y0) * (x1 - x0));
            uint8_t* o = &out.rgb[(static_cast<size_t>(y) * w + x) * 3];
            for (int c = 0; c < 3; ++c) o[c] = static_cast<uint8_t>((sum[c] + n / 2) / n);
        }
    }
    return out;
}

Image contact_sheet(const std::vector<Image>& images, int cols, int gap) {
    int cw = 1, ch = 1;
    for (const Image& im : images) {
        cw = std::max(cw, im.width);
        ch = std::max(ch, im.height);
    }
    cols = std::max(1, std::min<int>(cols, static_cast<int>(std::max<size_t>(1, images.size()))));
    const int rows = std::max<int>(1, (static_cast<int>(images.size()) + cols - 1) / cols);
    Image out;
    out.width = gap + cols * (cw + gap);
    out.height = gap + rows * (ch + gap);
    out.rgb.assign(static_cast<size_t>(out.width) * out.height * 3, 224);
    for (size_t i = 0; i < images.size(); ++i) {
        const Image& im = images[i];
        const int ox = gap + static_cast<int>(i % cols) * (cw + gap) + (cw - im.width) / 2;
        const int oy = gap + static_cast<int>(i / cols) * (ch + gap) + (ch - im.height) / 2;
        for (int y = 0; y < im.height; ++y) {
            std::memcpy(&out.rgb[(static_cast<size_t>(oy + y) * out.width + ox) * 3],
                        &im.rgb[static_cast<size_t>(y) * im.width * 3], static_cast<size_t>(im.width) * 3);
        }
    }
    return out;
}

double pixel_distance(const Image& a, const Image& b) {
    if (a.rgb.empty()) return b.rgb.empty() ? 0 : 1;
    const Image bb = (b.width == a.width && b.height == a.height) ? b : resize(b, a.width, a.height);
    uint64_t sum = 0;
    for (size_t i = 0; i < a.rgb.size(); ++i) sum += static_cast<uint64_t>(std::abs(int{a.rgb[i]} - int{bb.rgb[i]}));
    return static_cast<double>(sum) / (255.0 * static_cast<double>(a.rgb.size()));
}

namespace {

std::array<uint8_t, 3> dominant(const Image& img) {
    std::map<uint32_t, int> counts;
    for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) {
        ++counts[(uint32_t{img.rgb[i]} << 16) | (uint32_t{img.rgb[i + 1]} << 8) | img.rgb[i + 2]];
    }
    uint32_t best = 0xffffff;
    int best_n = -1;
    for (auto [k, n] : counts) {
        if (n > best_n) {
            best = k;
            best_n = n;
        }
    }
    return {static_cast<uint8_t>(best >> 16), static_cast<uint8_t>(best >> 8), static_cast<uint8_t>(best)};
}

bool is_ink(const uint8_t* p, const std::array<uint8_t, 3>& bg) {
    for (int c = 0; c < 3; ++c) {
        if (std::abs(int{p[c]} - int{bg[static_cast<size_t>(c)]}) > 8) return true;
    }
    return false;
}

}  // namespace

double ink_fraction(const Image& img) {
    if (img.rgb.empty()) return 0;
    const auto bg = dominant(img);
    size_t ink = 0;
    for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) ink += is_ink(&img.rgb[i], bg) ? 1 : 0;
    return static_cast<double>(ink) / static_cast<double>(img.rgb.size() / 3);
}

int colour_count(const Image& img) {
    std::map<uint32_t, size_t> counts;
    for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) {
        ++counts[(uint32_t{img.rgb[i]} >> 5 << 6) | (uint32_t{img.rgb[i + 1]} >> 5 << 3) | (uint32_t{img.rgb[i + 2]} >> 5)];
    }
    const size_t npx = img.rgb.size() / 3;
    int n = 0;
    for (auto [k, c] : counts) n += c * 200 >= npx ? 1 : 0;
    return n;
}

double balance(const Image& img) {
    if (img.rgb.empty()) return 0;
    const auto bg = dominant(img);
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            if (is_ink(&img.rgb[(static_cast<size_t>(y) * img.width + x) * 3], bg)) {
                sx += x + 0.5;
                sy += y + 0.5;
                n += 1;
            }
        }
    }
    if (n == 0) return 0;
    const double dx = sx / n / img.width - 0.5, dy = sy / n / img.height - 0.5;
    return std::max(0.0, 1.0 - std::sqrt(dx * dx + dy * dy) / std::sqrt(0.5));
}

}  // namespace lyra::art::visual
