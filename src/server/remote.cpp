// Remote models over HTTP (remote.h). cpp-httplib's client stays inside this file.
#include "server/remote.h"

#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "art/common/artifacts.h"
#include "art/common/critic.h"
#include "art/poetry/retry.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/result_json.h"
#include "server/api.h"

namespace lyra::server {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

httplib::Client make_client(const RemoteModel& r) {
    httplib::Client cli(r.base_url);
    if (!cli.is_valid()) {
        throw_error(ErrorKind::Usage, "remote '{}': cannot use this URL; expected http://HOST:PORT",
                    r.base_url);
    }
    cli.set_connection_timeout(std::min(r.timeout_s, 30), 0);
    cli.set_read_timeout(r.timeout_s, 0);
    cli.set_write_timeout(r.timeout_s, 0);
    if (!r.api_key.empty()) cli.set_bearer_token_auth(r.api_key);
    return cli;
}

// One clear error for a request that got no HTTP answer.
[[noreturn]] void throw_transport(const RemoteModel& r, const std::string& what, httplib::Error e) {
    if (e == httplib::Error::Read || e == httplib::Error::Write) {
        throw_error(ErrorKind::Io, "remote '{}': {}: no answer within {} s (LYRA_REMOTE_TIMEOUT)",
                    r.base_url, what, r.timeout_s);
    }
    if (e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout) {
        throw_error(ErrorKind::Io, "remote '{}': {}: cannot connect (refused or unreachable); is "
                    "the server running?", r.base_url, what);
    }
    throw_error(ErrorKind::Io, "remote '{}': {}: {}", r.base_url, what, httplib::to_string(e));
}

// An answer's body as JSON; an HTTP error becomes the remote's own message.
json parse_body(const RemoteModel& r, const std::string& what, int status, const std::string& body) {
    json j;
    try {
        if (json_depth(body) > kMaxJsonDepth) throw json::other_error::create(0, "nested too deeply", nullptr);
        j = json::parse(body);
    } catch (const json::exception&) {
        const std::string head = body.substr(0, 80);
        throw_error(ErrorKind::Corrupt, "remote '{}': {}: malformed JSON in the answer (HTTP {}): '{}'",
                    r.base_url, what, status, head);
    }
    if (status >= 200 && status < 300) return j;
    std::string message = fmt::format("HTTP {}", status);
    if (j.is_object() && j.contains("error") && j["error"].is_object() &&
        j["error"].contains("message") && j["error"]["message"].is_string()) {
        message = j["error"]["message"].get<std::string>();
    }
    const ErrorKind kind = status == 404 ? ErrorKind::NotFound
                           : status < 500 ? ErrorKind::InvalidArgument
                                          : ErrorKind::Io;
    throw_error(kind, "remote '{}': {}: {}", r.base_url, what, message);
}

json parse_answer(const RemoteModel& r, const std::string& what, const httplib::Result& res) {
    if (!res) throw_transport(r, what, res.error());
    return parse_body(r, what, res->status, res->body);
}

const json& member(const RemoteModel& r, const std::string& what, const json& j, const char* key,
                   json::value_t type) {
    if (!j.is_object() || !j.contains(key) || j[key].type() != type) {
        throw_error(ErrorKind::Corrupt, "remote '{}': {}: the answer lacks '{}' of the expected type",
                    r.base_url, what, key);
    }
    return j[key];
}

gen::FinishReason finish_from(const json& c) {
    const std::string f = c.contains("finish_reason") && c["finish_reason"].is_string()
                              ? c["finish_reason"].get<std::string>()
                              : "";
    if (f == "stop") return gen::FinishReason::Stop;
    if (f == "cancelled") return gen::FinishReason::Cancelled;
    return gen::FinishReason::Length;
}

}  // namespace

