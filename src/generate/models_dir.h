// Where the shipped models live (models/ in the source tree), so `lyra generate` without -m,
// `lyra demo` and the tests find them from any working directory. Read-only file-system probes;
// thread-safe. default_model_path() throws Error(NotFound) with a hint when nothing is found.
#pragma once

#include <string>
#include <string_view>

namespace lyra::gen {

// The file name of the default text model in models/.
inline constexpr std::string_view kDefaultModelFile = "tiny-shakespeare-char.gguf";

// The first existing directory of: $LYRA_MODELS_DIR; <exe dir>/../share/lyra/models (an
// install); <ancestor>/models for the exe's 1st..5th ancestor directories (a build tree in the
// repository: build/bin/lyra, build/release/bin/lyra); ./models. Empty when none exists.
std::string find_models_dir();

// <models dir>/<file>; throws Error(NotFound) naming every place it looked.
std::string default_model_path(std::string_view file = kDefaultModelFile);

}  // namespace lyra::gen
