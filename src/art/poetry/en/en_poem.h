// English poems for `lyra poem` (issue #5): haiku, limerick, Shakespearean sonnet and acrostic,
// written under VerseConstraint so every candidate keeps its form, ranked by critics (form,
// rhyme, meter, repetition, novelty against the corpus, model log-likelihood), and checked the
// same way for poems people write. The `lyra poem` command (src/art/poetry) dispatches English
// form names here.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"
#include "art/poetry/fault.h"

namespace lyra::art::poetry::en {

// The default model file (models/verse-en.gguf, recipes/verse-en.toml).
inline constexpr std::string_view kDefaultModel = "verse-en.gguf";

bool is_form(std::string_view name);
// (name, one-line description) for each English form, in display order.
std::vector<std::pair<std::string, std::string>> forms();

// Request keys: "form" (required), "theme", "title" (non-empty when given), "acrostic" (letters,
// one per line), plus the common keys (model, seed, n, temperature, ...). Throws
// Error(InvalidArgument) for a bad request, Error(NotFound) when the model is missing,
// Error(ContextFull) when the model's context cannot hold the form.
ArtResult write_poem(const nlohmann::json& request, Context& ctx);

// The checker: every fault of `text` against `form` (empty = the poem keeps the form). With
// `acrostic` the line starts are checked too. Throws Error(InvalidArgument) for an unknown form.
std::vector<Fault> check_poem(std::string_view form, std::string_view text, std::string_view acrostic = {});
// The checker's full report (faults plus accuracies and meter) as JSON.
nlohmann::json check_report(std::string_view form, std::string_view text, std::string_view acrostic = {});

// `count` poems of `form` with seeds 1..count, as the Chinese eval (themes and, for the
// acrostic form, words drawn from a fixed list), each checked: {"form","count","model",
// "syllable_accuracy","rhyme_accuracy","acrostic_accuracy","meter","full_compliance",
// "distinct_2","copied_line_share","loglik_per_char","seconds"}.
nlohmann::json eval_form(std::string_view form, int count, const std::string& model_path, Context& ctx);

// The "english-verse" corpus builder: poems and stanzas from ../shared/data/english-poetry as
// documents in the prompt format ("form: sonnet\n<lines>", "form: verse\ntitle: ...\n<lines>"),
// no blank line inside a document. Options: {"max_lines": N (default 14)} splits long runs.
void build_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit);

// The prompt a request starts from ("form: haiku\ntitle: autumn\n").
std::string make_prompt(std::string_view form, std::string_view title);

}  // namespace lyra::art::poetry::en
