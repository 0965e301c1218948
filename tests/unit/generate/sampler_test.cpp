// Sampler chain math on hand-made logits; every expected value is worked out in the comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/ops.h"
#include "core/rng.h"
#include "generate/sampler.h"

namespace lyra::gen {
namespace {

std::vector<TokenId> ids_of(const CandidateSet& c) {
    std::vector<TokenId> out;
    for (const auto& x : c.items) out.push_back(x.id);
    return out;
}

// Runs one sampler over logits and returns the candidate set it leaves.
CandidateSet run_one(Sampler& s, const std::vector<float>& logits) {
    CandidateSet c;
    c.reset(logits);
    s.apply(c);
    return c;
}

// Logits whose softmax is exactly `probs` (up to float rounding): logit = ln p.
std::vector<float> logits_for(const std::vector<double>& probs) {
    std::vector<float> out;
    for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
    return out;
}

TEST(TopK, KeepsExactlyTheKHighestInDescendingOrder) {
    auto s = make_top_k(3);
    const auto c = run_one(*s, {1.0f, 5.0f, 3.0f, 4.0f, 2.0f});
    EXPECT_EQ(ids_of(c), (std::vector<TokenId>{1, 3, 2}));
}

TEST(TopK, BreaksTiesByLowerIdAndKeepsAllWhenKIsZeroOrLarge) {
    auto s = make_top_k(2);
    EXPECT_EQ(ids_of(run_one(*s, {2.0f, 7.0f, 7.0f, 7.0f})), (std::vector<TokenId>{1, 2}));
    auto off = make_top_k(0);
    EXPECT_EQ(run_one(*off, {1.0f, 2.0f, 3.0f}).items.size(), 3u);
    auto big = make_top_k(10);
    EXPECT_EQ(run_one(*big, {1.0f, 2.0f, 3.0f}).items.size(), 3u);
}

TEST(TopP, KeepsTheSmallestPrefixWhoseMassReachesP) {
    // probs 0.5, 0.25, 0.125, 0.125 (ids 2, 0, 1, 3): cumulative 0.5, 0.75, 0.875, 1.0.
    const auto logits = logits_for({0.25, 0.125, 0.5, 0.125});
    EXPECT_EQ(ids_of(run_one(*make_top_p(0.40f), logits)), (std::vector<TokenId>{2}));
    EXPECT_EQ(ids_of(run_one(*make_top_p(0.74f), logits)), (std::vector<TokenId>{2, 0}));
    EXPECT_EQ(ids_of(run_one(*make_top_p(0.76f), logits)), (std::vector<TokenId>{2, 0, 1}));
    EXPECT_EQ(ids_of(run_one(*make_top_p(0.90f), logits)), (std::vector<TokenId>{2, 0, 1, 3}));
    EXPECT_EQ(run_one(*make_top_p(1.0f), logits).items.size(), 4u);
}

TEST(TopP, AlwaysKeepsAtLeastOneCandidate) {
    const auto c = run_one(*make_top_p(1e-6f), logits_for({0.3, 0.7}));
    EXPECT_EQ(ids_of(c), (std::vector<TokenId>{1}));
}

TEST(MinP, KeepsCandidatesAtLeastPTimesTheTopProbability) {
    // probs 0.5, 0.25, 0.125, 0.125. min_p 0.6 -> threshold 0.3 keeps {0};
    // 0.3 -> 0.15 keeps {0, 1}; 0.2 -> 0.1 keeps all four.
    const auto logits = logits_for({0.5, 0.25, 0.125, 0.125});
    EXPECT_EQ(ids_of(run_one(*make_min_p(0.6f), logits)), (std::vector<TokenId>{0}));
    EXPECT_EQ(ids_of(run_one(*make_min_p(0.3f), logits)), (std::vector<TokenId>{0, 1}));
    EXPECT_EQ(ids_of(run_one(*make_min_p(0.2f), logits)), (std::vector<TokenId>{0, 1, 2, 3}));
}

TEST(Temperature, DividesEveryLogit) {
    const auto c = run_one(*make_temperature(2.0f), {2.0f, -4.0f, 1.0f});
    EXPECT_FLOAT_EQ(c.items[0].logit, 1.0f);
    EXPECT_FLOAT_EQ(c.items[1].logit, -2.0f);
    EXPECT_FLOAT_EQ(c.items[2].logit, 0.5f);
}

TEST(Penalties, RepetitionDividesPositiveAndMultipliesNegativeLogits) {
    auto s = make_penalties(64, 2.0f, 0.0f, 0.0f);
    s->accept(0);
    s->accept(1);
    s->accept(1);  // counted once for repetition
    const auto c = run_one(*s, {4.0f, -1.0f, 3.0f});
    EXPECT_FLOAT_EQ(c.items[0].logit, 2.0f);   // 4 / 2
    EXPECT_FLOAT_EQ(c.items[1].logit, -2.0f);  // -1 * 2
    EXPECT_FLOAT_EQ(c.items[2].logit, 3.0f);   // not seen
}

TEST(Penalties, FrequencyAndPresenceSubtractPerCountAndOnce) {
    auto s = make_penalties(64, 1.0f, 0.5f, 1.0f);
    for (TokenId id : {2, 2, 2, 0}) s->accept(id);
    const auto c = run_one(*s, {1.0f, 1.0f, 1.0f});
    EXPECT_FLOAT_EQ(c.items[0].logit, 1.0f - 0.5f * 1 - 1.0f);  // -0.5
    EXPECT_FLOAT_EQ(c.items[1].logit, 1.0f);
    EXPECT_FLOAT_EQ(c.items[2].logit, 1.0f - 0.5f * 3 - 1.0f);  // -1.5
}

TEST(Penalties, OnlyTheLastNTokensCount) {
    auto s = make_penalties(2, 2.0f, 0.0f, 0.0f);
    for (TokenId id : {0, 1, 2}) s->accept(id);  // 0 slid out of the window
    const auto c = run_one(*s, {4.0f, 4.0f, 4.0f});
    EXPECT_FLOAT_EQ(c.items[0].logit, 4.0f);
    EXPECT_FLOAT_EQ(c.items[1].logit, 2.0f);
    EXPECT_FLOAT_EQ(c.items[2].logit, 2.0f);
}

TEST(Penalties, PromptTokensCountAndResetForgets) {
    auto s = make_penalties(8, 2.0f, 0.0f, 0.0f);
    s->observe_prompt(1);
    EXPECT_FLOAT_EQ(run_one(*s, {4.0f, 4.0f}).items[1].logit, 2.0f);
    s->reset();
    EXPECT_FLOAT_EQ(run_one(*s, {4.0f, 4.0f}).items[1].logit, 4.0f);
}

TEST(Greedy, PicksTheHighestLogitAndTheLowestIdOnTies) {
    EXPECT_EQ(run_one(*make_greedy(), {0.1f, 3.0f, -2.0f, 2.9f}).selected, 1);
    EXPECT_EQ(run_one(*make_greedy(), {1.0f, 5.0f, 5.0f}).selected, 1);
}

TEST(Dist, SameSeedGivesTheSameDraws) {
    const std::vector<float> logits = {0.0f, 0.5f, 1.0f, 0.2f, -0.3f};
    auto draw = [&](uint64_t seed) {
        auto s = make_dist(seed);
        std::vector<TokenId> out;
        for (int i = 0; i < 200; ++i) out.push_back(run_one(*s, logits).selected);
        return out;
    };
    EXPECT_EQ(draw(7), draw(7));
    EXPECT_NE(draw(7), draw(8));
}

TEST(Dist, ResetReplaysTheSameSequence) {
    const std::vector<float> logits = {0.0f, 0.5f, 1.0f};
    auto s = make_dist(3);
    std::vector<TokenId> a, b;
    for (int i = 0; i < 50; ++i) a.push_back(run_one(*s, logits).selected);
    s->reset();
    for (int i = 0; i < 50; ++i) b.push_back(run_one(*s, logits).selected);
    EXPECT_EQ(a, b);
}

TEST(Dist, DrawFrequenciesMatchTheSoftmax) {
    // Pearson chi-square over 20000 draws, 3 degrees of freedom: the 0.001 critical value is
    // 16.27, so a correct sampler fails this with probability 1/1000 per seed (and the seed
    // is fixed, so the result is reproducible).
    const std::vector<double> probs = {0.5, 0.25, 0.15, 0.1};
    const auto logits = logits_for(probs);
    auto s = make_dist(12345);
    const int n = 20000;
    std::array<int, 4> seen{};
    for (int i = 0; i < n; ++i) ++seen[static_cast<size_t>(run_one(*s, logits).selected)];
    double chi2 = 0.0;
    for (size_t i = 0; i < probs.size(); ++i) {
        const double expected = probs[i] * n;
        chi2 += (seen[i] - expected) * (seen[i] - expected) / expected;
    }
    EXPECT_LT(chi2, 16.27) << seen[0] << " " << seen[1] << " " << seen[2] << " " << seen[3];
}

TEST(Dist, AWholeVocabularyDrawsAsIfFullySorted) {
    // The unsorted path bins candidates by logit and sorts only the bin the draw falls in; it
    // must pick what a walk over the fully sorted set picks, for flat and peaked vocabularies
    // (draws deep in the order and in its head), all-equal logits (one bin), ties and ruled-out ids.
    const float ninf = -std::numeric_limits<float>::infinity();
    for (const float spread : {0.0f, 0.05f, 1.0f, 6.0f}) {
        std::vector<float> logits(5000);
        uint64_t x = 88172645463325252ull;
        for (size_t i = 0; i < logits.size(); ++i) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            logits[i] = spread * static_cast<float>(static_cast<double>(x % 1000) / 100.0);
        }
        logits[17] = ninf;
        logits[4000] = ninf;
        auto lazy = make_dist(42), full = make_dist(42);
        int deep = 0;
        for (int i = 0; i < 300; ++i) {
            const TokenId a = run_one(*lazy, logits).selected;
            CandidateSet sorted;
            sorted.reset(logits);
            sorted.sort();
            full->apply(sorted);
            ASSERT_EQ(a, sorted.selected) << "spread " << spread << ", draw " << i;
            for (size_t k = 64; k < sorted.items.size(); ++k) {
                if (sorted.items[k].id == a) ++deep;
            }
            EXPECT_NE(a, 17);
            EXPECT_NE(a, 4000);
        }
        if (spread < 0.1f) {
            EXPECT_GT(deep, 100) << "the flat case should walk past the first chunk";
        }
    }
}

TEST(Dist, MatchesAnExactWalkDeepInTheTail) {
    // The draw against the inverse CDF computed in long double from the same exp values the
    // sampler uses (core::exp_sub_sum; the integer masses drop only sub-2^-40 parts): a spread
    // 32k vocabulary, so draws land all along the order, in buckets of every size. Draws within
    // 1e-12 of a boundary are skipped, as the fixed point legitimately differs there. (The
    // earlier float-p-in-double walk drifted by ~1e-9 and, once in ~15,000 draws of a 32k row,
    // picked a neighbour of the exact token; this seed's 3,000 draws do not happen to hit one.)
    std::vector<float> logits(32000);
    uint64_t x = 88172645463325252ull;
    for (float& l : logits) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        l = 2.5f * static_cast<float>(static_cast<double>(x % 100000) / 100000.0 * 6.0 - 3.0);
    }
    std::vector<float> e(logits);
    const float mx = *std::max_element(logits.begin(), logits.end());
    core::exp_sub_sum(e.data(), static_cast<int64_t>(e.size()), mx);
    std::vector<size_t> order(logits.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
    });
    long double total = 0;
    for (float v : e) total += static_cast<long double>(v);
    auto s = make_dist(99);
    core::Rng rng(99);  // the sampler's own generator, replayed: one uniform per draw
    int checked = 0;
    for (int i = 0; i < 3000; ++i) {
        const TokenId got = run_one(*s, logits).selected;
        const long double u = static_cast<long double>(rng.uniform());
        long double cum = 0;
        TokenId want = -1;
        long double margin = 1;
        for (size_t k : order) {
            const long double next = cum + static_cast<long double>(e[k]) / total;
            if (u < next) {
                want = static_cast<TokenId>(k);
                margin = std::min(u - cum, next - u);
                break;
            }
            cum = next;
        }
        if (margin < 1e-12L) continue;
        ++checked;
        ASSERT_EQ(got, want) << "draw " << i << ", u " << static_cast<double>(u);
    }
    EXPECT_GT(checked, 2990);
}

