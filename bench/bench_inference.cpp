// bench_inference: Lyra's inference speed on a llama-shaped model, side by side with PyTorch and
// with the machine's own limits, all measured in one run (issue #2, "Benchmark in bench/").
//
// For each weight type (F32, Q8_0, Q4_0) and thread count (1, 2) it times Lyra's prefill (one
// forward over a P-token prompt, last token's logits) and decode (G tokens one at a time after
// that prompt, greedy), warm-up first, medians of several repetitions. In the same run it
//   - runs bench/torch_inference.py (the same llama forward in PyTorch, F32, plus torch's dynamic
//     int8 quantization as the nearest analogue of Q8_0) and reads its JSON;
//   - measures the memory read bandwidth several times per thread count (medians), and turns
//     "weight bytes read per token" into a decode roofline: limit tok/s = bandwidth / bytes;
//   - measures the single-precision GEMM peak per thread count and compares F32 prefill with it,
//     counting 2 FLOPs per weight a prompt token multiplies (see prefill_flops_per_token).
// Long-context decode (issue 2, the f16 KV cache): for each type, thread count and --long-ctx
// length it fills a session's cache to that many positions and times decode with an f32, an f16
// and a q8_0 KV cache side by side. Each step then also reads the cache (2 x layers x positions x
// kv_dim elements, plus q8_0's scales), so the roofline counts weights + cache bytes per token.
// It prints a markdown table and, given --json-out FILE, writes the same numbers there as JSON
// (nothing by default: a run from the repository root would leave a stray file there). It
// reports; it never asserts.
//
// Models are created once with the library in --work-dir and reused by later runs when their
// shape matches (bench/bench_models.h, shared with bench_serve).
//
// Usage: bench_inference [--work-dir DIR] [--json-out FILE] [--torch-script PATH] [--python EXE]
//          [--threads 1,2] [--types f32,q8_0,q4_0] [--prompt-tokens 128] [--gen-tokens 64]
//          [--reps 3] [--ctx 512] [--dim 768 --layers 12 --heads 12 --ffn 2048 --vocab 32000]
//          [--long-ctx 2048,4096|none] [--long-gen 32] [--kv-type f16|f32|q8_0]
//          [--no-torch] [--rebuild-models] [--prepare-only]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/packed_weights.h"
#include "core/rng.h"
#include "core/roofline.h"
#include "core/thread_pool.h"
#include "model/model.h"

#include "bench_models.h"

#include <immintrin.h>

namespace {

using lyra::ErrorKind;
using lyra::throw_error;
using lyra::core::DType;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Options

#ifndef LYRA_SOURCE_DIR
#define LYRA_SOURCE_DIR "."
#endif

struct Options {
    // The model's shape and where its files live (created, reused): bench/bench_models.h.
    lyra::bench::BenchModelOptions model;
    std::string json_out;  // the JSON copy of the results; empty = none (run_inference_bench.sh passes one)
    std::string torch_script = std::string(LYRA_SOURCE_DIR) + "/bench/torch_inference.py";
    std::string python = "/usr/bin/python3";
    std::vector<int> threads = {1, 2};
    std::vector<DType> types = {DType::F32, DType::Q8_0, DType::Q4_0};
    int64_t prompt_tokens = 128;
    int64_t gen_tokens = 64;
    int reps = 3;
    bool torch = true;
    bool prepare_only = false;  // write the model files and stop
    std::vector<int64_t> long_ctx = {2048, 4096};  // cached positions for the KV-type rows; empty: none
    int64_t long_gen = 32;                          // decode steps timed at each long context
    // The KV cache of the main table's prefill and decode: f16, the default of lyra generate,
    // serve, bench and the art commands, so the table measures what they run.
    DType kv = DType::F16;
    size_t bw_bytes = size_t{512} << 20;  // bandwidth buffer: far larger than any cache here
    int bw_reps = 5;                      // bandwidth passes per measurement (median)
};

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        const size_t end = std::min(s.find(',', start), s.size());
        if (end > start) out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

int64_t parse_int(const std::string& flag, const std::string& v) {
    try {
        size_t used = 0;
        const long long x = std::stoll(v, &used);
        if (used == v.size() && x > 0) return x;
    } catch (const std::exception&) {
    }
    throw_error(ErrorKind::Usage, "{} '{}': not a number; expected a positive integer", flag, v);
}

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--no-torch") { o.torch = false; continue; }
        if (a == "--rebuild-models") { o.model.rebuild = true; continue; }
        if (a == "--prepare-only") { o.prepare_only = true; continue; }
        if (i + 1 >= argc) throw_error(ErrorKind::Usage, "{}: unknown flag or missing value", a);
        const std::string v = argv[++i];
        if (a == "--work-dir") o.model.work_dir = v;
        else if (a == "--json-out") o.json_out = v;
        else if (a == "--torch-script") o.torch_script = v;
        else if (a == "--python") o.python = v;
        else if (a == "--prompt-tokens") o.prompt_tokens = parse_int(a, v);
        else if (a == "--gen-tokens") o.gen_tokens = parse_int(a, v);
        else if (a == "--reps") o.reps = static_cast<int>(parse_int(a, v));
        else if (a == "--ctx") o.model.ctx = parse_int(a, v);
        else if (a == "--dim") o.model.dim = parse_int(a, v);
        else if (a == "--layers") o.model.layers = parse_int(a, v);
        else if (a == "--heads") o.model.heads = parse_int(a, v);
        else if (a == "--ffn") o.model.ffn = parse_int(a, v);
        else if (a == "--vocab") o.model.vocab = parse_int(a, v);
        else if (a == "--long-gen") o.long_gen = parse_int(a, v);
        else if (a == "--kv-type") o.kv = lyra::model::parse_kv_type(v);
        else if (a == "--long-ctx") {
            o.long_ctx.clear();
            if (v != "none")
                for (const auto& s : split_commas(v)) o.long_ctx.push_back(parse_int(a, s));
        }
        else if (a == "--bw-mib") o.bw_bytes = static_cast<size_t>(parse_int(a, v)) << 20;
        else if (a == "--threads") {
            o.threads.clear();
            for (const auto& s : split_commas(v)) o.threads.push_back(static_cast<int>(parse_int(a, s)));
        } else if (a == "--types") {
            o.types.clear();
            for (const auto& s : split_commas(v)) {
                const auto t = lyra::core::dtype_from_name(s);
                if (!t) throw_error(ErrorKind::Usage, "--types '{}': unknown type; expected f32, q8_0, q4_0, ...", s);
                o.types.push_back(*t);
            }
        } else {
            throw_error(ErrorKind::Usage, "{}: unknown flag; see the usage at the top of bench/bench_inference.cpp", a);
        }
    }
    if (o.prompt_tokens + o.gen_tokens > o.model.ctx)
        throw_error(ErrorKind::Usage, "--prompt-tokens + --gen-tokens is {}; expected at most --ctx {}",
                    o.prompt_tokens + o.gen_tokens, o.model.ctx);
    return o;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

