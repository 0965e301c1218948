// The chinese-poetry npm package for the corpus agreement tests: its directory, or empty when it
// is not installed (the test then skips, so the suite runs on a machine without npm packages).
#pragma once

#include <string>

#include "art/common/data_paths.h"
#include "core/error.h"

namespace lyra::art::poetry {

inline std::string chinese_poetry_dir() {
    try {
        return npm_package_dir("chinese-poetry");
    } catch (const Error&) {
        return {};
    }
}

}  // namespace lyra::art::poetry