TEST(SamplerChain, AWholeRowDrawsAsTheSamplersDoOverACandidateSet) {
    // A chain of only [temperature ->] dist reads the logits row directly (samplers/whole_row.h);
    // it must pick what the same samplers pick over a CandidateSet, draw after draw, at several
    // temperatures, with ruled-out ids and with all ids ruled out but two.
    const float ninf = -std::numeric_limits<float>::infinity();
    std::vector<float> row(3000);
    uint64_t x = 2463534242ull;
    for (float& l : row) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        l = static_cast<float>(static_cast<double>(x % 4000) / 500.0);
    }
    row[5] = ninf;
    row[2999] = ninf;
    std::vector<float> two(40, ninf);
    two[7] = 0.5f;
    two[30] = 0.5f;
    for (const float t : {1.0f, 0.8f, 1.7f}) {
        for (const auto* logits : {&row, &two}) {
            auto chain = make_sampler_chain({.temperature = t, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 21});
            ASSERT_EQ(chain.describe(), t == 1.0f ? "dist" : "temperature -> dist");
            auto temp = make_temperature(t);
            auto dist = make_dist(21);
            for (int i = 0; i < 200; ++i) {
                const TokenId fast = chain.sample(*logits);
                CandidateSet c;
                c.reset(*logits);
                if (t != 1.0f) temp->apply(c);
                dist->apply(c);
                ASSERT_EQ(fast, c.selected) << "temperature " << t << ", draw " << i;
                EXPECT_EQ(chain.candidates().selected, fast);
                EXPECT_NE(fast, 5);
                EXPECT_NE(fast, 2999);
            }
        }
    }
}

