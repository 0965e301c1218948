// The monotonic clock as plain integers, for timing work (stall detection, per-stage timings,
// benchmarks). steady_clock never jumps with the wall clock, so differences are always durations.
#pragma once

#include <chrono>
#include <cstdint>

namespace lyra::core {

inline int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

inline int64_t steady_us() { return steady_ns() / 1000; }

}  // namespace lyra::core
