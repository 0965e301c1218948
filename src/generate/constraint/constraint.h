// Constrained decoding (issue #4): GrammarConstraint plugs a compiled grammar into the sampler
// chain (gen::Constraint): before each pick it rules out every token whose bytes the grammar
// cannot take, and end-of-generation tokens unless the grammar may end. Masks come from a walk
// of the vocabulary trie against the matcher's state, cached per state (under a token budget, per
// state and level of the bytes left: constraint.cpp). With a token budget it
// also steers the text to finish within it, so output under a budget is always complete.
// One constraint per generation stream (not thread-safe); a TokenTrie may be shared.
// Constructors throw nothing beyond the grammar compile errors of the helpers below; apply and
// accept never throw: a dead end (no token allowed) is reported through status().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "generate/constraint/grammar.h"
#include "generate/constraint/matcher.h"
#include "generate/sampler.h"

namespace lyra::gen::constraint {

struct GrammarOptions {
    int max_tokens = 0;      // token budget of the run (0 = none): tokens are then allowed only
                             // if the grammar can still end in the tokens left, counted as bytes
                             // (a guarantee when every byte is a token, as in byte/char
                             // vocabularies). When no token passes that test, the tokens that
                             // bring the end closest are allowed (multi-byte tokens may still
                             // finish in time).
    std::string trigger = {};  // "" = the grammar governs from the first token; otherwise text is
                             // free until `trigger` has been generated, and the grammar governs
                             // what follows it
    bool release_at_end = false;  // once the grammar has matched and cannot continue, text is
                                  // free again (false: only an end-of-generation token is allowed)
};

enum class ConstraintStatus {
    Waiting,   // the trigger has not appeared yet
    Active,    // the grammar governs the next token
    Complete,  // the grammar matched (an end-of-generation token was taken, or it was released)
    DeadEnd,   // no token could continue the grammar; only end-of-generation was allowed
};
const char* constraint_status_name(ConstraintStatus s);

struct MaskStats {
    int64_t n_masks = 0;        // apply() calls while active
    int64_t n_cache_hits = 0;   // masks served from the cache (per state, or state and budget level)
    int64_t n_walks = 0;        // trie walks (cache misses, of full and budget-limited masks)
    int64_t t_mask_us = 0;      // total time in apply()
};

class GrammarConstraint final : public Constraint {
public:
    GrammarConstraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie,
                      GrammarOptions opt = {});

    void apply(CandidateSet& c) override;
    void accept(TokenId id) override;
    void reset() override;
    // The chain's fast path (sampler.h): while active, apply()'s mask as a bit row (no token is
    // asked); waiting, complete or at a dead end, none (apply's per-candidate paths).
    bool row_mask(RowMask& out) override;
    void row_masked(CandidateSet& c, bool any) override;

    ConstraintStatus status() const { return status_; }
    // The grammar may end after the text accepted so far.
    bool is_accepting() const;
    // Bytes the grammar has matched (after the trigger).
    const std::string& matched() const { return matched_; }
    const MaskStats& stats() const { return stats_; }
    // The tokens allowed now, in id order (for tests and tools), by a fresh trie walk: the same
    // set apply() leaves, which reads kept masks.
    std::vector<TokenId> allowed_tokens();

private:
    struct Mask {
        std::vector<uint64_t> bits;
        uint32_t max_min_bytes = 0;  // the largest min_bytes_to_end after an allowed token
        uint32_t best_min_bytes = UINT32_MAX;  // the smallest after any token, allowed or not
        bool any = false;
        // The distinct min_bytes_to_end after the allowed tokens, ascending. A mask under a byte
        // limit L holds the tokens whose value is <= L, so every L between two of these gives the
        // same mask: the budget-limited masks are kept per (state, the largest value <= L).
        std::vector<uint32_t> levels;
    };
    // The mask of state s under a byte limit (UINT32_MAX: none, the state's full mask), kept per
    // (state, limit).
    const Mask& kept_mask(StateId s, uint32_t byte_limit);
    // The mask of state s under a byte limit below its full mask's max_min_bytes, kept per level.
    const Mask& limited_mask_for(StateId s, const Mask& full, uint32_t byte_limit);
    void build_mask(StateId s, uint32_t byte_limit, Mask& out);
    // The active state's mask (under the budget, with the end-of-generation tokens where the
    // grammar may end): a row of n_vocab bits.
    const uint64_t* active_mask();
    int budget_left() const;  // tokens left including the next one; INT32_MAX without a budget
    void feed(std::string_view bytes);
    void apply_waiting(CandidateSet& c);

    std::shared_ptr<const Grammar> grammar_;
    std::shared_ptr<const TokenTrie> trie_;
    GrammarOptions opt_;
    GrammarMatcher matcher_;
    StateId state_ = kDead;
    ConstraintStatus status_ = ConstraintStatus::Active;
    int n_accepted_ = 0;
    std::string matched_;
    std::string tail_;  // while waiting: the last bytes generated, to find the trigger
    std::unordered_map<uint64_t, Mask> cache_;  // key: state << 32 | byte limit
    Mask empty_mask_;  // no token: a budget no token fits where the grammar may end here
    std::vector<StateId> walk_stack_;
    std::vector<TokenId> trigger_tokens_;  // tokens that contain the trigger's last byte
    std::vector<TokenId> eog_ids_;         // the end-of-generation tokens
    std::vector<uint64_t> allow_;          // apply's scratch row: a mask plus eog_ids_
    MaskStats stats_;
};

// Builds a GrammarConstraint from GBNF text (throws the compile errors of compile_gbnf).
std::unique_ptr<GrammarConstraint> make_grammar_constraint(std::string_view gbnf,
                                                           std::shared_ptr<const TokenTrie> trie,
                                                           GrammarOptions opt = {},
                                                           std::string_view source_name = "<string>");

// --- other front ends: each gives GBNF text for compile_gbnf ---------------------------------

// A regular expression (the subset in docs/formats/gbnf.md: literals, escapes, classes with
// \d \w \s, ., groups (?:...), |, * + ? {m} {m,} {m,n}; ^ and $ only at the ends, where they
// change nothing since the whole output must match). Throws Error(InvalidArgument) with the
// column of the problem ("regex: column 4: ...").
std::string regex_to_gbnf(std::string_view regex);

// The GBNF of `regex` as the body of a rule named `rule`, plus any helper rules, as lines. With
// json_string, characters are restricted to what may appear unescaped inside a JSON string.
std::string regex_to_gbnf_rule(std::string_view regex, const std::string& rule, bool json_string);

// A JSON schema (subset: see docs/formats/gbnf.md) as GBNF. Throws Error(InvalidArgument) or
// Error(Unsupported) naming the schema path ("json schema: at /properties/age: ...").
std::string json_schema_to_gbnf(std::string_view schema_json);

}  // namespace lyra::gen::constraint