using lyra::bench::seconds_since;
using lyra::bench::weight_bytes_per_token;

// ---------------------------------------------------------------------------------------------
// Machine limits. The ratios use core/roofline.h, the probes the kernels are tuned against. The
// bench keeps its own independent probes of the same two limits (written apart from the
// kernels: a plain sequential AVX2 read, a 6x64 AVX-512 FMA tile) and prints them beside, so a
// probe that flatters the kernels would show.

// Sums floats with 4 independent AVX2 accumulators: loads are the only cost (one pass).
__attribute__((target("avx2"))) float sum_avx2(const float* p, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, s);
    float t = 0.0f;
    for (float x : lanes) t += x;
    return t;
}

// Median GB/s of `reps` passes in which every thread reads its own contiguous share of a
// `bytes` buffer (each thread first-touches its share, as the model weights' pages are spread).
double bench_read_bandwidth_gbs(lyra::core::ThreadPool& pool, size_t bytes, int reps) {
    const size_t n = bytes / sizeof(float);
    std::unique_ptr<float[]> buf(new float[n]);
    const int nth = pool.size();
    std::vector<float> sink(static_cast<size_t>(nth), 0.0f);
    pool.run([&](int ith, int) {
        int64_t b = 0, e = 0;
        lyra::core::split_range(static_cast<int64_t>(n), ith, nth, &b, &e);
        for (int64_t i = b; i < e; ++i) buf[static_cast<size_t>(i)] = 1.0f;
    });
    std::vector<double> gbs;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        pool.run([&](int ith, int) {
            int64_t b = 0, e = 0;
            lyra::core::split_range(static_cast<int64_t>(n), ith, nth, &b, &e);
            sink[static_cast<size_t>(ith)] += sum_avx2(buf.get() + b, static_cast<size_t>(e - b));
        });
        gbs.push_back(static_cast<double>(bytes) / seconds_since(t0) / 1e9);
    }
    if (sink[0] < 0.0f) std::fprintf(stderr, "%f\n", static_cast<double>(sink[0]));  // keep the reads
    return median(gbs);
}

