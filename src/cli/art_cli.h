// The command-line side shared by the art commands (poem, tune, paint, story): the contract's
// common flags (DESIGN.md "The lyra command") turned into the request JSON every art form takes,
// then one run through the form and the output: --json prints the result object, otherwise the
// work's text and the files written.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "art/common/art.h"

namespace lyra::cli {

struct ArtCliState {
    nlohmann::json request = nlohmann::json::object();  // the form's own flags go here too
    std::string out_dir;
    bool json = false;
    bool no_gallery = false;  // --no-gallery: do not record the work (LYRA_GALLERY=off does too)
    // Common flags, set only when given (the form's defaults apply otherwise).
    std::optional<std::string> model;
    std::optional<uint64_t> seed;
    std::optional<int> threads, n, top_k;
    std::optional<double> temperature, top_p, min_p, repeat_penalty;
    std::optional<std::string> critic, critic_corpus, kv_type;
    std::optional<double> critic_weight;
};

// Adds -m/--model, --seed, --threads, -n, --temperature, --top-k, --top-p, --min-p,
// --repeat-penalty, --critic, --critic-corpus, --critic-weight, -o/--out, --json, --no-gallery
// to `sub`.
void add_common_art_flags(CLI::App* sub, ArtCliState& st);

// Merges the common flags into st.request, runs `fn` with a thread pool and model cache of its
// own, records the work in the gallery (studio/gallery.h; a recording failure only warns) and
// prints the result with its gallery_id. Throws lyra::Error on failure (main() reports it).
// With -m openai:MODEL@URL the work is made by that remote `lyra serve`'s POST /v1/art/{form}
// (server/remote.h) and its artifacts are downloaded into -o.
art::ArtResult run_art_command(std::string_view form, const art::ArtFn& fn, ArtCliState& st);

// Prints a result the way every art command does: --json -> the result object on one line;
// otherwise the text, then "wrote <path>" per file on stderr.
void print_art_result(const art::ArtResult& r, bool json);

}  // namespace lyra::cli
