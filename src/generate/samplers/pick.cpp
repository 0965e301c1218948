// Temperature and the final pick: greedy (argmax) or a seeded draw from the softmax (sampler.h).
#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "core/ops.h"
#include "generate/sampler.h"
#include "generate/samplers/whole_row.h"

namespace lyra::gen {

namespace {

class TemperatureSampler final : public Sampler {
public:
    explicit TemperatureSampler(float t) : t_(t) { LYRA_CHECK(t > 0.0f, "temperature {} <= 0", t); }
    const char* name() const override { return "temperature"; }
    float temperature() const { return t_; }
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
    // cumulative mass passes the draw. The masses are integers, exp(logit - max) in fixed point
    // (weight() below), so every sum over them is exact: the total, a bucket's mass and the
    // running mass of a walk do not depend on the order they are added in, and the drawn token
    // does not depend on the candidates' order (a sorted and an unsorted set give the same
    // token, bit for bit). Integer sums also need no chain of 32k dependent double adds and no
    // division per candidate.
    //
    // A set a truncation left sorted is walked as it is. A whole vocabulary is not sorted
    // (near-flat distributions would walk most of it, and sorting 32k candidates per token cost
    // more than a small model's forward): see draw_unsorted.
    void apply(CandidateSet& c) override {
        if (c.items.empty()) return;
        const size_t n = c.items.size();
        logits_.resize(n);
        for (size_t i = 0; i < n; ++i) logits_[i] = c.items[i].logit;
        find_extremes(logits_.data(), 1.0f);  // x / 1 is x: the extremes, in place
        if (!c.sorted) {
            c.selected = draw_unsorted([&](size_t i) { return c.items[i].id; });
            return;
        }
        const float u = rng_.uniform();
        if (!prepare()) {  // nothing has mass (every candidate ruled out): the first in order
            c.selected = c.items.front().id;
            return;
        }
        uint64_t total = 0;
        for (size_t i = 0; i < n; ++i) total += weight(exps_[i]);
        const uint64_t target = draw_point(u, total);
        uint64_t cum = 0;
        c.selected = c.items.front().id;  // not kept: target < total
        for (size_t i = 0; i < n; ++i) {
            cum += weight(exps_[i]);
            if (target < cum) {
                c.selected = c.items[i].id;
                break;
            }
        }
    }
    void reset() override { rng_.reseed(seed_); }

    // The chain's shortcut for a whole row when nothing but a temperature precedes the draw
    // (sample_whole_row): the row divided by `temperature` exactly as TemperatureSampler does
    // (1 = no temperature sampler), read in place of a CandidateSet, so the CandidateSet's
    // 32k-record fill, the temperature's pass over it and the gather here are one pass.
    TokenId draw_row(std::span<const float> row, float temperature) {
        logits_.resize(row.size());
        find_extremes(row.data(), temperature);  // x / 1 is x: a plain copy without a temperature
        return draw_unsorted([](size_t i) { return static_cast<TokenId>(i); });
    }

private:
    static constexpr int kBuckets = 1024;

    // logits_ = src / t (logits_ already sized; src may be logits_), and hi_/lo_ its largest and
    // smallest finite values (NaN skipped, -inf never the smallest), in one SIMD pass.
    void find_extremes(const float* src, float t) {
        core::div_minmax(src, static_cast<int64_t>(logits_.size()), t, logits_.data(), &hi_, &lo_);
    }

    struct Weighted {
        Candidate c;
        uint64_t w;
    };

    // Draws from logits_ (unsorted; id_of(i) is candidate i's id): the candidates are binned by
    // logit into buckets that keep the order (every candidate of a bucket comes before those of
    // the next), the buckets' masses locate the one the draw falls in, and only that bucket is
    // sorted and walked — the same token the walk over the sorted set picks. The passes over the
    // vocabulary (the extremes, the exp, the bins, the drawn bucket's indices) are SIMD kernels
    // (core/ops.h): a draw over 32,000 logits took 52 us with scalar loops around the SIMD exp and
    // takes 26-28 us on AVX-512 (bench_kernels prints it against the scalar kernels).
    template <typename IdOf>
    TokenId draw_unsorted(const IdOf& id_of) {
        const float u = rng_.uniform();
        const size_t n = logits_.size();
        if (!prepare()) {
            size_t first = 0;
            for (size_t i = 1; i < n; ++i) {
                if (logit_order({id_of(i), logits_[i], 0.0f}, {id_of(first), logits_[first], 0.0f})) first = i;
            }
            return id_of(first);
        }
        // Candidates more than shift_ * ln 2 (+1 for exp's rounding) below the top weigh 0; the
        // buckets span only the rest (those below land in the last bucket, adding nothing), so a
        // few very negative logits do not squeeze the rest into one bucket.
        const float lo = std::max(lo_, hi_ - static_cast<float>(shift_) * 0.6931472f - 1.0f);
        // The bucket is non-decreasing as the logit falls (the clamp, subtraction, scaling and
        // truncation are monotone), so bucket order never contradicts logit order, and equal
        // logits share a bucket.
        const float scale = hi_ > lo ? static_cast<float>(kBuckets - 1) / (hi_ - lo) : 0.0f;
        // The buckets, the weights and the buckets' masses in one SIMD pass (core::dist_bins),
        // then the indices of the bucket the draw falls in (core::indices_eq_u16).
        mass_.assign(kBuckets, 0);
        bucket_of_.resize(n);
        in_index_.resize(n);
        const float* logits = logits_.data();
        const float* exps = exps_.data();
        const uint64_t total = core::dist_bins(logits, exps, static_cast<int64_t>(n), hi_, lo, scale, unit_,
                                               bucket_of_.data(), mass_.data(), kBuckets);
        const uint64_t target = draw_point(u, total);
        uint64_t before = 0;  // mass of the buckets ahead of the one the draw falls in
        uint16_t in = 0;
        while (target >= before + mass_[in]) before += mass_[in++];
        const int64_t m = core::indices_eq_u16(bucket_of_.data(), static_cast<int64_t>(n), in, in_index_.data());
        in_bucket_.clear();
        for (int64_t k = 0; k < m; ++k) {
            const auto i = static_cast<size_t>(in_index_[static_cast<size_t>(k)]);
            if (weight(exps[i]) > 0) in_bucket_.push_back({{id_of(i), logits[i], 0.0f}, weight(exps[i])});
        }
        std::sort(in_bucket_.begin(), in_bucket_.end(),
                  [](const Weighted& a, const Weighted& b) { return logit_order(a.c, b.c); });
        for (const Weighted& x : in_bucket_) {
            before += x.w;
            if (target < before) return x.c.id;
        }
        return in_bucket_.back().c.id;  // not reached: target < before + the bucket's mass
    }