// A GEMM micro-kernel on L1-resident packed panels: C[6, 64] += A[6, K] * B[K, 64], 24 zmm
// accumulators, the inner loop of any blocked SGEMM. Its rate is the GEMM peak of this core.
__attribute__((target("avx512f,fma"))) void micro_6x64(const float* a, const float* b, int64_t K,
                                                       float* c) {
    __m512 acc[6][4];
    for (auto& row : acc)
        for (auto& v : row) v = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
        const __m512 b0 = _mm512_loadu_ps(b + k * 64), b1 = _mm512_loadu_ps(b + k * 64 + 16);
        const __m512 b2 = _mm512_loadu_ps(b + k * 64 + 32), b3 = _mm512_loadu_ps(b + k * 64 + 48);
        for (int i = 0; i < 6; ++i) {
            const __m512 ai = _mm512_set1_ps(a[k * 6 + i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(ai, b2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(ai, b3, acc[i][3]);
        }
    }
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 4; ++j)
            _mm512_storeu_ps(c + i * 64 + j * 16, _mm512_add_ps(_mm512_loadu_ps(c + i * 64 + j * 16), acc[i][j]));
}

// Median GFLOP/s over 5 runs of ~40 ms of micro_6x64 on every thread (AVX-512 machines only;
// 0 elsewhere).
double bench_gemm_peak_gflops(lyra::core::ThreadPool& pool) {
    if (!__builtin_cpu_supports("avx512f")) return 0.0;
    constexpr int64_t K = 96;     // B panel 24 KiB: stays in L1
    constexpr int kCalls = 100000;  // ~40 ms per thread at ~200 GFLOP/s
    std::vector<double> runs;
    for (int r = 0; r < 5; ++r) {
        const auto t0 = Clock::now();
        pool.run([&](int, int) {
            std::vector<float> a(6 * K, 0.5f), b(K * 64, 0.25f), c(6 * 64, 0.0f);
            for (int i = 0; i < kCalls; ++i) micro_6x64(a.data(), b.data(), K, c.data());
            if (c[0] < 0.0f) std::fprintf(stderr, "%f\n", static_cast<double>(c[0]));
        });
        runs.push_back(2.0 * 6 * 64 * K * kCalls * pool.size() / seconds_since(t0) / 1e9);
    }
    return median(runs);
}

// FLOPs per prompt token in prefill: 2 per weight of the blocks' matrices, which every token
// multiplies. The output head runs on the last token only (prefill returns its logits alone) and
// the embedding is a lookup, so they are left out; "2 x all parameters" would overstate the work
// by ~1.6x on this shape. Attention score FLOPs (~4 * T * C per layer) are also left out.
double prefill_flops_per_token(const lyra::model::Model& m) {
    double n = 0.0;
    for (const auto& ti : m.gguf().tensors())
        if (ti.name.rfind("blk.", 0) == 0 && ti.tensor.n_dims == 2) n += static_cast<double>(ti.tensor.numel());
    return 2.0 * n;
}

// ---------------------------------------------------------------------------------------------
// Lyra timing

struct LyraResult {
    std::vector<double> prefill_tok_s, decode_tok_s;  // whole model, per repetition
    std::vector<double> matvec_tok_s;  // core::matmul alone over every weight a decode step reads
    std::vector<double> gemm_gflops;   // core::matmul alone over the blocks' weights at T = prompt
};

int32_t argmax(const std::vector<float>& v) {
    return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Decodes n tokens after whatever the session holds; returns seconds.
double decode_tokens(const lyra::model::Model& m, lyra::model::Session& s, lyra::core::ThreadPool& pool,
                     std::vector<float>& logits, int64_t n) {
    int32_t tok = argmax(logits);
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < n; ++i) {
        m.forward(s, std::span<const int32_t>(&tok, 1), pool, logits);
        tok = argmax(logits);
    }
    return seconds_since(t0);
}

// Diagnostics that separate the kernels from the model code around them: the same matmuls a
// forward pass runs, called directly with core::matmul on the model's weight tensors (inputs of
// ones; the numbers don't matter). Decode: T = 1 over every 2-D weight but the embedding (which
// decode reads one row of), so its rate has the same byte count as the decode roofline. Prefill:
// T = prompt over the blocks' weights, the FLOPs prefill_flops_per_token counts.
void time_kernels(const lyra::model::Model& m, lyra::core::ThreadPool& pool, const Options& o, LyraResult& r) {
    std::vector<lyra::core::Tensor> decode_w, prefill_w;
    // In the layout the model binds them in: Q4_0 and Q8_0 packed 16 rows at a time where that
    // pays (core/packed_weights.h, as WeightBinder::for_matmul does).
    std::deque<std::vector<uint8_t>> packed;
    const auto as_bound = [&](const lyra::core::Tensor& w) {
        if (!lyra::core::can_pack_rows16(w) || !lyra::core::packing_pays()) return w;
        return lyra::core::pack_rows16_into(w, packed.emplace_back());
    };
    int64_t max_k = 0, max_n = 0;
    for (const auto& ti : m.gguf().tensors()) {
        if (ti.tensor.n_dims != 2) continue;
        const bool embd = ti.name == "token_embd.weight", decode = !embd || m.hparams().tied_output,
                   prefill = ti.name.rfind("blk.", 0) == 0;
        if (!decode && !prefill) continue;
        const lyra::core::Tensor w = as_bound(ti.tensor);
        if (decode) decode_w.push_back(w);
        if (prefill) prefill_w.push_back(w);
        max_k = std::max(max_k, ti.tensor.dim(1));
        max_n = std::max(max_n, ti.tensor.dim(0));
    }
    std::vector<float> x(static_cast<size_t>(o.prompt_tokens * max_k), 1.0f);
    std::vector<float> y(static_cast<size_t>(o.prompt_tokens * max_n));
    auto pass = [&](const std::vector<lyra::core::Tensor>& ws, int64_t T) {
        for (const auto& w : ws) lyra::core::matmul(pool, x.data(), T, w, y.data());
    };
    pass(decode_w, 1);  // warm-up
    constexpr int kPasses = 8;
    double flops = 0.0;
    for (const auto& w : prefill_w) flops += 2.0 * static_cast<double>(w.numel() * o.prompt_tokens);
    for (int rep = 0; rep < o.reps; ++rep) {
        auto t0 = Clock::now();
        for (int i = 0; i < kPasses; ++i) pass(decode_w, 1);
        r.matvec_tok_s.push_back(kPasses / seconds_since(t0));
        t0 = Clock::now();
        pass(prefill_w, o.prompt_tokens);
        r.gemm_gflops.push_back(flops / seconds_since(t0) / 1e9);
    }
}

LyraResult time_lyra(const lyra::model::Model& m, lyra::core::ThreadPool& pool, const Options& o) {
    lyra::core::Rng rng(7);
    std::vector<int32_t> prompt(static_cast<size_t>(o.prompt_tokens));
    for (auto& t : prompt) t = 259 + static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(o.model.vocab - 259));
    lyra::model::Session s(m, o.model.ctx, o.kv);
    std::vector<float> logits;

    // Warm-up: a short prompt and a few decode steps fault in and touch every weight once. (No
    // longer than the prompt: --prompt-tokens below 16 read past its end.)
    const size_t warm = std::min<size_t>(16, prompt.size());
    m.forward(s, std::span<const int32_t>(prompt.data(), warm), pool, logits);
    decode_tokens(m, s, pool, logits, 4);

    LyraResult r;
    for (int rep = 0; rep < o.reps; ++rep) {
        s.clear();
        const auto t0 = Clock::now();
        m.forward(s, prompt, pool, logits);
        r.prefill_tok_s.push_back(static_cast<double>(o.prompt_tokens) / seconds_since(t0));
        r.decode_tok_s.push_back(static_cast<double>(o.gen_tokens) /
                                 decode_tokens(m, s, pool, logits, o.gen_tokens));
    }
    time_kernels(m, pool, o, r);
    return r;
}

