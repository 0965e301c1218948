// The HTTP server (server.h) on cpp-httplib.
#include "server/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "art/common/art.h"
#include "art/play/game.h"
#include "core/error.h"
#include "generate/constraint/constraint.h"
#include "generate/models_dir.h"
#include "generate/result_json.h"
#include "generate/scheduler.h"
#include "model/chat_template.h"
#include "model/encoder.h"
#include "model/format/gguf.h"
#include "studio/gallery.h"
#include "studio/registry.h"

namespace lyra::server {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status();
    res.set_content(gen::dump_json(error_json(e)), "application/json");
}

void send_json(httplib::Response& res, const json& j, int status = 200) {
    res.status = status;
    res.set_content(gen::dump_json(j), "application/json");
}

json parse_body(const httplib::Request& req) {
    if (const int depth = json_depth(req.body); depth > kMaxJsonDepth) {
        throw ApiError(400, "invalid_request_error",
                       fmt::format("request body: nested {} levels deep; expected at most {}", depth, kMaxJsonDepth));
    }
    try {
        return json::parse(req.body);
    } catch (const json::parse_error& e) {
        throw ApiError(400, "invalid_request_error",
                       fmt::format("request body: invalid JSON ({}); expected a JSON object",
                                   e.what()));
    }
}

std::string random_id(std::string_view prefix) {
    static std::atomic<uint64_t> counter{0};
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{}{:012x}{:04x}", prefix, rng() & 0xffffffffffffULL,
                       counter.fetch_add(1) & 0xffff);
}

// Connections the kernel queues before the accept thread takes them: more than any burst of
// clients we expect (bench_serve opens 8 at once, browsers ~6 per page).
constexpr int kListenBacklog = 128;

uint64_t random_seed() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return rng() >> 1;
}

// A Prometheus label value: backslash, double quote and newline escaped (text format 0.0.4).
std::string prometheus_label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

// One model served by name: loaded on first use, with its scheduler.
struct ServedModel {
    std::string name, path;
    std::shared_ptr<const model::Model> model;
    std::unique_ptr<gen::Scheduler> scheduler;

    // The vocabulary as a byte trie for response_format grammars, built by the first request
    // that has one and shared by every constraint after it.
    const std::shared_ptr<const gen::constraint::TokenTrie>& token_trie() {
        std::call_once(trie_once_, [&] { trie_ = std::make_shared<const gen::constraint::TokenTrie>(model->tokenizer()); });
        return trie_;
    }

private:
    std::once_flag trie_once_;
    std::shared_ptr<const gen::constraint::TokenTrie> trie_;
};

struct Server::Impl {
    ServerOptions opt;
    httplib::Server http;
    fs::path models_dir;
    fs::path out_dir;
    fs::path web_dir;

    std::mutex models_mu;
    std::map<std::string, std::unique_ptr<ServedModel>> models;
    art::ModelCache art_models;

    std::mutex art_mu;
    std::condition_variable art_cv;
    int art_running = 0;

    // Game sessions of /v1/art/play: id -> game (each with its own 1-thread pool).
    struct PlaySession {
        std::mutex mu;  // one turn at a time
        core::ThreadPool pool{1};
        std::unique_ptr<art::play::Game> game;
        Clock::time_point last_used;
    };
    std::mutex play_mu;
    std::map<std::string, std::shared_ptr<PlaySession>> play_sessions;
    static constexpr size_t kMaxPlaySessions = 64;

    // The gallery art results are recorded in and GET /v1/gallery reads (nullopt: recording is
    // off, by --no-gallery or LYRA_GALLERY=off). Opened on first read.
    std::optional<std::string> gallery_path;
    std::mutex gallery_mu;
    std::unique_ptr<studio::Gallery> gallery;

    std::atomic<bool> draining{false};
    std::atomic<bool> cancel_all{false};  // the shutdown deadline passed
    std::mutex shutdown_mu;
    std::condition_variable shutdown_cv;
    std::thread deadline_thread;
    bool stopped = false;  // run() returned (guarded by shutdown_mu)
    bool bound = false;
    // Sockets httplib created while bind() ran (its socket-options hook sees each one); the
    // last is the one that bound and listens.
    std::vector<int> bind_sockets;

    explicit Impl(ServerOptions o) : opt(std::move(o)) {
        if (opt.record_gallery) gallery_path = studio::default_gallery_path();
    }

    // --- models -------------------------------------------------------------------------

    std::vector<fs::path> model_files() const {
        std::vector<fs::path> files;
        std::error_code ec;
        if (models_dir.empty()) return files;
        for (const auto& e : fs::directory_iterator(models_dir, ec)) {
            if (e.path().extension() == ".gguf" && e.is_regular_file(ec) &&
                is_plain_name(model_name(e.path()))) {
                files.push_back(e.path());
            }
        }
        std::sort(files.begin(), files.end());
        return files;
    }

    // The file for a model name ("" = the default model); ApiError 404 when unknown.
    fs::path resolve_model(std::string name) const {
        const auto files = model_files();
        if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
        if (name.empty()) {
            for (const auto& f : files) {
                if (f.filename() == gen::kDefaultModelFile) return f;
            }
            if (!files.empty()) return files.front();
            throw ApiError(404, "invalid_request_error",
                           fmt::format("model: none available; expected GGUF files in '{}', got "
                                       "none; start lyra serve with --models DIR",
                                       models_dir.string()),
                           "model", "model_not_found");
        }
        if (is_plain_name(name)) {
            for (const auto& f : files) {
                if (model_name(f) == name) return f;
            }
        }
        std::string known;
        for (const auto& f : files) known += (known.empty() ? "" : ", ") + model_name(f);
        throw ApiError(404, "invalid_request_error",
                       fmt::format("model: the model '{}' does not exist; expected one of: {}; "
                                   "GET /v1/models lists them",
                                   name, known.empty() ? "(none)" : known),
                       "model", "model_not_found");
    }

    ServedModel& served(const std::string& name) {
        const fs::path file = resolve_model(name);
        const std::string key = model_name(file);
        std::lock_guard<std::mutex> lock(models_mu);
        auto& slot = models[key];
        if (!slot) {
            auto m = std::make_unique<ServedModel>();
            m->name = key;
            m->path = file.string();
            try {
                m->model = art_models.get(m->path);
            } catch (const Error& e) {
                // An encoder writes no text; the endpoint it serves is /v1/embeddings.
                if (e.kind() != ErrorKind::Unsupported ||
                    !model::is_encoder_arch(
                        model::GgufFile::open(m->path)->get_string("general.architecture").value_or("")))
                    throw;
                throw ApiError(400, "invalid_request_error",
                               fmt::format("model: '{}' is an encoder (BERT, RoBERTa, ALBERT): it writes no "
                                           "text; expected a text generator here, or POST /v1/embeddings for "
                                           "this model",
                                           key),
                               "model");
            }
            m->scheduler = std::make_unique<gen::Scheduler>(
                m->model, gen::SchedulerOptions{.threads = opt.threads,
                                                 .max_batch = opt.max_batch,
                                                 .prompt_cache_bytes = static_cast<size_t>(opt.prompt_cache_mb) << 20});
            slot = std::move(m);
        }
        return *slot;
    }

    // --- routes -------------------------------------------------------------------------

