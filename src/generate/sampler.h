// Sampler chain (llama.cpp style): each Sampler narrows or reshapes a CandidateSet built from
// one row of logits, and the last one picks a token. A chain is owned by one generation stream
// and is not thread-safe; the random draw uses a core::Rng the chain owns, seeded from
// recorded inputs, so the same logits and seed always give the same token.
// Samplers never throw and, after the first call, never allocate (CandidateSet reuses capacity).
// Bad option values (top_p outside [0,1], ...) are rejected by make_sampler_chain with Error.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::gen {

using model::TokenId;

struct Candidate {
    TokenId id;
    float logit;  // after penalties / temperature; -inf = ruled out
    float p;      // probability; valid only when CandidateSet::has_probs
};

// The order CandidateSet::sort() gives: descending logit, ties by lower id (deterministic).
inline bool logit_order(const Candidate& a, const Candidate& b) {
    if (a.logit != b.logit) return a.logit > b.logit;
    return a.id < b.id;
}

// The candidates still in play for the next token. Samplers shrink `items` (keeping a prefix
// once sorted) or rewrite logits; `selected` is set by the final pick.
struct CandidateSet {
    std::vector<Candidate> items;
    bool sorted = false;     // items are in descending logit order
    bool has_probs = false;  // p holds softmax(logit) over items
    TokenId selected = -1;

    // Rebuilds the set from a full row of logits: one candidate per vocabulary id.
    void reset(std::span<const float> logits);
    // Sorts by descending logit (stable on ties: lower id first).
    void sort();
    // Sorts and fills p with the softmax of the logits (max-subtracted, summed in double).
    void softmax();
    // The same probabilities without sorting.
    void softmax_unsorted();

    std::vector<float> probs_scratch;  // softmax_unsorted's contiguous row (reused capacity)
};

class Sampler {
public:
    virtual ~Sampler() = default;
    virtual const char* name() const = 0;
    virtual void apply(CandidateSet& c) = 0;
    // Called with the token the chain finally picked.
    virtual void accept(TokenId) {}
    // Called with each prompt token before generation (penalties count them; a constraint
    // does not, since it governs only the generated text).
    virtual void observe_prompt(TokenId) {}
    virtual void reset() {}
    // Optional: builds `c` from the logits row and does this sampler's apply in the same pass, as
    // c.reset(logits) followed by apply(c) would leave it. The chain offers it to its first
    // sampler only; false (the default) = not done, c untouched.
    virtual bool build(CandidateSet& /*c*/, std::span<const float> /*logits*/) { return false; }
};

// A token mask as bit rows over the vocabulary (bit i & 63 of word i >> 6 = token i): `allow`,
// and `ask` (null = none) for tokens a callback decides, which wins over `allow`. The rows must
// stay valid until the chain has applied them (Constraint::row_masked).
struct RowMask {
    const uint64_t* allow = nullptr;
    const uint64_t* ask = nullptr;
    uint32_t n_tokens = 0;  // tokens with an id >= n_tokens are ruled out
};

// Constraint hook (grammar, regex, JSON schema, poetic form): a constraint rules candidates out
// by setting their logit to -inf and follows the accepted tokens. generate/constraint/
// (GrammarConstraint: GBNF, regex, JSON schema) implements it. The chain calls it after the
// penalties and before any truncation.
class Constraint {
public:
    virtual ~Constraint() = default;
    virtual void apply(CandidateSet& c) = 0;
    virtual void accept(TokenId id) = 0;
    virtual void reset() {}  // back to the start state (before each candidate)