// Decode at a long context with the given KV cache type: the session's cache is filled to
// `positions` rows of N(0, 1) values through store_k/store_v (what attention costs does not
// depend on the values, and a real prefill of 4096 tokens would take minutes here), then
// o.long_gen tokens are decoded after a short warm-up. Returns tok/s per repetition.
std::vector<double> time_long_decode(const lyra::model::Model& m, lyra::core::ThreadPool& pool, const Options& o,
                                     int64_t positions, DType kv) {
    const auto& hp = m.hparams();
    lyra::model::Session s(m, positions + o.long_gen + 8, kv);
    lyra::core::Rng rng(11);
    std::vector<float> rows(static_cast<size_t>(2 * 256 * s.kv_dim()));  // 256 K rows, then 256 V rows
    for (auto& x : rows) x = rng.normal();
    for (int64_t l = 0; l < hp.n_layer; ++l)
        for (int64_t p = 0; p < positions; p += 256) {
            const int64_t n = std::min<int64_t>(256, positions - p);
            s.store_k(l, p, rows.data(), n, s.kv_dim());
            s.store_v(l, p, rows.data() + 256 * s.kv_dim(), n, s.kv_dim());
        }
    std::vector<float> logits(static_cast<size_t>(hp.n_vocab), 0.0f);
    std::vector<double> tok_s;
    for (int rep = 0; rep < o.reps; ++rep) {
        s.truncate(0);
        s.advance(positions);
        decode_tokens(m, s, pool, logits, 2);  // warm-up: the cache's pages and the weights
        tok_s.push_back(static_cast<double>(o.long_gen) / decode_tokens(m, s, pool, logits, o.long_gen));
    }
    return tok_s;
}

// KV cache bytes one decode step reads at `positions` cached rows (K and V of every layer).
double kv_bytes_per_token(const lyra::model::Model& m, int64_t positions, DType kv) {
    return static_cast<double>(lyra::model::Session::kv_bytes_for(m, positions, kv));  // int8 rows count their scales
}

// ---------------------------------------------------------------------------------------------
// PyTorch: bench/torch_inference.py in a child process, its JSON on stdout.

Json run_torch(const Options& o) {
    std::string threads;
    for (int t : o.threads) {
        if (!threads.empty()) threads += ',';
        threads += std::to_string(t);
    }
    const std::string cmd = fmt::format(
        "'{}' '{}' --threads {} --dtypes f32,int8dyn --dim {} --layers {} --heads {} --ffn {} "
        "--vocab {} --ctx {} --prompt-tokens {} --gen-tokens {} --reps {}",
        o.python, o.torch_script, threads, o.model.dim, o.model.layers, o.model.heads, o.model.ffn,
        o.model.vocab, o.model.ctx,
        o.prompt_tokens, o.gen_tokens, o.reps);
    std::fprintf(stderr, "bench: %s\n", cmd.c_str());
    std::FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw_error(ErrorKind::Io, "torch benchmark: cannot start '{}'", cmd);
    std::string out;
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int rc = pclose(p);
    if (rc != 0) throw_error(ErrorKind::Io, "torch benchmark: '{}' failed (status {}); expected exit 0", cmd, rc);
    try {
        return Json::parse(out);
    } catch (const Json::exception& e) {
        throw_error(ErrorKind::Corrupt, "torch benchmark: output is not JSON ({}); got '{:.200}'", e.what(), out);
    }
}

