// The shelf of kept sessions (see session_shelf.h).
#include "generate/session_shelf.h"

#include <algorithm>
#include <optional>

namespace lyra::gen {

model::Session SessionShelf::take(const model::Model& m, int64_t n_ctx, core::DType kv_type, bool* reused) {
    *reused = false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto best = kept_.end();
        for (auto it = kept_.begin(); it != kept_.end(); ++it) {
            if (it->kv_type() != kv_type || it->n_ctx() < n_ctx) continue;
            if (best == kept_.end() || it->n_ctx() < best->n_ctx()) best = it;
        }
        if (best != kept_.end()) {
            model::Session s = std::move(*best);
            kept_.erase(best);
            s.clear();
            *reused = true;
            return s;
        }
    }
    return model::Session(m, n_ctx, kv_type);  // outside the lock: allocating is the slow part
}

void SessionShelf::put(model::Session&& s) {
    std::optional<model::Session> dropped;  // freed after the lock is released
    std::lock_guard<std::mutex> lock(mu_);
    if (max_kept_ == 0) {
        dropped.emplace(std::move(s));
        return;
    }
    if (kept_.size() >= max_kept_) {
        const auto smallest = std::min_element(kept_.begin(), kept_.end(), [](const auto& a, const auto& b) {
            return a.n_ctx() < b.n_ctx();
        });
        if (smallest->n_ctx() >= s.n_ctx()) {
            dropped.emplace(std::move(s));
            return;
        }
        dropped.emplace(std::move(*smallest));
        kept_.erase(smallest);
    }
    kept_.push_back(std::move(s));
}

void SessionShelf::clear() {
    std::vector<model::Session> gone;
    std::lock_guard<std::mutex> lock(mu_);
    gone.swap(kept_);
}

size_t SessionShelf::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_.size();
}

}  // namespace lyra::gen
