// `lyra serve`: the HTTP server (docs/server.md). OpenAI-compatible text endpoints
// (/v1/completions, /v1/chat/completions, /v1/models, the legacy /v1/engines API) backed by one
// gen::Scheduler per loaded model, the art endpoints (/v1/art/{poem,tune,paint,story}) backed by
// studio::find_artform, artifacts under /files/, and the studio
// page (web/) at /. HTTP details (cpp-httplib) stay inside server.cpp.
//
// Lifecycle: bind() (port 0 picks a free port), run() blocks serving; shutdown() — from any
// thread, e.g. a SIGTERM watcher — stops accepting at once, lets running requests finish until
// the deadline, then cancels the rest (streams end with finish_reason "cancelled") and run()
// returns.
#pragma once

#include <memory>
#include <string>

#include "server/api.h"

namespace lyra::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;               // 0 = any free port
    std::string api_key;           // non-empty: /v1/* needs "Authorization: Bearer <key>"
    std::string models_dir;        // GGUF files served by name; "" = gen::find_models_dir()
    std::string out_dir = "lyra-serve-files";  // art artifacts, served under /files/
    std::string web_dir;           // the studio page; "" = <models dir>/../web when it exists
    int threads = 0;               // per model scheduler (and per art job); 0 = all
    int max_batch = 16;            // sequences decoded together per model
    int prompt_cache_mb = 64;      // per model: prefilled prompts kept for repeats; 0 = off
    // KV cache element type of every text request, and of art requests without "kv_type".
    core::DType kv_type = gen::GenerateOptions{}.kv_type;
    int http_threads = 32;         // concurrent connections served
    int max_art_jobs = 2;          // art requests running at once (others wait)
    Limits limits;
    int request_timeout_s = 300;   // a generation longer than this is cancelled
    int shutdown_deadline_s = 10;  // after shutdown(), running requests get this long
    bool record_gallery = true;    // art results go to the gallery (when it is built)
};

class Server {
public:
    // Throws Error(NotFound) when models_dir is given and does not exist.
    explicit Server(ServerOptions opt);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds the listening socket; returns the port. Throws Error(Io) when it cannot.
    int bind();
    // Serves until shutdown() has finished draining. Call bind() first.
    void run();
    // Thread-safe and idempotent (not async-signal-safe: call it from a normal thread).
    void shutdown();

    const ServerOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lyra::server