// The torch row for (dtype, threads), or null.
const Json* torch_row(const Json& torch, const std::string& dtype, int threads) {
    if (!torch.contains("rows")) return nullptr;
    for (const auto& r : torch["rows"])
        if (r["dtype"] == dtype && r["threads"] == threads) return &r;
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Report

struct Row {
    DType type;
    int threads;
    double prefill_tok_s, decode_tok_s;       // Lyra medians
    double weight_bytes;                      // read per decode token
    double kv_bytes;                          // KV cache read per decode token, averaged over the run
    double bw_gbs;                            // median read bandwidth at this thread count
    double peak_gflops;                       // median F32 GEMM peak at this thread count
    double flops_per_token;                   // prefill
    double torch_prefill = 0, torch_decode = 0;           // torch F32
    double torch_i8_prefill = 0, torch_i8_decode = 0;     // torch dynamic int8 (Q8_0 rows)
    double matvec_tok_s = 0, gemm_gflops = 0;             // kernels alone (time_kernels)
    double decode_limit() const { return bw_gbs * 1e9 / weight_bytes; }
    double decode_frac() const { return decode_tok_s / decode_limit(); }
    // The same with the cache's bytes counted: what a step really has to read.
    double decode_frac_with_kv() const { return decode_tok_s * (weight_bytes + kv_bytes) / (bw_gbs * 1e9); }
    double prefill_gflops() const { return prefill_tok_s * flops_per_token / 1e9; }
};

std::string num(double x, int prec = 1) {
    return x > 0 ? fmt::format("{:.{}f}", x, prec) : std::string("—");
}
std::string ratio(double a, double b) { return a > 0 && b > 0 ? fmt::format("{:.2f}x", a / b) : "—"; }
std::string pct(double x) { return fmt::format("{:.0f}%", 100.0 * x); }

double target_decode_frac(DType t) { return t == DType::Q4_0 ? 0.80 : 0.90; }

// One long-context decode case (time_long_decode).
struct LongRow {
    DType type;
    int threads;
    int64_t positions;
    DType kv;
    double decode_tok_s;
    double weight_bytes, kv_bytes;  // read per decode token
    double bw_gbs;
    double decode_limit() const { return bw_gbs * 1e9 / (weight_bytes + kv_bytes); }
    double decode_frac() const { return decode_tok_s / decode_limit(); }
};

// f16 and q8_0 rows beside their f32 twins: the speed ratio and each one's share of the roofline.
std::string long_markdown(const std::vector<LongRow>& rows) {
    if (rows.empty()) return {};
    std::string s =
        "\nLong-context decode, f32 vs f16 vs q8_0 KV cache (the cache filled to `ctx` positions, then tg "
        "timed; limit = read BW / (weight + KV bytes per token)):\n\n"
        "| type | thr | ctx | KV | KV MB/tok | weights+KV MB/tok | tg tok/s | vs f32 | tg limit tok/s | tg % of limit |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        std::string vs = "—";
        if (r.kv != DType::F32)
            for (const auto& b : rows)
                if (b.kv == DType::F32 && b.type == r.type && b.threads == r.threads && b.positions == r.positions)
                    vs = ratio(r.decode_tok_s, b.decode_tok_s);
        s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", lyra::core::dtype_name(r.type),
                         r.threads, r.positions, lyra::model::kv_type_name(r.kv), num(r.kv_bytes / 1e6),
                         num((r.weight_bytes + r.kv_bytes) / 1e6), num(r.decode_tok_s, 2), vs,
                         num(r.decode_limit(), 2), pct(r.decode_frac()));
    }
    return s;
}


