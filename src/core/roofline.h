// Roofline probes: the machine limits Lyra's kernels are judged against, measured in the same
// run as the kernels (bench/). Each call allocates and times; never use them on a hot path.
// Results are medians (bandwidth) or medians of repeated peaks (GEMM), in decimal GB/s, GFLOP/s.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace lyra::core {

// Median read bandwidth over `reps` passes of every pool thread streaming its own contiguous
// share of a `bytes` buffer (much larger than the caches; each thread first-touches its share),
// read as 4 interleaved streams per thread like a matvec reading 4 weight rows at a time.
double measure_read_bandwidth_gbs(ThreadPool& pool, size_t bytes = size_t{512} << 20, int reps = 5);

// The machine's single-precision GEMM peak for this pool: the register-blocked micro-kernel of
// a packed SGEMM (6 x 64 tile, 24 zmm accumulators on AVX-512; 6 x 32 on AVX2) run on every
// thread from L1-resident panels — the rate any blocked GEMM's inner loop can reach, i.e. the
// FMA peak in practice. Median of 5 runs of ~40 ms.
double measure_f32_gemm_peak_gflops(ThreadPool& pool);

// Lyra's own F32 matmul on an L2-friendly prefill shape (T = 96, K = 512, N = 256 per thread),
// best of several runs: what core::matmul reaches when memory is not the limit.
double measure_lyra_f32_gemm_gflops(ThreadPool& pool);

}  // namespace lyra::core
