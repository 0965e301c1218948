// `lyra data prep RECIPE`: turns a source into a clean training corpus. The recipe's [prep]
// table names a corpus builder (registry.h: "chinese-poetry", "english-verse", "abc",
// "svg-icons", "prose", "text") and the output file; every other key of the table is the
// builder's options (JSON). The documents the builder emits are
//   cleaned    - invalid UTF-8 dropped (counted), Unicode NFC, CRLF -> LF, trailing spaces cut,
//                blank lines at the ends removed, a document with blank lines inside split into
//                one document per paragraph (the trainer splits at blank lines anyway);
//   filtered   - empty documents dropped;
//   de-duplicated exactly (after cleaning; the count removed is reported);
// then written atomically to the output (documents separated by one blank line) with a report
// beside it: <output>.report.json. An empty corpus, an unknown builder or a missing source is
// one clear Error and leaves no output.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lyra::studio {

struct PrepSpec {
    std::string recipe;   // the recipe file
    std::string builder;  // [prep] builder
    std::string output;   // [prep] output
    nlohmann::json options = nlohmann::json::object();  // the other [prep] keys
};

// Null when the recipe has no [prep] table; throws Error(NotFound/Corrupt/InvalidArgument) for a
// missing or malformed recipe or [prep] table (builder and output are required strings).
std::optional<PrepSpec> read_prep_spec(const std::string& recipe_path);

struct PrepReport {
    std::string builder, output, report_path;
    int64_t emitted = 0;          // documents the builder emitted
    int64_t docs = 0;             // documents written
    int64_t bytes = 0;            // bytes of document text written (separators not counted)
    int64_t characters = 0;       // Unicode code points written
    int64_t distinct_chars = 0;
    int64_t duplicates_removed = 0;
    int64_t invalid_utf8 = 0;     // documents dropped for invalid UTF-8
    int64_t empty_dropped = 0;    // documents empty after cleaning
    int64_t split_added = 0;      // extra documents made by splitting at blank lines
    // Document length in characters: (upper bound, count) for buckets <=16, <=32, ... , and the
    // last bucket's bound is the longest document.
    std::vector<std::pair<int64_t, int64_t>> length_histogram;
    int64_t min_chars = 0, max_chars = 0;
    double mean_chars = 0;
    std::vector<std::pair<std::string, int64_t>> top_chars;  // 20 most frequent characters
    double seconds = 0;
};

nlohmann::json report_to_json(const PrepReport& r);
// A few lines for the terminal.
std::string format_prep_summary(const PrepReport& r);

// Runs the builder and writes the corpus and its report.
PrepReport run_data_prep(const PrepSpec& spec);

// The cleaning step alone (exposed for tests): the documents a raw emitted document becomes.
// Returns false (and no documents) when `raw` is not valid UTF-8.
bool clean_document(const std::string& raw, std::vector<std::string>& out);

// The generic "text" corpus builder: options {"files": "glob" or ["a.txt", "dir/", "x/*.md"],
// "min_chars": 1}; each file is split into paragraphs at blank lines, each paragraph one document.
// Directories are read recursively (regular files, sorted). A pattern that matches nothing is
// Error(NotFound).
void build_text_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit);

}  // namespace lyra::studio