TEST(Dist, ThePeakIsFoundWhereverItSits) {
    // The dist sampler takes a row's largest and smallest logits in eight interleaved lanes and a
    // tail: a peak 60 nats above the rest (every other candidate weighs 0 against it) must be
    // drawn every time, at every position of rows of 1 to 19 candidates, whole row or set, with
    // a NaN and a -inf among the others.
    const float ninf = -std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (size_t n = 1; n <= 19; ++n) {
        for (size_t peak = 0; peak < n; ++peak) {
            std::vector<float> logits(n);
            for (size_t i = 0; i < n; ++i) logits[i] = -static_cast<float>(i % 5);
            if (n > 2) logits[(peak + 1) % n] = nan;
            if (n > 3) logits[(peak + 2) % n] = ninf;
            logits[peak] = 60.0f;
            auto chain = make_sampler_chain({.temperature = 0.9f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 5});
            auto s = make_dist(5);
            for (int draw = 0; draw < 4; ++draw) {
                ASSERT_EQ(chain.sample(logits), static_cast<TokenId>(peak)) << n << " candidates";
                ASSERT_EQ(run_one(*s, logits).selected, static_cast<TokenId>(peak)) << n << " candidates";
            }
        }
    }
}

TEST(Dist, ANaNLogitIsNeverDrawnAndLeavesTheRestIntact) {
    // A broken model's NaN must weigh nothing (its fixed-point conversion would be undefined
    // and could swamp the total): the draws stay on the two real candidates, whole row or set.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> logits = {nan, 0.0f, nan, 0.0f, nan};
    auto chain = make_sampler_chain({.temperature = 0.7f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 4});
    auto s = make_dist(4);
    std::array<int, 5> seen{};
    for (int i = 0; i < 400; ++i) {
        ++seen[static_cast<size_t>(chain.sample(logits))];
        ++seen[static_cast<size_t>(run_one(*s, logits).selected)];
    }
    EXPECT_EQ(seen[0] + seen[2] + seen[4], 0);
    EXPECT_GT(seen[1], 200);
    EXPECT_GT(seen[3], 200);
}

