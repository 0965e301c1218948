// `lyra serve`: the HTTP server (docs/server.md). Prints "lyra serve: listening on
// http://HOST:PORT" on stdout once the socket is bound (--port 0 picks a free port), serves until
// SIGTERM or SIGINT, then stops accepting, lets running requests finish for --shutdown-deadline
// seconds, cancels the rest and exits 0.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "model/model.h"
#include "server/server.h"

namespace lyra::cli {

namespace {

void run_serve(const server::ServerOptions& opt) {
    // SIGTERM/SIGINT are taken by a watcher thread (sigwait), not an async handler, so the
    // shutdown can lock and join. Blocked before any thread starts, so every thread inherits it.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // A client that disconnects mid-write must not kill the server.
    signal(SIGPIPE, SIG_IGN);

    server::Server srv(opt);
    const int port = srv.bind();
    std::printf("lyra serve: listening on http://%s:%d\n", opt.host.c_str(), port);
    std::fflush(stdout);

    std::thread watcher([&srv, set] {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig == SIGTERM || sig == SIGINT) {
            std::fprintf(stderr, "lyra serve: %s received; stopping (deadline %d s)\n",
                         sig == SIGTERM ? "SIGTERM" : "SIGINT", srv.options().shutdown_deadline_s);
            srv.shutdown();
        }
    });
    srv.run();
    // run() returned because of shutdown(); if it returned on its own (listen failed), wake
    // the watcher with a signal to ourselves so it can be joined.
    pthread_kill(watcher.native_handle(), SIGTERM);
    watcher.join();
    std::fprintf(stderr, "lyra serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
    auto opt = std::make_shared<server::ServerOptions>();
    auto* cmd = app.add_subcommand("serve", "HTTP server: OpenAI-compatible API, art API, studio");
    cmd->add_option("--host", opt->host, "Address to bind (default 127.0.0.1: this machine only)");
    cmd->add_option("--port", opt->port, "Port (0 = any free port; the bound one is printed)")
        ->check(whole_between(0, 65535));
    cmd->add_option("--api-key", opt->api_key,
                    "Require 'Authorization: Bearer KEY' on /v1/* (default: no key)");
    cmd->add_option("--models", opt->models_dir,
                    "Directory of GGUF files served by name (default: the shipped models/)");
    cmd->add_option("--out-dir", opt->out_dir, "Where art artifacts go (served under /files/)");
    cmd->add_option("--web", opt->web_dir, "Studio page directory served at / (default: web/)");
    cmd->add_option("--threads", opt->threads, "Threads per model (0 = all cores)")
        ->check(whole_between(0, 1024));
    add_kv_type_option(cmd, opt->kv_type);
    cmd->add_option("--max-batch", opt->max_batch, "Sequences decoded together per model (at most 31: "
                                                   "beyond, a batched sequence could differ from it alone)")
        ->check(whole_between(1, static_cast<int>(model::Model::kExactBatchRows)));
    cmd->add_option("--prompt-cache", opt->prompt_cache_mb,
                    "MiB per model of prefilled prompts kept, so a repeated prompt skips its prefill "
                    "(0 = off; the output is the same either way)")
        ->check(whole_between(0, 1 << 20));
    cmd->add_option("--max-tokens", opt->limits.max_tokens, "Largest max_tokens a request may ask")
        ->check(whole_between(1, 1 << 20));
    cmd->add_option("--max-n", opt->limits.max_n, "Largest n (choices) a request may ask")
        ->check(whole_between(1, 64));
    cmd->add_option("--max-body", opt->limits.max_body_bytes, "Largest request body in bytes")
        ->check(whole_between(1024, 1 << 30));
    cmd->add_option("--max-prompt", opt->limits.max_prompt_bytes, "Largest prompt in bytes")
        ->check(whole_between(1, 1 << 26));
    cmd->add_option("--timeout", opt->request_timeout_s, "Seconds a request may run")
        ->check(whole_between(1, 86400));
    cmd->add_option("--shutdown-deadline", opt->shutdown_deadline_s,
                    "Seconds running requests get after SIGTERM before they are cancelled")
        ->check(whole_between(0, 3600));
    cmd->add_flag("!--no-gallery", opt->record_gallery, "Do not record art results in the gallery");
    cmd->callback([opt] { run_serve(*opt); });
}

}  // namespace lyra::cli