RemoteModel parse_remote_model(std::string_view spec) {
    if (!is_remote_model(spec)) {
        throw_error(ErrorKind::Usage, "model '{}': expected openai:MODEL@BASE_URL", spec);
    }
    const std::string_view rest = spec.substr(kRemotePrefix.size());
    const size_t at = rest.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == rest.size()) {
        throw_error(ErrorKind::Usage,
                    "model '{}': expected openai:MODEL@BASE_URL, e.g. openai:qwen@http://gpu-box:8080",
                    spec);
    }
    RemoteModel r;
    r.model = std::string(rest.substr(0, at));
    std::string url(rest.substr(at + 1));
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        throw_error(ErrorKind::Usage, "model '{}': the base URL must start with http:// or https://",
                    spec);
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.size() > 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
    if (url.find('/', url.find("//") + 2) != std::string::npos) {
        throw_error(ErrorKind::Usage, "model '{}': the base URL must be http://HOST:PORT (optionally "
                    "followed by /v1), not a longer path", spec);
    }
    r.base_url = url;
    r.api_key = env_or("LYRA_API_KEY", env_or("OPENAI_API_KEY", ""));
    const std::string timeout = env_or("LYRA_REMOTE_TIMEOUT", "600");
    char* end = nullptr;
    const long t = std::strtol(timeout.c_str(), &end, 10);
    if (end == timeout.c_str() || *end != '\0' || t < 1 || t > 86400) {
        throw_error(ErrorKind::Usage, "LYRA_REMOTE_TIMEOUT: expected seconds from 1 to 86400, got '{}'",
                    timeout);
    }
    r.timeout_s = static_cast<int>(t);
    return r;
}

json remote_post(const RemoteModel& remote, const std::string& path, const json& body) {
    httplib::Client cli = make_client(remote);
    const auto res = cli.Post(path, body.dump(), "application/json");
    return parse_answer(remote, "POST " + path, res);
}

namespace {

// The text of one completion choice into its candidate; false when the choice is malformed.
void take_choice(const RemoteModel& remote, const std::string& what, const json& c, gen::GenerateResult& result,
                 std::vector<bool>& seen, const gen::StreamFn& on_text, bool* cancelled) {
    const json& index = member(remote, what, c, "index", json::value_t::number_unsigned);
    const size_t i = index.get<size_t>();
    if (i >= result.candidates.size()) {
        throw_error(ErrorKind::Corrupt, "remote '{}': {}: choice index {} out of range", remote.base_url, what, i);
    }
    gen::Completion& out = result.candidates[i];
    const std::string piece = member(remote, what, c, "text", json::value_t::string).get<std::string>();
    out.text += piece;
    if (c.contains("finish_reason") && !c["finish_reason"].is_null()) out.finish = finish_from(c);
    seen[i] = true;
    if (on_text && !piece.empty() && !on_text(static_cast<int>(i), piece)) *cancelled = true;
}

// POST /v1/completions with "stream": true, reading the events as they arrive. Returns false
// when on_text cancelled.
bool stream_completions(const RemoteModel& remote, const json& body, gen::GenerateResult& result,
                        std::vector<bool>& seen, const gen::StreamFn& on_text) {
    const std::string what = "POST /v1/completions (stream)";
    httplib::Client cli = make_client(remote);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.headers = {{"Accept", "text/event-stream"}};
    if (!remote.api_key.empty()) req.headers.emplace("Authorization", "Bearer " + remote.api_key);
    req.headers.emplace("Content-Type", "application/json");
    req.body = body.dump();
    std::string error_body, pending;
    bool done = false, cancelled = false, sse = false;
    int status = 0;
    // A defect found inside the receiver ends the read; it is thrown once httplib has returned.
    std::optional<std::pair<ErrorKind, std::string>> defect;
    req.response_handler = [&](const httplib::Response& r) {
        status = r.status;
        sse = r.get_header_value("Content-Type").find("text/event-stream") != std::string::npos;
        return true;
    };
    auto take_event = [&](const std::string& data) {
        if (data == "[DONE]") {
            done = true;
            return;
        }
        const json j = json_depth(data) <= kMaxJsonDepth ? json::parse(data, nullptr, false) : json(json::value_t::discarded);
        if (j.is_discarded()) {
            defect = {ErrorKind::Corrupt, fmt::format("an event is not JSON: '{}'", data.substr(0, 80))};
            return;
        }
        if (j.contains("error")) {
            const json& e = j["error"];
            defect = {ErrorKind::Io, e.is_object() && e.contains("message") && e["message"].is_string()
                                         ? e["message"].get<std::string>()
                                         : e.dump()};
            return;
        }
        if (!j.contains("choices")) return;  // the usage chunk
        try {
            for (const json& c : member(remote, what, j, "choices", json::value_t::array))
                take_choice(remote, what, c, result, seen, on_text, &cancelled);
        } catch (const Error& e) {
            defect = {e.kind(), e.what()};
        }
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        if (status != 200 || !sse) {  // an error, or a server that answers whole: read below
            error_body.append(data, n);
            return true;
        }
        pending.append(data, n);
        size_t end;
        while (!defect && !cancelled && (end = pending.find("\n\n")) != std::string::npos) {
            const std::string event = pending.substr(0, end);
            pending.erase(0, end + 2);
            if (event.rfind("data: ", 0) == 0) take_event(event.substr(6));  // else a comment
        }
        return !defect && !cancelled;
    };
    const auto res = cli.send(req);
    if (defect) {
        const std::string& m = defect->second;
        // take_choice's errors already name the remote.
        if (m.rfind("remote '", 0) == 0) throw_error(defect->first, "{}", m);
        throw_error(defect->first, "remote '{}': {}: {}", remote.base_url, what, m);
    }
    if (cancelled) return false;
    if (!res) {
        // The stream was whole ([DONE] came) and only the connection's end was unclean.
        if (status == 200 && sse && done) return true;
        // An answer had begun: the connection broke, it did not time out.
        if (status != 0) {
            throw_error(ErrorKind::Io, "remote '{}': {}: the connection broke while the answer was being read ({})",
                        remote.base_url, what, httplib::to_string(res.error()));
        }
        throw_transport(remote, what, res.error());
    }
    const std::string& whole = error_body.empty() ? res->body : error_body;
    if (res->status != 200) parse_body(remote, what, res->status, whole);  // throws its message
    if (!sse) {
        // A server that ignores "stream": the whole answer at once, handed on as one piece each.
        const json answer = parse_body(remote, what, res->status, whole);
        for (const json& c : member(remote, what, answer, "choices", json::value_t::array))
            take_choice(remote, what, c, result, seen, on_text, &cancelled);
        return !cancelled;
    }
    if (!done) {
        throw_error(ErrorKind::Io, "remote '{}': {}: the stream ended before [DONE]", remote.base_url, what);
    }
    return true;
}

}  // namespace

