// AdamW, the learning-rate schedule and gradient clipping (see optimizer.h).
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lyra::train {

AdamW::AdamW(const std::vector<ParamInfo>& params, AdamWOptions opt) : opt_(opt) {
    const size_t n = params.empty() ? 0 : params.back().offset + params.back().numel;
    m_.assign(n, 0.0f);
    v_.assign(n, 0.0f);
    decay_.assign(n, 0);
    for (const auto& p : params) {
        const bool decay = opt.decay_all || p.is_matrix;
        std::fill(decay_.begin() + static_cast<ptrdiff_t>(p.offset),
                  decay_.begin() + static_cast<ptrdiff_t>(p.offset + p.numel), decay ? 1 : 0);
    }
}

void AdamW::update(std::span<float> params, std::span<const float> grads, float lr) {
    ++step_;
    const float b1 = opt_.beta1, b2 = opt_.beta2;
    const float bc1 = 1.0f - std::pow(b1, static_cast<float>(step_));
    const float bc2_sqrt = std::sqrt(1.0f - std::pow(b2, static_cast<float>(step_)));
    const float step_size = lr / bc1;
    const float keep = 1.0f - lr * opt_.weight_decay;
    const size_t n = params.size();
    for (size_t i = 0; i < n; ++i) {
        // Same order of operations as torch.optim.AdamW (decoupled decay first).
        if (decay_[i] != 0) params[i] *= keep;
        const float g = grads[i];
        m_[i] = m_[i] * b1 + g * (1.0f - b1);
        v_[i] = v_[i] * b2 + g * g * (1.0f - b2);
        const float denom = std::sqrt(v_[i]) / bc2_sqrt + opt_.eps;
        params[i] -= step_size * m_[i] / denom;
    }
}

float LrSchedule::at(int64_t step) const {
    if (warmup > 0 && step < warmup)
        return lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
    if (steps <= warmup) return lr;
    const double progress = std::min(1.0, static_cast<double>(step - warmup) /
                                              static_cast<double>(std::max<int64_t>(1, steps - warmup)));
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    return min_lr + static_cast<float>(cosine) * (lr - min_lr);
}

float clip_grad_norm(std::span<float> grads, float max_norm) {
    double ss = 0.0;
    for (float g : grads) ss += static_cast<double>(g) * static_cast<double>(g);
    const auto norm = static_cast<float>(std::sqrt(ss));
    if (max_norm > 0.0f) {
        const float coef = max_norm / (norm + 1e-6f);
        if (coef < 1.0f)
            for (float& g : grads) g *= coef;
    }
    return norm;
}

}  // namespace lyra::train
