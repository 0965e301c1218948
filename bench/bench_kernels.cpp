// bench_kernels: Lyra's matmul kernels against the machine's own limits, measured in one run.
//   - read bandwidth (median of several passes over 512 MiB) per thread count;
//   - matvec (T = 1, the decode case) GB/s of weight bytes streamed, per weight dtype, at 1 and
//     2 threads, as a fraction of that bandwidth;
//   - F32 GEMM (prefill shapes, T = 128) GFLOP/s against the GEMM micro-kernel peak
//     (core/roofline.h);
//   - the sampler's draw over 32,000 logits on the best kernel variant against the scalar one.
// It prints; it never asserts. LYRA_ISA=scalar|avx2|avx512 picks the kernel variant.
//
// On a shared machine wall time includes time the threads were not scheduled at all, so every
// figure is also given on "busy" time: process CPU time / threads, which leaves descheduled
// periods out (a pool thread that finished early spins, so busy time never undercounts).
// Bandwidth and matvec are measured the same way, so their ratio is fair either way.
//
// Usage: bench_kernels [--threads 1,2] [--mib 256] [--reps 9]
#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/ops.h"
#include "core/quant.h"
#include "core/roofline.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "generate/sampler.h"

namespace {

using namespace lyra::core;
using Clock = std::chrono::steady_clock;

// Wall and busy seconds of one call of fn on a pool of `threads`.
struct Times {
    double wall, busy;
};
template <class Fn>
Times time_it(int threads, Fn&& fn) {
    timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    const auto t0 = Clock::now();
    fn();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    const double cpu = static_cast<double>(c1.tv_sec - c0.tv_sec) + 1e-9 * static_cast<double>(c1.tv_nsec - c0.tv_nsec);
    return {wall, std::min(wall, cpu / threads)};
}

// Read bandwidth like core::measure_read_bandwidth_gbs, returning wall and busy GB/s medians.
std::pair<double, double> read_bandwidth(ThreadPool& pool, size_t bytes, int reps);

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

// A [N, K] weight of `type` about `mib` MiB big: 512 distinct random rows quantized once and
// repeated (the bytes streamed are what matters; real values keep the arithmetic realistic).
std::vector<uint8_t> make_weight(DType type, int64_t K, size_t mib, int64_t* n_out) {
    constexpr int64_t kSeedRows = 512;
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    std::vector<float> f(static_cast<size_t>(kSeedRows * K));
    for (auto& v : f) v = nd(rng);
    const size_t rb = row_bytes(type, K);
    std::vector<uint8_t> seed(rb * kSeedRows);
    quantize_matrix(type, f.data(), seed.data(), kSeedRows, K);
    const int64_t N = std::max<int64_t>(kSeedRows, static_cast<int64_t>((mib << 20) / rb) / kSeedRows * kSeedRows);
    std::vector<uint8_t> w(rb * static_cast<size_t>(N));
    for (int64_t r = 0; r < N; r += kSeedRows) std::memcpy(w.data() + rb * static_cast<size_t>(r), seed.data(), seed.size());
    *n_out = N;
    return w;
}

std::pair<double, double> read_bandwidth(ThreadPool& pool, size_t bytes, int reps) {
    const auto n = static_cast<int64_t>(bytes / sizeof(float));
    std::vector<float> buf(static_cast<size_t>(n), 1.0f);
    std::vector<float> sink(static_cast<size_t>(pool.size()), 0.0f);
    std::vector<double> wall, busy;
    for (int r = 0; r < reps; ++r) {
        const Times t = time_it(pool.size(), [&] {
            pool.run([&](int ith, int nth) {
                int64_t b, e;
                split_range(n, ith, nth, &b, &e);
                // 4 interleaved streams of 4 KiB pieces, as core::measure_read_bandwidth_gbs.
                const int64_t q = (e - b) / 4 / 1024 * 1024;
                const float* p = buf.data() + b;
                float acc = 0.0f;
                for (int64_t off = 0; off < q; off += 1024)
                    for (int j = 0; j < 4; ++j) acc += dot_f32(p + j * q + off, p + j * q + off, 1024);
                sink[static_cast<size_t>(ith)] += acc;
            });
        });
        wall.push_back(static_cast<double>(bytes) / t.wall / 1e9);
        busy.push_back(static_cast<double>(bytes) / t.busy / 1e9);
    }
    if (sink[0] < 0.0f) std::printf(" ");
    return {median(wall), median(busy)};
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> threads = {1, 2};
    size_t mib = 256;
    int reps = 9;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--threads") {
            threads.clear();
            for (const char* p = argv[i + 1]; *p;) {
                threads.push_back(std::atoi(p));
                while (*p && *p != ',') ++p;
                if (*p == ',') ++p;
            }
        } else if (a == "--mib") {
            mib = static_cast<size_t>(std::atol(argv[i + 1]));
        } else if (a == "--reps") {
            reps = std::atoi(argv[i + 1]);
        }
    }
    std::printf("bench_kernels: kernel variant %s\n\n", kernel_isa());

    const DType types[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                           DType::Q4_K, DType::Q5_K, DType::Q6_K};
    constexpr int64_t K = 768;
    struct Row {
        int threads = 1;
        double bw_wall = 0, bw_busy = 0, bw_probe = 0;
        std::vector<double> wall, busy;
    };
    std::vector<Row> rows;
    for (int nt : threads) {
        Row r;
        r.threads = nt;
        rows.push_back(r);
    }

    std::vector<float> x(K * 128);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;

    // Bandwidth before and after the matvecs, averaged (these machines' bandwidth drifts).
    for (auto& r : rows) {
        ThreadPool pool(r.threads);
        r.bw_probe = measure_read_bandwidth_gbs(pool, size_t{512} << 20, 5);
        const auto [w, b] = read_bandwidth(pool, size_t{512} << 20, 5);
        r.bw_wall = w;
        r.bw_busy = b;
    }
    for (DType t : types) {
        int64_t N = 0;
        const auto w = make_weight(t, K, mib, &N);
        const Tensor wt = make_tensor(t, {N, K}, w.data());
        std::vector<float> y(static_cast<size_t>(N));
        for (auto& r : rows) {
            ThreadPool pool(r.threads);
            matmul(pool, x.data(), 1, wt, y.data());  // warm-up (first touch is done by memcpy)
            std::vector<double> sw, sb;
            for (int i = 0; i < reps; ++i) {
                const Times tm = time_it(r.threads, [&] { matmul(pool, x.data(), 1, wt, y.data()); });
                sw.push_back(tm.wall);
                sb.push_back(tm.busy);
            }
            r.wall.push_back(static_cast<double>(w.size()) / median(sw) / 1e9);
            r.busy.push_back(static_cast<double>(w.size()) / median(sb) / 1e9);
        }
    }
    for (auto& r : rows) {
        ThreadPool pool(r.threads);
        const auto [w, b] = read_bandwidth(pool, size_t{512} << 20, 5);
        r.bw_wall = 0.5 * (r.bw_wall + w);
        r.bw_busy = 0.5 * (r.bw_busy + b);
    }

    std::printf("## Matvec (T = 1, K = %lld, ~%zu MiB of weights) vs read bandwidth\n\n", static_cast<long long>(K), mib);
    std::printf("core::measure_read_bandwidth_gbs: ");
    for (const auto& r : rows) std::printf("%d thr %.1f GB/s  ", r.threads, r.bw_probe);
    std::printf("\n\n| threads | clock | read GB/s |");
    for (DType t : types) std::printf(" %s GB/s (frac) |", std::string(dtype_name(t)).c_str());
    std::printf("\n|---|---|---|");
    for (size_t i = 0; i < std::size(types); ++i) std::printf("---|");
    std::printf("\n");
    for (const auto& r : rows) {
        std::printf("| %d | wall | %.1f |", r.threads, r.bw_wall);
        for (double g : r.wall) std::printf(" %.1f (%.2f) |", g, g / r.bw_wall);
        std::printf("\n| %d | busy | %.1f |", r.threads, r.bw_busy);
        for (double g : r.busy) std::printf(" %.1f (%.2f) |", g, g / r.bw_busy);
        std::printf("\n");
    }

    std::printf("\n## F32 GEMM (prefill, T = 128) vs the GEMM micro-kernel peak\n\n");
    std::printf("| threads | peak GFLOP/s | lyra L2-shape GFLOP/s | shape N x K | GFLOP/s | frac of peak | busy GFLOP/s |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    const int64_t shapes[][2] = {{2048, 768}, {768, 2048}, {768, 768}};
    for (int nt : threads) {
        ThreadPool pool(nt);
        const double peak = measure_f32_gemm_peak_gflops(pool);
        const double lyra_l2 = measure_lyra_f32_gemm_gflops(pool);
        for (const auto& sh : shapes) {
            const int64_t N = sh[0], KK = sh[1], T = 128;
            std::vector<float> w(static_cast<size_t>(N * KK), 0.01f), xx(static_cast<size_t>(T * KK), 0.5f),
                y(static_cast<size_t>(T * N));
            const Tensor wt = make_tensor(DType::F32, {N, KK}, w.data());
            matmul(pool, xx.data(), T, wt, y.data());
            std::vector<double> sw, sb;
            for (int i = 0; i < 5; ++i) {
                const Times tm = time_it(nt, [&] { matmul(pool, xx.data(), T, wt, y.data()); });
                sw.push_back(tm.wall);
                sb.push_back(tm.busy);
            }
            const double flops = 2.0 * static_cast<double>(T * N * KK);
            const double gw = flops / median(sw) / 1e9, gb = flops / median(sb) / 1e9;
            std::printf("| %d | %.1f | %.1f | %lld x %lld | %.1f | %.2f | %.1f |\n", nt, peak, lyra_l2,
                        static_cast<long long>(N), static_cast<long long>(KK), gw, gw / peak, gb);
        }
    }

    // The sampler's draw (generate/samplers/pick.cpp) over a 32,000-token row: its passes are
    // kernels, so the same draw runs on this variant and on the scalar one, side by side, and must
    // pick the same tokens.
    std::printf("\n## Sampled token over 32,000 logits (temperature 0.8, no truncation): %s vs scalar kernels\n\n",
                kernel_isa());
    std::printf("| logits | %s us/draw | scalar us/draw | ratio | same tokens |\n|---|---|---|---|---|\n", kernel_isa());
    const std::string best = kernel_isa();
    for (const float sd : {1.0f, 4.0f}) {
        std::mt19937 rng(7);
        std::normal_distribution<float> nd(0.0f, sd);
        std::vector<float> row(32000);
        for (float& v : row) v = nd(rng);
        const auto draws = [&](const std::string& isa, std::vector<int>& picked) {
            force_kernel_isa(isa);
            lyra::gen::SamplerChain chain = lyra::gen::make_sampler_chain(
                {.temperature = 0.8f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 11});
            picked.clear();
            std::vector<double> per;
            for (int r = 0; r < 5; ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                for (int i = 0; i < 200; ++i) picked.push_back(chain.sample(row));
                per.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 200);
            }
            return median(per) * 1e6;
        };
        std::vector<int> fast, slow;
        const double us_fast = draws(best, fast), us_slow = draws("scalar", slow);
        force_kernel_isa(best);
        std::printf("| N(0, %.0f) | %.1f | %.1f | %.2fx | %s |\n", static_cast<double>(sd), us_fast, us_slow, us_slow / us_fast,
                    fast == slow ? "yes" : "NO");
    }
    return 0;
}
