// StepProfile: where a training step's wall time goes, phase by phase (`lyra train --profile`,
// bench_train --profile). It exists to find what keeps training from scaling with threads: each
// phase says whether its work is spread over the ThreadPool or runs on the calling thread, and
// the report adds up the latter as the serial fraction and the Amdahl bound it implies.
// Timers are free when no profile is attached (a null pointer check). Not thread-safe: only the
// thread that drives the step (the pool's caller) times phases.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace lyra::train {

enum class Phase : int {
    Data,           // the batch sampler copies the next windows
    ZeroGrad,       // gradients cleared before the micro-batches
    Embed,          // token (+ position) embedding lookup
    FwdMatmul,      // forward linears: weight transpose + gemm + bias (output head included)
    FwdAttention,   // RoPE + causal attention
    FwdPointwise,   // norms, residual adds, SwiGLU / GELU
    CrossEntropy,   // loss forward + its backward into the logits
    BwdMatmul,      // backward linears: dx, dW, db gemms and transposes
    BwdAttention,   // attention backward + inverse RoPE
    BwdPointwise,   // norm, SwiGLU / GELU backward
    BwdScratch,     // zeroing the activation-gradient buffers before they accumulate
    EmbedBackward,  // scattering dresid into the embedding rows
    ClipNorm,       // global gradient norm and clipping
    AdamW,          // the optimizer update
    Count
};

struct StepProfile {
    std::array<int64_t, static_cast<size_t>(Phase::Count)> ns{};      // wall time, summed over steps
    std::array<int64_t, static_cast<size_t>(Phase::Count)> cpu_ns{};  // CPU time of all threads
    int64_t step_ns = 0;      // wall time of whole steps (the phases plus what no phase covers)
    int64_t step_cpu_ns = 0;  // CPU time of whole steps
    int64_t steps = 0;

    void add(Phase p, int64_t wall_ns, int64_t cpu) {
        ns[static_cast<size_t>(p)] += wall_ns;
        cpu_ns[static_cast<size_t>(p)] += cpu;
    }
    // The table: per phase wall ms/step, CPU ms/step, share of the step's wall time, CPU over wall
    // (how many threads were busy: ~1 when the pool ran the phase alone, ~n while its workers ran
    // or spun; below 1 when other processes took the core) and where it runs. Then the serial
    // fraction s (phases on one thread plus the untimed rest, over the step) and, at 1 thread, the
    // Amdahl bound 1 / (s + (1 - s) / n) at 2-16 threads. At 1 thread s is also given from CPU
    // time, which a busy machine's preemptions do not inflate (wall time charges every slice
    // lost to another process to whichever phase was running). `threads`: the pool's size.
    std::string table(int threads) const;
};

// The phase's name and whether its work runs on the pool ("pool") or on one thread ("serial").
const char* phase_name(Phase p);
bool phase_on_pool(Phase p);

// CPU time of the whole process (every thread), in ns.
int64_t process_cpu_ns();

// Times one scope into `prof` (when non-null) under phase p.
class PhaseTimer {
public:
    PhaseTimer(StepProfile* prof, Phase p) : prof_(prof), phase_(p) {
        if (prof_ == nullptr) return;
        t0_ = std::chrono::steady_clock::now();
        cpu0_ = process_cpu_ns();
    }
    ~PhaseTimer() {
        if (prof_ == nullptr) return;
        const auto wall = std::chrono::steady_clock::now() - t0_;
        prof_->add(phase_, std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count(),
                   process_cpu_ns() - cpu0_);
    }
    PhaseTimer(const PhaseTimer&) = delete;
    PhaseTimer& operator=(const PhaseTimer&) = delete;

private:
    StepProfile* prof_;
    Phase phase_;
    std::chrono::steady_clock::time_point t0_{};
    int64_t cpu0_ = 0;
};

}  // namespace lyra::train
