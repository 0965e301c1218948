// bench_train: training tokens/s of Lyra's trainer vs the same model in PyTorch at the same
// thread count, measured side by side in one run (issue 3). One step = forward + cross-entropy
// + backward + clip + AdamW. Shapes: GPT-2 small (768 dim, 12 layers, 12 heads, vocab 50257,
// B=4, T=64) and a 6-layer 384-dim gpt2 (6 heads, vocab 50257, B=4, T=256).
// Usage: bench_train [--threads N] [--steps S] [--python /usr/bin/python3] [--script PATH]
//                    [--profile 1]   (Lyra's per-phase step profile after each shape, train/profile.h)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "train/kernels.h"
#include "train/optimizer.h"
#include "train/profile.h"
#include "train/train_model.h"

namespace {

struct Shape {
    const char* name;
    int64_t V, C, L, H, B, T;
};

double lyra_tok_per_s(const Shape& s, int threads, int steps, bool profile) {
    using namespace lyra::train;
    TrainModel m({.arch = lyra::model::Arch::Gpt2, .n_vocab = s.V, .n_ctx = s.T, .n_embd = s.C,
                  .n_layer = s.L, .n_head = s.H, .n_head_kv = s.H, .n_ff = 4 * s.C,
                  .tied_output = true});
    m.init_random(0);
    AdamW opt(m, {});
    lyra::core::ThreadPool pool(threads);
    lyra::core::Rng rng(1);
    std::vector<int32_t> tok(static_cast<size_t>(s.B * s.T)), tgt(tok.size());
    for (size_t i = 0; i < tok.size(); ++i) {
        tok[i] = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(s.V));
        tgt[i] = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(s.V));
    }
    StepProfile prof;
    StepProfile* p = nullptr;  // attached after the warm-up step
    auto step = [&] {
        const auto t0 = std::chrono::steady_clock::now();
        const int64_t cpu0 = process_cpu_ns();
        m.set_profile(p);  // the model times forward and backward phases itself
        {
            PhaseTimer timer(p, Phase::ZeroGrad);
            m.zero_grad(pool);
        }
        m.forward(pool, tok.data(), tgt.data(), s.B, s.T);
        m.backward(pool);
        {
            PhaseTimer timer(p, Phase::ClipNorm);
            clip_grad_norm(pool, m.grads(), 1.0f);
        }
        {
            PhaseTimer timer(p, Phase::AdamW);
            opt.update(pool, m.params(), m.grads(), 1e-4f);
        }
        if (p != nullptr) {
            p->step_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
            p->step_cpu_ns += process_cpu_ns() - cpu0;
            ++p->steps;
        }
    };
    step();  // warm-up (allocations)
    if (profile) p = &prof;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) step();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (profile) std::printf("%s", prof.table(threads).c_str());
    return static_cast<double>(s.B * s.T * steps) / dt;
}

double torch_tok_per_s(const Shape& s, int threads, int steps, const std::string& python,
                       const std::string& script) {
    const std::string cmd = python + " " + script + " " + std::to_string(s.V) + " " +
                            std::to_string(s.C) + " " + std::to_string(s.L) + " " + std::to_string(s.H) +
                            " " + std::to_string(s.B) + " " + std::to_string(s.T) + " " +
                            std::to_string(threads) + " " + std::to_string(steps);
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return 0.0;
    char line[256];
    double v = 0.0;
    while (std::fgets(line, sizeof line, p) != nullptr)
        if (std::strncmp(line, "tok_per_s ", 10) == 0) v = std::atof(line + 10);
    pclose(p);
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2, steps = 3;
    bool profile = false;
    std::string python = "/usr/bin/python3";
    std::string script = (std::filesystem::path(LYRA_SOURCE_DIR) / "bench" / "torch_train.py").string();
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--threads") threads = std::atoi(argv[i + 1]);
        else if (a == "--steps") steps = std::atoi(argv[i + 1]);
        else if (a == "--python") python = argv[i + 1];
        else if (a == "--script") script = argv[i + 1];
        else if (a == "--profile") profile = std::atoi(argv[i + 1]) != 0;
    }
    const Shape shapes[] = {{"gpt2-small 768x12 B4 T64", 50257, 768, 12, 12, 4, 64},
                            {"gpt2 384x6 B4 T256", 50257, 384, 6, 6, 4, 256}};
    std::printf("training tokens/s, %d threads, %d steps, gemm %s\n", threads, steps,
                lyra::train::kern::gemm_isa());
    std::printf("%-28s %12s %12s %8s\n", "shape", "lyra", "pytorch", "ratio");
    for (const Shape& s : shapes) {
        const double ours = lyra_tok_per_s(s, threads, steps, profile);
        const double theirs = torch_tok_per_s(s, threads, steps, python, script);
        std::printf("%-28s %12.1f %12.1f %7.2fx\n", s.name, ours, theirs, theirs > 0 ? ours / theirs : 0.0);
        std::fflush(stdout);
    }
    return 0;
}
