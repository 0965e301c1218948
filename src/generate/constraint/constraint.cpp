// GrammarConstraint (constraint.h): masks from trie walks, cached per matcher state.
#include "generate/constraint/constraint.h"

#include <algorithm>
#include <climits>
#include <limits>

#include "core/clock.h"
#include "core/check.h"
#include "generate/constraint/token_mask.h"

namespace lyra::gen::constraint {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr size_t kMaxMatcherStates = size_t{1} << 15;   // ~32 MiB of transition tables
constexpr size_t kMaskCacheBytes = size_t{64} << 20;    // masks kept per grammar state

// Rules out everything except end-of-generation tokens (which get logit 0 if they were ruled
// out, so the run can stop).
void allow_only_eog(CandidateSet& c, const TokenTrie& trie) {
    for (auto& cand : c.items) {
        if (trie.is_eog(cand.id)) {
            if (cand.logit == kNegInf) cand.logit = 0.0f;
        } else {
            cand.logit = kNegInf;
        }
    }
}

}  // namespace

const char* constraint_status_name(ConstraintStatus s) {
    switch (s) {
        case ConstraintStatus::Waiting: return "waiting";
        case ConstraintStatus::Active: return "active";
        case ConstraintStatus::Complete: return "complete";
        case ConstraintStatus::DeadEnd: return "dead end";
    }
    return "?";
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<const Grammar> grammar,
                                     std::shared_ptr<const TokenTrie> trie, GrammarOptions opt)
    : grammar_(std::move(grammar)), trie_(std::move(trie)), opt_(std::move(opt)), matcher_(grammar_) {
    LYRA_CHECK(trie_ != nullptr, "GrammarConstraint needs a token trie");
    empty_mask_.bits.assign((static_cast<size_t>(trie_->n_vocab()) + 63) / 64, 0);
    for (TokenId id = 0; id < trie_->n_vocab(); ++id)
        if (trie_->is_eog(id)) eog_ids_.push_back(id);
    if (!opt_.trigger.empty()) {
        const char last = opt_.trigger.back();
        for (TokenId id = 0; id < trie_->n_vocab(); ++id) {
            if (trie_->token_bytes(id).find(last) != std::string::npos) trigger_tokens_.push_back(id);
        }
    }
    reset();
}

void GrammarConstraint::reset() {
    state_ = matcher_.start();
    status_ = opt_.trigger.empty() ? ConstraintStatus::Active : ConstraintStatus::Waiting;
    n_accepted_ = 0;
    matched_.clear();
    tail_.clear();
}

bool GrammarConstraint::is_accepting() const {
    return status_ == ConstraintStatus::Complete ||
           (status_ == ConstraintStatus::Active && matcher_.is_accepting(state_));
}

int GrammarConstraint::budget_left() const {
    return opt_.max_tokens > 0 ? opt_.max_tokens - n_accepted_ : INT_MAX;
}

