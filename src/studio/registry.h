// The art forms and corpus builders by name: the one list the CLI, the server, the demo, the
// gallery's --rerun and `lyra data prep` all look things up in. A name that is not listed is
// answered as unsupported by the callers (the server with 501).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"

namespace lyra::studio {

struct ArtformInfo {
    std::string name;     // "poem", "tune", "paint", "story"
    std::string summary;  // one line for help texts and the studio page
    art::ArtFn run;
};

// Every art form, in a fixed order.
const std::vector<ArtformInfo>& artforms();
// Null when no form has that name.
const ArtformInfo* find_artform(std::string_view name);

// A corpus builder turns a source (an npm package, files in ../shared/data) into training
// documents, each already in the exact text format the form prompts its model with, with no
// blank line inside (the trainer splits documents at blank lines). `options` is the recipe's
// [prep] table as JSON; emit() is called once per document.
using EmitFn = std::function<void(std::string document)>;
using CorpusFn = std::function<void(const nlohmann::json& options, const EmitFn& emit)>;

struct CorpusBuilderInfo {
    std::string name;     // "chinese-poetry", "english-verse", "abc", "svg-icons", "prose", "text"
    std::string summary;
    CorpusFn build;
};

const std::vector<CorpusBuilderInfo>& corpus_builders();
const CorpusBuilderInfo* find_corpus_builder(std::string_view name);

}  // namespace lyra::studio
