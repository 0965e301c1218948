// Round trip of the SVG normalizer over the icon corpora (roundtrip.h).
#include "art/visual/roundtrip.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "art/common/data_paths.h"
#include "art/common/process.h"
#include "art/visual/dsl.h"
#include "art/visual/raster.h"
#include "art/visual/svg_import.h"
#include "core/error.h"

namespace lyra::art::visual {

namespace fs = std::filesystem;

namespace {

void add_svgs(const fs::path& dir, std::vector<std::string>& out) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
        if (e.is_regular_file() && e.path().extension() == ".svg") out.push_back(e.path().string());
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(ErrorKind::NotFound, "svg file '{}': cannot open", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

std::vector<std::string> corpus_svg_files(std::string_view corpus) {
    if (corpus != "twemoji" && corpus != "tabler" && corpus != "all") {
        throw_error(ErrorKind::InvalidArgument, "corpus: unknown name; expected twemoji, tabler or all, got '{}'", corpus);
    }
    std::vector<std::string> files;
    if (corpus == "twemoji" || corpus == "all") add_svgs(npm_package_dir("@twemoji/svg"), files);
    if (corpus == "tabler" || corpus == "all") {
        const fs::path icons = fs::path(npm_package_dir("@tabler/icons")) / "icons";
        add_svgs(icons / "outline", files);
        add_svgs(icons / "filled", files);
    }
    std::sort(files.begin(), files.end());
    return files;
}

Image rsvg_render(std::string_view svg, int px) {
    const std::string w = std::to_string(px);
    ProcessResult r = run_process({"rsvg-convert", "-w", w, "-h", w, "-b", "white", "-f", "png"}, svg, 30, "librsvg2-bin");
    if (r.exit_code != 0 || r.out.empty()) {
        std::string msg = r.err;
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.pop_back();
        throw_error(ErrorKind::Corrupt, "rsvg-convert: cannot render; expected exit status 0, got {}{}{}", r.exit_code,
                    msg.empty() ? "" : ": ", msg.substr(0, 200));
    }
    return decode_png(r.out);
}

RoundTripFile round_trip_file(const std::string& path, const RoundTripOptions& opt) {
    RoundTripFile f;
    f.path = path;
    Image original;
    try {
        original = rsvg_render(read_file(path), opt.px);
    } catch (const Error& e) {
        f.reason = fmt::format("original does not render: {}", e.what());
        return f;
    }
    try {
        const NormalizeResult n = normalize_svg(read_file(path));
        const std::string dsl = to_dsl(n.drawing);
        f.dsl_bytes = static_cast<int>(dsl.size());
        const Drawing back = parse_dsl(dsl);
        const Image cairo = render(back, opt.px);
        if (opt.rsvg_both) {
            const Image ours = rsvg_render(to_svg(back), opt.px);
            f.distance = pixel_distance(original, ours);
            f.cairo_distance = pixel_distance(ours, cairo);
        } else {
            f.distance = pixel_distance(original, cairo);
        }
        f.passed = f.distance <= opt.threshold;
        if (!f.passed) {
            std::string notes;
            for (const std::string& s : n.notes) notes += (notes.empty() ? "" : "; ") + s;
            f.reason = fmt::format("pixel difference {:.4f} > {:.4f}; {}", f.distance, opt.threshold,
                                   notes.empty() ? "the normalizer reported no loss (grid rounding)" : "normalizer notes: " + notes);
        }
    } catch (const Error& e) {
        f.reason = e.what();
    }
    return f;
}

RoundTripReport round_trip(const std::vector<std::string>& files, const RoundTripOptions& opt) {
    if (find_program("rsvg-convert").empty()) {
        throw_error(ErrorKind::NotFound, "rsvg-convert: not installed; expected the program on PATH, got none; install Debian package librsvg2-bin");
    }
    RoundTripReport rep;
    rep.files.resize(files.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i = next++; i < files.size(); i = next++) rep.files[i] = round_trip_file(files[i], opt);
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < std::max(1, opt.threads); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    rep.total = static_cast<int>(files.size());
    double sum = 0, csum = 0, bytes = 0;
    int nc = 0, nd = 0;
    for (const RoundTripFile& f : rep.files) {
        rep.passed += f.passed ? 1 : 0;
        if (f.dsl_bytes > 0) {
            sum += f.distance;
            bytes += f.dsl_bytes;
            ++nd;
        }
        if (f.cairo_distance >= 0) {
            csum += f.cairo_distance;
            ++nc;
        }
    }
    rep.mean_distance = nd > 0 ? sum / nd : 0;
    rep.mean_dsl_bytes = nd > 0 ? bytes / nd : 0;
    rep.mean_cairo_distance = nc > 0 ? csum / nc : 0;
    return rep;
}

}  // namespace lyra::art::visual
