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
        case Phase::Data:  // a memcpy of B·T tokens: microseconds
        case Phase::ZeroGrad:
        case Phase::Embed:
        case Phase::BwdScratch:
        case Phase::ClipNorm:
        case Phase::AdamW: return false;
        default: return true;
    }
}

std::string StepProfile::table(int threads) const {
    if (steps == 0) return "profile: no steps\n";
    const double per = 1e-6 / static_cast<double>(steps);  // ns total → ms per step
    const double step_ms = static_cast<double>(step_ns) * per;
    std::string out = fmt::format("profile: {} steps, {} threads, {:.2f} ms/step\n", steps, threads, step_ms);
    out += fmt::format("  {:<34} {:>10} {:>7} {:>8}  {}\n", "phase", "ms/step", "share", "cpu/wall", "runs on");
    double timed = 0.0, serial = 0.0;
    for (int i = 0; i < static_cast<int>(Phase::Count); ++i) {
        const auto p = static_cast<Phase>(i);
        const double ms = static_cast<double>(ns[static_cast<size_t>(i)]) * per;
        timed += ms;
        if (!phase_on_pool(p)) serial += ms;
        const double busy = ns[static_cast<size_t>(i)] > 0 ? static_cast<double>(cpu_ns[static_cast<size_t>(i)]) /
                                                                 static_cast<double>(ns[static_cast<size_t>(i)])
                                                           : 0.0;
        out += fmt::format("  {:<34} {:>10.3f} {:>6.1f}% {:>8.2f}  {}\n", phase_name(p), ms, 100.0 * ms / step_ms,
                           busy, phase_on_pool(p) ? "pool" : "one thread");
    }
    // Whatever no phase covers (parameter lookups, the loop itself) runs on the caller.
    const double rest = std::max(0.0, step_ms - timed);
    serial += rest;
    out += fmt::format("  {:<34} {:>10.3f} {:>6.1f}% {:>8}  {}\n", "untimed rest", rest, 100.0 * rest / step_ms,
                       "", "one thread");
    const double s = serial / step_ms;
    out += fmt::format("  serial fraction {:.1f}% at {} threads", 100.0 * s, threads);
    if (threads == 1) {
        // Amdahl: only the pool phases shrink with more threads.
        out += "; Amdahl bound";
        for (int n : {2, 4, 8, 16}) out += fmt::format(" {}t {:.2f}x", n, 1.0 / (s + (1.0 - s) / n));
    }
    out += "\n";
    return out;
}

}  // namespace lyra::train