std::string markdown(const std::vector<Row>& rows, const Json& machine, const Options& o) {
    std::string s;
    s += "| type | thr | Lyra pp tok/s | torch pp tok/s | pp Lyra/torch | Lyra tg tok/s | torch tg tok/s | "
         "tg Lyra/torch | weights MB/tok | read BW GB/s | tg limit tok/s | tg % of limit (target) | "
         "tg % of weights+KV limit | pp GFLOP/s | pp % of GEMM peak |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        const bool f32 = r.type == DType::F32;
        std::string tp = num(r.torch_prefill), td = num(r.torch_decode, 2);
        std::string rp = ratio(r.prefill_tok_s, r.torch_prefill), rd = ratio(r.decode_tok_s, r.torch_decode);
        if (r.type == DType::Q8_0 && r.torch_i8_decode > 0) {
            tp += fmt::format(" / i8 {}", num(r.torch_i8_prefill));
            td += fmt::format(" / i8 {}", num(r.torch_i8_decode, 2));
            rp += fmt::format(" / {}", ratio(r.prefill_tok_s, r.torch_i8_prefill));
            rd += fmt::format(" / {}", ratio(r.decode_tok_s, r.torch_i8_decode));
        }
        s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} |\n",
                         lyra::core::dtype_name(r.type), r.threads, num(r.prefill_tok_s), tp, rp,
                         num(r.decode_tok_s, 2), td, rd, num(r.weight_bytes / 1e6),
                         num(r.bw_gbs), num(r.decode_limit(), 2), pct(r.decode_frac()),
                         pct(target_decode_frac(r.type)), pct(r.decode_frac_with_kv()), num(r.prefill_gflops()),
                         f32 ? fmt::format("{} (80%)", pct(r.prefill_gflops() / r.peak_gflops)) : "—");
    }
    s += "\nKernels alone (core::matmul on the model's weights, no attention/norms/sync around them): "
         "decode = T=1 over every weight a decode step reads, vs the same roofline; prefill = T=prompt over "
         "the blocks' weights, vs the GEMM peak.\n\n"
         "| type | thr | matvec-only tok/s | matvec % of limit | model tg % of matvec | GEMM-only GFLOP/s | "
         "GEMM % of peak | model pp % of GEMM |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", lyra::core::dtype_name(r.type),
                         r.threads, num(r.matvec_tok_s, 2), pct(r.matvec_tok_s / r.decode_limit()),
                         pct(r.decode_tok_s / r.matvec_tok_s), num(r.gemm_gflops),
                         pct(r.gemm_gflops / r.peak_gflops), pct(r.prefill_gflops() / r.gemm_gflops));
    }
    s += fmt::format(
        "\nLyra's KV cache: {} (`--kv-type`; f16 is what lyra generate, serve and bench use). \"tg % of limit\" "
        "counts the weights a step reads (issue 2's roofline); \"weights+KV\" adds the cache rows it reads "
        "too, on average {} positions.\n",
        lyra::model::kv_type_name(o.kv), o.prompt_tokens + (o.gen_tokens + 1) / 2);
    s += "\npp = prefill (prompt processing), tg = decode (token generation). torch columns are PyTorch "
         "F32 for every row (PyTorch has no Q8_0/Q4_0 CPU kernels); on q8_0 rows \"i8\" is PyTorch "
         "dynamic int8 quantization (qint8 weights, per-tensor scales), the nearest analogue. Targets "
         "(in brackets) apply at 2 threads.\n\nMachine, measured in this run (medians):\n\n";
    s += "The roofline columns above use the higher of the two probes' medians (core/roofline.h, the bench's own).\n\n";
    s += "| threads | read BW GB/s (min–max, n) | bench's own BW probe | F32 GEMM peak GFLOP/s (min–max, n) | "
         "bench's own peak probe | Lyra F32 matmul GFLOP/s, cache-resident | torch sgemm GFLOP/s at pp shape |\n";
    s += "|---|---|---|---|---|---|---|\n";
    for (const auto& [t, m] : machine.items()) {
        s += fmt::format("| {} | {:.1f} ({:.1f}–{:.1f}, {}) | {} | {:.1f} ({:.1f}–{:.1f}, {}) | {} | {} | {} |\n", t,
                         m["bw_gbs"].get<double>(), m["bw_min"].get<double>(), m["bw_max"].get<double>(),
                         m["bw_samples"].size(), num(m["bench_probe_bw_gbs"].get<double>()),
                         m["peak_gflops"].get<double>(), m["peak_min"].get<double>(),
                         m["peak_max"].get<double>(), m["peak_samples"].size(),
                         num(m["bench_probe_peak_gflops"].get<double>()),
                         num(m["lyra_gemm_gflops"].get<double>()),
                         m.contains("torch_sgemm_gflops") ? num(m["torch_sgemm_gflops"].get<double>()) : "—");
    }
    return s;
}

// ---------------------------------------------------------------------------------------------

