// Truncation samplers: top-k, top-p (nucleus, Holtzman et al. 2019) and min-p (sampler.h).
// Each keeps a prefix of the candidates sorted by descending logit, and always at least one.
#include <algorithm>

#include "generate/sampler.h"

namespace lyra::gen {

namespace {

class TopKSampler final : public Sampler {
public:
    explicit TopKSampler(int k) : k_(k) {}
    const char* name() const override { return "top-k"; }
    void apply(CandidateSet& c) override {
        if (k_ <= 0 || static_cast<size_t>(k_) >= c.items.size()) return;
        const auto k = static_cast<size_t>(k_);
        if (!c.sorted) {
            // Only the first k need ordering: O(n log k) instead of a full sort.
            std::partial_sort(c.items.begin(), c.items.begin() + static_cast<std::ptrdiff_t>(k),
                              c.items.end(), [](const Candidate& a, const Candidate& b) {
                                  if (a.logit != b.logit) return a.logit > b.logit;
                                  return a.id < b.id;
                              });
            c.sorted = true;
        }
        c.items.resize(k);
        c.has_probs = false;
    }

private:
    int k_;
};

class TopPSampler final : public Sampler {
public:
    explicit TopPSampler(float p) : p_(p) {}
    const char* name() const override { return "top-p"; }
    void apply(CandidateSet& c) override {
        if (p_ >= 1.0f || c.items.empty()) return;
        c.softmax();
        double cum = 0.0;
        size_t keep = c.items.size();
        for (size_t i = 0; i < c.items.size(); ++i) {
            cum += static_cast<double>(c.items[i].p);
            if (cum >= static_cast<double>(p_)) {
                keep = i + 1;
                break;
            }
        }
        c.items.resize(keep);
        c.has_probs = false;  // p no longer sums to 1
    }

private:
    float p_;
};

class MinPSampler final : public Sampler {
public:
    explicit MinPSampler(float p) : p_(p) {}
    const char* name() const override { return "min-p"; }
    void apply(CandidateSet& c) override {
        if (p_ <= 0.0f || c.items.empty()) return;
        c.softmax();
        const float threshold = p_ * c.items[0].p;
        size_t keep = 1;
        while (keep < c.items.size() && c.items[keep].p >= threshold) ++keep;
        c.items.resize(keep);
        c.has_probs = false;
    }

private:
    float p_;
};

}  // namespace

std::unique_ptr<Sampler> make_top_k(int k) { return std::make_unique<TopKSampler>(k); }
std::unique_ptr<Sampler> make_top_p(float p) { return std::make_unique<TopPSampler>(p); }
std::unique_ptr<Sampler> make_min_p(float p) { return std::make_unique<MinPSampler>(p); }

}  // namespace lyra::gen