void GrammarConstraint::build_mask(StateId s, uint32_t byte_limit, Mask& out) {
    ++stats_.n_walks;
    out.bits.assign((static_cast<size_t>(trie_->n_vocab()) + 63) / 64, 0);
    out.max_min_bytes = 0;
    out.best_min_bytes = UINT32_MAX;
    out.any = false;
    out.levels.clear();
    uint32_t last = UINT32_MAX;  // most tokens repeat the value before them
    trie_->walk(matcher_, s, walk_stack_, [&](TokenId id, StateId after) {
        const uint32_t mb = matcher_.min_bytes_to_end(after);
        out.best_min_bytes = std::min(out.best_min_bytes, mb);
        if (mb > byte_limit) return;
        out.bits[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
        out.max_min_bytes = std::max(out.max_min_bytes, mb);
        out.any = true;
        if (mb != last && std::find(out.levels.begin(), out.levels.end(), mb) == out.levels.end())
            out.levels.push_back(mb);
        last = mb;
    });
    std::sort(out.levels.begin(), out.levels.end());
}

const GrammarConstraint::Mask& GrammarConstraint::kept_mask(StateId s, uint32_t byte_limit) {
    const uint64_t key = static_cast<uint64_t>(static_cast<uint32_t>(s)) << 32 | byte_limit;
    if (auto it = cache_.find(key); it != cache_.end()) {
        ++stats_.n_cache_hits;
        return it->second;
    }
    const size_t mask_bytes = (static_cast<size_t>(trie_->n_vocab()) + 63) / 64 * 8;
    if ((cache_.size() + 1) * mask_bytes > kMaskCacheBytes) cache_.clear();
    Mask& m = cache_[key];
    build_mask(s, byte_limit, m);
    return m;
}

const GrammarConstraint::Mask& GrammarConstraint::limited_mask_for(StateId s, const Mask& full, uint32_t byte_limit) {
    // The largest level within the limit; with none, the lowest (the tokens that bring the end
    // closest), unless the grammar may end here, when no token is allowed (only the end).
    // (A grammar that cannot end after any token has the level UINT32_MAX: nothing is allowed.)
    auto above = std::upper_bound(full.levels.begin(), full.levels.end(), byte_limit);
    const uint32_t level = above == full.levels.begin() ? full.levels.front() : *(above - 1);
    if (above == full.levels.begin() && (matcher_.is_accepting(s) || level == UINT32_MAX)) return empty_mask_;
    // (Looking it up may clear the cache and drop `full`, which is not read after this.)
    return kept_mask(s, level);
}

void GrammarConstraint::apply(CandidateSet& c) {
    const int64_t t0 = core::steady_us();
    switch (status_) {
        case ConstraintStatus::Waiting:
            apply_waiting(c);
            break;
        case ConstraintStatus::Complete:
            if (!opt_.release_at_end) allow_only_eog(c, *trie_);
            break;
        case ConstraintStatus::DeadEnd:
            allow_only_eog(c, *trie_);
            break;
        case ConstraintStatus::Active: {
            const bool any = apply_token_mask(c, active_mask(), nullptr, static_cast<uint32_t>(trie_->n_vocab()),
                                              [](TokenId) { return false; });
            if (!any) {
                status_ = ConstraintStatus::DeadEnd;
                allow_only_eog(c, *trie_);
            }
            break;
        }
    }
    stats_.t_mask_us += core::steady_us() - t0;
}

const uint64_t* GrammarConstraint::active_mask() {
    ++stats_.n_masks;
    const Mask* m = &kept_mask(state_, UINT32_MAX);
    const int left = budget_left();
    // Tokens left after this one, in bytes (one byte per token at worst).
    const auto limit = static_cast<uint32_t>(std::max(left - 1, 0));
    if (left != INT_MAX && m->max_min_bytes > limit) {
        // Only the tokens after which the grammar can end in `limit` bytes; when none
        // can (and ending here is not possible), head for the end as fast as the
        // vocabulary's tokens allow.
        m = &limited_mask_for(state_, *m, limit);
    }
    // End-of-generation tokens are allowed too where the grammar may end: the mask's
    // row with their bits set, in a scratch row (a copy is a few µs next to the scan).
    if (matcher_.is_accepting(state_) && !eog_ids_.empty()) {
        allow_.assign(m->bits.begin(), m->bits.end());
        for (const TokenId id : eog_ids_) allow_[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
        return allow_.data();
    }
    return m->bits.data();
}

bool GrammarConstraint::row_mask(RowMask& out) {
    if (status_ != ConstraintStatus::Active) return false;
    const int64_t t0 = core::steady_us();
    out = {.allow = active_mask(), .ask = nullptr, .n_tokens = static_cast<uint32_t>(trie_->n_vocab())};
    stats_.t_mask_us += core::steady_us() - t0;
    return true;
}

void GrammarConstraint::row_masked(CandidateSet& c, bool any) {
    if (any) return;
    const int64_t t0 = core::steady_us();
    status_ = ConstraintStatus::DeadEnd;
    allow_only_eog(c, *trie_);
    stats_.t_mask_us += core::steady_us() - t0;
}

void GrammarConstraint::apply_waiting(CandidateSet& c) {
    // Free text, except that a token which completes the trigger must continue it with text
    // the grammar accepts.
    const std::string& trig = opt_.trigger;
    for (TokenId id : trigger_tokens_) {
        const std::string joined = tail_ + trie_->token_bytes(id);
        const size_t at = joined.find(trig);
        if (at == std::string::npos) continue;
        const std::string_view rest = std::string_view(joined).substr(at + trig.size());
        if (matcher_.next(matcher_.start(), rest) != kDead) continue;
        auto idx = static_cast<size_t>(id);
        if (idx < c.items.size() && c.items[idx].id == id) {
            c.items[idx].logit = kNegInf;
        } else {
            for (auto& cand : c.items)
                if (cand.id == id) cand.logit = kNegInf;
        }
    }
}

void GrammarConstraint::feed(std::string_view bytes) {
    const StateId s = matcher_.next(state_, bytes);
    if (s == kDead) {  // only if the caller ignored the mask
        status_ = ConstraintStatus::DeadEnd;
        return;
    }
    state_ = s;
    matched_.append(bytes);
    if (opt_.release_at_end && matcher_.is_accepting(s) && !matcher_.can_continue(s)) {
        status_ = ConstraintStatus::Complete;
    }
    if (matcher_.n_states() > kMaxMatcherStates) {
        state_ = matcher_.compact(state_);
        cache_.clear();
    }
}

void GrammarConstraint::accept(TokenId id) {
    ++n_accepted_;
    if (id < 0 || id >= trie_->n_vocab()) return;
    switch (status_) {
        case ConstraintStatus::Waiting: {
            tail_ += trie_->token_bytes(id);
            const size_t at = tail_.find(opt_.trigger);
            if (at != std::string::npos) {
                status_ = ConstraintStatus::Active;
                const std::string rest = tail_.substr(at + opt_.trigger.size());
                tail_.clear();
                feed(rest);
            } else if (tail_.size() >= opt_.trigger.size()) {
                tail_.erase(0, tail_.size() - (opt_.trigger.size() - 1));
            }
            break;
        }
        case ConstraintStatus::Active:
            if (trie_->is_eog(id)) {
                status_ = matcher_.is_accepting(state_) ? ConstraintStatus::Complete
                                                        : ConstraintStatus::DeadEnd;
            } else {
                feed(trie_->token_bytes(id));
            }
            break;
        case ConstraintStatus::Complete:
        case ConstraintStatus::DeadEnd:
            break;
    }
}

std::vector<TokenId> GrammarConstraint::allowed_tokens() {
    std::vector<TokenId> out;
    if (status_ != ConstraintStatus::Active) return out;
    // Worked out afresh, without the kept masks (tests compare apply() against this): the
    // tokens within the budget, or if none (and the grammar cannot end here) the tokens that
    // bring the end closest.
    Mask m;
    const int left = budget_left();
    build_mask(state_, left == INT_MAX ? UINT32_MAX : static_cast<uint32_t>(std::max(left - 1, 0)), m);
    if (!m.any && !matcher_.is_accepting(state_) && m.best_min_bytes != UINT32_MAX) build_mask(state_, m.best_min_bytes, m);
    for (TokenId id = 0; id < trie_->n_vocab(); ++id) {
        const auto u = static_cast<uint32_t>(id);
        if ((m.bits[u >> 6] >> (u & 63)) & 1) out.push_back(id);
        else if (trie_->is_eog(id) && matcher_.is_accepting(state_)) out.push_back(id);
    }
    return out;
}

std::unique_ptr<GrammarConstraint> make_grammar_constraint(std::string_view gbnf,
                                                           std::shared_ptr<const TokenTrie> trie,
                                                           GrammarOptions opt,
                                                           std::string_view source_name) {
    auto g = std::make_shared<const Grammar>(compile_gbnf(gbnf, source_name));
    return std::make_unique<GrammarConstraint>(std::move(g), std::move(trie), std::move(opt));
}

}  // namespace lyra::gen::constraint