TEST(Dist, NeverPicksARuledOutCandidate) {
    const float ninf = -std::numeric_limits<float>::infinity();
    auto s = make_dist(1);
    for (int i = 0; i < 500; ++i) {
        const TokenId id = run_one(*s, {ninf, 0.0f, ninf, 0.0f}).selected;
        EXPECT_TRUE(id == 1 || id == 3) << id;
    }
}

TEST(SamplerChain, StandardOrderAndGreedyAtTemperatureZero) {
    EXPECT_EQ(make_sampler_chain({}).describe(), "top-k -> top-p -> min-p -> temperature -> dist");
    EXPECT_EQ(make_sampler_chain({.temperature = 0.0f, .repeat_penalty = 1.3f}).describe(),
              "penalties -> greedy");
    EXPECT_EQ(make_sampler_chain({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f})
                  .describe(),
              "dist");
}

TEST(SamplerChain, GreedyChainPicksArgmaxAfterPenalties) {
    auto chain = make_sampler_chain({.temperature = 0.0f, .repeat_penalty = 4.0f});
    const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
    EXPECT_EQ(chain.sample(logits), 1);
    chain.accept(1);  // 3 / 4 = 0.75 < 2
    EXPECT_EQ(chain.sample(logits), 2);
}

TEST(SamplerChain, TopKOneIsGreedyWhateverTheSeed) {
    const std::vector<float> logits = {0.3f, 0.1f, 0.9f, 0.8f};
    for (uint64_t seed = 0; seed < 20; ++seed) {
        auto chain = make_sampler_chain({.top_k = 1, .seed = seed});
        EXPECT_EQ(chain.sample(logits), 2);
    }
}

