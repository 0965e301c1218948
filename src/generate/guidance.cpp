// Classifier-free guidance (guidance.h): the logits combiner and the lockstep second session.
#include "generate/guidance.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "core/error.h"
#include "core/ops.h"
#include "generate/context_slide.h"

namespace lyra::gen {

namespace {

// log(sum(exp(x - max))) + max: log_softmax(x)[i] = x[i] - lse. SIMD over the whole row
// (core::log_sum_exp), once per row and step.
double row_lse(std::span<const float> x) {
    float max = 0.0f;
    return core::log_sum_exp(x.data(), static_cast<int64_t>(x.size()), &max);
}

}  // namespace

void combine_guidance(std::span<const float> cond, std::span<const float> uncond, float scale,
                      std::vector<float>& out) {
    LYRA_CHECK(cond.size() == uncond.size(), "guidance: rows of {} and {} logits", cond.size(),
               uncond.size());
    out.resize(cond.size());
    const double lse_c = row_lse(cond);
    const double lse_u = row_lse(uncond);
    const double g = scale;
    for (size_t i = 0; i < cond.size(); ++i) {
        const double lc = static_cast<double>(cond[i]) - lse_c;
        const double lu = static_cast<double>(uncond[i]) - lse_u;
        if (!std::isfinite(lc)) {
            out[i] = -std::numeric_limits<float>::infinity();
        } else if (!std::isfinite(lu)) {
            out[i] = static_cast<float>(lc);
        } else {
            out[i] = static_cast<float>(lc + g * (lc - lu));
        }
    }
}

void check_guidance_scale(float scale) {
    if (!std::isfinite(scale) || scale < 0.0f) {
        throw_error(ErrorKind::InvalidArgument,
                    "guidance: out of range; expected a finite number >= 0 (0 = off), got {}",
                    scale);
    }
}

Guidance::Guidance(const model::Model& model, core::ThreadPool& pool)
    : model_(model), pool_(pool) {}

void Guidance::prefill(std::span<const TokenId> prompt, int max_tokens, core::DType kv_type) {
    prompt_.assign(prompt.begin(), prompt.end());
    max_tokens_ = max_tokens;
    kv_type_ = kv_type;
    const int64_t want = static_cast<int64_t>(prompt_.size()) + max_tokens;
    session_.reset();
    session_.emplace(model_, std::min(model_.hparams().n_ctx, want), kv_type);
    cached_ = model_.prefill(*session_, prompt_, pool_, prompt_logits_);
    slid_ = false;
}

void Guidance::begin_candidate() {
    LYRA_CHECK(session_.has_value(), "guidance: begin_candidate before prefill");
    if (slid_) prefill(std::vector<TokenId>(prompt_), max_tokens_, kv_type_);
    session_->truncate(static_cast<int64_t>(cached_.size()));
    logits_ = prompt_logits_;
    active_ = true;
}

void Guidance::decode(model::Session& cond, TokenId token, std::vector<float>& cond_logits) {
    if (active_ && session_->n_free() == 0) {
        if (slide_full_session(model_, *session_)) slid_ = true;
        else active_ = false;  // nothing more to compare against: the rest decodes unguided
    }
    if (!active_) {
        model_.forward(cond, std::span(&token, 1), pool_, cond_logits);
        return;
    }
    // Both rows in one batched forward: each weight is read once for the two (a model that
    // does not batch runs forward() per session inside decode_batch). Row i equals a single
    // forward of session i bit for bit, so guidance adds no numeric drift to the cond row.
    model::Session* sessions[2] = {&cond, &*session_};
    const TokenId tokens[2] = {token, token};
    model_.decode_batch(sessions, tokens, pool_, batch_);
    const auto V = static_cast<size_t>(model_.hparams().n_vocab);
    cond_logits.assign(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(V));
    logits_.assign(batch_.begin() + static_cast<std::ptrdiff_t>(V),
                   batch_.begin() + static_cast<std::ptrdiff_t>(2 * V));
}

std::span<const float> Guidance::guide(std::span<const float> cond_logits, float scale) {
    if (!active_) return cond_logits;
    combine_guidance(cond_logits, logits_, scale, combined_);
    return combined_;
}

}  // namespace lyra::gen
