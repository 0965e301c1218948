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
    void apply(CandidateSet& c) override {
        if (c.items.empty()) return;
        // Inverse-CDF draw in descending-logit order: the first candidate whose cumulative mass
        // passes u. A set a truncation left sorted is walked as it is; a whole vocabulary is not
        // sorted (that cost more than a small model's forward): the walk brings the next chunk of
        // the order to the front only when it gets there, so it sees exactly the sorted order
        // while sorting only the head it visits.
        const bool was_sorted = c.sorted;
        if (was_sorted) {
            c.softmax();
        } else {
            c.softmax_unsorted();
        }
        const double u = static_cast<double>(rng_.uniform());
        auto& items = c.items;
        const size_t n = items.size();
        double cum = 0.0;
        size_t ready = was_sorted ? n : 0;  // items[0, ready) are in final order
        size_t chunk = 64;
        for (size_t i = 0; i < n; ++i) {
            if (i == ready) {
                const size_t end = std::min(n, ready + chunk);
                const auto first = items.begin() + static_cast<std::ptrdiff_t>(ready);
                const auto last = items.begin() + static_cast<std::ptrdiff_t>(end);
                if (end < n) std::nth_element(first, last, items.end(), logit_order);
                std::sort(first, last, logit_order);
                ready = end;
                chunk *= 4;
            }
            const Candidate& x = items[i];
            if (i == 0) c.selected = x.id;
            if (x.p <= 0.0f) break;
            c.selected = x.id;
            cum += static_cast<double>(x.p);
            if (u < cum) break;
        }
        c.sorted = ready == n;
    }
    void reset() override { rng_.reseed(seed_); }

private:
    uint64_t seed_;
    core::Rng rng_;
};

}  // namespace

std::unique_ptr<Sampler> make_temperature(float t) { return std::make_unique<TemperatureSampler>(t); }
std::unique_ptr<Sampler> make_greedy() { return std::make_unique<GreedySampler>(); }
std::unique_ptr<Sampler> make_dist(uint64_t seed) { return std::make_unique<DistSampler>(seed); }

}  // namespace lyra::gen
