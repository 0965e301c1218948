#include "core/roofline.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/ops.h"
#include "core/tensor.h"

namespace lyra::core {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

// Reads x[0..n) once as 4 interleaved streams (4 KiB pieces of 4 quarter-ranges in turn), the
// way a matvec walks 4 weight rows at a time: one sequential stream per core leaves memory-level
// parallelism unused on many machines and would understate the bandwidth kernels can reach.
float read_4_streams(const kern::KernelTable& k, const float* x, int64_t n) {
    constexpr int64_t kPiece = 1024;  // floats
    const int64_t q = n / 4 / kPiece * kPiece;
    float s = 0.0f;
    for (int64_t off = 0; off < q; off += kPiece)
        for (int j = 0; j < 4; ++j) s += k.dot_f32(x + j * q + off, x + j * q + off, kPiece);
    if (4 * q < n) s += k.dot_f32(x + 4 * q, x + 4 * q, n - 4 * q);
    return s;
}

}  // namespace

double measure_read_bandwidth_gbs(ThreadPool& pool, size_t bytes, int reps) {
    const auto n = static_cast<int64_t>(bytes / sizeof(float));
    std::unique_ptr<float[]> buf(new float[static_cast<size_t>(n)]);
    const int nth = pool.size();
    pool.run([&](int ith, int) {
        int64_t b, e;
        split_range(n, ith, nth, &b, &e);
        std::fill(buf.get() + b, buf.get() + e, 1.0f);
    });
    std::vector<float> sink(static_cast<size_t>(nth), 0.0f);
    // dot(x, x) streams x once (the second operand hits the same cache line) with the widest
    // loads this CPU has (the dispatched kernel), 4 streams per thread.
    const auto& k = kern::active_table();
    std::vector<double> gbs;
    for (int r = 0; r < std::max(reps, 1); ++r) {
        const auto t0 = Clock::now();
        pool.run([&](int ith, int) {
            int64_t b, e;
            split_range(n, ith, nth, &b, &e);
            sink[static_cast<size_t>(ith)] += read_4_streams(k, buf.get() + b, e - b);
        });
        gbs.push_back(static_cast<double>(n) * sizeof(float) / seconds_since(t0) / 1e9);
    }
    volatile float keep = sink[0];
    (void)keep;
    return median(gbs);
}

double measure_f32_gemm_peak_gflops(ThreadPool& pool) {
    constexpr int64_t K = 96;  // B panel 24 KiB: stays in L1
    const auto& k = kern::active_table();
    // ~40 ms per run with SIMD; the scalar probe gets fewer calls.
    const int calls = k.isa == kern::Isa::Scalar ? 200 : 20000;
    std::vector<double> runs;
    for (int r = 0; r < 5; ++r) {
        const auto t0 = Clock::now();
        pool.run([&](int, int) {
            std::vector<float> a(6 * K, 0.5f), b(K * 64, 0.25f), c(6 * 64, 0.0f);
            for (int i = 0; i < calls; ++i) k.gemm_probe(a.data(), b.data(), K, c.data());
            volatile float keep = c[0];
            (void)keep;
        });
        runs.push_back(2.0 * 6 * 64 * K * calls * pool.size() / seconds_since(t0) / 1e9);
    }
    return median(runs);
}

double measure_lyra_f32_gemm_gflops(ThreadPool& pool) {
    const int64_t T = 96, K = 512, N = 256 * pool.size();
    std::vector<float> x(static_cast<size_t>(T * K), 0.5f), w(static_cast<size_t>(N * K), 0.25f),
        y(static_cast<size_t>(T * N));
    const Tensor wt = make_tensor(DType::F32, {N, K}, w.data());
    matmul(pool, x.data(), T, wt, y.data());  // warm-up
    double best = 0.0;
    for (int r = 0; r < 7; ++r) {
        const auto t0 = Clock::now();
        for (int i = 0; i < 4; ++i) matmul(pool, x.data(), T, wt, y.data());
        best = std::max(best, 4.0 * 2.0 * static_cast<double>(T * N * K) / seconds_since(t0) / 1e9);
    }
    return best;
}

}  // namespace lyra::core