gen::GenerateResult remote_generate(const RemoteModel& remote, const std::string& prompt,
                                    const gen::GenerateOptions& opt, const gen::StreamFn& on_text,
                                    const json& response_format) {
    if (opt.constraint != nullptr) {
        throw_error(ErrorKind::Unsupported, "remote '{}': --grammar/--regex/--json-schema cannot be "
                    "applied token by token remotely; run the model locally", remote.base_url);
    }
    if (opt.repeat_last_n != gen::GenerateOptions{}.repeat_last_n || !opt.add_bos) {
        throw_error(ErrorKind::Unsupported, "remote '{}': --repeat-last-n {} cannot be sent; the "
                    "remote always uses {}", remote.base_url, opt.repeat_last_n,
                    gen::GenerateOptions{}.repeat_last_n);
    }
    json body = {{"model", remote.model},
                 {"prompt", prompt},
                 {"max_tokens", opt.max_tokens},
                 {"temperature", opt.temperature},
                 {"top_k", opt.top_k},
                 {"top_p", opt.top_p},
                 {"min_p", opt.min_p},
                 {"repeat_penalty", opt.repeat_penalty},
                 {"frequency_penalty", opt.frequency_penalty},
                 {"presence_penalty", opt.presence_penalty},
                 {"seed", opt.seed},
                 {"n", opt.n_candidates}};
    if (!opt.stop.empty()) body["stop"] = opt.stop;
    if (!opt.logit_bias.empty()) body["logit_bias"] = gen::logit_bias_json(opt.logit_bias);
    if (!response_format.is_null()) body["response_format"] = response_format;
    const std::string what = "POST /v1/completions";
    gen::GenerateResult result;
    result.sampler = "remote " + remote.spec();
    result.candidates.resize(static_cast<size_t>(opt.n_candidates));
    for (size_t i = 0; i < result.candidates.size(); ++i) result.candidates[i].seed = opt.seed + i;
    std::vector<bool> seen(result.candidates.size(), false);
    if (on_text) {
        body["stream"] = true;
        if (!stream_completions(remote, body, result, seen, on_text)) {
            for (auto& c : result.candidates) c.finish = gen::FinishReason::Cancelled;
            return result;  // the caller stopped reading
        }
    } else {
        const json answer = remote_post(remote, "/v1/completions", body);
        bool cancelled = false;
        for (const json& c : member(remote, what, answer, "choices", json::value_t::array)) {
            take_choice(remote, what, c, result, seen, {}, &cancelled);
        }
    }
    const auto filled = static_cast<size_t>(std::count(seen.begin(), seen.end(), true));
    if (filled != result.candidates.size()) {
        throw_error(ErrorKind::Corrupt, "remote '{}': {}: asked for {} choices, got {}",
                    remote.base_url, what, result.candidates.size(), filled);
    }
    return result;
}

