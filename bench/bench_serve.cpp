// bench_serve: `lyra serve` under 1, 4 and 8 concurrent streaming clients on one model at a time.
// For each model it starts the server (--port 0) over a directory holding just that model, runs
// every client through the same number of streaming /v1/completions requests and reports
// aggregate decode tokens/s (completion tokens of all clients / wall time) and the p50/p99 time
// to first token, then the 8-client / 1-client throughput ratio (target >= 3x: the scheduler
// batches the clients' decode steps). A summary table of every model's ratio closes the run.
//
// The models, by default, are bench_inference's llama shape (dim 768, 12 layers, ffn 2048, vocab
// 32000, 134 M parameters: bench/bench_models.h) in each --types weight type, then TinyLlama-
// 1.1B's shape in each --large-types type, created in --work-dir when missing and reused after.
// The two sizes answer different questions: the small model's weights (62 MB in Q4_0) partly
// stay in the last-level cache between decode steps, so its single stream runs above the DRAM's
// rate; the large one's (0.6 GB) never do, as with any model of the size people serve. The
// embedded tiny-shakespeare-char model was the default before: a step of its 0.9 M F32
// parameters costs ~36 us a row, so HTTP, sampling and the thread pool set its rate and its ratio
// (2.1-2.3x) measures serving overhead, not the batched forward the target is about. --model
// FILE (repeatable) runs exactly the given files instead.
//
// One phase is a second or two, and on a shared 2-core machine a single phase can lose a third
// of its speed to a neighbour's compile, so one 1-client phase against one 8-client phase gave
// ratios anywhere from 1.9x to 3.5x for the same build. The phases therefore run in rounds
// (1, 4, 8 clients, then again), each round's ratio is taken between phases run seconds apart,
// and the table gives the median over rounds with the range beside it. The load average before
// and after is printed so a reader can tell a quiet run from a busy one.
//
//   bench_serve [--lyra BIN] [--types q4_0,q8_0,f32] [--large-types q4_0|none] [--work-dir DIR]
//               [--threads N] [--requests R] [--max-tokens K] [--rounds N] [--clients 1,4,8]
//               [--preamble WORDS]
//   bench_serve --model FILE.gguf [--model FILE.gguf ...]
//               [the same flags but --types, --large-types, --work-dir]
//
// Exit code 0; 2 for a usage error; 1 when a model file or the binary is missing, a server did
// not start or stop cleanly, or any request failed.
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
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "core/roofline.h"
#include "core/thread_pool.h"
#include "model/model.h"

#include "bench_models.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using lyra::ErrorKind;
using lyra::throw_error;
using lyra::core::DType;

// The weight types --types takes: the float types and the two block quantizations the serving
// tables in docs/server.md compare (the model is made in F32 and converted with quantize_file).
constexpr DType kServeTypes[] = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0};

struct Config {
    std::string lyra = LYRA_BIN_PATH;
    std::vector<std::string> models;  // --model files; empty: the bench model in each of `types`
    std::vector<DType> types = {DType::Q4_0, DType::Q8_0, DType::F32};
    std::vector<DType> large_types = {DType::Q4_0};  // of the TinyLlama-shaped model; empty: none
    lyra::bench::BenchModelOptions bench_model;  // its shape, and --work-dir
    bool picks_bench_model = false;              // --types, --large-types or --work-dir was given
    int threads = 0;     // server threads; 0 = the server's default (all cores)
    int requests = 6;    // per client
    int max_tokens = 100;
    int rounds = 3;
    std::vector<int> clients = {1, 4, 8};  // the ratio is the last count's rate over the first's
    int preamble = 0;  // words of a shared opening before each request's own question (0: "ROMEO:\n")
    std::optional<DType> kv_type;  // the server's --kv-type; unset = its default (f16)
};

