// Temperature and the final pick: greedy (argmax) or a seeded draw from the softmax (sampler.h).
#include <algorithm>

#include "core/check.h"
#include "generate/sampler.h"

namespace lyra::gen {

namespace {

class TemperatureSampler final : public Sampler {
public:
    explicit TemperatureSampler(float t) : t_(t) { LYRA_CHECK(t > 0.0f, "temperature {} <= 0", t); }
    const char* name() const override { return "temperature"; }
    void apply(CandidateSet& c) override {
        for (auto& x : c.items) x.logit /= t_;  // order is unchanged, so `sorted` still holds
        c.has_probs = false;
    }

private:
    float t_;
};

class GreedySampler final : public Sampler {
public:
    const char* name() const override { return "greedy"; }
    void apply(CandidateSet& c) override {
        if (c.items.empty()) return;
        size_t best = 0;
        for (size_t i = 1; i < c.items.size(); ++i) {
            const Candidate& x = c.items[i];
            const Candidate& b = c.items[best];
            if (x.logit > b.logit || (x.logit == b.logit && x.id < b.id)) best = i;
        }
        c.selected = c.items[best].id;
    }
};

class DistSampler final : public Sampler {
public:
    explicit DistSampler(uint64_t seed) : seed_(seed), rng_(seed) {}
    const char* name() const override { return "dist"; }

    // Inverse-CDF draw in descending-logit order (logit_order): the first candidate whose
    // cumulative mass passes u. A set a truncation left sorted is walked as it is. A whole
    // vocabulary is not sorted (near-flat distributions would walk most of it, and sorting 32k
    // candidates per token cost more than a small model's forward): the range holding the draw is
    // halved by mass instead, nth_element putting the higher-ordered half first, until a short
    // range is left to sort and walk — O(n), the same token the sorted walk picks.
    void apply(CandidateSet& c) override {
        if (c.items.empty()) return;
        const bool was_sorted = c.sorted;
        if (was_sorted) {
            c.softmax();
        } else {
            c.softmax_unsorted();
        }
        const double u = static_cast<double>(rng_.uniform());
        auto& items = c.items;
        const auto at = [&items](size_t i) { return items.begin() + static_cast<std::ptrdiff_t>(i); };
        size_t lo = 0, hi = items.size();
        double cum = 0.0;      // mass of everything ordered before lo
        TokenId before = -1;   // the last candidate with p > 0 ordered before lo
        while (!was_sorted && hi - lo > kShortRange) {
            const size_t mid = lo + (hi - lo) / 2;
            std::nth_element(at(lo), at(mid), at(hi), logit_order);
            double mass = 0.0;
            const Candidate* last = nullptr;
            for (size_t i = lo; i < mid; ++i) {
                const Candidate& x = items[i];
                if (x.p <= 0.0f) continue;
                mass += static_cast<double>(x.p);
                if (last == nullptr || logit_order(*last, x)) last = &x;
            }
            if (u < cum + mass) {
                hi = mid;
            } else {
                cum += mass;
                if (last != nullptr) before = last->id;
                lo = mid;
            }
        }
        if (!was_sorted) std::sort(at(lo), at(hi), logit_order);
        c.selected = before;
        for (size_t i = lo; i < hi; ++i) {
            const Candidate& x = items[i];
            if (x.p <= 0.0f) break;
            c.selected = x.id;
            cum += static_cast<double>(x.p);
            if (u < cum) break;
        }
        // Nothing has mass (every candidate ruled out): the first in order, as a sorted walk
        // would give.
        if (c.selected < 0) c.selected = std::min_element(items.begin(), items.end(), logit_order)->id;
        c.sorted = was_sorted || (lo == 0 && hi == items.size());
    }
    void reset() override { rng_.reseed(seed_); }

private:
    static constexpr size_t kShortRange = 64;
    uint64_t seed_;
    core::Rng rng_;
};

}  // namespace

std::unique_ptr<Sampler> make_temperature(float t) { return std::make_unique<TemperatureSampler>(t); }
std::unique_ptr<Sampler> make_greedy() { return std::make_unique<GreedySampler>(); }
std::unique_ptr<Sampler> make_dist(uint64_t seed) { return std::make_unique<DistSampler>(seed); }

}  // namespace lyra::gen