namespace {

// A poem from a server without Lyra's art API: its /v1/completions continues the form's prompt,
// and art::poetry::write_poem_by_retry keeps the form by checking and regenerating. The encoder
// critic, when the request names one, runs here next to its file.
art::ArtResult remote_poem_by_retry(const RemoteModel& remote, const json& request,
                                    const std::string& out_dir) {
    json req = request;
    req.erase("model");
    const art::CommonOptions common = art::parse_common(req);
    gen::GenerateOptions opt = art::generate_options(common, 1);
    auto complete = [&](const std::string& prompt, uint64_t seed, int max_tokens) {
        opt.seed = seed;
        opt.max_tokens = max_tokens;
        opt.n_candidates = 1;
        const gen::GenerateResult out = remote_generate(remote, prompt, opt);
        return out.candidates.empty() ? std::string() : out.candidates[0].text;
    };
    art::ArtResult r = art::poetry::write_poem_by_retry(req, complete);
    if (!common.critic.empty()) {
        const json attempts = r.scores["fallback_attempts"], valid = r.scores["fallback_valid"];
        core::ThreadPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
        art::ModelCache models;
        art::Context ctx{.pool = &pool, .models = &models};
        art::apply_encoder_critic(r, common, req.value("title", req.value("theme", std::string())), ctx);
        art::rank_candidates(r);
        r.scores["fallback_attempts"] = attempts;  // rank_candidates took the best one's scores
        r.scores["fallback_valid"] = valid;
    }
    r.model = remote.spec();
    r.request = request;
    if (!out_dir.empty()) {
        art::ArtifactSet files(out_dir);
        files.add("txt", "poem.txt", r.text + "\n");
        r.files = files.commit();
    }
    return r;
}

}  // namespace

art::ArtResult remote_art(const RemoteModel& remote, std::string_view form, json request,
                          const std::string& out_dir) {
    request["model"] = remote.model;
    request.erase("threads");  // the remote's cores, not ours
    const std::string path = fmt::format("/v1/art/{}", form);
    json answer;
    try {
        answer = remote_post(remote, path, request);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::NotFound && std::string(e.what()).find("art form") == std::string::npos) {
            if (form == "poem") return remote_poem_by_retry(remote, request, out_dir);
            throw_error(ErrorKind::Unsupported, "remote '{}': no Lyra art API ({}); {} needs a "
                        "`lyra serve` as the remote (only poem falls back to generate-check-"
                        "regenerate on other servers)", remote.base_url, e.what(), form);
        }
        throw;
    }
    const std::string what = "POST " + path;
    art::ArtResult r;
    r.form = member(remote, what, answer, "form", json::value_t::string).get<std::string>();
    r.text = member(remote, what, answer, "text", json::value_t::string).get<std::string>();
    if (answer.contains("title") && answer["title"].is_string()) r.title = answer["title"].get<std::string>();
    if (answer.contains("scores") && answer["scores"].is_object()) r.scores = answer["scores"];
    if (answer.contains("seed") && answer["seed"].is_number_unsigned()) {
        r.seed = answer["seed"].get<uint64_t>();
    }
    r.model = remote.spec();
    r.request = request;
    if (answer.contains("candidates") && answer["candidates"].is_array()) {
        for (const json& c : answer["candidates"]) {
            art::Candidate cand;
            cand.text = c.value("text", std::string());
            if (c.contains("scores") && c["scores"].is_object()) cand.scores = c["scores"];
            r.candidates.push_back(std::move(cand));
        }
    }
    // The artifacts: fetched from the remote's /files/ URLs into out_dir, all or nothing.
    if (!out_dir.empty() && answer.contains("files") && answer["files"].is_object()) {
        art::ArtifactSet files(out_dir);
        httplib::Client cli = make_client(remote);
        for (const auto& [kind, url] : answer["files"].items()) {
            if (!url.is_string() || url.get<std::string>().rfind("/files/", 0) != 0) {
                throw_error(ErrorKind::Corrupt, "remote '{}': {}: file '{}' is not a /files/ URL",
                            remote.base_url, what, kind);
            }
            const std::string u = url.get<std::string>();
            const auto res = cli.Get(u);
            if (!res) throw_transport(remote, "GET " + u, res.error());
            if (res->status != 200) {
                throw_error(ErrorKind::Io, "remote '{}': GET {}: HTTP {}", remote.base_url, u,
                            res->status);
            }
            files.add(kind, fs::path(u).filename().string(), res->body);
        }
        r.files = files.commit();
    }
    return r;
}

}  // namespace lyra::server