    void setup() {
        http.set_payload_max_length(opt.limits.max_body_bytes);
        http.set_read_timeout(30, 0);
        http.set_write_timeout(30, 0);
        http.set_keep_alive_timeout(2);
        http.set_socket_options([this](socket_t sock) {
            httplib::default_socket_options(sock);
            bind_sockets.push_back(sock);
        });
        const size_t n_http = static_cast<size_t>(std::max(4, opt.http_threads));
        http.new_task_queue = [n_http] { return new httplib::ThreadPool(n_http); };

        http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            const bool api = req.path.rfind("/v1/", 0) == 0 || req.path == "/v1";
            // /metrics answers while the server drains (what it is doing then is worth seeing),
            // but only with the key, as the API does: it names the models and their load.
            const bool guarded = api || req.path == "/metrics";
            if (draining.load() && api) {
                send_error(res, ApiError(503, "server_error",
                                         "server: shutting down; expected a running server, got "
                                         "one that is stopping; retry against a new instance"));
                res.set_header("Connection", "close");
                return httplib::Server::HandlerResponse::Handled;
            }
            if (guarded && !opt.api_key.empty()) {
                const std::string auth = req.get_header_value("Authorization");
                if (auth != "Bearer " + opt.api_key) {
                    send_error(res, ApiError(401, "invalid_request_error",
                                             auth.empty()
                                                 ? "authorization: missing; expected the header "
                                                   "'Authorization: Bearer <key>' (the server was "
                                                   "started with --api-key)"
                                                 : "authorization: incorrect API key provided; "
                                                   "expected the key lyra serve was started with",
                                             "", "invalid_api_key"));
                    return httplib::Server::HandlerResponse::Handled;
                }
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });
        // Errors httplib produces itself (413 body too large, 404 no route, 400 unparsable
        // request) get the same JSON shape; errors our handlers set already have a body.
        http.set_error_handler(httplib::Server::HandlerWithResponse(
            [](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string message;
            std::string type = "invalid_request_error";
            if (res.status == 413) {
                message = "request body: too large; expected at most the server's --max-body "
                          "bytes";
            } else if (res.status == 404) {
                message = fmt::format("route: no such endpoint; expected one of the routes in "
                                      "docs/server.md, got {} {}",
                                      req.method, req.path);
                type = "not_found_error";
            } else if (res.status == 405) {
                message = fmt::format("method: not allowed; got {} {}", req.method, req.path);
            } else {
                message = fmt::format("request: HTTP {}", res.status);
                if (res.status >= 500) type = "server_error";
            }
            send_error(res, ApiError(res.status, type, message));
            return httplib::Server::HandlerResponse::Handled;
        }));
        http.set_exception_handler(
            [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
                try {
                    if (ep) std::rethrow_exception(ep);
                } catch (const ApiError& e) {
                    return send_error(res, e);
                } catch (const Error& e) {
                    return send_error(res, to_api_error(e));
                } catch (const std::exception& e) {
                    return send_error(res, ApiError(500, "server_error",
                                                    fmt::format("server: {}", e.what())));
                } catch (...) {
                }
                send_error(res, ApiError(500, "server_error", "server: unknown failure"));
            });

