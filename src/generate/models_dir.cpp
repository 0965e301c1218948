// Locating the shipped models (models_dir.h).
#include "generate/models_dir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "core/error.h"

namespace lyra::gen {

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> candidate_dirs() {
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("LYRA_MODELS_DIR"); env != nullptr && *env != '\0') {
        dirs.emplace_back(env);
    }
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        // A build tree inside the repository (build/release/bin/lyra, build/bin/lyra,
        // build/x/y/bin/lyra): the nearest ancestor with a models/ directory.
        const fs::path bin = exe.parent_path();
        dirs.push_back(bin / ".." / "share" / "lyra" / "models");  // an install prefix
        fs::path up = bin;
        for (int depth = 0; depth < 5 && up.has_parent_path() && up != up.root_path(); ++depth) {
            up = up.parent_path();
            dirs.push_back(up / "models");
        }
    }
    dirs.push_back(fs::current_path(ec) / "models");
    return dirs;
}

}  // namespace

std::string find_models_dir() {
    for (const auto& d : candidate_dirs()) {
        std::error_code ec;
        if (fs::is_directory(d, ec)) return fs::weakly_canonical(d, ec).string();
    }
    return {};
}

std::string default_model_path(std::string_view file) {
    std::string looked;
    for (const auto& d : candidate_dirs()) {
        std::error_code ec;
        const fs::path p = d / file;
        if (fs::is_regular_file(p, ec)) return fs::weakly_canonical(p, ec).string();
        if (!looked.empty()) looked += ", ";
        looked += d.lexically_normal().string();
    }
    throw_error(ErrorKind::NotFound,
                "default model '{}': not found; looked in {}; pass -m MODEL.gguf or set "
                "LYRA_MODELS_DIR to the repository's models/ directory",
                file, looked);
}

}  // namespace lyra::gen
