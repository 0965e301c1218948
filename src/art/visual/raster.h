// Rasterizing drawings with Cairo (anti-aliased, any size), PNG encode/decode, contact sheets,
// and the pixel measures the critics and the round-trip evaluation use. Images are 8-bit RGB,
// composited over white. Thread-safe (each call has its own Cairo surface).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "art/visual/dsl.h"

namespace lyra::art::visual {

struct Image {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // width * height * 3, row-major
};

// Renders the drawing `px` pixels wide (height in proportion, at least 1), over white.
// Throws Error(InvalidArgument) for px outside 1..8192.
Image render(const Drawing& d, int px);
// PNG bytes of an image (throws Error(Io) if Cairo fails).
std::string encode_png(const Image& img);
// Decodes PNG bytes (any Cairo-readable PNG), composited over white. Throws Error(Corrupt).
Image decode_png(std::string_view png);
// Box-filtered resize to w x h (thumbnails, comparisons of different sizes).
Image resize(const Image& img, int w, int h);
// Images laid out `cols` per row on a light grey sheet, each in a cell of the largest size
// plus `gap` pixels; images are centred in their cells.
Image contact_sheet(const std::vector<Image>& images, int cols, int gap = 8);

// Mean absolute difference over all RGB samples, in 0..1 (images resized to the first one's
// size when they differ).
double pixel_distance(const Image& a, const Image& b);
// Share of pixels that differ from the image's most common colour by more than 8/255 in any
// channel: 0 for a blank (one-colour) image.
double ink_fraction(const Image& img);
// Distinct colours after quantising each channel to 3 bits, counting only colours that cover
// at least 0.5% of the pixels.
int colour_count(const Image& img);
// Balance in 0..1: 1 when the ink's centroid is at the centre, 0 at a corner.
double balance(const Image& img);

}  // namespace lyra::art::visual
