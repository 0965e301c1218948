// CandidateSet helpers, the SamplerChain and the standard chain builder (sampler.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "core/error.h"
#include "core/ops.h"
#include "generate/sampler.h"
#include "generate/samplers/whole_row.h"

namespace lyra::gen {

void CandidateSet::reset(std::span<const float> logits) {
    items.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) {
        items[i] = Candidate{static_cast<TokenId>(i), logits[i], 0.0f};
    }
    sorted = false;
    has_probs = false;
    selected = -1;
}

void CandidateSet::sort() {
    if (sorted) return;
    std::sort(items.begin(), items.end(), logit_order);
    sorted = true;
}

void CandidateSet::softmax() {
    sort();
    softmax_unsorted();
}

void CandidateSet::softmax_unsorted() {
    if (items.empty()) return;
    // Gathered into a contiguous row for the SIMD softmax: a whole vocabulary runs through here
    // when top-p or min-p is a chain's first truncation, and scalar exp over 32k entries cost as
    // much as a small model's decode step.
    const size_t n = items.size();
    probs_scratch.resize(n);
    float max_logit = items[0].logit;
    for (size_t i = 0; i < n; ++i) {
        probs_scratch[i] = items[i].logit;
        max_logit = std::max(max_logit, items[i].logit);
    }
    if (!std::isfinite(max_logit)) {  // every candidate ruled out (a constraint dead end)
        for (auto& c : items) c.p = 0.0f;
        has_probs = true;
        return;
    }
    core::exp_sub_sum(probs_scratch.data(), static_cast<int64_t>(n), max_logit);
    // Normalised in double: p must not depend on the candidates' order (a sorted and an
    // unsorted set give the same draw), and rounding a double quotient to float makes it so.
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += static_cast<double>(probs_scratch[i]);
    for (size_t i = 0; i < n; ++i) items[i].p = static_cast<float>(static_cast<double>(probs_scratch[i]) / sum);
    has_probs = true;
}

TokenId SamplerChain::sample(std::span<const float> logits) {
    TokenId id = -1;
    if (sample_whole_row(samplers_, logits, id)) {
        // No CandidateSet was built: candidates() shows none, only the pick.
        cur_.items.clear();
        cur_.sorted = false;
        cur_.has_probs = false;
        cur_.selected = id;
        return id;
    }
    // The first sampler may build the set itself (a constraint applies its mask while the
    // candidates are written); otherwise it is reset from the row and every sampler applied.
    size_t first = 0;
    if (!samplers_.empty() && samplers_[0]->build(cur_, logits)) first = 1;
    else cur_.reset(logits);
    for (size_t k = first; k < samplers_.size(); ++k) samplers_[k]->apply(cur_);
    LYRA_CHECK(cur_.selected >= 0, "sampler chain '{}' ended without picking a token", describe());
    return cur_.selected;
}

void SamplerChain::accept(TokenId id) {
    for (auto& s : samplers_) s->accept(id);
}

void SamplerChain::observe_prompt(std::span<const TokenId> ids) {
    for (auto& s : samplers_) {
        for (TokenId id : ids) s->observe_prompt(id);
    }
}

void SamplerChain::reset() {
    for (auto& s : samplers_) s->reset();
}

std::string SamplerChain::describe() const {
    std::string out;
    for (const auto& s : samplers_) {
        if (!out.empty()) out += " -> ";
        out += s->name();
    }
    return out;
}

namespace {

void check_options(const SamplerOptions& o) {
    if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature)) {
        throw_error(ErrorKind::InvalidArgument,
                    "temperature: out of range; expected a number >= 0 (0 = greedy), got {}",
                    o.temperature);
    }
    if (o.top_k < 0) {
        throw_error(ErrorKind::InvalidArgument,
                    "top-k: out of range; expected an integer >= 0 (0 = off), got {}", o.top_k);
    }
    if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) {
        throw_error(ErrorKind::InvalidArgument,
                    "top-p: out of range; expected a number in (0, 1] (1 = off), got {}", o.top_p);
    }
    if (!(o.min_p >= 0.0f && o.min_p <= 1.0f)) {
        throw_error(ErrorKind::InvalidArgument,
                    "min-p: out of range; expected a number in [0, 1] (0 = off), got {}", o.min_p);
    }
    if (!(o.repeat_penalty > 0.0f) || !std::isfinite(o.repeat_penalty)) {
        throw_error(ErrorKind::InvalidArgument,
                    "repeat penalty: out of range; expected a number > 0 (1 = off), got {}",
                    o.repeat_penalty);
    }
    if (o.repeat_last_n < -1) {
        throw_error(ErrorKind::InvalidArgument,
                    "repeat last n: out of range; expected -1 (all), 0 (off) or more, got {}",
                    o.repeat_last_n);
    }
    if (!std::isfinite(o.frequency_penalty) || !std::isfinite(o.presence_penalty)) {
        throw_error(ErrorKind::InvalidArgument,
                    "frequency/presence penalty: not a finite number; got {} and {}",
                    o.frequency_penalty, o.presence_penalty);
    }
    std::vector<TokenId> ids;
    for (const LogitBias& b : o.logit_bias) {
        if (b.id < 0) {
            throw_error(ErrorKind::InvalidArgument, "logit bias: token id {} is negative; expected an id "
                        "of the model's vocabulary", b.id);
        }
        if (!std::isfinite(b.bias)) {
            throw_error(ErrorKind::InvalidArgument, "logit bias: token {} has bias {}; expected a finite "
                        "number", b.id, b.bias);
        }
        ids.push_back(b.id);
    }
    std::sort(ids.begin(), ids.end());
    if (const auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
        throw_error(ErrorKind::InvalidArgument, "logit bias: token {} is given twice; expected each id "
                    "once", *dup);
    }
}

}  // namespace

SamplerChain make_sampler_chain(const SamplerOptions& o) {
    check_options(o);
    SamplerChain chain;
    if (!o.logit_bias.empty()) chain.add(make_logit_bias(o.logit_bias));
    const bool penalties_on = o.repeat_last_n != 0 &&
                              (o.repeat_penalty != 1.0f || o.frequency_penalty != 0.0f ||
                               o.presence_penalty != 0.0f);
    if (penalties_on) {
        chain.add(make_penalties(o.repeat_last_n, o.repeat_penalty, o.frequency_penalty,
                                 o.presence_penalty));
    }
    if (o.constraint != nullptr) chain.add(make_constraint(o.constraint));
    if (o.temperature == 0.0f) {
        chain.add(make_greedy());
        return chain;
    }
    if (o.top_k > 0) chain.add(make_top_k(o.top_k));
    if (o.top_p < 1.0f) chain.add(make_top_p(o.top_p));
    if (o.min_p > 0.0f) chain.add(make_min_p(o.min_p));
    if (o.temperature != 1.0f) chain.add(make_temperature(o.temperature));
    chain.add(make_dist(o.seed));
    return chain;
}

}  // namespace lyra::gen
