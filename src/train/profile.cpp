// The step profile's table (see profile.h).
#include "train/profile.h"

#include <fmt/format.h>

#include <time.h>

#include <algorithm>

namespace lyra::train {

int64_t process_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

const char* phase_name(Phase p) {
    switch (p) {
        case Phase::Data: return "data (batch sampler)";
        case Phase::ZeroGrad: return "zero gradients";
        case Phase::Embed: return "embedding forward";
        case Phase::FwdMatmul: return "forward matmuls";
        case Phase::FwdAttention: return "forward attention + rope";
        case Phase::FwdPointwise: return "forward norms, adds, swiglu/gelu";
        case Phase::CrossEntropy: return "cross-entropy (fwd + bwd)";
        case Phase::BwdMatmul: return "backward matmuls";
        case Phase::BwdAttention: return "backward attention + rope";
        case Phase::BwdPointwise: return "backward norms, swiglu/gelu";
        case Phase::BwdScratch: return "backward buffer zeroing";
        case Phase::EmbedBackward: return "embedding backward";
        case Phase::ClipNorm: return "gradient norm + clip";
        case Phase::AdamW: return "AdamW update";
        case Phase::Count: break;
    }
    return "?";
}

bool phase_on_pool(Phase p) {
    switch (p) {
        case Phase::Data: return false;  // a copy of B·T token ids: microseconds
        default: return true;
    }
}

std::string StepProfile::table(int threads) const {
    if (steps == 0) return "profile: no steps\n";
    const double per = 1e-6 / static_cast<double>(steps);  // ns total → ms per step
    const double step_ms = static_cast<double>(step_ns) * per;
    const double step_cpu_ms = static_cast<double>(step_cpu_ns) * per;
    std::string out = fmt::format("profile: {} steps, {} threads, {:.2f} ms/step ({:.2f} ms CPU)\n", steps,
                                  threads, step_ms, step_cpu_ms);
    out += fmt::format("  {:<34} {:>10} {:>10} {:>7} {:>8}  {}\n", "phase", "ms/step", "cpu ms", "share",
                       "cpu/wall", "runs on");
    double timed = 0.0, timed_cpu = 0.0, serial = 0.0, serial_cpu = 0.0;
    for (int i = 0; i < static_cast<int>(Phase::Count); ++i) {
        const auto p = static_cast<Phase>(i);
        const double ms = static_cast<double>(ns[static_cast<size_t>(i)]) * per;
        const double cpu = static_cast<double>(cpu_ns[static_cast<size_t>(i)]) * per;
        timed += ms;
        timed_cpu += cpu;
        if (!phase_on_pool(p)) {
            serial += ms;
            serial_cpu += cpu;
        }
        out += fmt::format("  {:<34} {:>10.3f} {:>10.3f} {:>6.1f}% {:>8.2f}  {}\n", phase_name(p), ms, cpu,
                           100.0 * ms / step_ms, ms > 0.0 ? cpu / ms : 0.0, phase_on_pool(p) ? "pool" : "one thread");
    }
    // Whatever no phase covers (parameter lookups, the loop itself) runs on the caller.
    const double rest = std::max(0.0, step_ms - timed), rest_cpu = std::max(0.0, step_cpu_ms - timed_cpu);
    serial += rest;
    serial_cpu += rest_cpu;
    out += fmt::format("  {:<34} {:>10.3f} {:>10.3f} {:>6.1f}% {:>8}  {}\n", "untimed rest", rest, rest_cpu,
                       100.0 * rest / step_ms, "", "one thread");
    const double s = serial / step_ms;
    out += fmt::format("  serial fraction {:.2f}% of wall time at {} threads", 100.0 * s, threads);
    if (threads == 1 && step_cpu_ms > 0.0) {
        // Amdahl: only the pool phases shrink with more threads.
        const double s_cpu = serial_cpu / step_cpu_ms;
        out += fmt::format(", {:.2f}% of CPU time; Amdahl bound", 100.0 * s_cpu);
        for (int n : {2, 4, 8, 16}) out += fmt::format(" {}t {:.2f}x", n, 1.0 / (s_cpu + (1.0 - s_cpu) / n));
    }
    out += "\n";
    return out;
}

}  // namespace lyra::train
