// PromptCache (prompt_cache.h): a small LRU of prefilled prompts.
#include "generate/prompt_cache.h"

#include <algorithm>

namespace lyra::gen {

std::list<PromptCache::Entry>::iterator PromptCache::locate(std::span<const model::TokenId> prompt,
                                                            core::DType kv_type) {
    return std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
        return e.kv->kv_type() == kv_type && std::ranges::equal(e.prompt, prompt);
    });
}

const PromptCache::Entry* PromptCache::find(std::span<const model::TokenId> prompt, core::DType kv_type) {
    const auto it = locate(prompt, kv_type);
    if (it == entries_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it);
    return &entries_.front();
}

void PromptCache::insert(const model::Model& m, std::span<const model::TokenId> prompt, const model::Session& from,
                         std::span<const float> logits) {
    const auto n = static_cast<int64_t>(prompt.size());
    if (n == 0 || budget_ == 0 || locate(prompt, from.kv_type()) != entries_.end()) return;
    // What the entry will hold, known before anything is allocated: a whole layer stack of n
    // positions, both K and V, in the session's element type.
    const model::HParams& hp = m.hparams();
    const size_t elem = from.kv_type() == core::DType::F16 ? 2 : 4;
    const size_t bytes = 2 * static_cast<size_t>(hp.n_layer * n * hp.n_head_kv * hp.head_dim) * elem +
                         logits.size() * sizeof(float) + prompt.size() * sizeof(model::TokenId);
    if (bytes > budget_) return;
    Entry e;
    e.prompt.assign(prompt.begin(), prompt.end());
    e.kv = std::make_unique<model::Session>(m, n, from.kv_type());
    e.kv->copy_prefix(from, n);
    e.logits.assign(logits.begin(), logits.end());
    e.bytes = bytes;
    bytes_ += bytes;
    entries_.push_front(std::move(e));
    while (bytes_ > budget_) {
        bytes_ -= entries_.back().bytes;
        entries_.pop_back();
    }
}

}  // namespace lyra::gen
