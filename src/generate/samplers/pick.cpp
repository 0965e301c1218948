// Temperature and the final pick: greedy (argmax) or a seeded draw from the softmax (sampler.h).
#include <algorithm>
#include <limits>
#include <vector>

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
    // candidates per token cost more than a small model's forward): the candidates are binned by
    // logit into buckets that keep the order (every candidate of a bucket comes before those of
    // the next), the buckets' masses locate the one the draw falls in, and only that bucket is
    // sorted and walked — two passes over the vocabulary, the same token the sorted walk picks.
    void apply(CandidateSet& c) override {
        if (c.items.empty()) return;
        const double u = static_cast<double>(rng_.uniform());
        if (c.sorted) {
            c.softmax();
            c.selected = walk(c.items, u, 0.0, c.items.front().id);
            return;
        }
        c.softmax_unsorted();
        float hi = -std::numeric_limits<float>::infinity(), lo = std::numeric_limits<float>::infinity();
        for (const Candidate& x : c.items) {
            if (x.p <= 0.0f) continue;
            hi = std::max(hi, x.logit);
            lo = std::min(lo, x.logit);
        }
        if (!(hi >= lo)) {  // nothing has mass (every candidate ruled out): the first in order
            c.selected = std::min_element(c.items.begin(), c.items.end(), logit_order)->id;
            return;
        }
        // bucket(l) is non-decreasing as l falls (float subtraction and scaling are monotone),
        // so bucket order never contradicts logit order, and equal logits share a bucket.
        const float scale = hi > lo ? static_cast<float>(kBuckets - 1) / (hi - lo) : 0.0f;
        const auto bucket = [&](float logit) { return std::min(kBuckets - 1, static_cast<int>((hi - logit) * scale)); };
        mass_.assign(kBuckets, 0.0);
        for (const Candidate& x : c.items) {
            if (x.p > 0.0f) mass_[static_cast<size_t>(bucket(x.logit))] += static_cast<double>(x.p);
        }
        double cum = 0.0, before = 0.0;  // mass of the buckets ahead of `target`
        int target = -1;
        for (int b = 0; b < kBuckets; ++b) {
            const double m = mass_[static_cast<size_t>(b)];
            if (m <= 0.0) continue;
            target = b;  // stays the last bucket with mass when rounding leaves u past the total
            before = cum;
            if (u < cum + m) break;
            cum += m;
        }
        in_bucket_.clear();
        for (const Candidate& x : c.items) {
            if (x.p > 0.0f && bucket(x.logit) == target) in_bucket_.push_back(x);
        }
        std::sort(in_bucket_.begin(), in_bucket_.end(), logit_order);
        c.selected = walk(in_bucket_, u, before, in_bucket_.front().id);
    }
    void reset() override { rng_.reseed(seed_); }

private:
    static constexpr int kBuckets = 1024;

    // Walks sorted candidates from cumulative mass `cum`: the first whose running mass passes u,
    // else the last with p > 0 (`first` when none has mass).
    static TokenId walk(const std::vector<Candidate>& items, double u, double cum, TokenId first) {
        TokenId selected = first;
        for (const Candidate& x : items) {
            if (x.p <= 0.0f) break;
            selected = x.id;
            cum += static_cast<double>(x.p);
            if (u < cum) break;
        }
        return selected;
    }

    uint64_t seed_;
    core::Rng rng_;
    std::vector<double> mass_;           // per bucket (reused capacity)
    std::vector<Candidate> in_bucket_;   // the bucket the draw falls in, sorted
};

}  // namespace

std::unique_ptr<Sampler> make_temperature(float t) { return std::make_unique<TemperatureSampler>(t); }
std::unique_ptr<Sampler> make_greedy() { return std::make_unique<GreedySampler>(); }
std::unique_ptr<Sampler> make_dist(uint64_t seed) { return std::make_unique<DistSampler>(seed); }

}  // namespace lyra::gen
