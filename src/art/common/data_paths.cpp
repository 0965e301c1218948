// Package data lookups (data_paths.h).
#include "art/common/data_paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace lyra::art {

namespace fs = std::filesystem;

namespace {

// The executable's directory and the working directory, then up to 6 ancestors of each.
std::vector<fs::path> search_roots() {
    std::vector<fs::path> roots;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    for (fs::path start : {ec ? fs::path() : exe.parent_path(), fs::current_path(ec)}) {
        for (int i = 0; i < 7 && !start.empty(); ++i) {
            roots.push_back(start);
            if (start == start.parent_path()) break;
            start = start.parent_path();
        }
    }
    return roots;
}

}  // namespace

std::string npm_package_dir(std::string_view name) {
    if (const char* env = std::getenv("LYRA_NODE_MODULES"); env && *env) {
        const fs::path p = fs::path(env) / std::string(name);
        if (fs::is_directory(p)) return p.string();
    }
    for (const fs::path& root : search_roots()) {
        const fs::path p = root / "node_modules" / std::string(name);
        if (fs::is_directory(p)) return p.string();
    }
    throw_error(ErrorKind::NotFound,
                "npm package {}: not installed; run scripts/setup.sh (it installs the packages in "
                "package.json into node_modules/), or set LYRA_NODE_MODULES",
                name);
}

std::string shared_data_dir() {
    if (const char* env = std::getenv("LYRA_SHARED_DIR"); env && *env) {
        if (fs::is_directory(fs::path(env) / "data")) return (fs::path(env) / "data").string();
        if (fs::is_directory(env)) return env;
    }
    for (const fs::path& root : search_roots()) {
        const fs::path p = root / ".." / "shared" / "data";
        if (fs::is_directory(p)) return fs::weakly_canonical(p).string();
    }
    throw_error(ErrorKind::NotFound,
                "shared data: ../shared/data not found beside the repository; set LYRA_SHARED_DIR");
}

std::string system_file(std::string_view path, std::string_view package) {
    if (!fs::exists(std::string(path))) {
        throw_error(ErrorKind::NotFound, "{}: not found; install the Debian package {}", path, package);
    }
    return std::string(path);
}

}  // namespace lyra::art
