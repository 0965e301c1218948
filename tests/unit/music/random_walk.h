// Shared by the TuneConstraint tests: a walk that samples uniformly among the tokens the
// constraint allows, so every path the mask leaves open gets tried across seeds.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "art/music/tune_constraint.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::art::music::testing {

// Samples until the constraint lets only end-of-generation through; "<dead end>" when it
// refuses everything, the text plus "<unfinished>" after `max_steps`.
inline std::string random_walk(TuneConstraint& c, const model::Tokenizer& tok, uint32_t seed, int max_steps) {
    std::mt19937 rng(seed);
    c.reset();
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()), 0.0f);
    for (int step = 0; step < max_steps; ++step) {
        gen::CandidateSet cs;
        cs.reset(logits);
        c.apply(cs);
        std::vector<gen::TokenId> ok;
        for (const auto& cand : cs.items) {
            if (cand.logit > -1e30f) ok.push_back(cand.id);
        }
        if (ok.empty()) return "<dead end>";
        gen::TokenId id = ok[rng() % ok.size()];
        if (tok.is_eog(id)) return c.text();
        c.accept(id);
    }
    return c.text() + "<unfinished>";
}

}  // namespace lyra::art::music::testing
