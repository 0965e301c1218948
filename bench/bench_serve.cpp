// bench_serve: `lyra serve` under 1, 4 and 8 concurrent streaming clients on one model.
// Starts the server (--port 0) over a directory holding the model, then runs every client
// through the same number of streaming /v1/completions requests and reports aggregate decode
// tokens/s (completion tokens of all clients / wall time) and the p50/p99 time to first token,
// then the 8-client / 1-client throughput ratio (target >= 3x: the scheduler batches the
// clients' decode steps).
//
// One phase is a second or two, and on a shared 2-core machine a single phase can lose a third
// of its speed to a neighbour's compile, so one 1-client phase against one 8-client phase gave
// ratios anywhere from 1.9x to 3.5x for the same build. The phases therefore run in rounds
// (1, 4, 8 clients, then again), each round's ratio is taken between phases run seconds apart,
// and the table gives the median over rounds with the range beside it. The load average before
// and after is printed so a reader can tell a quiet run from a busy one.
//
//   bench_serve [--lyra BIN] [--model FILE.gguf] [--threads N] [--requests R] [--max-tokens K]
//               [--rounds N] [--clients 1,4,8]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Config {
    std::string lyra = LYRA_BIN_PATH;
    std::string model = std::string(LYRA_SOURCE_DIR) + "/models/tiny-shakespeare-char.gguf";
    int threads = 0;
    int requests = 6;     // per client
    int max_tokens = 100;
    int rounds = 3;
    std::vector<int> clients = {1, 4, 8};
};

struct Phase {
    int clients = 0;
    int64_t tokens = 0;
    double seconds = 0;
    std::vector<double> ttft_ms;
    int failures = 0;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

// One streaming request; returns completion tokens (from the usage chunk) and the time to the
// first text chunk, or -1 tokens on failure.
std::pair<int64_t, double> stream_once(int port, const std::string& model, int max_tokens,
                                       uint64_t seed) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(120, 0);
    const nlohmann::json body = {{"model", model},         {"prompt", "ROMEO:\n"},
                                 {"max_tokens", max_tokens}, {"temperature", 0.8},
                                 {"seed", seed},           {"stream", true},
                                 {"stream_options", {{"include_usage", true}}}};
    const auto t0 = Clock::now();
    double ttft = -1;
    std::string buf;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body.dump();
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        if (ttft < 0) {
            ttft = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        }
        buf.append(data, n);
        return true;
    };
    auto res = cli.send(req);
    if (!res || res->status != 200) return {-1, 0};
    // The usage chunk: data: {...,"usage":{...,"completion_tokens":N,...}}
    int64_t tokens = -1;
    size_t at = 0;
    while ((at = buf.find("data: ", at)) != std::string::npos) {
        const size_t end = buf.find("\n\n", at);
        const std::string line = buf.substr(at + 6, end - at - 6);
        at = end;
        if (line == "[DONE]") break;
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("usage")) tokens = j["usage"]["completion_tokens"];
    }
    return {tokens, ttft};
}

Phase run_phase(int port, const Config& cfg, const std::string& model, int clients) {
    Phase ph;
    ph.clients = clients;
    std::vector<std::thread> threads;
    std::vector<std::vector<double>> ttft(static_cast<size_t>(clients));
    std::atomic<int64_t> tokens{0};
    std::atomic<int> failures{0};
    const auto t0 = Clock::now();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            for (int r = 0; r < cfg.requests; ++r) {
                const auto [n, t] = stream_once(port, model, cfg.max_tokens,
                                                static_cast<uint64_t>(c * 1000 + r));
                if (n < 0) {
                    failures.fetch_add(1);
                    continue;
                }
                tokens.fetch_add(n);
                ttft[static_cast<size_t>(c)].push_back(t);
            }
        });
    }
    for (auto& t : threads) t.join();
    ph.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    ph.tokens = tokens.load();
    ph.failures = failures.load();
    for (auto& v : ttft) ph.ttft_ms.insert(ph.ttft_ms.end(), v.begin(), v.end());
    return ph;
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

// "1,4,8" -> {1, 4, 8}; empty on anything but positive integers.
std::vector<int> parse_counts(const std::string& s) {
    std::vector<int> out;
    size_t at = 0;
    while (at <= s.size()) {
        const size_t end = std::min(s.find(',', at), s.size());
        const std::string part = s.substr(at, end - at);
        if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) return {};
        out.push_back(std::stoi(part));
        if (out.back() <= 0) return {};
        at = end + 1;
    }
    return out;
}