        http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
            json data = json::array();
            for (const auto& f : model_files()) data.push_back(model_json(f, "model"));
            send_json(res, {{"object", "list"}, {"data", data}});
        });
        http.Get(R"(/v1/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            send_json(res, model_json(resolve_model(req.matches[1]), "model"));
        });
        http.Get("/v1/engines", [this](const httplib::Request&, httplib::Response& res) {
            json data = json::array();
            for (const auto& f : model_files()) data.push_back(model_json(f, "engine"));
            send_json(res, {{"object", "list"}, {"data", data}});
        });
        http.Get(R"(/v1/engines/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            send_json(res, model_json(resolve_model(req.matches[1]), "engine"));
        });
        http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
            generate(req, res, false, {});
        });
        http.Post("/v1/chat/completions",
                  [this](const httplib::Request& req, httplib::Response& res) {
                      generate(req, res, true, {});
                  });
        http.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
            embeddings(req, res);
        });
        http.Post(R"(/v1/engines/([^/]+)/completions)",
                  [this](const httplib::Request& req, httplib::Response& res) {
                      generate(req, res, false, req.matches[1]);
                  });
        http.Post(R"(/v1/art/play/([a-z_]+))",
                  [this](const httplib::Request& req, httplib::Response& res) {
                      play(req, res, req.matches[1]);
                  });
        http.Post(R"(/v1/art/([a-z_]+))", [this](const httplib::Request& req, httplib::Response& res) {
            art(req, res, req.matches[1]);
        });
        http.Get("/v1/gallery", [this](const httplib::Request& req, httplib::Response& res) {
            gallery_list(req, res);
        });
        http.Get(R"(/v1/gallery/(\d{1,18}))", [this](const httplib::Request& req, httplib::Response& res) {
            gallery_get(std::stoll(req.matches[1]), res);
        });
        http.Get(R"(/files/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
            serve_file(req.matches[1], res);
        });
        http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(metrics_text(), "text/plain; version=0.0.4");
        });
        http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
            send_json(res, {{"status", draining.load() ? "stopping" : "ok"}});
        });
        if (!web_dir.empty()) {
            http.set_mount_point("/", web_dir.string());
        } else {
            http.Get("/", [](const httplib::Request&, httplib::Response& res) {
                send_json(res, {{"name", "lyra"},
                                {"endpoints",
                                 {"/v1/models", "/v1/completions", "/v1/chat/completions",
                                  "/v1/embeddings", "/v1/engines", "/v1/art/{poem,tune,paint,story}",
                                  "/v1/art/play/{create,turn,save,load}", "/v1/gallery",
                                  "/files/...", "/health", "/metrics"}}});
            });
        }
    }

    // GET /metrics: each loaded model's scheduler counters in the Prometheus text format, so a
    // monitor (or bench_serve) can read the step rate, the mean batch and where a step's time
    // goes (forward against the rest: sampling, delivery, bookkeeping) without a debug build.
    std::string metrics_text() {
        struct Row {
            std::string model;
            gen::SchedulerStats st;
            int active;
        };
        std::vector<Row> rows;
        {
            std::lock_guard<std::mutex> lock(models_mu);
            for (const auto& [name, m] : models)
                if (m && m->scheduler) rows.push_back({prometheus_label(name), m->scheduler->stats(), m->scheduler->active()});
        }
        std::string out = fmt::format(
            "# HELP lyra_models_loaded Models loaded, each with its scheduler.\n"
            "# TYPE lyra_models_loaded gauge\nlyra_models_loaded {}\n",
            rows.size());
        const auto family = [&](const char* name, const char* type, const char* help, auto value) {
            out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
            for (const Row& r : rows) out += fmt::format("{}{{model=\"{}\"}} {}\n", name, r.model, value(r));
        };
        const auto seconds = [](int64_t us) { return fmt::format("{:.6f}", static_cast<double>(us) / 1e6); };
        family("lyra_steps_total", "counter", "Decode steps the scheduler ran.", [](const Row& r) { return std::to_string(r.st.steps); });
        family("lyra_step_rows_total", "counter", "Sequences over all steps (divided by the steps: the mean batch).",
               [](const Row& r) { return std::to_string(r.st.rows); });
        family("lyra_tokens_generated_total", "counter", "Tokens sampled over all sequences.",
               [](const Row& r) { return std::to_string(r.st.tokens); });
        family("lyra_step_seconds_total", "counter", "Wall time of the steps.", [&](const Row& r) { return seconds(r.st.step_us); });
        family("lyra_forward_seconds_total", "counter",
               "Wall time of the forwards that served a whole step (a batch's, or a lone sequence's); the rest of "
               "a step is sampling, delivery and bookkeeping.",
               [&](const Row& r) { return seconds(r.st.forward_us); });
        family("lyra_between_steps_seconds_total", "counter",
               "Wall time between the end of one step and the start of the next while the scheduler had work: "
               "waking the streams' readers, delivering the ends, taking in new sequences, and any time its "
               "thread spent off its core.",
               [&](const Row& r) { return seconds(r.st.between_us); });
        family("lyra_prompts_folded_total", "counter", "Joining prompts run inside a batched step.",
               [](const Row& r) { return std::to_string(r.st.prompts_folded); });
        family("lyra_prompts_cached_total", "counter", "Joining prompts whose prefill came from the prompt cache.",
               [](const Row& r) { return std::to_string(r.st.prompts_cached); });
        family("lyra_prompts_prefix_cached_total", "counter", "Joining prompts that copied a kept prompt's beginning.",
               [](const Row& r) { return std::to_string(r.st.prompts_prefix_cached); });
        family("lyra_sessions_reused_total", "counter",
               "Sequences that took the KV cache of a finished one rather than allocating their own.",
               [](const Row& r) { return std::to_string(r.st.sessions_reused); });
        family("lyra_sessions_kept", "gauge",
               "Finished sequences' KV caches on the shelf now, kept for the next sequences "
               "until the scheduler has been idle for a second.",
               [](const Row& r) { return std::to_string(r.st.sessions_kept); });
        family("lyra_max_batch", "gauge", "The largest batch a step has run.", [](const Row& r) { return std::to_string(r.st.max_batch_seen); });
        family("lyra_sequences_active", "gauge", "Sequences queued or generating now.", [](const Row& r) { return std::to_string(r.active); });
        return out;
    }

    json model_json(const fs::path& f, const char* object) const {
        std::error_code ec;
        const auto t = fs::last_write_time(f, ec);
        int64_t created = 0;
        if (!ec) {
            created = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::file_clock::to_sys(t).time_since_epoch())
                          .count();
        }
        json j = {{"id", model_name(f)}, {"object", object}, {"created", created}};
        if (std::string_view(object) == "engine") {
            j["owner"] = "lyra";
            j["ready"] = true;
        } else {
            j["owned_by"] = "lyra";
        }
        return j;
    }

    // --- embeddings ------------------------------------------------------------------------

    // POST /v1/embeddings: an encoder of the models directory (BERT, RoBERTa, ALBERT) embeds
    // each input (mean-pooled last hidden states, L2-normalised: EncoderModel::embed), all in one
    // batched pass. Text gets the model's [CLS] ... [SEP]; token ids are taken as they are.
    void embeddings(const httplib::Request& http_req, httplib::Response& res) {
        const EmbeddingRequest r = parse_embedding_request(parse_body(http_req), opt.limits);
        const fs::path file = resolve_model(r.model);
        std::shared_ptr<const model::EncoderModel> enc;
        try {
            enc = art_models.encoder(file.string());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Unsupported) throw;
            throw ApiError(400, "invalid_request_error",
                           fmt::format("model: '{}' is not an encoder; /v1/embeddings needs a BERT, RoBERTa "
                                       "or ALBERT model",
                                       model_name(file)),
                           "model");
        }
        std::vector<std::vector<gen::TokenId>> ids = r.tokens;
        for (const auto& text : r.texts) ids.push_back(enc->tokenize(text));
        const int64_t n_ctx = enc->hparams().n_ctx, n_vocab = enc->hparams().n_vocab;
        int64_t n_tokens = 0;
        for (const auto& seq : ids) {
            if (static_cast<int64_t>(seq.size()) > n_ctx) {
                throw ApiError(400, "invalid_request_error",
                               fmt::format("input: too long for the model's context; expected at most {} "
                                           "tokens, got {}",
                                           n_ctx, seq.size()),
                               "input", "context_length_exceeded");
            }
            try {
                gen::check_token_ids(seq, n_vocab, "input");
            } catch (const Error& e) {
                throw ApiError(400, "invalid_request_error", e.what(), "input");
            }
            n_tokens += static_cast<int64_t>(seq.size());
        }
        // A request's inputs are all texts or all token arrays, so `ids` is in the request's order.
        core::ThreadPool pool(opt.threads);
        const auto embs = enc->embeddings_batch(ids, pool, false).mean;
        json data = json::array();
        for (size_t i = 0; i < embs.size(); ++i) {
            const auto& e = embs[i];
            // base64: the floats' bytes as they lie in memory, little-endian on every machine
            // Lyra builds for (x86-64, AArch64), as the clients decode them.
            json vec = r.base64 ? json(base64_encode(std::string_view(reinterpret_cast<const char*>(e.data()),
                                                                      e.size() * sizeof(float))))
                                : json(e);
            data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(vec)}});
        }
        send_json(res, {{"object", "list"},
                        {"data", data},
                        {"model", model_name(file)},
                        {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
    }

    // --- text generation ------------------------------------------------------------------

    struct Job {
        std::string id;
        std::string model;
        int64_t created = 0;
        bool chat = false;
        CompletionRequest req;
        std::vector<std::string> prompt_text;       // per prompt (echo)
        std::vector<int64_t> prompt_tokens;         // per prompt
        // Per prompt, with echo and logprobs on completions: the echoed prompt's own logprobs
        // (the legacy shape's four arrays, offsets from 0), which the choices' logprobs begin with.
        std::vector<json> prompt_logprobs;
        // Candidate i = prompt i / best_of, seed + i % best_of (best_of = n unless asked for).
        std::vector<std::shared_ptr<gen::Sequence>> seqs;
        const model::Tokenizer* tok = nullptr;
        Clock::time_point deadline;
    };

    void generate(const httplib::Request& http_req, httplib::Response& res, bool chat,
                  const std::string& engine) {
        json body = parse_body(http_req);
        if (!engine.empty() && body.is_object()) body["model"] = engine;
        auto job = std::make_shared<Job>();
        job->chat = chat;
        job->req = chat ? parse_chat_request(body, opt.limits, random_seed())
                        : parse_completion_request(body, opt.limits, random_seed());
        ServedModel& m = served(job->req.model);
        job->model = m.name;
        job->id = random_id(chat ? "chatcmpl-" : "cmpl-");
        job->created = static_cast<int64_t>(std::time(nullptr));
        job->tok = &m.model->tokenizer();
        job->deadline = Clock::now() + std::chrono::seconds(opt.request_timeout_s);

        bool parse_special = false;
        if (chat) {
            const auto rendered = model::apply_chat_template(
                m.model->chat_template().value_or(""), job->req.messages, true);
            job->req.prompts = {rendered.text};
            job->req.opt.add_bos = false;  // the template writes its own BOS text
            parse_special = true;
            for (auto& s : model::chat_end_of_turn(rendered.family)) job->req.opt.stop.push_back(s);
            if (rendered.text.size() > opt.limits.max_prompt_bytes) {
                throw ApiError(400, "invalid_request_error",
                               fmt::format("messages: the rendered conversation is too long; "
                                           "expected at most {} bytes, got {}",
                                           opt.limits.max_prompt_bytes, rendered.text.size()),
                               "messages", "context_length_exceeded");
            }
        }
        try {
            gen::Scheduler& sched = *m.scheduler;
            const bool score = !chat && job->req.echo && job->req.logprobs.has_value();
            gen::GenerateOptions o = job->req.opt;
            o.kv_type = opt.kv_type;  // a server setting (--kv-type), not a request key
            // Each prompt as tokens, checked; scored when echoed with logprobs; then its
            // candidates (none for max_tokens 0), seeds seed, seed + 1, ...
            const auto add_prompt = [&](std::vector<gen::TokenId> tokens, std::string text, bool bos_added) {
                sched.check_prompt(tokens);
                if (score) job->prompt_logprobs.push_back(prompt_logprobs_json(*job, m, tokens, bos_added));
                job->prompt_tokens.push_back(static_cast<int64_t>(tokens.size()));
                job->prompt_text.push_back(std::move(text));
                if (job->req.score_only) return;
                for (int j = 0; j < job->req.best_of; ++j) {
                    gen::GenerateOptions oj = o;
                    oj.seed = o.seed + static_cast<uint64_t>(j);
                    std::unique_ptr<gen::Constraint> format;  // response_format: one per choice
                    if (job->req.grammar) {
                        format = std::make_unique<gen::constraint::GrammarConstraint>(
                            job->req.grammar, m.token_trie(),
                            gen::constraint::GrammarOptions{.max_tokens = oj.max_tokens});
                    }
                    job->seqs.push_back(sched.submit_tokens(tokens, oj, std::move(format)));
                }
            };
            const gen::TokenId bos = job->tok->bos();
            for (const auto& p : job->req.prompts) {
                std::vector<gen::TokenId> tokens = sched.tokenize(p, o, parse_special);
                const bool bos_added = o.add_bos && bos >= 0 && !tokens.empty() && tokens[0] == bos;
                add_prompt(std::move(tokens), p, bos_added);
            }
            for (const auto& ids : job->req.token_prompts) {
                add_prompt(ids, job->tok->decode(ids), false);  // echo shows them as text
            }
        } catch (...) {
            for (auto& s : job->seqs) s->cancel();
            throw;
        }
        if (job->req.stream) {
            stream(job, res);
        } else {
            complete(*job, res);
        }
    }

    // Waits for every choice; 504 when the request runs past its timeout.
    void complete(Job& job, httplib::Response& res) {
        const size_t n = job.seqs.size();
        std::vector<std::optional<gen::Completion>> done(n);
        bool timed_out = false;
        for (size_t i = 0; i < n; ++i) {
            for (;;) {
                if (!timed_out && (Clock::now() > job.deadline || cancel_all.load())) {
                    timed_out = Clock::now() > job.deadline;
                    for (auto& s : job.seqs) s->cancel();
                }
                auto e = job.seqs[i]->next(std::chrono::milliseconds(100));
                if (!e || !e->done) continue;
                if (!e->error.empty()) {
                    for (auto& s : job.seqs) s->cancel();
                    throw ApiError(500, "server_error",
                                   fmt::format("generation: {}", e->error));
                }
                done[i] = std::move(e->completion);
                break;
            }
        }
        if (timed_out) {
            throw ApiError(504, "timeout",
                           fmt::format("request: timed out; expected generation to finish within "
                                       "{} s (--timeout); ask for fewer max_tokens",
                                       opt.request_timeout_s),
                           "", "timeout");
        }
        json choices = json::array();
        if (job.req.score_only) {  // max_tokens 0 with echo: each prompt, n times, as it is
            for (size_t k = 0; k < job.prompt_text.size() * static_cast<size_t>(job.req.n); ++k) {
                const size_t prompt_i = k / static_cast<size_t>(job.req.n);
                choices.push_back({{"index", k},
                                   {"text", job.prompt_text[prompt_i]},
                                   {"logprobs", job.prompt_logprobs.empty() ? json(nullptr)
                                                                            : job.prompt_logprobs[prompt_i]},
                                   {"finish_reason", "length"}});
            }
        }
        int64_t completion_tokens = 0;  // every candidate generated, best_of's unreturned too
        for (const auto& c : done) completion_tokens += static_cast<int64_t>(c->tokens.size());
        const auto per_prompt = static_cast<size_t>(job.req.best_of);
        const std::vector<size_t> kept = best_candidates(done, per_prompt, static_cast<size_t>(job.req.n));
        for (size_t k = 0; k < kept.size(); ++k) {
            const size_t i = kept[k];
            const gen::Completion& c = *done[i];
            const size_t prompt_i = i / per_prompt;
            json choice = {{"index", k}, {"finish_reason", openai_finish_reason(c.finish)}};
            size_t offset = 0;
            if (job.chat) {
                choice["message"] = {{"role", "assistant"}, {"content", c.text}};
                if (auto call = job.req.tool_call ? tool_call_of(c.text) : std::nullopt) {
                    auto [fields, finish] = call_fields(job, std::move(*call));
                    choice["message"] = {{"role", "assistant"}, {"content", nullptr}};
                    choice["message"].update(fields);
                    choice["finish_reason"] = finish;
                }
            } else {
                const std::string prefix = job.req.echo ? job.prompt_text[prompt_i] : "";
                choice["text"] = prefix + c.text;
                offset = prefix.size();
            }
            choice["logprobs"] = logprobs_json(job, TokenRun::of(c), offset);
            if (!job.prompt_logprobs.empty())
                choice["logprobs"] = join_logprobs(job.prompt_logprobs[prompt_i], choice["logprobs"]);
            choices.push_back(std::move(choice));
        }
        int64_t cached_tokens = 0;  // a prompt's first choice says whether its prefill was copied
        for (size_t i = 0; i < n; i += per_prompt) cached_tokens += done[i]->timings.n_prompt_cached;
        send_json(res, {{"id", job.id},
                        {"object", job.chat ? "chat.completion" : "text_completion"},
                        {"created", job.created},
                        {"model", job.model},
                        {"choices", choices},
                        {"usage", usage_json(job, completion_tokens, cached_tokens)}});
    }

    // A forced tool call's text ({"name", "arguments"}, by the grammar) as an entry of OpenAI's
    // tool_calls: arguments as a JSON string. Nothing when the text is not one (the budget cut it
    // short): the choice then keeps its text.
    static std::optional<json> tool_call_of(const std::string& text) {
        const json call = json::parse(text, nullptr, false);
        if (call.is_discarded() || !call.is_object() || !call.contains("name") || !call["name"].is_string() ||
            !call.contains("arguments"))
            return std::nullopt;
        return json{{"id", random_id("call_")},
                    {"type", "function"},
                    {"function", {{"name", call["name"]}, {"arguments", call["arguments"].dump()}}}};
    }

    // A call as the message (or delta) fields that carry it and the finish reason: tool_calls, or
    // for a request in the older shape function_call (no id, type or index there).
    static std::pair<json, const char*> call_fields(const Job& job, json call) {
        if (job.req.legacy_functions) return {{{"function_call", std::move(call["function"])}}, "function_call"};
        return {{{"tool_calls", json::array({std::move(call)})}}, "tool_calls"};
    }

    // The echoed prompt's logprobs (Job::prompt_logprobs): the legacy shape over its tokens,
    // text offsets from 0. The first token has no context and gets null, as OpenAI's does, except
    // after a BOS the tokenizer added, which is not echoed: the first token is scored after it.
    json prompt_logprobs_json(const Job& job, const ServedModel& m, std::span<const gen::TokenId> tokens,
                              bool bos_added) const {
        core::ThreadPool pool(1);  // the request's own thread; the scheduler keeps its cores
        const gen::Completion scored = gen::score_prompt(*m.model, tokens, *job.req.logprobs, pool, opt.kv_type);
        json out = {{"tokens", json::array()},
                    {"token_logprobs", json::array()},
                    {"top_logprobs", json::array()},
                    {"text_offset", json::array()}};
        size_t offset = 0;
        if (!bos_added && !tokens.empty()) {
            const std::string piece = piece_of(job, tokens[0]);
            out["tokens"].push_back(piece);
            out["token_logprobs"].push_back(nullptr);
            out["top_logprobs"].push_back(nullptr);
            out["text_offset"].push_back(0);
            offset = piece.size();
        }
        return join_logprobs(std::move(out), completion_logprobs(job, TokenRun::of(scored), offset));
    }

    // The legacy logprobs `a` followed by `b` (either may be null).
    static json join_logprobs(json a, const json& b) {
        if (a.is_null()) return b;
        if (b.is_null()) return a;
        for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"})
            for (const auto& v : b[key]) a[key].push_back(v);
        return a;
    }

    // The candidates returned, in choice order: of each prompt's `per_prompt` candidates, the
    // `keep` with the highest mean log-probability per token (OpenAI's best_of; ties and
    // empty completions keep generation order). With per_prompt == keep, all of them as they are.
    static std::vector<size_t> best_candidates(const std::vector<std::optional<gen::Completion>>& done,
                                               size_t per_prompt, size_t keep) {
        std::vector<size_t> kept;
        for (size_t first = 0; first < done.size(); first += per_prompt) {
            std::vector<size_t> order(per_prompt);
            std::iota(order.begin(), order.end(), first);
            if (keep < per_prompt) {
                const auto mean = [&](size_t i) {
                    const gen::Completion& c = *done[i];
                    return c.tokens.empty() ? -std::numeric_limits<double>::infinity()
                                            : c.logprob_sum() / static_cast<double>(c.tokens.size());
                };
                std::stable_sort(order.begin(), order.end(),
                                 [&](size_t a, size_t b) { return mean(a) > mean(b); });
            }
            kept.insert(kept.end(), order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep));
        }
        return kept;
    }

    // OpenAI's usage object: each prompt counted once (not once per choice), and of its tokens
    // those whose prefill came from the prompt cache (prompt_tokens_details.cached_tokens).
    static json usage_json(const Job& job, int64_t completion_tokens, int64_t cached_tokens) {
        int64_t prompt_tokens = 0;
        for (auto t : job.prompt_tokens) prompt_tokens += t;
        return {{"prompt_tokens", prompt_tokens},
                {"completion_tokens", completion_tokens},
                {"total_tokens", prompt_tokens + completion_tokens},
                {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
    }

    // A run of sampled tokens with their log-probabilities: a whole completion, or the tokens
    // one stream chunk covers.
    struct TokenRun {
        std::span<const model::TokenId> tokens;
        std::span<const float> logprobs;
        std::span<const std::vector<gen::TokenLogprob>> top;  // empty unless alternatives asked
        static TokenRun of(const gen::Completion& c, size_t from = 0) {
            from = std::min(from, c.tokens.size());
            return {std::span(c.tokens).subspan(from), std::span(c.token_logprobs).subspan(from),
                    c.top_logprobs.empty() ? std::span<const std::vector<gen::TokenLogprob>>()
                                           : std::span(c.top_logprobs).subspan(from)};
        }
        static TokenRun of(const gen::SeqEvent& e) {
            return {e.tokens, e.token_logprobs, e.top_logprobs};
        }
    };

    static std::string piece_of(const Job& job, model::TokenId id) {
        return job.tok->decode(std::span(&id, 1));
    }

    // The legacy completions shape; `offset` is the text offset of the run's first token and is
    // advanced past it (streams continue it chunk to chunk).
    static json completion_logprobs(const Job& job, const TokenRun& run, size_t& offset) {
        json tokens = json::array(), lps = json::array(), top = json::array(),
             offsets = json::array();
        for (size_t k = 0; k < run.tokens.size(); ++k) {
            const std::string piece = piece_of(job, run.tokens[k]);
            tokens.push_back(piece);
            lps.push_back(run.logprobs[k]);
            if (k < run.top.size()) {
                // {piece: logprob}; two ids that decode alike keep the likelier (listed first).
                json alternatives = json::object();
                for (const auto& t : run.top[k]) {
                    const std::string p = piece_of(job, t.id);
                    if (!alternatives.contains(p)) alternatives[p] = t.logprob;
                }
                top.push_back(std::move(alternatives));
            } else {
                top.push_back(nullptr);  // logprobs: 0 asks for no alternatives
            }
            offsets.push_back(offset);
            offset += piece.size();
        }
        return {{"tokens", tokens},
                {"token_logprobs", lps},
                {"top_logprobs", top},
                {"text_offset", offsets}};
    }

    static json chat_token(const std::string& piece, float logprob) {
        json bytes = json::array();
        for (unsigned char b : piece) bytes.push_back(b);
        return {{"token", piece}, {"logprob", logprob}, {"bytes", bytes}};
    }

    static json chat_logprobs(const Job& job, const TokenRun& run) {
        json content = json::array();
        for (size_t k = 0; k < run.tokens.size(); ++k) {
            json entry = chat_token(piece_of(job, run.tokens[k]), run.logprobs[k]);
            json top = json::array();
            if (k < run.top.size()) {
                for (const auto& t : run.top[k]) top.push_back(chat_token(piece_of(job, t.id), t.logprob));
            }
            entry["top_logprobs"] = std::move(top);
            content.push_back(std::move(entry));
        }
        return {{"content", content}};
    }

    // What a choice's "logprobs" holds for `run`: null unless the request asked for them.
    static json logprobs_json(const Job& job, const TokenRun& run, size_t& offset) {
        if (!job.req.logprobs) return nullptr;
        return job.chat ? chat_logprobs(job, run) : completion_logprobs(job, run, offset);
    }

    json chunk(const Job& job, json choice) const {
        return {{"id", job.id},
                {"object", job.chat ? "chat.completion.chunk" : "text_completion"},
                {"created", job.created},
                {"model", job.model},
                {"choices", json::array({std::move(choice)})}};
    }

    json text_choice(const Job& job, size_t i, const std::string& text,
                     json logprobs = nullptr) const {
        if (job.chat) {
            return {{"index", i}, {"delta", {{"content", text}}}, {"logprobs", std::move(logprobs)},
                    {"finish_reason", nullptr}};
        }
        return {{"index", i}, {"text", text}, {"logprobs", std::move(logprobs)},
                {"finish_reason", nullptr}};
    }

    void stream(const std::shared_ptr<Job>& job, httplib::Response& res) {
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream", [this, job](size_t, httplib::DataSink& sink) {
                auto send = [&sink](const std::string& s) { return sink.write(s.data(), s.size()); };
                auto cancel = [&job] {
                    for (auto& s : job->seqs) s->cancel();
                };
                const size_t n = job->seqs.size();
                // Opening chunks: the assistant role (chat) or the echoed prompt (completions).
                for (size_t i = 0; i < n; ++i) {
                    const size_t prompt_i = i / static_cast<size_t>(job->req.n);
                    json c;
                    if (job->chat) {
                        c = {{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                             {"logprobs", nullptr}, {"finish_reason", nullptr}};
                    } else if (job->req.echo) {
                        c = text_choice(*job, i, job->prompt_text[prompt_i],
                                        job->prompt_logprobs.empty() ? json(nullptr)
                                                                     : job->prompt_logprobs[prompt_i]);
                    } else {
                        continue;
                    }
                    if (!send(sse_data(chunk(*job, c)))) {
                        cancel();
                        return false;
                    }
                }
                std::vector<bool> ended(n, false);
                // Per choice: tokens whose logprobs were sent, and the text offset reached.
                std::vector<size_t> sent(n, 0), offset(n, 0);
                if (job->req.echo && !job->chat) {
                    for (size_t i = 0; i < n; ++i) {
                        offset[i] = job->prompt_text[i / static_cast<size_t>(job->req.n)].size();
                    }
                }
                size_t left = n;
                int64_t completion_tokens = 0, cached_tokens = 0;
                bool cancelled = false;
                while (left > 0) {
                    if (!cancelled && (Clock::now() > job->deadline || cancel_all.load())) {
                        cancel();
                        cancelled = true;
                    }
                    bool any = false;
                    for (size_t i = 0; i < n; ++i) {
                        if (ended[i]) continue;
                        // A single open choice waits for its next event; several are polled.
                        const auto wait = std::chrono::milliseconds(left == 1 ? 100 : 0);
                        while (auto e = job->seqs[i]->next(wait)) {
                            any = true;
                            std::string out;
                            if (!e->piece.empty() && !job->req.tool_call) {  // a call goes out whole
                                const TokenRun run = TokenRun::of(*e);
                                sent[i] += run.tokens.size();
                                out += sse_data(chunk(*job, text_choice(*job, i, e->piece,
                                                                        logprobs_json(*job, run, offset[i]))));
                            }
                            if (e->done) {
                                ended[i] = true;
                                --left;
                                if (!e->error.empty()) {
                                    out += sse_data(error_json(ApiError(
                                        500, "server_error",
                                        fmt::format("generation: {}", e->error))));
                                } else {
                                    completion_tokens +=
                                        static_cast<int64_t>(e->completion->tokens.size());
                                    if (i % static_cast<size_t>(job->req.n) == 0)
                                        cached_tokens += e->completion->timings.n_prompt_cached;
                                    // The tokens no text chunk carried (an EOS, a stop
                                    // string's tokens) close the choice's logprobs.
                                    const TokenRun rest = TokenRun::of(*e->completion, sent[i]);
                                    json lp = rest.tokens.empty()
                                                  ? json(nullptr)
                                                  : logprobs_json(*job, rest, offset[i]);
                                    json c = job->chat ? json{{"index", i},
                                                              {"delta", json::object()},
                                                              {"logprobs", std::move(lp)}}
                                                       : json{{"index", i},
                                                              {"text", ""},
                                                              {"logprobs", std::move(lp)}};
                                    c["finish_reason"] =
                                        openai_finish_reason(e->completion->finish);
                                    if (job->req.tool_call) {
                                        // The call in one delta (OpenAI's chunks may split its
                                        // arguments anywhere); text the budget cut is sent as is.
                                        const std::string& text = e->completion->text;
                                        json delta = {{"content", text}};
                                        if (auto call = tool_call_of(text)) {
                                            (*call)["index"] = 0;  // a delta's calls say which they are
                                            auto [fields, finish] = call_fields(*job, std::move(*call));
                                            delta = std::move(fields);
                                            c["finish_reason"] = finish;
                                        }
                                        out += sse_data(chunk(*job, json{{"index", i},
                                                                         {"delta", std::move(delta)},
                                                                         {"logprobs", nullptr},
                                                                         {"finish_reason", nullptr}}));
                                        c["logprobs"] = nullptr;
                                    }
                                    out += sse_data(chunk(*job, c));
                                }
                            }
                            if (!out.empty() && !send(out)) {
                                cancel();  // the client went away
                                return false;
                            }
                            if (e->done) break;
                        }
                    }
                    if (!any && left > 1) {
                        // Nothing ready on any choice: sleep briefly on the first open one.
                        for (size_t i = 0; i < n; ++i) {
                            if (ended[i]) continue;
                            std::this_thread::sleep_for(std::chrono::milliseconds(2));
                            break;
                        }
                    }
                }
                if (job->req.include_usage) {
                    json u = chunk(*job, json::object());
                    u["choices"] = json::array();
                    u["usage"] = usage_json(*job, completion_tokens, cached_tokens);
                    if (!send(sse_data(u))) return false;
                }
                if (!send(std::string(kSseDone))) return false;
                sink.done();
                return true;
            });
    }

    // --- game sessions (/v1/art/play/{create,turn,save,load}) -------------------------------

    art::play::GameOptions game_options(const json& body) const {
        art::play::GameOptions o;
        for (auto it = body.begin(); it != body.end(); ++it) {
            static const char* known[] = {"world", "premise", "seed", "temperature", "top_k",
                                          "top_p", "narration_tokens", "model", "save", "session",
                                          "prompt_format"};
            if (std::find_if(std::begin(known), std::end(known),
                             [&](const char* k) { return it.key() == k; }) == std::end(known)) {
                throw ApiError(400, "invalid_request_error",
                               fmt::format("{}: unknown option; expected world, premise, seed, "
                                           "temperature, top_k, top_p, narration_tokens, model "
                                           "or prompt_format",
                                           it.key()),
                               it.key());
            }
        }
        if (body.contains("world") && !body["world"].is_null()) {
            o.world = art::play::world_from_json(body["world"], "request world");
        }
        o.premise = art::get_string(body, "premise");
        o.seed = static_cast<uint64_t>(art::get_int(body, "seed", 0, 0, INT64_MAX));
        o.temperature = static_cast<float>(art::get_number(body, "temperature", 0.8, 0, 2));
        o.top_k = static_cast<int>(art::get_int(body, "top_k", 40, 0, 1 << 20));
        o.top_p = static_cast<float>(art::get_number(body, "top_p", 0.95, 0, 1));
        o.narration_tokens = static_cast<int>(
            art::get_int(body, "narration_tokens", 160, 1, opt.limits.max_tokens));
        o.prompt_format = art::get_string(body, "prompt_format", "auto");
        return o;
    }

    std::shared_ptr<const model::Model> game_model(const json& body) {
        std::string name = art::get_string(body, "model");
        if (name.empty()) {
            // The game's default among the models this server serves: the prose model, else the
            // fallback (art::play::default_model_file() looks in the repository's models/).
            const bool prose = fs::exists(models_dir / art::play::kProseModelFile);
            name = model_name(prose ? art::play::kProseModelFile : art::play::kFallbackModelFile);
        }
        return art_models.get(resolve_model(name).string());
    }

    json game_json(const std::string& id, const art::play::Game& g) const {
        return {{"session", id}, {"status", g.status_line()}, {"choices", g.choices()},
                {"turns", g.history().size()}, {"seed", g.seed()},
                {"prompt_format", g.prompt_format()}, {"branch", g.branch()},
                {"branches", g.branch_count()}};
    }

    std::string add_session(std::unique_ptr<art::play::Game> game,
                            std::shared_ptr<PlaySession> ses) {
        ses->game = std::move(game);
        ses->last_used = Clock::now();
        const std::string id = random_id("game-");
        std::lock_guard<std::mutex> lock(play_mu);
        if (play_sessions.size() >= kMaxPlaySessions) {  // forget the longest idle one
            auto oldest = play_sessions.begin();
            for (auto it = play_sessions.begin(); it != play_sessions.end(); ++it) {
                if (it->second->last_used < oldest->second->last_used) oldest = it;
            }
            play_sessions.erase(oldest);
        }
        play_sessions[id] = std::move(ses);
        return id;
    }

    std::shared_ptr<PlaySession> find_session(const json& body) {
        const std::string id = art::get_string(body, "session");
        std::lock_guard<std::mutex> lock(play_mu);
        auto it = play_sessions.find(id);
        if (it == play_sessions.end()) {
            throw ApiError(404, "not_found_error",
                           fmt::format("session: no game '{}'; expected an id from "
                                       "/v1/art/play/create or /v1/art/play/load (sessions live "
                                       "in memory until the server stops)",
                                       id),
                           "session");
        }
        return it->second;
    }

    static const char* turn_kind(art::play::TurnResult::Kind k) {
        switch (k) {
            case art::play::TurnResult::Kind::Narrated: return "narrated";
            case art::play::TurnResult::Kind::Refused: return "refused";
            case art::play::TurnResult::Kind::Command: return "command";
            case art::play::TurnResult::Kind::Quit: return "quit";
        }
        return "command";
    }

    void play(const httplib::Request& req, httplib::Response& res, const std::string& action) {
        json body = parse_body(req);
        if (!body.is_object()) {
            throw ApiError(400, "invalid_request_error", "request body: expected a JSON object");
        }
        if (action == "create" || action == "load") {
            json opts = body;
            opts.erase("save");
            auto ses = std::make_shared<PlaySession>();
            auto m = game_model(opts);
            std::unique_ptr<art::play::Game> game;
            if (action == "create") {
                game = std::make_unique<art::play::Game>(
                    art::play::Game::create(m, ses->pool, game_options(opts)));
            } else {
                if (!body.contains("save") || !body["save"].is_object()) {
                    throw ApiError(400, "invalid_request_error",
                                   "save: missing; expected the object /v1/art/play/save returned",
                                   "save");
                }
                game = std::make_unique<art::play::Game>(
                    art::play::Game::restore(m, ses->pool, body["save"], game_options(opts)));
            }
            json j = game_json("", *game);
            j["intro"] = game->intro();
            // A world drafted from a premise: what was asked and which attempt passed (as lyra play
            // --json prints it), kept in the save so a load never drafts again.
            if (!game->draft().is_null()) j["draft"] = game->draft();
            j["session"] = add_session(std::move(game), ses);
            return send_json(res, j);
        }
        if (action != "turn" && action != "save") {
            throw ApiError(404, "not_found_error",
                           fmt::format("play: unknown action '{}'; expected create, turn, save "
                                       "or load",
                                       action));
        }
        auto ses = find_session(body);
        std::lock_guard<std::mutex> lock(ses->mu);
        ses->last_used = Clock::now();
        const std::string id = art::get_string(body, "session");
        if (action == "save") {
            json j = game_json(id, *ses->game);
            j["save"] = ses->game->save();
            return send_json(res, j);
        }
        const std::string input = art::get_string(body, "input");
        if (input.empty() || input.size() > opt.limits.max_prompt_bytes) {
            throw ApiError(400, "invalid_request_error",
                           fmt::format("input: expected 1 to {} bytes of player input, got {}",
                                       opt.limits.max_prompt_bytes, input.size()),
                           "input");
        }
        const art::play::TurnResult t = ses->game->turn(input);
        json j = game_json(id, *ses->game);
        j["kind"] = turn_kind(t.kind);
        j["text"] = t.text;
        j["narration"] = t.narration;
        j["update"] = t.update;
        j["choices"] = t.choices;
        j["game_over"] = t.game_over;
        j["won"] = t.won;
        send_json(res, j);
    }

    // --- art ------------------------------------------------------------------------------

    void art(const httplib::Request& req, httplib::Response& res, const std::string& name) {
        const studio::ArtformInfo* form = studio::find_artform(name);
        if (form == nullptr) {
            std::string known;
            for (const auto& f : studio::artforms()) known += (known.empty() ? "" : ", ") + f.name;
            throw ApiError(404, "not_found_error",
                           fmt::format("art form: unknown form '{}'; expected one of: {}", name,
                                       known),
                           "form");
        }
        json request = parse_body(req);
        if (!request.is_object()) {
            throw ApiError(400, "invalid_request_error",
                           "request body: expected a JSON object of the form's options");
        }
        // Only models the server serves, by name (never a path on the server's disk).
        if (auto it = request.find("model"); it != request.end() && !it->is_null()) {
            if (!it->is_string()) {
                throw ApiError(400, "invalid_request_error", "model: expected a model name",
                               "model");
            }
            *it = resolve_model(it->get<std::string>()).string();
        }
        // The encoder critic and the story's planner likewise: served models by name; no corpus
        // file from the server's disk.
        for (const char* key : {"critic", "planner"}) {
            if (auto it = request.find(key); it != request.end() && !it->is_null()) {
                if (!it->is_string() || it->get<std::string>().empty()) {
                    throw ApiError(400, "invalid_request_error",
                                   fmt::format("{}: expected a model name", key), key);
                }
                *it = resolve_model(it->get<std::string>()).string();
            }
        }
        if (request.contains("critic_corpus")) {
            throw ApiError(400, "invalid_request_error",
                           "critic_corpus: not accepted over HTTP (it names a file on the "
                           "server's disk); expected no critic_corpus",
                           "critic_corpus");
        }
        if (auto it = request.find("n"); it != request.end() && it->is_number_integer() &&
                                         it->get<int64_t>() > opt.limits.max_n) {
            throw ApiError(400, "invalid_request_error",
                           fmt::format("n: out of range; expected 1 to {} (--max-n), got {}",
                                       opt.limits.max_n, it->get<int64_t>()),
                           "n");
        }
        // The server's KV cache type (--kv-type) unless the request names one.
        if (!request.contains("kv_type") || request["kv_type"].is_null())
            request["kv_type"] = model::kv_type_name(opt.kv_type);
        const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        int threads = opt.threads > 0 ? opt.threads : hw;
        if (auto it = request.find("threads"); it != request.end() && it->is_number_integer()) {
            const int64_t t = it->get<int64_t>();
            if (t > 0) threads = static_cast<int>(std::min<int64_t>(t, hw));
            *it = threads;
        }

        // A slot among the art jobs.
        {
            std::unique_lock<std::mutex> lock(art_mu);
            art_cv.wait(lock, [this] { return art_running < opt.max_art_jobs; });
            ++art_running;
        }
        struct Release {
            Impl* self;
            ~Release() {
                {
                    std::lock_guard<std::mutex> lock(self->art_mu);
                    --self->art_running;
                }
                self->art_cv.notify_one();
            }
        } release{this};

        static std::atomic<uint64_t> counter{0};
        const std::string rel = fmt::format("{}/{}-{}", name, std::time(nullptr),
                                            counter.fetch_add(1));
        core::ThreadPool pool(threads);
        art::Context ctx;
        ctx.pool = &pool;
        ctx.models = &art_models;
        ctx.out_dir = (out_dir / rel).string();
        const auto deadline = Clock::now() + std::chrono::seconds(opt.request_timeout_s);
        ctx.on_text = [this, deadline](std::string_view) {
            return !cancel_all.load() && Clock::now() < deadline;
        };
        art::ArtResult result = form->run(request, ctx);
        if (gallery_path) studio::record_in_gallery(result, "server", *gallery_path);
        json j = art::to_json(result);
        if (j.contains("files")) j["files"] = file_urls(j["files"]);
        // The model by the name it is served under, never its path on the server's disk.
        if (auto it = j.find("model"); it != j.end() && it->is_string())
            *it = fs::path(it->get<std::string>()).stem().string();
        send_json(res, j);
    }

    // Artifact kind -> path becomes kind -> URL; a path outside out_dir (a work recorded by the
    // CLI) is not served, so it becomes null rather than leak a path on the server's disk.
    json file_urls(const json& files) const {
        json urls = json::object();
        for (const auto& [kind, path] : files.items()) {
            const std::string url = file_url(path.get<std::string>());
            urls[kind] = url.rfind("/files/", 0) == 0 ? json(url) : json(nullptr);
        }
        return urls;
    }

    // --- gallery ----------------------------------------------------------------------------

    studio::Gallery& open_gallery() {
        if (!gallery_path) {
            throw ApiError(404, "not_found_error",
                           "gallery: recording is off (lyra serve --no-gallery or LYRA_GALLERY=off)");
        }
        std::lock_guard<std::mutex> lock(gallery_mu);
        if (!gallery) gallery = std::make_unique<studio::Gallery>(*gallery_path);
        return *gallery;
    }

    json gallery_work_json(const studio::GalleryWork& w) const {
        json j = studio::work_to_json(w);
        j["files"] = file_urls(j["files"]);
        j.erase("model");  // a path on the server's disk; model_sha256 names the model
        return j;
    }

    // GET /v1/gallery?form=poem&limit=20&before=ID: newest first, paged by id.
    void gallery_list(const httplib::Request& req, httplib::Response& res) {
        studio::GalleryQuery q;
        q.form = req.get_param_value("form");
        if (!q.form.empty() && studio::find_artform(q.form) == nullptr && q.form != "play") {
            std::string known;
            for (const auto& f : studio::artforms()) known += (known.empty() ? "" : ", ") + f.name;
            throw ApiError(400, "invalid_request_error",
                           fmt::format("form: unknown form '{}'; expected one of: {}, play", q.form,
                                       known),
                           "form");
        }
        q.limit = query_int(req, "limit", q.limit, 1, 1000);
        q.before_id = query_int(req, "before", 0, 0, std::numeric_limits<int64_t>::max());
        studio::Gallery& g = open_gallery();
        json data = json::array();
        int64_t last_id = 0;
        for (const auto& w : g.list(q)) {
            data.push_back(gallery_work_json(w));
            last_id = w.id;
        }
        json j = {{"object", "list"}, {"data", data}, {"total", g.count(q.form)}};
        // The next page: works older than the last one here (absent on the last page).
        if (static_cast<int64_t>(data.size()) == q.limit && last_id > 1) j["next_before"] = last_id;
        send_json(res, j);
    }

    void gallery_get(int64_t id, httplib::Response& res) {
        auto w = open_gallery().get(id);
        if (!w) {
            throw ApiError(404, "not_found_error", fmt::format("gallery: no work with id {}", id),
                           "id");
        }
        send_json(res, gallery_work_json(*w));
    }

    static int64_t query_int(const httplib::Request& req, const char* key, int64_t fallback,
                             int64_t lo, int64_t hi) {
        if (!req.has_param(key)) return fallback;
        const std::string v = req.get_param_value(key);
        int64_t x = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
        if (ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi) {
            throw ApiError(400, "invalid_request_error",
                           fmt::format("{}: expected an integer from {} to {}, got '{}'", key, lo,
                                       hi, v),
                           key);
        }
        return x;
    }

    // "/files/<path relative to out_dir>" for an artifact the server wrote.
    std::string file_url(const std::string& path) const {
        std::error_code ec;
        const fs::path rel = fs::relative(fs::weakly_canonical(path, ec),
                                          fs::weakly_canonical(out_dir, ec), ec);
        if (ec || rel.empty() || *rel.begin() == "..") return path;
        return "/files/" + rel.generic_string();
    }

    void serve_file(const std::string& rel, httplib::Response& res) const {
        const auto path = safe_join(out_dir, rel);
        std::error_code ec;
        if (!path || !fs::is_regular_file(*path, ec)) {
            throw ApiError(404, "not_found_error",
                           fmt::format("file: not found; expected a path to an artifact under "
                                       "/files/, got '{}'",
                                       rel),
                           "path");
        }
        std::ifstream in(*path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        res.set_content(ss.str(), mime_type(*path));
    }
};

Server::Server(ServerOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) {
    Impl& m = *impl_;
    std::error_code ec;
    if (m.opt.models_dir.empty()) {
        m.models_dir = gen::find_models_dir();
    } else {
        m.models_dir = m.opt.models_dir;
        if (!fs::is_directory(m.models_dir, ec)) {
            throw_error(ErrorKind::NotFound,
                        "models directory '{}': not found; expected a directory of GGUF files",
                        m.opt.models_dir);
        }
    }
    m.out_dir = m.opt.out_dir;
    fs::create_directories(m.out_dir, ec);
    if (ec) {
        throw_error(ErrorKind::Io, "output directory '{}': cannot create ({}); expected a "
                                   "writable directory",
                    m.opt.out_dir, ec.message());
    }
    if (!m.opt.web_dir.empty()) {
        if (!fs::is_directory(m.opt.web_dir, ec)) {
            throw_error(ErrorKind::NotFound, "web directory '{}': not found; expected a directory",
                        m.opt.web_dir);
        }
        m.web_dir = m.opt.web_dir;
    } else if (!m.models_dir.empty() && fs::is_directory(m.models_dir.parent_path() / "web", ec)) {
        m.web_dir = m.models_dir.parent_path() / "web";
    }
    m.setup();
}

Server::~Server() {
    shutdown();
    if (impl_->deadline_thread.joinable()) impl_->deadline_thread.join();
}

const ServerOptions& Server::options() const { return impl_->opt; }

int Server::bind() {
    Impl& m = *impl_;
    int port = 0;
    if (m.opt.port == 0) {
        port = m.http.bind_to_any_port(m.opt.host);
    } else {
        port = m.http.bind_to_port(m.opt.host, m.opt.port) ? m.opt.port : -1;
    }
    if (port <= 0) {
        throw_error(ErrorKind::Io,
                    "listen on {}:{}: cannot bind; expected a free port on a local address; "
                    "pick another with --port (0 = any free port)",
                    m.opt.host, m.opt.port);
    }
    // Debian's httplib is a compiled library that listens with a backlog of 5: eight clients
    // connecting at once overflowed it, and each dropped SYN came back only after TCP's 1 s
    // retransmit (a bench_serve client started a whole second late). listen() again on the
    // bound socket raises the backlog (POSIX allows it on a listening socket).
    if (!m.bind_sockets.empty()) {
        const int sock = m.bind_sockets.back();
        int listening = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(sock, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0) {
            (void)::listen(sock, kListenBacklog);
        }
    }
    m.bound = true;
    return port;
}

void Server::run() {
    Impl& m = *impl_;
    if (!m.bound) bind();
    m.http.listen_after_bind();
    // Accepting stopped and every connection's handler returned (after the deadline at worst).
    {
        std::lock_guard<std::mutex> lock(m.shutdown_mu);
        m.stopped = true;
    }
    m.shutdown_cv.notify_all();
    std::lock_guard<std::mutex> lock(m.models_mu);
    m.models.clear();
}

void Server::shutdown() {
    Impl& m = *impl_;
    if (m.draining.exchange(true)) return;
    m.http.stop();  // closes the listening socket; running handlers continue
    m.deadline_thread = std::thread([&m] {
        std::unique_lock<std::mutex> lock(m.shutdown_mu);
        if (m.shutdown_cv.wait_for(lock, std::chrono::seconds(m.opt.shutdown_deadline_s),
                                   [&m] { return m.stopped; })) {
            return;
        }
        m.cancel_all.store(true);
        std::lock_guard<std::mutex> mlock(m.models_mu);
        for (auto& [name, sm] : m.models) sm->scheduler->cancel_all();
    });
}

}  // namespace lyra::server
