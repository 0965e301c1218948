// Session: one sequence's KV cache and the scratch buffers forward() reuses.
#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/error.h"
#include "model/model.h"

namespace lyra::model {

Session::Session(const Model& model, int64_t n_ctx) {
    const HParams& hp = model.hparams();
    if (n_ctx < 0) throw_error(ErrorKind::InvalidArgument, "session: context {} is negative; expected >= 0", n_ctx);
    n_ctx_ = n_ctx == 0 ? hp.n_ctx : n_ctx;
    if (has_learned_positions(hp.arch) && n_ctx_ > hp.n_ctx)
        throw_error(ErrorKind::InvalidArgument,
                    "session: context {} is longer than {}'s learned positions; expected <= {}",
                    n_ctx_, arch_name(hp.arch), hp.n_ctx);
    // t5's relative position buckets are tabled for the positions below t5.context_length.
    if (hp.arch == Arch::T5 && n_ctx_ > hp.n_ctx)
        throw_error(ErrorKind::InvalidArgument,
                    "session: context {} is longer than t5's context length; expected <= {}",
                    n_ctx_, hp.n_ctx);
    kv_dim_ = hp.n_head_kv * hp.head_dim;
    n_layer_ = hp.n_layer;
    const auto n = static_cast<size_t>(hp.n_layer * n_ctx_ * kv_dim_);
    k_.assign(n, 0.0f);
    v_.assign(n, 0.0f);
}

void Session::set_source_len(int64_t n) {
    LYRA_CHECK(n >= 0, "session: source length {} is negative", n);
    n_source_ = n;
    const auto size = static_cast<size_t>(n_layer_ * n * kv_dim_);
    cross_k_.resize(size);
    cross_v_.resize(size);
}

void Session::truncate(int64_t n) {
    LYRA_CHECK(n >= 0 && n <= n_past_, "session: truncate to {} outside 0..{}", n, n_past_);
    n_past_ = n;  // rows at n and later are simply overwritten by the next forward()
}

void Session::keep_last(int64_t n) {
    LYRA_CHECK(n >= 0 && n <= n_past_, "session: keep_last {} outside 0..{}", n, n_past_);
    const int64_t layers = static_cast<int64_t>(k_.size()) / std::max<int64_t>(1, n_ctx_ * kv_dim_);
    const auto bytes = static_cast<size_t>(n * kv_dim_) * sizeof(float);
    for (int64_t l = 0; l < layers; ++l) {
        std::memmove(k_cache(l), k_cache(l) + (n_past_ - n) * kv_dim_, bytes);
        std::memmove(v_cache(l), v_cache(l) + (n_past_ - n) * kv_dim_, bytes);
    }
    if (static_cast<int64_t>(history_.size()) >= n_past_)
        history_.erase(history_.begin(), history_.begin() + (n_past_ - n));
    n_past_ = n;
}

}  // namespace lyra::model
