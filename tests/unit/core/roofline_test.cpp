// Roofline probes return usable numbers (they are timing-based, so only their sanity is checked:
// finite and positive; the benchmarks print the values).
#include <gtest/gtest.h>

#include <cmath>

#include "core/roofline.h"
#include "core/thread_pool.h"

namespace lyra::core {
namespace {

TEST(Roofline, ReadBandwidthIsFiniteAndPositive) {
    ThreadPool pool(2);
    const double gbs = measure_read_bandwidth_gbs(pool, size_t{8} << 20, 1);
    EXPECT_TRUE(std::isfinite(gbs));
    EXPECT_GT(gbs, 0.0);
}

TEST(Roofline, GemmPeakIsFiniteAndPositive) {
    ThreadPool pool(1);
    const double gf = measure_f32_gemm_peak_gflops(pool);
    EXPECT_TRUE(std::isfinite(gf));
    EXPECT_GT(gf, 0.0);
}

}  // namespace
}  // namespace lyra::core
