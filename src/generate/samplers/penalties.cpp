// Repetition, frequency and presence penalties over a window of recent tokens (sampler.h).
//   repetition (CTRL, Keskar et al. 2019 §4.1): logit > 0 ? logit / r : logit * r
//   frequency / presence (OpenAI API): logit -= count * f + (count > 0 ? p : 0)
// Each distinct token in the window is penalised once for repetition, whatever its count.
// Also the constraint sampler, the chain's hook to a gen::Constraint, and the logit bias.
#include <algorithm>
#include <deque>

#include "generate/constraint/token_mask.h"
#include "generate/sampler.h"

namespace lyra::gen {

namespace {

class PenaltiesSampler final : public Sampler {
public:
    PenaltiesSampler(int last_n, float repeat, float frequency, float presence)
        : last_n_(last_n), repeat_(repeat), frequency_(frequency), presence_(presence) {}

    const char* name() const override { return "penalties"; }

    void apply(CandidateSet& c) override {
        if (history_.empty()) return;
        // Count the window by sorting a copy (scratch_ keeps its capacity between tokens).
        scratch_.assign(history_.begin(), history_.end());
        std::sort(scratch_.begin(), scratch_.end());
        for (size_t i = 0; i < scratch_.size();) {
            size_t j = i;
            while (j < scratch_.size() && scratch_[j] == scratch_[i]) ++j;
            penalise(c, scratch_[i], static_cast<int>(j - i));
            i = j;
        }
        c.has_probs = false;
        c.sorted = false;
    }

    void accept(TokenId id) override { remember(id); }
    void observe_prompt(TokenId id) override { remember(id); }
    void reset() override { history_.clear(); }

private:
    void remember(TokenId id) {
        if (last_n_ == 0) return;
        history_.push_back(id);
        if (last_n_ > 0 && history_.size() > static_cast<size_t>(last_n_)) history_.pop_front();
    }

    void penalise(CandidateSet& c, TokenId id, int count) const {
        Candidate* cand = nullptr;
        // Right after reset() the set is the whole vocabulary in id order: index directly.
        if (id >= 0 && static_cast<size_t>(id) < c.items.size() && c.items[id].id == id) {
            cand = &c.items[id];
        } else {
            for (auto& x : c.items) {
                if (x.id == id) {
                    cand = &x;
                    break;
                }
            }
        }
        if (cand == nullptr) return;
        float& l = cand->logit;
        l = l > 0.0f ? l / repeat_ : l * repeat_;
        l -= static_cast<float>(count) * frequency_ + presence_;
    }

    int last_n_;
    float repeat_, frequency_, presence_;
    std::deque<TokenId> history_;
    std::vector<TokenId> scratch_;
};

class ConstraintSampler final : public Sampler {
public:
    explicit ConstraintSampler(Constraint* c) : constraint_(c) {}
    const char* name() const override { return "constraint"; }
    void apply(CandidateSet& c) override {
        if (constraint_ == nullptr) return;
        constraint_->apply(c);
        c.has_probs = false;
        c.sorted = false;
    }
    // The constraint's mask as bit rows, applied while the set is written (Constraint::row_mask).
    bool build(CandidateSet& c, std::span<const float> logits) override {
        RowMask m;
        if (constraint_ == nullptr || !constraint_->row_mask(m)) return false;
        const bool any = constraint::reset_with_token_mask(c, logits, m.allow, m.ask, m.n_tokens,
                                                           [this](TokenId id) { return constraint_->decide(id); });
        constraint_->row_masked(c, any);
        c.has_probs = false;
        c.sorted = false;
        return true;
    }
    void accept(TokenId id) override {
        if (constraint_ != nullptr) constraint_->accept(id);
    }
    void reset() override {
        if (constraint_ != nullptr) constraint_->reset();
    }

private:
    Constraint* constraint_;
};

// Adds each bias to its token's logit. First in the chain, so the set is fresh from the row:
// candidate i is token i (the lookup falls back to a scan for a set in any other order).
class LogitBiasSampler final : public Sampler {
public:
    explicit LogitBiasSampler(std::vector<LogitBias> biases) : biases_(std::move(biases)) {}
    const char* name() const override { return "logit-bias"; }
    void apply(CandidateSet& c) override {
        for (const LogitBias& b : biases_) {
            const auto i = static_cast<size_t>(b.id);
            if (i < c.items.size() && c.items[i].id == b.id) {
                c.items[i].logit += b.bias;
                continue;
            }
            for (Candidate& cand : c.items) {
                if (cand.id == b.id) cand.logit += b.bias;
            }
        }
        // A bias can reorder the set; probabilities are recomputed by whoever needs them.
        c.sorted = false;
        c.has_probs = false;
    }

private:
    std::vector<LogitBias> biases_;
};

}  // namespace

std::unique_ptr<Sampler> make_logit_bias(std::vector<LogitBias> biases) {
    return std::make_unique<LogitBiasSampler>(std::move(biases));
}

std::unique_ptr<Sampler> make_penalties(int last_n, float repeat, float frequency, float presence) {
    return std::make_unique<PenaltiesSampler>(last_n, repeat, frequency, presence);
}

std::unique_ptr<Sampler> make_constraint(Constraint* constraint) {
    return std::make_unique<ConstraintSampler>(constraint);
}

}  // namespace lyra::gen
