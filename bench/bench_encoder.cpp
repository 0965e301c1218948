// bench_encoder: the pseudo-log-likelihood critic (issue 10) one forward per masked copy vs
// batched, side by side in one run, on a random-init BERT (BERT-base shape by default: dim 768,
// 12 layers, 12 heads, ffn 3072) written by tests/unit/format/make_hf_fixture.py and imported.
// The texts are a reranker's candidates: [CLS] pieces [SEP] of several lengths. Rows:
//   one-by-one   every masked copy in its own forward (max_rows 1: T rows per forward), the
//                head on its masked row only: what "one full forward per position" costs;
//   per text     pseudo_log_likelihood() text by text: one text's copies share forwards;
//   batched      pseudo_log_likelihood_batch() over all texts: copies of every text packed side
//                by side, forwards of up to kBatchRows rows (and the wider budgets of --rows).
// Columns: wall and process CPU ms per text (medians of --reps; the methods take turns within
// each rep, so a busy spell of a shared machine hits them alike), each as a speed-up over
// one-by-one; the share of the machine's F32 GEMM peak (core/roofline.h, measured in the run)
// that the layers' matmuls reach in the wall time (2 x rows x layers x (4 C^2 + 2 C F) FLOP, the
// same work for every method); and the largest |PLL difference| from one-by-one (float
// rounding only; nats).
// Benchmarks report, never assert.
// Usage: bench_encoder [--dim 768 --layers 12 --heads 12 --ffn 3072] [--lengths 12,16,...]
//        [--threads N] [--reps R] [--rows 1024,2048] [--out-dir DIR]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/ops.h"
#include "core/roofline.h"
#include "core/thread_pool.h"
#include "model/encoder.h"
#include "model/format/hf_import.h"
#include "model/tokenizer/vocab.h"

namespace {

using namespace lyra;
namespace fs = std::filesystem;

struct Options {
    int dim = 768, layers = 12, heads = 12, ffn = 3072;
    std::vector<int> lengths = {12, 16, 20, 24,
                                28, 32, 36, 40};  // tokens, [CLS] and [SEP] included
    std::vector<int> rows = {1024, 2048};         // extra batched budgets
    int threads = 0;                              // 0: hardware threads
    int reps = 3;
    std::string out_dir = "build/release/bench_out";
};

std::vector<int> int_list(const char* s) {
    std::vector<int> v;
    for (const char* p = s; *p;) {
        v.push_back(std::atoi(p));
        while (*p && *p != ',') ++p;
        if (*p == ',') ++p;
    }
    return v;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const char* v = argv[i + 1];
        if (a == "--dim")
            o.dim = std::atoi(v);
        else if (a == "--layers")
            o.layers = std::atoi(v);
        else if (a == "--heads")
            o.heads = std::atoi(v);
        else if (a == "--ffn")
            o.ffn = std::atoi(v);
        else if (a == "--lengths")
            o.lengths = int_list(v);
        else if (a == "--rows")
            o.rows = int_list(v);
        else if (a == "--threads")
            o.threads = std::atoi(v);
        else if (a == "--reps")
            o.reps = std::atoi(v);
        else if (a == "--out-dir")
            o.out_dir = v;
        else {
            std::fprintf(
                stderr,
                "bench_encoder: unknown flag '%s'; see the usage at the top of bench_encoder.cpp\n",
                a.c_str());
            std::exit(2);
        }
    }
    return o;
}

