// PromptCache: the KV rows and first-token logits of recently prefilled prompts, for the
// batching scheduler (scheduler.h). A request whose prompt (every token, and the KV type) was
// prefilled before copies those rows and logits instead of running its prefill again: the same
// bytes its own prefill would write (a prompt's rows do not depend on what else shares their
// forward), so its output is exactly the output it gets without the cache. A prompt that only
// begins like a kept one (the same system prompt or few-shot examples, another question) copies
// the shared rows and runs the rest. Repeated prompts are
// common in serving: a client's n candidates and retries, a studio remix (same settings, new
// seed), the same few-shot or system prompt from many clients. On a 2-core machine a batched
// step is compute-bound, and an 8-token prompt's prefill costs as much as a whole decode step of
// 8 sequences, which the batch waits for.
//
// Least recently used entries go first once the bytes kept (KV rows plus logits) pass the
// budget; a prompt bigger than the whole budget is not kept. Not thread-safe: the scheduler's
// own thread is its only user.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include "core/dtype.h"
#include "model/model.h"

namespace lyra::gen {

class PromptCache {
public:
    struct Entry {
        std::vector<model::TokenId> prompt;
        std::unique_ptr<model::Session> kv;  // the prompt's positions, n_ctx = prompt length
        std::vector<float> logits;           // after the prompt's last token
        size_t bytes = 0;
    };

    explicit PromptCache(size_t budget_bytes) : budget_(budget_bytes) {}

    // The entry for exactly this prompt under this KV type (now the most recently used), or
    // nullptr. The pointer stays valid until the next insert().
    const Entry* find(std::span<const model::TokenId> prompt, core::DType kv_type);
    // The entry that shares the longest beginning with `prompt` under this KV type (now the most
    // recently used), and how many positions of it to copy: the shared length, but at most
    // prompt.size() - 1, since an entry has logits only after its own last token, so the last
    // token of a prompt that is not exactly an entry's is always run. Only entries whose rows
    // continue into this prompt bit for bit under m's arithmetic count (Model::
    // same_row_arithmetic of the entry's and the prompt's lengths, and of the prompt's and the
    // rest's). {nullptr, 0} when none shares kMinShared tokens: a BOS and a word in common is
    // chance, not a shared system prompt, and not worth reporting as cached.
    static constexpr int64_t kMinShared = 4;
    struct PrefixHit {
        const Entry* entry = nullptr;
        int64_t n = 0;
    };
    PrefixHit longest_prefix(const model::Model& m, std::span<const model::TokenId> prompt, core::DType kv_type);
    // Keeps the first prompt.size() positions of `from` and the logits after them (unless the
    // prompt is already kept or alone exceeds the budget), then drops least recently used
    // entries until the rest fit.
    void insert(const model::Model& m, std::span<const model::TokenId> prompt, const model::Session& from,
                std::span<const float> logits);

    // The bytes an entry for n prompt tokens of m under kv_type takes (KV rows of every layer,
    // the logits, the tokens): insert() keeps it only when this is within the budget.
    static size_t entry_bytes(const model::Model& m, size_t n, core::DType kv_type);
    bool would_keep(const model::Model& m, size_t n, core::DType kv_type) const {
        return n > 0 && entry_bytes(m, n, kv_type) <= budget_;
    }

    size_t budget() const { return budget_; }
    size_t bytes() const { return bytes_; }
    size_t entries() const { return entries_.size(); }

private:
    std::list<Entry>::iterator locate(std::span<const model::TokenId> prompt, core::DType kv_type);

    size_t budget_;
    size_t bytes_ = 0;
    std::list<Entry> entries_;  // most recently used first
};

}  // namespace lyra::gen
