// The shared shape of every art form (DESIGN.md "The pipeline"): a request is a JSON object with
// the same keys as the command-line flags (so the CLI, the server, the demo and the gallery's
// --rerun all drive a form the same way), a Context carries what the caller shares (threads,
// loaded models, where artifacts go), and the result is an ArtResult whose to_json() is the
// "Machine-readable results" shape. Art forms never know about HTTP or the command line.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "generate/generator.h"
#include "model/encoder.h"
#include "model/model.h"

namespace lyra::art {

using nlohmann::json;

// Options every generating command shares (DESIGN.md "The lyra command"). Request keys:
// "model", "seed", "threads", "n", "temperature", "top_k", "top_p", "min_p", "repeat_penalty",
// "kv_type" ("f32", "f16" or "q8_0"), and the encoder critic's "critic", "critic_corpus", "critic_weight" (critic.h).
struct CommonOptions {
    std::string model;  // GGUF path; empty = the form's embedded default model
    uint64_t seed = 0;
    int threads = 0;  // 0 = all hardware threads
    int n = 1;        // candidates generated and ranked by the critics
    float temperature = 0.8f;
    int top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    core::DType kv_type = gen::GenerateOptions{}.kv_type;  // the KV cache's element type
    std::string critic;         // encoder GGUF that also judges the candidates; empty = none
    std::string critic_corpus;  // text file the critic measures novelty against; empty = none
    double critic_weight = 1.0;
};

// Reads the common keys of a request (absent keys keep their defaults); throws
// Error(InvalidArgument) naming the key for a wrong type or an out-of-range value
// (n in 1..64, temperature >= 0, top_p/min_p in [0, 1], ...).
CommonOptions parse_common(const json& request);
json common_to_json(const CommonOptions& o);

// The generator options for one decoding pass of a form (constraint and stop set by the form).
gen::GenerateOptions generate_options(const CommonOptions& o, int max_tokens);

// Typed accessors for a form's own request keys, with errors that name the key:
// "theme: expected a string, got 3". Absent or null keys return the fallback.
std::string get_string(const json& request, std::string_view key, std::string fallback = {});
int64_t get_int(const json& request, std::string_view key, int64_t fallback, int64_t lo,
                int64_t hi);
double get_number(const json& request, std::string_view key, double fallback, double lo, double hi);
bool get_bool(const json& request, std::string_view key, bool fallback);
// Refuses keys the form does not know (typos must not be silently ignored): `known` lists the
// form's own keys; the common keys above are always accepted.
void check_keys(const json& request, std::initializer_list<std::string_view> known,
                std::string_view form);

// One generated candidate after the critics: `score` is the ranking total (higher is better),
// `scores` each critic's figure (e.g. {"rhyme": 1.0, "tone": 1.0, "loglik_per_char": -1.7}).
struct Candidate {
    std::string text = {};
    json scores = json::object();
    double score = 0;
};

// A finished work. `files` maps an artifact kind ("abc", "mid", "wav", "svg", "png", "html",
// "txt", "json", "fountain", ...) to the path written.
struct ArtResult {
    std::string form = {};  // "poem", "tune", "paint", "story", "play"
    std::string text = {};  // the work itself where it is text
    std::string title = {};  // the work's title where it has one (a story's); "" = none
    std::map<std::string, std::string> files = {};
    json scores = json::object();
    uint64_t seed = 0;
    std::string model = {};         // the GGUF path used ("" when the form used no model)
    std::string model_sha256 = {};  // of that file, for the gallery's provenance
    int64_t gallery_id = -1;   // set by whoever records it
    json request = json::object();  // the full request, defaults filled in: reruns the work
    std::vector<Candidate> candidates = {};  // best first
};

// {"form","text","title","files","scores","seed","model","gallery_id","candidates":[{"text",
// "scores"}]} (DESIGN.md "Machine-readable results"); an empty title or files and a gallery_id
// < 0 are left out.
json to_json(const ArtResult& r);

// Sorts best first (by score, ties keep generation order) and fills r.text/r.scores from the
// best one.
void rank_candidates(ArtResult& r);

// Loads each GGUF file once and shares it (a Model is immutable and thread-safe). Also hashes
// the file once (sha256, hex) for provenance.
class ModelCache {
public:
    std::shared_ptr<const model::Model> get(const std::string& path);
    // An encoder (BERT, RoBERTa, ALBERT) for the critics, loaded once like get().
    std::shared_ptr<const model::EncoderModel> encoder(const std::string& path);
    // A text-to-text encoder-decoder (t5) for the planners (text_to_text.h), loaded once and
    // shared with get(). Throws Error(InvalidArgument) before loading an encoder-only or
    // decoder-only file, with one message saying what kind of model is needed.
    std::shared_ptr<const model::Model> encoder_decoder(const std::string& path);
    std::string sha256(const std::string& path);

private:
    std::mutex mu_;
    std::map<std::string, std::shared_ptr<const model::Model>> models_;
    std::map<std::string, std::shared_ptr<const model::EncoderModel>> encoders_;
    std::map<std::string, std::string> hashes_;
};

// What the caller shares with a form while it works.
struct Context {
    core::ThreadPool* pool = nullptr;  // required
    ModelCache* models = nullptr;      // required
    std::string out_dir = {};          // artifacts go here; empty = write no files
    // Optional: called with each piece of generated text (progress display, server streaming);
    // return false to cancel.
    std::function<bool(std::string_view piece)> on_text = {};
};

// The path of a form's model: the request's "model", or models/<default_file> (throws
// Error(NotFound) with a hint when the embedded model is missing).
std::string resolve_model(const CommonOptions& o, std::string_view default_file);

// An art form's entry point: request JSON in, finished work out. Throws lyra::Error
// (InvalidArgument for a bad request, others from the model and the renderers).
using ArtFn = std::function<ArtResult(const json& request, Context& ctx)>;

}  // namespace lyra::art
