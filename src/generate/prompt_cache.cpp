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

PromptCache::PrefixHit PromptCache::longest_prefix(const model::Model& m, std::span<const model::TokenId> prompt,
                                                   core::DType kv_type) {
    if (prompt.size() <= static_cast<size_t>(kMinShared)) return {};
    const auto n_prompt = static_cast<int64_t>(prompt.size());
    const std::span<const model::TokenId> head = prompt.first(prompt.size() - 1);
    auto best = entries_.end();
    int64_t best_n = kMinShared - 1;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->kv->kv_type() != kv_type) continue;
        const auto n = std::ranges::mismatch(it->prompt, head).in2 - head.begin();
        const bool exact = m.same_row_arithmetic(static_cast<int64_t>(it->prompt.size()), n_prompt) &&
                           m.same_row_arithmetic(n_prompt, n_prompt - n);
        if (n > best_n && exact) {
            best = it;
            best_n = n;
        }
    }
    if (best == entries_.end()) return {};
    entries_.splice(entries_.begin(), entries_, best);
    return {&entries_.front(), best_n};
}

size_t PromptCache::entry_bytes(const model::Model& m, size_t n, core::DType kv_type) {
    return model::Session::kv_bytes_for(m, static_cast<int64_t>(n), kv_type) +
           static_cast<size_t>(m.hparams().n_vocab) * sizeof(float) + n * sizeof(model::TokenId);
}

void PromptCache::insert(const model::Model& m, std::span<const model::TokenId> prompt, const model::Session& from,
                         std::span<const float> logits) {
    const auto n = static_cast<int64_t>(prompt.size());
    if (!would_keep(m, prompt.size(), from.kv_type()) || locate(prompt, from.kv_type()) != entries_.end()) return;
    Entry e;
    e.prompt.assign(prompt.begin(), prompt.end());
    e.kv = std::make_unique<model::Session>(m, n, from.kv_type());
    e.kv->copy_prefix(from, n);
    e.logits.assign(logits.begin(), logits.end());
    e.bytes = entry_bytes(m, prompt.size(), from.kv_type());
    bytes_ += e.bytes;
    entries_.push_front(std::move(e));
    while (bytes_ > budget_) {
        bytes_ -= entries_.back().bytes;
        entries_.pop_back();
    }
}

}  // namespace lyra::gen
