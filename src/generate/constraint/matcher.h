// Incremental matching of a compiled Grammar over UTF-8 bytes, and the vocabulary trie the token
// masks are computed from. The matcher is a pushdown automaton (a set of stacks of grammar
// positions) whose stack sets are interned, so it behaves as a lazily built DFA: each
// (state, byte) transition is computed once and then costs one table lookup. Not thread-safe
// (the caches grow as it runs); one matcher per generation stream. Never throws after
// construction; an impossible byte gives kDead.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "generate/constraint/grammar.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::gen::constraint {

using StateId = int32_t;
constexpr StateId kDead = -1;

class GrammarMatcher {
public:
    explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

    const Grammar& grammar() const { return *g_; }
    StateId start() const { return start_; }
    // The state after one more byte, or kDead if the grammar cannot take it.
    StateId next(StateId s, uint8_t byte) {
        const int32_t t = trans_[static_cast<size_t>(s) * 256 + byte];
        return t != kUnknown ? t : compute(s, byte);
    }
    StateId next(StateId s, std::string_view bytes);
    // The grammar may end here (one stack is empty and no character is half read).
    bool is_accepting(StateId s) const { return states_[static_cast<size_t>(s)].accepting; }
    // Some stack still expects input.
    bool can_continue(StateId s) const { return states_[static_cast<size_t>(s)].can_continue; }
    // Fewest bytes that take the grammar from s to an end (0 when accepting).
    uint32_t min_bytes_to_end(StateId s) const { return states_[static_cast<size_t>(s)].min_bytes; }
    size_t n_states() const { return states_.size(); }

    // Forgets every cached state and transition except s, which is returned under its new id.
    // Callers that cache per-state data must drop it. Used when the caches pass a size limit.
    StateId compact(StateId s);

private:
    static constexpr int32_t kUnknown = -2;
    struct Node {
        uint32_t pos;       // position in grammar().elems
        int32_t parent;     // the frame to return to, -1 = none
        uint32_t min_bytes;  // shortest completion of this frame and all below
    };
    struct State {
        int32_t set;        // interned stack set (sorted node ids; -1 = an empty stack)
        uint32_t cp;        // bits of a half-read UTF-8 character
        uint8_t need;       // its continuation bytes still to come (0 = none)
        uint8_t len;        // its total length
        bool accepting;
        bool can_continue;
        uint32_t min_bytes;
    };
    struct VecHash {
        size_t operator()(const std::vector<int32_t>& v) const;
    };

    StateId compute(StateId s, uint8_t byte);
    StateId advance(int32_t set, uint32_t cp);
    void expand(uint32_t pos, int32_t parent, std::vector<int32_t>& out);
    int32_t intern_node(uint32_t pos, int32_t parent);
    int32_t intern_set(std::vector<int32_t>& nodes);
    StateId intern_state(int32_t set, uint32_t cp, uint8_t need, uint8_t len);
    void reset_caches();

    std::shared_ptr<const Grammar> g_;
    std::vector<Node> nodes_;
    std::unordered_map<uint64_t, int32_t> node_ids_;
    std::vector<std::vector<int32_t>> sets_;
    std::unordered_map<std::vector<int32_t>, int32_t, VecHash> set_ids_;
    std::vector<State> states_;
    std::unordered_map<uint64_t, StateId> state_ids_;
    std::vector<int32_t> trans_;  // [state][256]
    std::vector<int32_t> scratch_;
    // The (pos, parent) pairs the expansion in progress has entered: each pair's stacks are
    // pushed once. Without it, nested optional groups (a regex's (a||){0,80}) reach the same pair
    // along exponentially many paths.
    std::unordered_set<uint64_t> expanded_;
    // expand()'s pairs still to enter: a stack of its own, not the call stack, which nested
    // repetitions of optional groups ((a|){5,80} inside (...){5,80}) overflowed.
    std::vector<std::pair<uint32_t, int32_t>> expand_todo_;
    StateId start_ = kDead;
};

// Every token's bytes in one byte trie, stored in preorder with skip links so a walk that
// rejects a byte jumps over the whole subtree. Control tokens and tokens without bytes are left
// out (end-of-generation tokens are listed apart). Immutable; share it between constraints.
class TokenTrie {
public:
    explicit TokenTrie(const model::Tokenizer& tok);

    int32_t n_vocab() const { return n_vocab_; }
    size_t n_nodes() const { return byte_.size(); }
    size_t max_depth() const { return max_depth_; }
    const std::vector<model::TokenId>& eog_tokens() const { return eog_; }
    // Every byte 0..255 is a token by itself: then any grammar state that can still finish has
    // an allowed token, and a budget in bytes is a budget in tokens.
    bool has_all_bytes() const { return has_all_bytes_; }
    const std::string& token_bytes(model::TokenId id) const { return bytes_[static_cast<size_t>(id)]; }
    bool is_eog(model::TokenId id) const { return is_eog_[static_cast<size_t>(id)] != 0; }

    // Calls on_token(id, state_after) for every token the matcher accepts from `from`.
    // `stack` is the caller's scratch (one per stream, so a shared trie needs no lock).
    template <typename F>
    void walk(GrammarMatcher& m, StateId from, std::vector<StateId>& stack, F&& on_token) const;

private:
    int32_t n_vocab_ = 0;
    std::vector<uint8_t> byte_;      // per node: the byte on the edge into it
    std::vector<uint16_t> depth_;    // per node: 1 for the root's children
    std::vector<uint32_t> skip_;     // per node: the first node after its subtree
    std::vector<uint32_t> tok_off_;  // per node + 1: tokens ending here are tok_[off[i]..off[i+1])
    std::vector<model::TokenId> tok_;
    std::vector<model::TokenId> eog_;
    std::vector<std::string> bytes_;
    std::vector<uint8_t> is_eog_;
    size_t max_depth_ = 0;
    bool has_all_bytes_ = false;
};

template <typename F>
void TokenTrie::walk(GrammarMatcher& m, StateId from, std::vector<StateId>& stack_,
                     F&& on_token) const {
    stack_.resize(max_depth_ + 1);
    stack_[0] = from;
    const uint32_t n = static_cast<uint32_t>(byte_.size());
    for (uint32_t i = 0; i < n;) {
        const uint16_t d = depth_[i];
        const StateId s = m.next(stack_[d - 1], byte_[i]);
        if (s == kDead) {
            i = skip_[i];
            continue;
        }
        stack_[d] = s;
        for (uint32_t k = tok_off_[i]; k < tok_off_[i + 1]; ++k) on_token(tok_[k], s);
        ++i;
    }
}

}  // namespace lyra::gen::constraint
