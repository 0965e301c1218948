// A `lyra serve` child process for the end-to-end tests (serve_test.cpp, remote_test.cpp): it
// serves a models directory made once per test program — the shipped model (linked) and a
// random-init llama with a long context — on a free port, and is SIGKILLed if a test did not stop
// it. Http/curl/post/get talk to it with curl.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "fixtures/bert_dir.h"


namespace lyra::e2e {

namespace serve_detail {
namespace fs = std::filesystem;
using Args = std::vector<std::string>;

inline const char* kModel = "tiny-shakespeare-char";
inline const char* kModel2 = "random-llama";
inline const char* kModel3 = "random-bytes";  // a byte vocabulary: every JSON text has tokens
inline const char* kEncoder = "random-bert";  // an encoder, for /v1/embeddings

// A random-weight BERT over a few words, imported with `lyra model import`, in `dir`.
inline fs::path random_bert(const fs::path& dir) {
    const fs::path hf = dir / "bert-hf", gguf = dir / (std::string(kEncoder) + ".gguf");
    test::write_bert_dir(hf, {"red", "green", "apple", "pear", "sky", "sea"});
    const RunResult r = run_lyra({"model", "import", hf.string(), "-o", gguf.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    fs::remove_all(hf);
    return gguf;
}

// The models directory every server in this file serves: the shipped model (linked), a
// random-init llama with a long context and one over bytes (made once with `lyra model init`),
// and a random BERT (random_bert).
inline const fs::path& models_dir() {
    static std::unique_ptr<TempDir> dir = [] {
        auto d = std::make_unique<TempDir>();
        fs::create_symlink(shipped_model(), d->path() / (std::string(kModel) + ".gguf"));
        fs::create_symlink(random_llama(64, 2, 2, 2048, shipped_model()),
                           d->path() / (std::string(kModel2) + ".gguf"));
        fs::create_symlink(random_llama(64, 2, 2, 1024, "bytes"), d->path() / (std::string(kModel3) + ".gguf"));
        random_bert(d->path());
        return d;
    }();
    return dir->path();
}

// A running `lyra serve`. It records art in `gallery`
// (an SQLite file path) when one is given, else not at all.
class ServeProcess {
public:
    // `models` replaces the shared models directory when given.
    explicit ServeProcess(const Args& extra, const std::string& gallery = "", const fs::path& models = {})
        : out_dir_(std::make_unique<TempDir>()) {
        Args args = {"serve", "--port", "0", "--threads", "2", "--models",
                     (models.empty() ? models_dir() : models).string(),
                     "--out-dir", (out_dir_->path() / "files").string()};
        if (gallery.empty()) args.push_back("--no-gallery");
        args.insert(args.end(), extra.begin(), extra.end());
        // The environment, with LYRA_GALLERY pointing at the test's gallery when it has one.
        std::vector<std::string> env_strings;
        for (char** e = environ; *e != nullptr; ++e) {
            if (std::string_view(*e).rfind("LYRA_GALLERY=", 0) != 0) env_strings.emplace_back(*e);
        }
        env_strings.push_back("LYRA_GALLERY=" + (gallery.empty() ? std::string("off") : gallery));
        std::vector<char*> envp;
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);
        int fds[2];
        if (pipe(fds) != 0) {
            ADD_FAILURE() << "pipe failed";
            return;
        }
        err_path_ = (out_dir_->path() / "stderr").string();
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        std::vector<char*> argv;
        const std::string bin = lyra_bin();
        argv.push_back(const_cast<char*>(bin.c_str()));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), envp.data()) != 0) {
            ADD_FAILURE() << "cannot start " << bin;
            pid_ = -1;
        }
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        // "lyra serve: listening on http://127.0.0.1:PORT\n"
        std::string line;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
            pollfd p{fds[0], POLLIN, 0};
            if (poll(&p, 1, 200) <= 0) continue;
            char buf[256];
            const ssize_t n = read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, static_cast<size_t>(n));
        }
        close(fds[0]);
        const auto colon = line.rfind(':');
        if (line.find("listening on http://127.0.0.1:") == std::string::npos ||
            colon == std::string::npos) {
            ADD_FAILURE() << "server did not start: '" << line << "'\n" << stderr_text();
            return;
        }
        port_ = std::stoi(line.substr(colon + 1));
    }
    ~ServeProcess() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

    bool ok() const { return port_ > 0; }
    int port() const { return port_; }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    pid_t pid() const { return pid_; }
    fs::path files_dir() const { return out_dir_->path() / "files"; }
    std::string stderr_text() const { return read_all(err_path_); }

    // Sends `sig` and waits up to `timeout` for the exit; returns the exit code (-1: still
    // running, then killed).
    int stop(int sig, std::chrono::seconds timeout) {
        if (pid_ <= 0) return -1;
        kill(pid_, sig);
        const auto until = std::chrono::steady_clock::now() + timeout;
        int status = 0;
        while (std::chrono::steady_clock::now() < until) {
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }

private:
    std::unique_ptr<TempDir> out_dir_;
    std::string err_path_;
    pid_t pid_ = -1;
    int port_ = -1;
};

// An HTTP exchange with a ServeProcess by curl (a real client), for the e2e tests.
struct Http {
    int status = 0;
    std::string body;
    nlohmann::json j() const {
        try {
            return nlohmann::json::parse(body);
        } catch (const std::exception&) {
            return nlohmann::json{{"not_json", body}};
        }
    }
};

// curl: status code and body. `extra` are curl flags (-X, -H, --data-binary, --path-as-is).
inline Http curl(const std::string& url, const Args& extra, bool may_fail = false) {
    TempDir d;
    const std::string body_path = (d.path() / "body").string();
    Args args = {"-sS", "-o", body_path, "-w", "%{http_code}", "--max-time", "60"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    const RunResult r = run_program("/usr/bin/curl", args);
    Http h;
    if (r.code != 0) {
        EXPECT_TRUE(may_fail) << r.err;
        return h;
    }
    try {
        h.status = std::stoi(r.out);
    } catch (const std::exception&) {
        ADD_FAILURE() << "curl printed no status: " << r.out << r.err;
    }
    h.body = read_all(body_path);
    return h;
}

inline Http post(const ServeProcess& s, const std::string& path, const std::string& body,
                 const Args& extra = {}) {
    Args a = {"-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body};
    a.insert(a.end(), extra.begin(), extra.end());
    return curl(s.base() + path, a);
}

inline Http get(const ServeProcess& s, const std::string& path) { return curl(s.base() + path, {}); }

}  // namespace serve_detail

using serve_detail::kModel;
using serve_detail::kModel2;
using serve_detail::kModel3;
using serve_detail::kEncoder;
using serve_detail::models_dir;
using serve_detail::ServeProcess;
using serve_detail::Http;
using serve_detail::curl;
using serve_detail::post;
using serve_detail::get;

}  // namespace lyra::e2e
