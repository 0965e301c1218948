// Temperature and the final pick: greedy (argmax) or a seeded draw from the softmax (sampler.h).
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
        c.softmax();  // sorted order makes the walk below independent of how items arrived
        // Inverse-CDF draw: the first candidate whose cumulative mass passes u.
        const double u = static_cast<double>(rng_.uniform());
        double cum = 0.0;
        c.selected = c.items[0].id;
        for (const auto& x : c.items) {
            if (x.p <= 0.0f) break;
            c.selected = x.id;
            cum += static_cast<double>(x.p);
            if (u < cum) break;
        }
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
