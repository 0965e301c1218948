// A FormSpec from a JSON file, for `lyra generate --form FILE` (docs/constraints.md "Form
// files"): line unit counts, fixed characters, character classes by position, rhyme labels over
// rhyme groups, the unit kind and the characters allowed. Errors name the key path:
//   {"unit": "cjk" | "char" | "letter" | "syllable",  what counts toward a line's units (cjk)
//    "dictionary": {"word": 1, "fire": [1, 2]} | "cmu",  syllable unit: the pronouncing
//                                                 dictionary inline, or one the caller names
//    "allowed": "…",                              characters allowed besides '\n' (all)
//    "classes": {"ping": "东同…", "ze": "…"},     named character sets
//    "rhyme_groups": ["东同中…", "江窗…"],        group i holds those characters
//    "closed": true,                              nothing after the last line (true)
//    "lines": [{"units": 5, "fixed": {"0": "春"}, "classes": {"1": "ping", "-1": "ze"},
//               "rhyme": "A"}, …]}
// Throws Error(InvalidArgument) naming the key, Error(NotFound) for a missing file.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "generate/constraint/form.h"

namespace lyra::gen::constraint {

// A pronouncing dictionary the caller knows by name (the CLI: "cmu", the CMU dictionary with its
// letter-to-sound guess); null when the name is unknown. Called once per form.
using DictionaryResolver = std::function<std::shared_ptr<const SyllableDictionary>(std::string_view name)>;

FormSpec form_spec_from_json(const nlohmann::json& j, std::string_view where, const DictionaryResolver& resolve = {});
FormSpec load_form_spec(const std::string& path, const DictionaryResolver& resolve = {});

}  // namespace lyra::gen::constraint