TEST(SamplerChain, RejectsOutOfRangeOptions) {
    auto kind_of = [](const SamplerOptions& o) {
        try {
            (void)make_sampler_chain(o);
        } catch (const Error& e) {
            return e.kind();
        }
        return ErrorKind::Io;  // "did not throw"
    };
    EXPECT_EQ(kind_of({.temperature = -1.0f}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of({.top_k = -2}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of({.top_p = 0.0f}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of({.top_p = 1.5f}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of({.min_p = -0.1f}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of({.repeat_penalty = 0.0f}), ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of({.repeat_last_n = -5}), ErrorKind::InvalidArgument);
}

TEST(LogitBias, AddsToTheNamedTokensFirstInTheChain) {
    auto bias = make_logit_bias({{2, -100.0f}, {0, 1.5f}});
    const CandidateSet c = run_one(*bias, {1.0f, 3.0f, 2.0f, 0.5f});
    EXPECT_EQ(ids_of(c), (std::vector<TokenId>{0, 1, 2, 3}));
    EXPECT_FLOAT_EQ(c.items[0].logit, 2.5f);
    EXPECT_FLOAT_EQ(c.items[1].logit, 3.0f);
    EXPECT_FLOAT_EQ(c.items[2].logit, -98.0f);
    EXPECT_FLOAT_EQ(c.items[3].logit, 0.5f);
    // A set in another order (sorted) finds the ids by scanning.
    CandidateSet sorted;
    const std::vector<float> row = {1.0f, 3.0f, 2.0f, 0.5f};
    sorted.reset(row);
    sorted.sort();
    bias->apply(sorted);
    for (const auto& x : sorted.items) EXPECT_EQ(x.logit, c.items[static_cast<size_t>(x.id)].logit) << x.id;
    EXPECT_FALSE(sorted.sorted);

    // In the chain it comes before the penalties and the pick, and leaves the whole-row shortcut.
    auto chain = make_sampler_chain({.temperature = 0.0f, .repeat_penalty = 1.3f,
                                     .logit_bias = {{1, -100.0f}}});
    EXPECT_EQ(chain.describe(), "logit-bias -> penalties -> greedy");
    EXPECT_EQ(chain.sample(std::vector<float>{1.0f, 3.0f, 2.0f}), 2);  // the argmax 1 is banned
    auto forced = make_sampler_chain({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                                      .logit_bias = {{0, 100.0f}}});
    EXPECT_EQ(forced.describe(), "logit-bias -> dist");
    for (int i = 0; i < 20; ++i) EXPECT_EQ(forced.sample(std::vector<float>{1.0f, 3.0f, 2.0f}), 0);
}

TEST(LogitBias, RejectsRepeatedNegativeAndNonFiniteEntries) {
    const auto message_of = [](const SamplerOptions& o) -> std::string {
        try {
            (void)make_sampler_chain(o);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            return e.what();
        }
        return "did not throw";
    };
    EXPECT_NE(message_of({.logit_bias = {{3, 1.0f}, {3, 2.0f}}}).find("token 3 is given twice"), std::string::npos);
    EXPECT_NE(message_of({.logit_bias = {{-1, 1.0f}}}).find("negative"), std::string::npos);
    EXPECT_NE(message_of({.logit_bias = {{1, std::numeric_limits<float>::infinity()}}}).find("finite"),
              std::string::npos);
}

// A constraint that bans one token and records what it was told.
class BanConstraint final : public Constraint {
public:
    explicit BanConstraint(TokenId banned) : banned_(banned) {}
    void apply(CandidateSet& c) override {
        for (auto& x : c.items) {
            if (x.id == banned_) x.logit = -std::numeric_limits<float>::infinity();
        }
    }
    void accept(TokenId id) override { accepted.push_back(id); }
    void reset() override { accepted.clear(); }
    std::vector<TokenId> accepted;

private:
    TokenId banned_;
};

TEST(SamplerChain, ConstraintMasksBeforeThePickAndSeesAcceptedTokensOnly) {
    BanConstraint ban(2);
    auto chain = make_sampler_chain({.temperature = 0.0f, .constraint = &ban});
    EXPECT_EQ(chain.describe(), "constraint -> greedy");
    const std::vector<TokenId> prompt = {2, 2};
    chain.observe_prompt(prompt);
    const TokenId id = chain.sample(std::vector<float>{0.0f, 1.0f, 9.0f});
    EXPECT_EQ(id, 1);
    chain.accept(id);
    EXPECT_EQ(ban.accepted, (std::vector<TokenId>{1}));
    chain.reset();
    EXPECT_TRUE(ban.accepted.empty());
}

}  // namespace
}  // namespace lyra::gen