    // exps_ = exp(logits_ - max) and the fixed-point scale for this many candidates, from the
    // extremes find_extremes() left in hi_/lo_; false when no logit is above -inf.
    bool prepare() {
        const size_t n = logits_.size();
        shift_ = n <= (size_t{1} << 22) ? 40 : 62 - static_cast<int>(std::bit_width(n));
        unit_ = std::ldexp(1.0f, shift_);
        if (!std::isfinite(hi_)) return false;
        exps_.assign(logits_.begin(), logits_.end());
        core::exp_sub_sum(exps_.data(), static_cast<int64_t>(n), hi_);
        return true;
    }

    // exp(logit - max) in fixed point with shift_ fraction bits (2^-40 of the top candidate's
    // mass for vocabularies up to 4M; the top weighs exactly 2^shift_, as exp(0) is 1): n
    // weights sum below 2^62. A candidate below 2^-40 of the top is never drawn (the float
    // draw itself resolves only 2^-24). e * unit_ is exact (unit_ is 2^shift_), and the signed
    // conversion is one instruction on x86 where the unsigned one is a compare and a branch. A NaN
    // (a NaN logit) weighs 0, through the select (a maxss), as its conversion would be undefined.
    uint64_t weight(float e) const {
        const float w = e * unit_;
        return static_cast<uint64_t>(static_cast<int64_t>(w > 0.0f ? w : 0.0f));
    }

    // The draw u in [0, 1) as a point in [0, total): total >= 2^shift_ (the top candidate), so
    // u * total, u being at most 1 - 2^-24, stays below total after rounding.
    static uint64_t draw_point(float u, uint64_t total) {
        const auto t = static_cast<uint64_t>(static_cast<double>(u) * static_cast<double>(total));
        return std::min(t, total - 1);
    }

    uint64_t seed_;
    core::Rng rng_;
    int shift_ = 40;
    float unit_ = 0.0f;
    float hi_ = 0.0f, lo_ = 0.0f;
    std::vector<float> logits_;          // the candidates' logits, contiguous (reused capacity)
    std::vector<float> exps_;            // exp(logit - max) per candidate
    std::vector<uint64_t> mass_;         // per bucket
    std::vector<uint16_t> bucket_of_;    // per candidate
    std::vector<int32_t> in_index_;      // the candidates of the drawn bucket
    std::vector<Weighted> in_bucket_;    // the bucket the draw falls in, sorted
};

}  // namespace

std::unique_ptr<Sampler> make_temperature(float t) { return std::make_unique<TemperatureSampler>(t); }
std::unique_ptr<Sampler> make_greedy() { return std::make_unique<GreedySampler>(); }
std::unique_ptr<Sampler> make_dist(uint64_t seed) { return std::make_unique<DistSampler>(seed); }

bool sample_whole_row(std::span<const std::unique_ptr<Sampler>> chain, std::span<const float> row,
                      TokenId& out) {
    // [dist] or [temperature, dist], and nothing else: any other sampler reads or rewrites the
    // CandidateSet, so its chain takes the general path.
    if (chain.empty() || chain.size() > 2 || row.empty()) return false;
    auto* dist = dynamic_cast<DistSampler*>(chain.back().get());
    if (dist == nullptr) return false;
    float t = 1.0f;
    if (chain.size() == 2) {
        const auto* temp = dynamic_cast<const TemperatureSampler*>(chain.front().get());
        if (temp == nullptr) return false;
        t = temp->temperature();
    }
    out = dist->draw_row(row, t);
    return true;
}

}  // namespace lyra::gen
