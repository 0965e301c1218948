// AdamW, the learning-rate schedule and gradient clipping (see optimizer.h).
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lyra::train {

namespace {
// Elements per work item of the optimizer's loops (128 KiB of each array). A constant, never
// derived from the thread count: the gradient norm sums each chunk and then the chunks in order,
// so the same chunks at every pool size give the same norm and hence the same weights.
constexpr size_t kChunk = size_t{1} << 15;

size_t n_chunks(size_t n) { return (n + kChunk - 1) / kChunk; }

// fn(chunk, begin, end) for each chunk of [0, n), spread over the pool (inline for one chunk).
template <typename Fn>
void for_chunks(core::ThreadPool& pool, size_t n, const Fn& fn) {
    const auto body = [&](int64_t c0, int64_t c1) {
        for (auto c = static_cast<size_t>(c0); c < static_cast<size_t>(c1); ++c)
            fn(c, c * kChunk, std::min(n, (c + 1) * kChunk));
    };
    const auto chunks = static_cast<int64_t>(n_chunks(n));
    if (pool.size() == 1 || chunks <= 1) body(0, chunks);
    else pool.parallel_for(chunks, body);
}
}  // namespace

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

void AdamW::update(core::ThreadPool& pool, std::span<float> params, std::span<const float> grads, float lr) {
    ++step_;
    const float b1 = opt_.beta1, b2 = opt_.beta2;
    const float bc1 = 1.0f - std::pow(b1, static_cast<float>(step_));
    const float bc2_sqrt = std::sqrt(1.0f - std::pow(b2, static_cast<float>(step_)));
    const float step_size = lr / bc1;
    const float keep = 1.0f - lr * opt_.weight_decay;
    // Element by element, so any split gives the same weights.
    for_chunks(pool, params.size(), [&](size_t, size_t i0, size_t i1) {
        for (size_t i = i0; i < i1; ++i) {
            // Same order of operations as torch.optim.AdamW (decoupled decay first).
            if (decay_[i] != 0) params[i] *= keep;
            const float g = grads[i];
            m_[i] = m_[i] * b1 + g * (1.0f - b1);
            v_[i] = v_[i] * b2 + g * g * (1.0f - b2);
            const float denom = std::sqrt(v_[i]) / bc2_sqrt + opt_.eps;
            params[i] -= step_size * m_[i] / denom;
        }
    });
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

float clip_grad_norm(core::ThreadPool& pool, std::span<float> grads, float max_norm) {
    // One partial sum per chunk (a few KB even for GPT-2's 124 M gradients), added in order.
    std::vector<double> partial(n_chunks(grads.size()), 0.0);
    for_chunks(pool, grads.size(), [&](size_t c, size_t i0, size_t i1) {
        double ss = 0.0;
        for (size_t i = i0; i < i1; ++i) ss += static_cast<double>(grads[i]) * static_cast<double>(grads[i]);
        partial[c] = ss;
    });
    double ss = 0.0;
    for (double p : partial) ss += p;
    const auto norm = static_cast<float>(std::sqrt(ss));
    if (max_norm > 0.0f) {
        const float coef = max_norm / (norm + 1e-6f);
        if (coef < 1.0f) {
            for_chunks(pool, grads.size(), [&](size_t, size_t i0, size_t i1) {
                for (size_t i = i0; i < i1; ++i) grads[i] *= coef;
            });
        }
    }
    return norm;
}

}  // namespace lyra::train
