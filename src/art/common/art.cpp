// Requests, results and the model cache shared by the art forms (art.h).
#include "art/common/art.h"

#include <algorithm>
#include <cmath>

#include "art/common/text_to_text.h"
#include "core/error.h"
#include "core/sha256.h"
#include "generate/models_dir.h"
#include "generate/result_json.h"

namespace lyra::art {

namespace {

constexpr std::string_view kCommonKeys[] = {"model", "seed", "threads", "n", "temperature",
                                            "top_k", "top_p", "min_p", "repeat_penalty",
                                            "critic", "critic_corpus", "critic_weight", "kv_type"};

std::string type_name(const json& v) { return v.type_name(); }

}  // namespace

std::string get_string(const json& request, std::string_view key, std::string fallback) {
    const auto it = request.find(key);
    if (it == request.end() || it->is_null()) return fallback;
    if (!it->is_string()) {
        throw_error(ErrorKind::InvalidArgument, "{}: expected a string, got {} {}", key,
                    type_name(*it), it->dump());
    }
    return it->get<std::string>();
}

int64_t get_int(const json& request, std::string_view key, int64_t fallback, int64_t lo,
                int64_t hi) {
    const auto it = request.find(key);
    if (it == request.end() || it->is_null()) return fallback;
    // JSON from a client may carry 3.0 for 3; a fractional value is refused.
    if (!it->is_number() || (it->is_number_float() && std::trunc(it->get<double>()) != it->get<double>())) {
        throw_error(ErrorKind::InvalidArgument, "{}: expected an integer, got {}", key, it->dump());
    }
    const double v = it->get<double>();
    if (v < static_cast<double>(lo) || v > static_cast<double>(hi)) {
        throw_error(ErrorKind::InvalidArgument, "{}: out of range; expected {} to {}, got {}", key,
                    lo, hi, it->dump());
    }
    return it->is_number_unsigned() ? static_cast<int64_t>(it->get<uint64_t>()) : it->get<int64_t>();
}

double get_number(const json& request, std::string_view key, double fallback, double lo,
                  double hi) {
    const auto it = request.find(key);
    if (it == request.end() || it->is_null()) return fallback;
    if (!it->is_number()) {
        throw_error(ErrorKind::InvalidArgument, "{}: expected a number, got {}", key, it->dump());
    }
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi)) {
        throw_error(ErrorKind::InvalidArgument, "{}: out of range; expected {} to {}, got {}", key,
                    lo, hi, it->dump());
    }
    return v;
}

bool get_bool(const json& request, std::string_view key, bool fallback) {
    const auto it = request.find(key);
    if (it == request.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) {
        throw_error(ErrorKind::InvalidArgument, "{}: expected true or false, got {}", key, it->dump());
    }
    return it->get<bool>();
}

void check_keys(const json& request, std::initializer_list<std::string_view> known,
                std::string_view form) {
    if (!request.is_object()) {
        throw_error(ErrorKind::InvalidArgument, "{} request: expected a JSON object, got {}", form,
                    type_name(request));
    }
    for (const auto& [key, value] : request.items()) {
        const bool ok =
            std::find(std::begin(kCommonKeys), std::end(kCommonKeys), key) != std::end(kCommonKeys) ||
            std::find(known.begin(), known.end(), key) != known.end();
        if (!ok) {
            std::string names;
            for (const auto k : known) names += fmt::format("{}{}", names.empty() ? "" : ", ", k);
            throw_error(ErrorKind::InvalidArgument, "{} request: unknown option '{}'; expected one of {}",
                        form, key, names);
        }
    }
}

CommonOptions parse_common(const json& request) {
    CommonOptions o;
    o.model = get_string(request, "model");
    o.seed = static_cast<uint64_t>(get_int(request, "seed", 0, 0, INT64_MAX));
    o.threads = static_cast<int>(get_int(request, "threads", 0, 0, 1024));
    o.n = static_cast<int>(get_int(request, "n", 1, 1, 64));
    o.temperature = static_cast<float>(get_number(request, "temperature", static_cast<double>(o.temperature), 0, 10));
    o.top_k = static_cast<int>(get_int(request, "top_k", o.top_k, 0, 1 << 20));
    o.top_p = static_cast<float>(get_number(request, "top_p", static_cast<double>(o.top_p), 0, 1));
    o.min_p = static_cast<float>(get_number(request, "min_p", static_cast<double>(o.min_p), 0, 1));
    o.repeat_penalty = static_cast<float>(get_number(request, "repeat_penalty", static_cast<double>(o.repeat_penalty), 0.01, 10));
    if (request.contains("kv_type") && !request["kv_type"].is_null())
        o.kv_type = model::parse_kv_type(get_string(request, "kv_type"));
    o.critic = get_string(request, "critic");
    o.critic_corpus = get_string(request, "critic_corpus");
    o.critic_weight = get_number(request, "critic_weight", o.critic_weight, 0, 100);
    if (o.critic.empty() && !o.critic_corpus.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "critic_corpus: needs a critic; expected \"critic\" (--critic) naming an encoder model");
    return o;
}

