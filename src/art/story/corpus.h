// The "prose" corpus builder (recipes/prose-en.toml): English stories and plays from
// ../shared/data (english-stories/*.txt, tinyshakespeare/input.txt), one paragraph per document.
// Story paragraphs are unwrapped into one line; play speeches ("NAME:\nline\nline") keep their
// line breaks. Documents never contain a blank line (the trainer splits at blank lines).
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace lyra::art::story {

// options: {"sources": ["english-stories", "tinyshakespeare"] (folders under shared data),
//           "min_chars": 40, "max_chars": 3000}. Throws Error(NotFound) for a missing source,
// Error(InvalidArgument) for a bad option.
void build_prose_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit);

}  // namespace lyra::art::story