    // Optional fast path (issue #4): the mask for the next token as bit rows, which the chain
    // applies while it builds the candidates from the logits row (constraint/token_mask.h,
    // reset_with_token_mask) instead of a pass over the 12-byte candidate records afterwards (at a
    // 150k vocabulary that pass was ~60 us a mask, half of a new syllable mask). The contract: for
    // any logits, c.reset(logits) then apply(c) leaves the same set, bit for bit, and the same
    // constraint state as row_mask(m), the set built under m (asking decide() about each live
    // asked token, in id order), then row_masked(c, any). Returns false where it has no rows for
    // this state (the chain then calls apply on a plainly built set).
    virtual bool row_mask(RowMask& /*out*/) { return false; }
    virtual bool decide(TokenId /*id*/) { return false; }
    // Called after the set was built under row_mask's rows; `any`: some candidate is still live.
    virtual void row_masked(CandidateSet& /*c*/, bool /*any*/) {}
};

// --- the samplers -------------------------------------------------------------------------
// OpenAI's logit_bias: `bias` is added to token `id`'s logit before anything else looks at the
// row (-100 all but bans the token, +100 all but forces it; a constraint still rules out what its
// grammar does not allow). Ids are unique; make_sampler_chain checks them.
struct LogitBias {
    TokenId id;
    float bias;
};
std::unique_ptr<Sampler> make_logit_bias(std::vector<LogitBias> biases);
// Repetition (CTRL-style: a positive logit is divided by `repeat`, a negative one multiplied),
// then OpenAI-style frequency and presence penalties: logit -= count*frequency + (count>0)*presence,
// over the last `last_n` accepted tokens (0 = none, -1 = all seen).
std::unique_ptr<Sampler> make_penalties(int last_n, float repeat, float frequency, float presence);
std::unique_ptr<Sampler> make_constraint(Constraint* constraint);  // not owned; may be null
std::unique_ptr<Sampler> make_top_k(int k);          // keep the k highest; k <= 0 keeps all
std::unique_ptr<Sampler> make_top_p(float p);        // smallest prefix with mass >= p; 1 keeps all
std::unique_ptr<Sampler> make_min_p(float p);        // keep prob >= p * max prob; 0 keeps all
std::unique_ptr<Sampler> make_temperature(float t);  // logits /= t; t must be > 0
std::unique_ptr<Sampler> make_greedy();              // pick the highest logit (lowest id on ties)
std::unique_ptr<Sampler> make_dist(uint64_t seed);   // draw from softmax(logits) with core::Rng

class SamplerChain {
public:
    void add(std::unique_ptr<Sampler> s) { samplers_.push_back(std::move(s)); }
    // Runs every sampler on the logits row and returns the picked token. Does not accept it.
    TokenId sample(std::span<const float> logits);
    void accept(TokenId id);
    void observe_prompt(std::span<const TokenId> ids);
    void reset();
    const CandidateSet& candidates() const { return cur_; }  // as left by the last sample()
    std::string describe() const;  // "penalties -> top-k -> ... -> dist"
    size_t size() const { return samplers_.size(); }

private:
    std::vector<std::unique_ptr<Sampler>> samplers_;
    CandidateSet cur_;
};

struct SamplerOptions {
    float temperature = 0.8f;      // 0 = greedy (the truncation samplers are then skipped)
    int top_k = 40;                // 0 = off
    float top_p = 0.95f;           // 1 = off
    float min_p = 0.05f;           // 0 = off
    float repeat_penalty = 1.0f;   // 1 = off
    int repeat_last_n = 64;        // window for all penalties; 0 = off, -1 = whole history
    float frequency_penalty = 0;   // 0 = off
    float presence_penalty = 0;    // 0 = off
    uint64_t seed = 0;
    Constraint* constraint = nullptr;  // not owned
    std::vector<LogitBias> logit_bias = {};  // empty = off
};

// The standard chain, in llama.cpp's order: [logit bias ->] penalties -> constraint -> top-k -> top-p -> min-p
// -> temperature -> dist, or penalties -> constraint -> greedy when temperature == 0.
// (Truncation before temperature: top-p/min-p measure the model's own distribution, and the
// temperature then only reshapes what survives.)
// Throws Error(InvalidArgument) for values outside their ranges.
SamplerChain make_sampler_chain(const SamplerOptions& o);

}  // namespace lyra::gen
