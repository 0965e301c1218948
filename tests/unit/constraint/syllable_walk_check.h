// Checks the syllable unit's precomputed mask against its definition, the byte-by-byte walk
// (FormConstraint::fits_by_walk), over a whole vocabulary at every state of random walks through
// the form: after each mask, every token the mask allows must fit by the walk and every token it
// rules out must not. The walks pick among allowed tokens with a bias to letters, so states
// inside long words (on and off the dictionary's trie), between words, at line ends and in a
// closed, finished text all come up. Each walk is taken twice: the second time its masks come
// from what the constraint kept the first time (masks kept per state), so those are checked too.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <limits>
#include <string>
#include <vector>

#include "core/rng.h"
#include "generate/constraint/form.h"

namespace lyra::gen::constraint::testing {

struct WalkCheckCounts {
    int states = 0;        // masks compared
    int mid_word = 0;      // of them, with the text ending in a letter
    int64_t allowed = 0;   // tokens allowed, summed over states
    int mismatches = 0;
};

inline WalkCheckCounts check_against_walk(FormConstraint& form, const model::Tokenizer& tok, int walks, int max_steps,
                                          uint64_t seed) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    WalkCheckCounts n;
    core::Rng rng(seed);
    core::Rng replay = rng;
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()), 0.0f);
    CandidateSet cs;
    for (int w = 0; w < 2 * walks; ++w) {
        // Odd walks repeat the one before (the same picks from the same generator state).
        if (w % 2 == 0) replay = rng;
        else rng = replay;
        form.reset();
        for (int step = 0; step < max_steps; ++step) {
            cs.reset(logits);
            form.apply(cs);
            const bool dead = form.status() == ConstraintStatus::DeadEnd;
            ++n.states;
            const std::string& text = form.text();
            if (!text.empty() && std::isalpha(static_cast<unsigned char>(text.back()))) ++n.mid_word;
            std::vector<model::TokenId> letters, others;
            for (const auto& c : cs.items) {
                const bool by_mask = !dead && c.logit != kNegInf;
                const bool by_walk = form.fits_by_walk(c.id);
                if (by_mask != by_walk) {
                    if (++n.mismatches <= 10)
                        ADD_FAILURE() << "token '" << tok.token_to_bytes(c.id) << "' after '" << text << "': mask "
                                      << by_mask << ", walk " << by_walk;
                }
                if (!by_mask) continue;
                ++n.allowed;
                const std::string b = tok.token_to_bytes(c.id);
                (!b.empty() && std::isalpha(static_cast<unsigned char>(b[0])) ? letters : others).push_back(c.id);
            }
            if (dead || (letters.empty() && others.empty())) break;
            // Mostly letters (long words, off the trie), sometimes anything allowed.
            const auto& pool = !letters.empty() && (others.empty() || rng.uniform() < 0.7f) ? letters : others;
            const model::TokenId next = pool[static_cast<size_t>(rng.uniform() * static_cast<float>(pool.size())) % pool.size()];
            if (tok.is_eog(next)) break;
            form.accept(next);
        }
    }
    return n;
}

}  // namespace lyra::gen::constraint::testing
