// The "svg-icons" corpus builder: emoji (npm @twemoji/svg, names from Debian unicode-data's
// emoji-test.txt joined by code points) and icons (npm @tabler/icons, names and tags from
// icons.json) normalized to paint DSL, each document "subject: <name/tags>\n<DSL>" (the prompt
// format of `lyra paint`), no blank line inside.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace lyra::art::visual {

// Options (the recipe's [prep] table): "sources" (array of "twemoji", "tabler"; default both),
// "max_dsl_bytes" (skip longer drawings; default 1500), "limit" (documents, 0 = all).
// Throws Error(InvalidArgument) for a bad option, Error(NotFound) for missing packages/files.
void build_svg_icons_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit);

// emoji-test.txt as file stem -> name: "1f34e" -> "red apple" (code points in lower-case hex
// joined by '-', also without U+FE0F, as twemoji names its files).
std::map<std::string, std::string> emoji_names(const std::string& emoji_test_path);

}  // namespace lyra::art::visual