std::string load_average() {
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) != 3) return "unknown";
    char b[64];
    std::snprintf(b, sizeof b, "%.2f %.2f %.2f", l[0], l[1], l[2]);
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    Config cfg;
    for (int i = 1; i < argc; i += 2) {
        const std::string k = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bench_serve: flag '%s' needs a value\n", k.c_str());
            return 2;
        }
        const std::string v = argv[i + 1];
        if (k == "--lyra") cfg.lyra = v;
        else if (k == "--model") cfg.model = v;
        else if (k == "--threads") cfg.threads = std::stoi(v);
        else if (k == "--requests") cfg.requests = std::stoi(v);
        else if (k == "--max-tokens") cfg.max_tokens = std::stoi(v);
        else if (k == "--rounds") cfg.rounds = std::stoi(v);
        else if (k == "--clients") {
            cfg.clients = parse_counts(v);
            if (cfg.clients.empty()) {
                std::fprintf(stderr, "bench_serve: --clients '%s': expected positive counts "
                                     "separated by commas, e.g. 1,4,8\n", v.c_str());
                return 2;
            }
        } else {
            std::fprintf(stderr, "bench_serve: unknown flag '%s'; expected --lyra, --model, "
                                 "--threads, --requests, --max-tokens, --rounds or --clients\n",
                         k.c_str());
            return 2;
        }
    }
    if (cfg.rounds < 1 || cfg.requests < 1 || cfg.max_tokens < 1) {
        std::fprintf(stderr, "bench_serve: --rounds, --requests and --max-tokens must be at "
                             "least 1\n");
        return 2;
    }
    if (!fs::exists(cfg.model) || !fs::exists(cfg.lyra)) {
        std::fprintf(stderr, "bench_serve: model '%s' or binary '%s' not found\n",
                     cfg.model.c_str(), cfg.lyra.c_str());
        return 1;
    }
    // A models directory holding just this model.
    std::string tmpl = (fs::temp_directory_path() / "lyra-bench-serve-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    const fs::path dir = tmpl;
    fs::create_symlink(fs::absolute(cfg.model), dir / fs::path(cfg.model).filename());
    const std::string model = fs::path(cfg.model).stem().string();

    int fds[2];
    if (pipe(fds) != 0) return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    const std::vector<std::string> args = {cfg.lyra, "serve", "--port", "0", "--models",
                                           dir.string(), "--threads", std::to_string(cfg.threads),
                                           "--out-dir", (dir / "files").string(), "--no-gallery"};
    std::vector<char*> av;
    for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, cfg.lyra.c_str(), &fa, nullptr, av.data(), environ) != 0) return 1;
    close(fds[1]);
    std::string line;
    while (line.find('\n') == std::string::npos) {
        char b[256];
        const ssize_t n = read(fds[0], b, sizeof b);
        if (n <= 0) break;
        line.append(b, static_cast<size_t>(n));
    }
    close(fds[0]);
    const auto colon = line.rfind(':');
    if (colon == std::string::npos) {
        std::fprintf(stderr, "bench_serve: server did not start\n");
        kill(pid, SIGKILL);
        return 1;
    }
    const int port = std::stoi(line.substr(colon + 1));

    (void)stream_once(port, model, 8, 1);  // warm-up: loads the model
    std::printf("bench_serve: model %s, %d requests per client, max_tokens %d, server threads %s, "
                "%d rounds\n",
                model.c_str(), cfg.requests, cfg.max_tokens,
                cfg.threads == 0 ? "all" : std::to_string(cfg.threads).c_str(), cfg.rounds);
    std::printf("load average before: %s\n", load_average().c_str());
    std::fflush(stdout);
    // Per client count: aggregate tok/s of each round, and every request's TTFT.
    std::map<int, std::vector<double>> tps, ttft;
    std::map<int, int64_t> tokens;
    std::vector<double> ratios;  // last count / first count, per round
    int failures = 0;
    for (int r = 0; r < cfg.rounds; ++r) {
        for (int clients : cfg.clients) {
            const Phase ph = run_phase(port, cfg, model, clients);
            tps[clients].push_back(
                ph.seconds > 0 ? static_cast<double>(ph.tokens) / ph.seconds : 0);
            ttft[clients].insert(ttft[clients].end(), ph.ttft_ms.begin(), ph.ttft_ms.end());
            tokens[clients] += ph.tokens;
            failures += ph.failures;
        }
        const double one = tps[cfg.clients.front()].back();
        ratios.push_back(one > 0 ? tps[cfg.clients.back()].back() / one : 0);
    }
    std::printf("load average after:  %s\n\n", load_average().c_str());
    std::printf("| clients | requests | tokens | aggregate tok/s (median) | min - max "
                "| TTFT p50 ms | TTFT p99 ms |\n");
    std::printf("|--------:|---------:|-------:|-------------------------:|----------:"
                "|------------:|------------:|\n");
    for (int clients : cfg.clients) {
        const auto& v = tps[clients];
        std::printf("| %7d | %8d | %6lld | %24.0f | %.0f - %.0f | %11.1f | %11.1f |\n", clients,
                    clients * cfg.requests * cfg.rounds, static_cast<long long>(tokens[clients]),
                    median(v), *std::min_element(v.begin(), v.end()),
                    *std::max_element(v.begin(), v.end()), percentile(ttft[clients], 0.5),
                    percentile(ttft[clients], 0.99));
    }
    const double ratio = median(ratios);
    std::printf("%d-client / %d-client aggregate throughput, per round: ", cfg.clients.back(),
                cfg.clients.front());
    for (size_t i = 0; i < ratios.size(); ++i) std::printf("%s%.2fx", i ? ", " : "", ratios[i]);
    std::printf("; median %.2fx (target >= 3x: %s)\n", ratio, ratio >= 3.0 ? "met" : "not met");
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    fs::remove_all(dir);
    if (failures > 0) {
        std::fprintf(stderr, "bench_serve: %d requests failed\n", failures);
        return 1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