// Every Lyra case at `nt` threads, with the machine measured before the first case and after
// each one, so the medians span the same stretch of time as the numbers they divide.
void measure_thread_count(const Options& o, const std::vector<std::string>& paths, const Json& torch, int nt,
                          std::vector<Row>& rows, std::vector<LongRow>& long_rows, Json& machine) {
    lyra::core::ThreadPool pool(nt);
    std::vector<double> bw, peak, lyra_gemm, own_bw, own_peak;
    auto sample_machine = [&] {
        bw.push_back(lyra::core::measure_read_bandwidth_gbs(pool, o.bw_bytes, o.bw_reps));
        own_bw.push_back(bench_read_bandwidth_gbs(pool, o.bw_bytes, o.bw_reps));
        peak.push_back(lyra::core::measure_f32_gemm_peak_gflops(pool));
        own_peak.push_back(bench_gemm_peak_gflops(pool));
        lyra_gemm.push_back(lyra::core::measure_lyra_f32_gemm_gflops(pool));
    };
    sample_machine();
    std::vector<LyraResult> results;
    std::vector<LongRow> longs;  // bandwidth filled in below
    for (size_t i = 0; i < o.types.size(); ++i) {
        const auto model = lyra::model::Model::load(paths[i]);
        const auto t0 = Clock::now();
        results.push_back(time_lyra(*model, pool, o));
        std::fprintf(stderr, "bench: lyra %s x%d: %.1f s\n", std::string(lyra::core::dtype_name(o.types[i])).c_str(),
                     nt, seconds_since(t0));
        sample_machine();
        // f32, f16 and q8_0 KV at each length, alternating so a change in machine load hits all.
        for (int64_t positions : o.long_ctx) {
            const auto t1 = Clock::now();
            constexpr DType kKvTypes[] = {DType::F32, DType::F16, DType::Q8_0};
            std::vector<double> runs[3];
            for (int round = 0; round < 2; ++round)
                for (int k = 0; k < 3; ++k)
                    for (double x : time_long_decode(*model, pool, o, positions, kKvTypes[k])) runs[k].push_back(x);
            for (int k = 0; k < 3; ++k)
                longs.push_back({.type = o.types[i], .threads = nt, .positions = positions, .kv = kKvTypes[k],
                                 .decode_tok_s = median(runs[k]),
                                 .weight_bytes = weight_bytes_per_token(*model),
                                 .kv_bytes = kv_bytes_per_token(*model, positions, kKvTypes[k]), .bw_gbs = 0});
            std::fprintf(stderr, "bench: lyra %s x%d ctx %lld f32/f16/q8_0 KV: %.1f s\n",
                         std::string(lyra::core::dtype_name(o.types[i])).c_str(), nt,
                         static_cast<long long>(positions), seconds_since(t1));
        }
        if (!o.long_ctx.empty()) sample_machine();
    }
    // The limits are the higher of the two probes' medians: a probe that reads low can only
    // flatter Lyra's ratios (a first run had core's bandwidth probe below what Lyra's own matvec
    // streamed, i.e. >100% of the "limit").
    const double bw_med = std::max(median(bw), median(own_bw));
    const double peak_med = std::max(median(peak), median(own_peak));
    Json& mj = machine[std::to_string(nt)];
    mj = {{"bw_gbs", median(bw)}, {"bw_used_gbs", bw_med}, {"peak_used_gflops", peak_med}, {"bw_samples", bw},
          {"bw_min", *std::min_element(bw.begin(), bw.end())},
          {"bw_max", *std::max_element(bw.begin(), bw.end())}, {"peak_gflops", median(peak)},
          {"peak_samples", peak}, {"peak_min", *std::min_element(peak.begin(), peak.end())},
          {"peak_max", *std::max_element(peak.begin(), peak.end())},
          {"lyra_gemm_gflops", median(lyra_gemm)}, {"lyra_gemm_samples", lyra_gemm},
          {"bench_probe_bw_gbs", median(own_bw)}, {"bench_probe_bw_samples", own_bw},
          {"bench_probe_peak_gflops", median(own_peak)}, {"bench_probe_peak_samples", own_peak}};
    for (LongRow& r : longs) {
        r.bw_gbs = bw_med;
        long_rows.push_back(r);
    }
    if (torch.contains("sgemm_gflops") && torch["sgemm_gflops"].contains(std::to_string(nt)))
        mj["torch_sgemm_gflops"] = torch["sgemm_gflops"][std::to_string(nt)];
    for (size_t i = 0; i < results.size(); ++i) {
        const auto model = lyra::model::Model::load(paths[i]);
        const LyraResult& r = results[i];
        Row row{.type = o.types[i], .threads = nt, .prefill_tok_s = median(r.prefill_tok_s),
                .decode_tok_s = median(r.decode_tok_s), .weight_bytes = weight_bytes_per_token(*model),
                // Decode runs from position prompt to prompt + gen - 1: on average it reads
                // prompt + (gen - 1) / 2 + 1 cached rows per step (its own row included).
                .kv_bytes = kv_bytes_per_token(*model, o.prompt_tokens + (o.gen_tokens + 1) / 2, o.kv),
                .bw_gbs = bw_med, .peak_gflops = peak_med, .flops_per_token = prefill_flops_per_token(*model)};
        row.matvec_tok_s = median(r.matvec_tok_s);
        row.gemm_gflops = median(r.gemm_gflops);
        if (const Json* tr = torch_row(torch, "f32", nt)) {
            row.torch_prefill = (*tr)["prefill_tok_s"].get<double>();
            row.torch_decode = (*tr)["decode_tok_s"].get<double>();
        }
        if (const Json* tr = torch_row(torch, "int8dyn", nt)) {
            row.torch_i8_prefill = (*tr)["prefill_tok_s"].get<double>();
            row.torch_i8_decode = (*tr)["decode_tok_s"].get<double>();
        }
        rows.push_back(row);
    }
}

