// Where the art forms find data that comes from packages rather than the repository: npm
// packages installed by scripts/setup.sh into <repo>/node_modules (chinese-poetry,
// cmu-pronouncing-dictionary, @twemoji/svg, @tabler/icons), Debian data files under /usr/share,
// and the training corpora in ../shared/data. Read-only probes; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace lyra::art {

// The directory of npm package `name` (e.g. "cmu-pronouncing-dictionary", "@twemoji/svg"):
// $LYRA_NODE_MODULES/<name>, else <ancestor>/node_modules/<name> for the executable's and the
// working directory's ancestors. Throws Error(NotFound) saying to run scripts/setup.sh.
std::string npm_package_dir(std::string_view name);

// The shared corpora directory: $LYRA_SHARED_DIR/data or $LYRA_SHARED_DIR, else
// <ancestor>/../shared/data as for npm packages. Throws Error(NotFound).
std::string shared_data_dir();

// `path` if it exists, else throws Error(NotFound) naming `package` (the Debian package that
// installs it).
std::string system_file(std::string_view path, std::string_view package);

}  // namespace lyra::art
