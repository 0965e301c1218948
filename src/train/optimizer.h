// Optimisation pieces of a training step: AdamW with decoupled weight decay (PyTorch's
// torch.optim.AdamW update, term for term), the warmup + cosine learning-rate schedule, and
// global-norm gradient clipping. Plain data + functions; the loops run on the pool they are given,
// over fixed chunks of the flat buffers, so the results (the gradient norm's partial sums
// included) are the same at any thread count. Never throws.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "train/train_model.h"

namespace lyra::train {

struct AdamWOptions {
    float beta1 = 0.9f;
    float beta2 = 0.95f;
    float eps = 1e-8f;
    float weight_decay = 0.1f;
    bool decay_all = false;  // false: decay only 2-D weights (no norms, biases or embeddings)
};

class AdamW {
public:
    // Moments for the parameters `params` describes (a model's, or a LoRA adapter's).
    AdamW(const std::vector<ParamInfo>& params, AdamWOptions opt);
    AdamW(const TrainModel& model, AdamWOptions opt) : AdamW(model.param_info(), opt) {}

    // One update of params with grads at learning rate lr; increments step().
    void update(core::ThreadPool& pool, std::span<float> params, std::span<const float> grads, float lr);

    int64_t step() const { return step_; }
    // The moments, for checkpoints (same layout as the model's params).
    std::vector<float>& m() { return m_; }
    std::vector<float>& v() { return v_; }
    void set_step(int64_t s) { step_ = s; }
    // Bytes of optimizer state (moments and the decay mask).
    size_t state_bytes() const {
        return (m_.capacity() + v_.capacity()) * sizeof(float) + decay_.capacity();
    }

private:
    AdamWOptions opt_;
    std::vector<float> m_, v_;
    std::vector<uint8_t> decay_;  // per element: 1 if weight decay applies
    int64_t step_ = 0;
};

struct LrSchedule {
    float lr = 1e-3f;       // peak learning rate
    float min_lr = 1e-4f;   // floor the cosine decays to
    int64_t warmup = 0;     // steps of linear warmup from lr/warmup to lr
    int64_t steps = 1;      // total steps; cosine runs from warmup to steps

    // Learning rate for step (0-based).
    float at(int64_t step) const;
};

// Scales grads so their global L2 norm is at most max_norm (PyTorch clip_grad_norm_:
// coefficient max_norm / (norm + 1e-6), capped at 1). max_norm ≤ 0 disables. Returns the norm
// before clipping. The squares are summed in double per fixed chunk, then over the chunks in order.
float clip_grad_norm(core::ThreadPool& pool, std::span<float> grads, float max_norm);

}  // namespace lyra::train