// The random-init BERT of this shape, written and imported once per shape and reused.
std::string model_file(const Options& o, int ctx) {
    const fs::path dir = fs::path(o.out_dir) / "models";
    const std::string name =
        fmt::format("bert_d{}_l{}_h{}_f{}_c{}", o.dim, o.layers, o.heads, o.ffn, ctx);
    const fs::path gguf = dir / (name + ".gguf");
    if (fs::exists(gguf)) return gguf.string();
    fs::create_directories(dir);
    const fs::path hf = dir / name;
    const char* py = std::getenv("LYRA_PYTHON");
    const std::string cmd = fmt::format(
        "{} {}/tests/unit/format/make_hf_fixture.py bert {} --dim {} --layers {} --heads {} --ffn "
        "{} --ctx {} "
        "--seed 1 > /dev/null",
        py ? py : "/usr/bin/python3", LYRA_SOURCE_DIR, hf.string(), o.dim, o.layers, o.heads, o.ffn,
        ctx);
    std::printf("writing the model: %s\n", cmd.c_str());
    if (std::system(cmd.c_str()) != 0) {
        std::fprintf(stderr, "bench_encoder: the fixture script failed: %s\n", cmd.c_str());
        std::exit(1);
    }
    model::import_hf(hf.string(), gguf.string());
    fs::remove_all(hf);
    return gguf.string();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double cpu_seconds() {  // the process's CPU time, all threads
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One way of computing every text's PLL, with its wall and CPU times per run (ms).
struct Method {
    std::string name;
    std::function<std::vector<double>()> run;
    std::vector<double> wall_ms = {}, cpu_ms = {}, pll = {};
};

// Runs every method once per rep, in turn, so that a busy spell of a shared machine falls on
// all of them alike rather than on whichever ran then.
void time_interleaved(std::vector<Method>& methods, int reps) {
    for (int r = 0; r < reps; ++r) {
        for (Method& m : methods) {
            const double c0 = cpu_seconds();
            const auto t0 = std::chrono::steady_clock::now();
            m.pll = m.run();
            m.wall_ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count());
            m.cpu_ms.push_back((cpu_seconds() - c0) * 1e3);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const int ctx = std::max(64, *std::max_element(o.lengths.begin(), o.lengths.end()));
    const auto m = model::EncoderModel::load(model_file(o, ctx));
    const int n_threads = o.threads > 0
                              ? o.threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    core::ThreadPool pool(n_threads);

    // The candidates: ordinary pieces of the vocabulary, a different mix per text.
    std::vector<model::TokenId> pieces;
    for (model::TokenId id = 0; id < m->hparams().n_vocab; ++id)
        if (!m->tokenizer().is_control(id) && id != m->tokenizer().vocab().unk)
            pieces.push_back(id);
    std::vector<std::vector<model::TokenId>> texts;
    int64_t copies = 0, rows = 0;
    for (const int len : o.lengths) {
        std::vector<model::TokenId> t = {m->cls()};
        for (int i = 0; i + 2 < len; ++i)
            t.push_back(pieces[(static_cast<size_t>(i) * 37 + texts.size() * 11) % pieces.size()]);
        t.push_back(m->sep());
        copies += len - 2;
        rows += static_cast<int64_t>(len - 2) * len;
        texts.push_back(std::move(t));
    }
    const double n_texts = static_cast<double>(texts.size());
    std::printf(
        "bench_encoder: bert dim %d, %d layers, %d heads, ffn %d, vocab %lld, %.1f M params; "
        "%zu texts of %s tokens (%lld masked copies, %lld rows); %d threads, %s kernels, median of "
        "%d\n",
        o.dim, o.layers, o.heads, o.ffn, static_cast<long long>(m->hparams().n_vocab),
        static_cast<double>(m->n_params()) / 1e6, texts.size(),
        fmt::format("{}", fmt::join(o.lengths, ",")).c_str(), static_cast<long long>(copies),
        static_cast<long long>(rows), n_threads, core::kernel_isa(), o.reps);
    // Warm-up: touch every weight once.
    m->pseudo_log_likelihood(texts[0], pool);

    std::vector<Method> methods;
    methods.push_back({"one-by-one (a forward per masked copy)",
                       [&] { return m->pseudo_log_likelihood_batch(texts, pool, 1); }});
    methods.push_back({"per text (one text's copies share forwards)", [&] {
                           std::vector<double> v;
                           for (const auto& t : texts)
                               v.push_back(m->pseudo_log_likelihood(t, pool));
                           return v;
                       }});
    std::vector<int64_t> budgets = {model::EncoderModel::kBatchRows};
    for (const int r : o.rows) budgets.push_back(r);
    for (const int64_t b : budgets)
        methods.push_back({fmt::format("batched, all texts, <= {} rows/forward{}", b,
                                       b == model::EncoderModel::kBatchRows ? " (default)" : ""),
                           [&, b] { return m->pseudo_log_likelihood_batch(texts, pool, b); }});
    time_interleaved(methods, o.reps);

    const double peak = core::measure_f32_gemm_peak_gflops(pool);
    const double C = o.dim, F = o.ffn;
    const double gflop =
        2.0 * static_cast<double>(rows) * o.layers * (4 * C * C + 2 * C * F) * 1e-9;
    std::printf("layers' matmuls: %.1f GFLOP per run; F32 GEMM peak at %d threads: %.1f GFLOP/s\n",
                gflop, n_threads, peak);
    const double one_wall = median(methods[0].wall_ms), one_cpu = median(methods[0].cpu_ms);
    std::printf("\n| %-50s | %12s | %12s | %12s | %12s | %9s | %14s |\n", "PLL of the candidates",
                "wall ms/text", "x one-by-one", "CPU ms/text", "x one-by-one", "% of peak",
                "max|dPLL| nats");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(52, '-').c_str(),
                std::string(14, '-').c_str(), std::string(14, '-').c_str(),
                std::string(14, '-').c_str(), std::string(14, '-').c_str(),
                std::string(11, '-').c_str(), std::string(16, '-').c_str());
    for (const Method& r : methods) {
        double diff = 0;
        for (size_t i = 0; i < r.pll.size(); ++i)
            diff = std::max(diff, std::fabs(r.pll[i] - methods[0].pll[i]));
        const double wall = median(r.wall_ms), cpu = median(r.cpu_ms);
        std::printf("| %-50s | %12.1f | %11.2fx | %12.1f | %11.2fx | %8.0f%% | %14.2e |\n",
                    r.name.c_str(), wall / n_texts, one_wall / wall, cpu / n_texts, one_cpu / cpu,
                    100.0 * gflop / (wall * 1e-3) / peak, diff);
    }
    return 0;
}