int run(const Options& o) {
    const auto t_start = Clock::now();
    std::vector<std::string> paths;
    for (DType t : o.types) paths.push_back(lyra::bench::ensure_model(o.model, t));
    if (o.prepare_only) return 0;

    Json torch = Json::object();
    if (o.torch) torch = run_torch(o);

    std::vector<Row> rows;
    std::vector<LongRow> long_rows;
    Json machine = Json::object();
    for (int nt : o.threads) measure_thread_count(o, paths, torch, nt, rows, long_rows, machine);

    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return a.type != b.type ? static_cast<uint32_t>(a.type) < static_cast<uint32_t>(b.type)
                                : a.threads < b.threads;
    });
    const std::string table = markdown(rows, machine, o) + long_markdown(long_rows);
    std::printf("## Lyra inference benchmark: llama dim %lld, %lld layers, %lld heads, ffn %lld, vocab %lld, "
                "ctx %lld; %lld prompt tokens, %lld decode tokens, %d reps (medians); kernels: %s\n\n%s",
                static_cast<long long>(o.model.dim), static_cast<long long>(o.model.layers),
                static_cast<long long>(o.model.heads), static_cast<long long>(o.model.ffn),
                static_cast<long long>(o.model.vocab), static_cast<long long>(o.model.ctx),
                static_cast<long long>(o.prompt_tokens), static_cast<long long>(o.gen_tokens), o.reps,
                lyra::core::kernel_isa(), table.c_str());

    Json out = {{"shape", {{"dim", o.model.dim}, {"layers", o.model.layers}, {"heads", o.model.heads},
                           {"ffn", o.model.ffn}, {"vocab", o.model.vocab}, {"ctx", o.model.ctx}}},
                {"prompt_tokens", o.prompt_tokens}, {"gen_tokens", o.gen_tokens}, {"reps", o.reps},
                {"kernel_isa", lyra::core::kernel_isa()}, {"machine", machine}, {"torch", torch},
                {"rows", Json::array()}, {"table_markdown", table}};
    for (const auto& r : rows) {
        out["rows"].push_back({{"type", lyra::core::dtype_name(r.type)}, {"threads", r.threads},
                               {"lyra_prefill_tok_s", r.prefill_tok_s}, {"lyra_decode_tok_s", r.decode_tok_s},
                               {"torch_f32_prefill_tok_s", r.torch_prefill}, {"torch_f32_decode_tok_s", r.torch_decode},
                               {"torch_int8dyn_prefill_tok_s", r.torch_i8_prefill},
                               {"torch_int8dyn_decode_tok_s", r.torch_i8_decode},
                               {"weight_bytes_per_token", r.weight_bytes}, {"read_bw_gbs", r.bw_gbs},
                               {"decode_limit_tok_s", r.decode_limit()}, {"decode_frac_of_limit", r.decode_frac()},
                               {"kv_type", lyra::model::kv_type_name(o.kv)}, {"kv_bytes_per_token", r.kv_bytes},
                               {"decode_frac_of_weights_kv_limit", r.decode_frac_with_kv()},
                               {"decode_target_frac", target_decode_frac(r.type)},
                               {"prefill_flops_per_token", r.flops_per_token}, {"prefill_gflops", r.prefill_gflops()},
                               {"gemm_peak_gflops", r.peak_gflops},
                               {"prefill_frac_of_gemm_peak", r.prefill_gflops() / r.peak_gflops},
                               {"kernel_matvec_tok_s", r.matvec_tok_s},
                               {"kernel_matvec_frac_of_limit", r.matvec_tok_s / r.decode_limit()},
                               {"kernel_gemm_gflops", r.gemm_gflops},
                               {"kernel_gemm_frac_of_peak", r.gemm_gflops / r.peak_gflops}});
    }
    out["long_ctx_rows"] = Json::array();
    for (const auto& r : long_rows)
        out["long_ctx_rows"].push_back({{"type", lyra::core::dtype_name(r.type)}, {"threads", r.threads},
                                        {"ctx", r.positions}, {"kv_type", lyra::model::kv_type_name(r.kv)},
                                        {"decode_tok_s", r.decode_tok_s}, {"weight_bytes_per_token", r.weight_bytes},
                                        {"kv_bytes_per_token", r.kv_bytes}, {"read_bw_gbs", r.bw_gbs},
                                        {"decode_limit_tok_s", r.decode_limit()},
                                        {"decode_frac_of_limit", r.decode_frac()}});
    out["wall_s"] = seconds_since(t_start);
    if (!o.json_out.empty()) lyra::core::write_file_atomic(o.json_out, out.dump(1) + "\n");
    const std::string json_note = o.json_out.empty() ? "no JSON written: --json-out FILE writes one" : "JSON: " + o.json_out;
    std::printf("\n(%s; whole run %.0f s)\n", json_note.c_str(), seconds_since(t_start));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const lyra::Error& e) {
        std::fprintf(stderr, "bench_inference: %s\n", e.what());
        return e.kind() == ErrorKind::Usage ? 2 : 1;
    }
}