// The prompt of request `seed`: "ROMEO:\n" for all, or with --preamble N the same N-word opening
// (a system prompt shared by every client) and then a question of the request's own, so prompts
// differ but share their beginning, as in a chat service (the prompt cache copies that part).
std::string request_prompt(int preamble, uint64_t seed) {
    if (preamble == 0) return "ROMEO:\n";
    static const char* const kWords[] = {"you", "are", "a", "careful", "poet", "who", "keeps", "every",
                                         "line", "of", "the", "form", "and", "its", "rhyme", "scheme"};
    std::string p = "System:";
    for (int i = 0; i < preamble; ++i) p += std::string(" ") + kWords[i % 16];
    return p + fmt::format(".\nRequest {}: write the next line.\n", seed);
}

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
std::pair<int64_t, double> stream_once(int port, const std::string& model, int max_tokens, int preamble,
                                       uint64_t seed) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(120, 0);
    const nlohmann::json body = {{"model", model},         {"prompt", request_prompt(preamble, seed)},
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
                const auto [n, t] = stream_once(port, model, cfg.max_tokens, cfg.preamble,
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

// The server's step counters (GET /metrics, summed over its models: bench_serve loads one), or
// nothing when the server has no /metrics (an older --lyra binary).
struct StepCounters {
    double steps = 0, rows = 0, step_s = 0, forward_s = 0, between_s = 0;
    StepCounters operator-(const StepCounters& o) const {
        return {steps - o.steps, rows - o.rows, step_s - o.step_s, forward_s - o.forward_s, between_s - o.between_s};
    }
    StepCounters& operator+=(const StepCounters& o) {
        steps += o.steps, rows += o.rows, step_s += o.step_s, forward_s += o.forward_s, between_s += o.between_s;
        return *this;
    }
};

std::optional<StepCounters> read_counters(int port) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(30, 0);
    auto res = cli.Get("/metrics");
    if (!res || res->status != 200) return std::nullopt;
    StepCounters c;
    const std::pair<const char*, double StepCounters::*> families[] = {{"lyra_steps_total{", &StepCounters::steps},
                                                                       {"lyra_step_rows_total{", &StepCounters::rows},
                                                                       {"lyra_step_seconds_total{", &StepCounters::step_s},
                                                                       {"lyra_forward_seconds_total{", &StepCounters::forward_s},
                                                                       {"lyra_between_steps_seconds_total{", &StepCounters::between_s}};
    std::istringstream lines(res->body);
    for (std::string line; std::getline(lines, line);) {
        for (const auto& [prefix, field] : families) {
            if (line.rfind(prefix, 0) != 0) continue;
            const size_t space = line.rfind(' ');
            if (space != std::string::npos) c.*field += std::strtod(line.c_str() + space + 1, nullptr);
        }
    }
    return c;
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

// `s` as an integer of at least `min`; nullopt for anything else ("", "8x", "-1", 10 digits).
std::optional<int> parse_int(const std::string& s, int min) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const int x = std::stoi(s);
    return x >= min ? std::optional<int>(x) : std::nullopt;
}

// "a,,b" -> {"a", "", "b"}: empty items are kept for the callers to reject.
std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    for (size_t at = 0; at <= s.size();) {
        const size_t end = std::min(s.find(',', at), s.size());
        out.push_back(s.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

// "1,4,8" -> {1, 4, 8}; empty on anything but positive integers.
std::vector<int> parse_counts(const std::string& s) {
    std::vector<int> out;
    for (const auto& part : split_commas(s)) {
        const auto n = parse_int(part, 1);
        if (!n) return {};
        out.push_back(*n);
    }
    return out;
}

// "q4_0,q8_0,f32" -> the types, each one of kServeTypes (`flag` names the flag in errors).
std::vector<DType> parse_types(const std::string& flag, const std::string& s) {
    std::vector<DType> out;
    for (const auto& name : split_commas(s)) {
        const auto t = lyra::core::dtype_from_name(name);
        if (!t ||
            std::find(std::begin(kServeTypes), std::end(kServeTypes), *t) == std::end(kServeTypes))
            throw_error(
                ErrorKind::Usage,
                "{} '{}': {}; expected f32, f16, q8_0 or q4_0, separated by commas", flag, s,
                name.empty() ? "an empty item" : fmt::format("unknown weight type '{}'", name));
        out.push_back(*t);
    }
    return out;
}

Config parse_args(int argc, char** argv) {
    Config cfg;
    bool types_given = false, large_types_given = false;
    for (int i = 1; i < argc; i += 2) {
        const std::string k = argv[i];
        if (i + 1 >= argc) throw_error(ErrorKind::Usage, "flag '{}' needs a value", k);
        const std::string v = argv[i + 1];
        const auto count = [&](int min) {
            const auto n = parse_int(v, min);
            if (!n) throw_error(ErrorKind::Usage, "{} '{}': expected an integer >= {}", k, v, min);
            return *n;
        };
        if (k == "--lyra") cfg.lyra = v;
        else if (k == "--model") cfg.models.push_back(v);
        else if (k == "--types") {
            cfg.types = parse_types(k, v);
            cfg.picks_bench_model = types_given = true;
        } else if (k == "--large-types") {
            cfg.large_types = v == "none" ? std::vector<DType>{} : parse_types(k, v);
            cfg.picks_bench_model = large_types_given = true;
        }
        else if (k == "--work-dir") { cfg.bench_model.work_dir = v; cfg.picks_bench_model = true; }
        else if (k == "--threads") cfg.threads = count(0);
        else if (k == "--requests") cfg.requests = count(1);
        else if (k == "--max-tokens") cfg.max_tokens = count(1);
        else if (k == "--rounds") cfg.rounds = count(1);
        else if (k == "--preamble") cfg.preamble = count(0);
        else if (k == "--kv-type") {
            try {
                cfg.kv_type = lyra::model::parse_kv_type(v);  // the server's own names
            } catch (const lyra::Error& e) {
                throw_error(ErrorKind::Usage, "--kv-type: {}", e.what());
            }
        }
        else if (k == "--clients") {
            cfg.clients = parse_counts(v);
            if (cfg.clients.empty())
                throw_error(ErrorKind::Usage, "--clients '{}': expected positive counts separated by "
                            "commas, e.g. 1,4,8", v);
        } else {
            throw_error(ErrorKind::Usage,
                        "unknown flag '{}'; expected --lyra, --model, --types, --large-types, "
                        "--work-dir, --threads, --requests, --max-tokens, --rounds, --clients, "
                        "--preamble or --kv-type", k);
        }
    }
    // --types alone asks for those files of the small model: the large one (minutes a run) only
    // where --large-types names it too.
    if (types_given && !large_types_given) cfg.large_types.clear();
    if (!cfg.models.empty() && cfg.picks_bench_model)
        throw_error(ErrorKind::Usage,
                    "--model runs the given files, --types, --large-types and --work-dir pick the "
                    "bench models; expected one or the other");
    return cfg;
}

std::string load_average() {
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) != 3) return "unknown";
    char b[64];
    std::snprintf(b, sizeof b, "%.2f %.2f %.2f", l[0], l[1], l[2]);
    return b;
}

// ---------------------------------------------------------------------------------------------
// One server per model

struct Server {
    pid_t pid = -1;
    int port = 0;
};

// Spawns `lyra serve --port 0` over `dir` and reads the port from the line it prints first;
// nullopt (the child killed and reaped) when no such line comes.
std::optional<Server> start_server(const Config& cfg, const fs::path& dir) {
    int fds[2];
    if (pipe(fds) != 0) return std::nullopt;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<std::string> args = {cfg.lyra, "serve", "--port", "0", "--models",
                                     dir.string(), "--threads", std::to_string(cfg.threads),
                                     "--out-dir", (dir / "files").string(), "--no-gallery"};
    if (cfg.kv_type) {
        args.push_back("--kv-type");
        args.push_back(lyra::model::kv_type_name(*cfg.kv_type));
    }
    std::vector<char*> av;
    for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    Server s;
    const int rc = posix_spawn(&s.pid, cfg.lyra.c_str(), &fa, nullptr, av.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    std::string line;
    while (rc == 0 && line.find('\n') == std::string::npos) {
        char b[256];
        const ssize_t n = read(fds[0], b, sizeof b);
        if (n <= 0) break;
        line.append(b, static_cast<size_t>(n));
    }
    close(fds[0]);
    if (rc != 0) return std::nullopt;
    // "lyra serve: listening on http://127.0.0.1:PORT"
    line.resize(std::min(line.find('\n'), line.size()));
    const auto colon = line.rfind(':');
    const auto port =
        colon == std::string::npos ? std::nullopt : parse_int(line.substr(colon + 1), 1);
    if (!port) {
        kill(s.pid, SIGKILL);
        waitpid(s.pid, nullptr, 0);
        return std::nullopt;
    }
    s.port = *port;
    return s;
}

// SIGTERM (the server's graceful stop); true when it then exited with status 0.
bool stop_server(const Server& s) {
    kill(s.pid, SIGTERM);
    int status = 0;
    waitpid(s.pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Per client count: aggregate tok/s of each round, and every request's TTFT.
struct Rounds {
    std::map<int, std::vector<double>> tps, ttft;
    std::map<int, StepCounters> steps;  // the server's step counters over each count's phases
    bool have_steps = true;             // false when the server has no /metrics
    std::map<int, int64_t> tokens;
    std::vector<double> ratios;  // last count / first count, per round
    int failures = 0;
};

Rounds run_rounds(int port, const Config& cfg, const std::string& model) {
    Rounds r;
    for (int round = 0; round < cfg.rounds; ++round) {
        for (int clients : cfg.clients) {
            const std::optional<StepCounters> before = read_counters(port);
            const Phase ph = run_phase(port, cfg, model, clients);
            const std::optional<StepCounters> after = read_counters(port);
            if (before && after) r.steps[clients] += *after - *before;
            else r.have_steps = false;
            r.tps[clients].push_back(ph.seconds > 0 ? static_cast<double>(ph.tokens) / ph.seconds
                                                    : 0);
            r.ttft[clients].insert(r.ttft[clients].end(), ph.ttft_ms.begin(), ph.ttft_ms.end());
            r.tokens[clients] += ph.tokens;
            r.failures += ph.failures;
        }
        const double one = r.tps[cfg.clients.front()].back();
        r.ratios.push_back(one > 0 ? r.tps[cfg.clients.back()].back() / one : 0);
    }
    return r;
}

void print_table(const Config& cfg, const Rounds& r) {
    std::printf("| clients | requests | tokens | aggregate tok/s (median) | min - max "
                "| TTFT p50 ms | TTFT p99 ms |\n");
    std::printf("|--------:|---------:|-------:|-------------------------:|----------:"
                "|------------:|------------:|\n");
    for (int clients : cfg.clients) {
        const auto& v = r.tps.at(clients);
        const auto& ttft = r.ttft.at(clients);
        std::printf("| %7d | %8d | %6lld | %24.0f | %.0f - %.0f | %11.1f | %11.1f |\n", clients,
                    clients * cfg.requests * cfg.rounds,
                    static_cast<long long>(r.tokens.at(clients)), median(v),
                    *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
                    percentile(ttft, 0.5), percentile(ttft, 0.99));
    }
    const double ratio = median(r.ratios);
    std::printf("%d-client / %d-client aggregate throughput, per round: ", cfg.clients.back(),
                cfg.clients.front());
    for (size_t i = 0; i < r.ratios.size(); ++i) std::printf("%s%.2fx", i ? ", " : "", r.ratios[i]);
    std::printf("; median %.2fx (target >= 3x: %s)\n", ratio, ratio >= 3.0 ? "met" : "not met");
    if (!r.have_steps) {
        std::printf("(the server has no GET /metrics: no step breakdown)\n");
        return;
    }
    // Inside the server: a step's wall time, the part in its forward (a batch's, or a lone
    // sequence's), and the rest (sampling, delivering the tokens, bookkeeping). The forward
    // ratio is what the model code alone would give: the last count's tokens per forward second
    // against the first's. "Between" is the time from one step's end to the next one's start
    // while the server had work (waking the readers, and whatever the readers' threads took from
    // the scheduler's core), per step: with the clients on the server's own cores, most of the
    // 8-client phases' wall time that the steps did not account for (7-11%) was there.
    std::printf("\nInside the server, over all rounds (GET /metrics):\n\n");
    std::printf("| clients | steps | mean batch | step ms | forward ms | rest ms | between ms |\n");
    std::printf("|--------:|------:|-----------:|--------:|-----------:|--------:|-----------:|\n");
    for (int clients : cfg.clients) {
        const StepCounters& c = r.steps.at(clients);
        const double n = std::max(1.0, c.steps);
        std::printf("| %7d | %5.0f | %10.2f | %7.3f | %10.3f | %7.3f | %10.3f |\n", clients, c.steps, c.rows / n,
                    1e3 * c.step_s / n, 1e3 * c.forward_s / n, 1e3 * (c.step_s - c.forward_s) / n,
                    1e3 * c.between_s / n);
    }
    const StepCounters& first = r.steps.at(cfg.clients.front());
    const StepCounters& last = r.steps.at(cfg.clients.back());
    if (first.forward_s > 0 && last.forward_s > 0 && first.rows > 0) {
        const double forward_ratio = (last.rows / last.forward_s) / (first.rows / first.forward_s);
        const double step_ratio = (last.rows / last.step_s) / (first.rows / first.step_s);
        std::printf("sequences per second of forward, %d / %d: %.2fx; of whole steps: %.2fx\n", cfg.clients.back(),
                    cfg.clients.front(), forward_ratio, step_ratio);
    }
}

// What one stream could reach on this host if every decode step only read the weights from
// DRAM: the host's read bandwidth (measured just before the model's rounds, on as many threads
// as the server has) over the bytes of weights a step reads. The 1-client rate is bound by
// memory and the 8-client one mostly by compute, so the ratio moves with the host's memory
// against its cores (docs/server.md, "Benchmark"). Above 1 where the last-level cache holds part
// of the weights between steps, as it does for the small model's.
struct BandwidthLimit {
    double read_gbs = 0, weight_bytes = 0;
    int threads = 0;
    double tok_s() const { return weight_bytes > 0 ? read_gbs * 1e9 / weight_bytes : 0; }
};

BandwidthLimit bandwidth_limit(const Config& cfg, const std::string& path) {
    BandwidthLimit b;
    b.weight_bytes = lyra::bench::weight_bytes_per_token(path);
    lyra::core::ThreadPool pool(cfg.threads);
    b.read_gbs = lyra::core::measure_read_bandwidth_gbs(pool);
    b.threads = pool.size();
    return b;
}

// What the closing summary shows of one model.
struct ModelResult {
    std::string name;
    bool measured = false;                          // the server started and the rounds ran
    double first_tps = 0, last_tps = 0, ratio = 0;  // medians over rounds
    BandwidthLimit limit;
    std::string problem;  // empty, or what went wrong (the run then exits 1)
};

// One model's whole run: its own server, the rounds, its table.
ModelResult bench_model(const Config& cfg, const std::string& path) {
    ModelResult res;
    res.name = fs::path(path).stem().string();
    // A models directory holding just this model.
    std::string tmpl = (fs::temp_directory_path() / "lyra-bench-serve-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        res.problem = fmt::format("cannot create a directory under {}",
                                  fs::temp_directory_path().string());
        std::fprintf(stderr, "bench_serve: %s: %s\n", res.name.c_str(), res.problem.c_str());
        return res;
    }
    const fs::path dir = tmpl;
    fs::create_symlink(fs::absolute(path), dir / fs::path(path).filename());
    const auto server = start_server(cfg, dir);
    if (!server) {
        res.problem =
            fmt::format("the server did not start ('{} serve' printed no port)", cfg.lyra);
        std::fprintf(stderr, "bench_serve: %s: %s\n", res.name.c_str(), res.problem.c_str());
        fs::remove_all(dir);
        return res;
    }
    (void)stream_once(server->port, res.name, 8, cfg.preamble, 1);  // warm-up: loads the model
    res.limit = bandwidth_limit(cfg, path);
    std::printf("\nbench_serve: model %s, %d requests per client, max_tokens %d, server threads %s, "
                "KV cache %s, %d rounds\n",
                res.name.c_str(), cfg.requests, cfg.max_tokens,
                cfg.threads == 0 ? "all" : std::to_string(cfg.threads).c_str(),
                cfg.kv_type ? lyra::model::kv_type_name(*cfg.kv_type) : "f16 (the server's default)", cfg.rounds);
    std::printf("host read bandwidth %.1f GB/s (core::measure_read_bandwidth_gbs, %d threads); "
                "weights read per decode step %.1f MB; one stream's bandwidth limit %.0f tok/s\n",
                res.limit.read_gbs, res.limit.threads, res.limit.weight_bytes / 1e6,
                res.limit.tok_s());
    std::printf("load average before: %s\n", load_average().c_str());
    std::fflush(stdout);
    const Rounds r = run_rounds(server->port, cfg, res.name);
    std::printf("load average after:  %s\n\n", load_average().c_str());
    print_table(cfg, r);
    std::fflush(stdout);
    const bool stopped = stop_server(*server);
    fs::remove_all(dir);
    if (r.failures > 0) res.problem = fmt::format("{} requests failed", r.failures);
    if (!stopped)
        res.problem +=
            std::string(res.problem.empty() ? "" : ", ") + "the server did not exit cleanly";
    if (!res.problem.empty())
        std::fprintf(stderr, "bench_serve: %s: %s\n", res.name.c_str(), res.problem.c_str());
    res.measured = true;
    res.first_tps = median(r.tps.at(cfg.clients.front()));
    res.last_tps = median(r.tps.at(cfg.clients.back()));
    res.ratio = median(r.ratios);
    return res;
}

void print_summary(const Config& cfg, const std::vector<ModelResult>& results) {
    const int first = cfg.clients.front(), last = cfg.clients.back();
    const auto clients = [](int n) { return fmt::format("{} client{}", n, n == 1 ? "" : "s"); };
    std::printf("\nSummary: aggregate decode tok/s, median over %d round%s\n\n", cfg.rounds,
                cfg.rounds == 1 ? "" : "s");
    std::printf("| model | %s | %s | %d / %d median | target | %s / bandwidth limit |\n"
                "|---|---:|---:|---:|---|---:|\n",
                clients(first).c_str(), clients(last).c_str(), last, first, clients(first).c_str());
    for (const auto& r : results) {
        const std::string note = r.problem.empty() ? "" : "; " + r.problem;
        if (!r.measured)
            std::printf("| %s | - | - | - | not measured%s | - |\n", r.name.c_str(), note.c_str());
        else
            std::printf("| %s | %.0f | %.0f | %.2fx | >= 3x: %s%s | %.2f |\n", r.name.c_str(),
                        r.first_tps, r.last_tps, r.ratio, r.ratio >= 3.0 ? "met" : "not met",
                        note.c_str(), r.limit.tok_s() > 0 ? r.first_tps / r.limit.tok_s() : 0.0);
    }
}

// The files to run: --model's, each checked up front so a typo fails before any server starts,
// or the bench model in each --types type, created where missing.
std::vector<std::string> model_paths(const Config& cfg) {
    if (!fs::exists(cfg.lyra))
        throw_error(ErrorKind::NotFound,
                    "lyra binary '{}' not found; build the lyra_cli target or pass --lyra BIN",
                    cfg.lyra);
    for (const auto& m : cfg.models)
        if (!fs::is_regular_file(m))
            throw_error(ErrorKind::NotFound,
                        "--model '{}': file not found; expected a GGUF model file", m);
    if (!cfg.models.empty()) return cfg.models;
    std::vector<std::string> paths;
    for (DType t : cfg.types) paths.push_back(lyra::bench::ensure_model(cfg.bench_model, t));
    const auto large = lyra::bench::large_bench_model(cfg.bench_model);
    for (DType t : cfg.large_types) paths.push_back(lyra::bench::ensure_model(large, t));
    return paths;
}

int run(const Config& cfg) {
    std::vector<ModelResult> results;
    for (const auto& path : model_paths(cfg)) results.push_back(bench_model(cfg, path));
    print_summary(cfg, results);
    const bool ok = std::all_of(results.begin(), results.end(),
                                [](const ModelResult& r) { return r.problem.empty(); });
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const lyra::Error& e) {
        std::fprintf(stderr, "bench_serve: %s\n", e.what());
        return e.kind() == ErrorKind::Usage ? 2 : 1;
    } catch (const fs::filesystem_error& e) {
        std::fprintf(stderr, "bench_serve: %s\n", e.what());
        return 1;
    }
}