json common_to_json(const CommonOptions& o) {
    json j = {{"seed", o.seed},
              {"n", o.n},
              {"temperature", gen::float_json(o.temperature)},
              {"top_k", o.top_k},
              {"top_p", gen::float_json(o.top_p)},
              {"min_p", gen::float_json(o.min_p)},
              {"repeat_penalty", gen::float_json(o.repeat_penalty)},
              {"kv_type", model::kv_type_name(o.kv_type)}};
    if (!o.model.empty()) j["model"] = o.model;
    if (!o.critic.empty()) {
        j["critic"] = o.critic;
        j["critic_weight"] = o.critic_weight;
        if (!o.critic_corpus.empty()) j["critic_corpus"] = o.critic_corpus;
    }
    return j;
}

gen::GenerateOptions generate_options(const CommonOptions& o, int max_tokens) {
    gen::GenerateOptions g;
    g.max_tokens = max_tokens;
    g.temperature = o.temperature;
    g.top_k = o.top_k;
    g.top_p = o.top_p;
    g.min_p = o.min_p;
    g.repeat_penalty = o.repeat_penalty;
    g.seed = o.seed;
    g.n_candidates = 1;
    g.threads = o.threads;
    g.kv_type = o.kv_type;
    return g;
}

json to_json(const ArtResult& r) {
    json j = {{"form", r.form}, {"text", r.text}, {"scores", r.scores}, {"seed", r.seed}};
    if (!r.title.empty()) j["title"] = r.title;
    if (!r.files.empty()) j["files"] = r.files;
    if (!r.model.empty()) j["model"] = r.model;
    if (r.gallery_id >= 0) j["gallery_id"] = r.gallery_id;
    json cands = json::array();
    for (const Candidate& c : r.candidates) cands.push_back({{"text", c.text}, {"scores", c.scores}});
    j["candidates"] = std::move(cands);
    return j;
}

void rank_candidates(ArtResult& r) {
    std::stable_sort(r.candidates.begin(), r.candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    if (!r.candidates.empty()) {
        r.text = r.candidates.front().text;
        r.scores = r.candidates.front().scores;
    }
}

namespace {

// Loads `path` with `load` the first time it is asked for and shares it afterwards; a failed
// load leaves no entry, so the next call tries again.
template <typename T, typename Load>
std::shared_ptr<const T> load_once(std::mutex& mu, std::map<std::string, std::shared_ptr<const T>>& cache,
                                   const std::string& path, Load load) {
    std::lock_guard lock(mu);
    auto& slot = cache[path];
    if (!slot) {
        try {
            slot = load(path);
        } catch (...) {
            cache.erase(path);
            throw;
        }
    }
    return slot;
}

}  // namespace

std::shared_ptr<const model::Model> ModelCache::get(const std::string& path) {
    return load_once(mu_, models_, path, [](const std::string& p) { return model::Model::load(p); });
}

std::shared_ptr<const model::EncoderModel> ModelCache::encoder(const std::string& path) {
    return load_once(mu_, encoders_, path, [](const std::string& p) { return model::EncoderModel::load(p); });
}

std::shared_ptr<const model::Model> ModelCache::encoder_decoder(const std::string& path) {
    // The kind is read from the file's metadata first: Model::load would refuse an encoder with
    // its own message (and load a decoder), neither of which says what a planner needs.
    check_encoder_decoder(model::GgufFile::open(path)->get_string("general.architecture").value_or(""), path);
    return get(path);
}

std::string ModelCache::sha256(const std::string& path) {
    {
        std::lock_guard lock(mu_);
        if (const auto it = hashes_.find(path); it != hashes_.end()) return it->second;
    }
    std::string h = core::sha256_file_hex(path);  // outside the lock: a large file takes a while
    std::lock_guard lock(mu_);
    hashes_[path] = h;
    return h;
}

std::string resolve_model(const CommonOptions& o, std::string_view default_file) {
    return o.model.empty() ? gen::default_model_path(default_file) : o.model;
}

}  // namespace lyra::art
