// GrammarMatcher and TokenTrie (matcher.h).
//
// A stack is a chain of interned nodes (pos, parent): the top node's pos is a Chars element,
// lower nodes hold return positions. A rule reference in tail position reuses its parent as
// the return frame (tail call), so `x*` (R ::= x R | ) keeps a constant stack depth and the
// state after "aaa" is the state after "a": repetition costs no new DFA states.
#include "generate/constraint/matcher.h"

#include <algorithm>

#include "core/check.h"

namespace lyra::gen::constraint {

namespace {

constexpr uint32_t kMaxCp = 0x10FFFF;

uint32_t min_cp_for_len(uint8_t len) { return len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000; }

}  // namespace

size_t GrammarMatcher::VecHash::operator()(const std::vector<int32_t>& v) const {
    uint64_t h = 1469598103934665603ull;
    for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
    return static_cast<size_t>(h);
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : g_(std::move(grammar)) {
    LYRA_CHECK(g_ != nullptr, "GrammarMatcher needs a grammar");
    reset_caches();
}

void GrammarMatcher::reset_caches() {
    nodes_.clear();
    node_ids_.clear();
    sets_.clear();
    set_ids_.clear();
    states_.clear();
    state_ids_.clear();
    trans_.clear();
    std::vector<int32_t> init;
    expanded_.clear();
    for (uint32_t a : g_->rules[g_->root].alts) expand(a, -1, init);
    start_ = intern_state(intern_set(init), 0, 0, 0);
}

int32_t GrammarMatcher::intern_node(uint32_t pos, int32_t parent) {
    const uint64_t key = (static_cast<uint64_t>(pos) << 32) | static_cast<uint32_t>(parent + 1);
    auto it = node_ids_.find(key);
    if (it != node_ids_.end()) return it->second;
    const uint32_t below = parent < 0 ? 0 : nodes_[static_cast<size_t>(parent)].min_bytes;
    const auto id = static_cast<int32_t>(nodes_.size());
    nodes_.push_back({pos, parent, g_->rest_min_bytes[pos] + below});
    node_ids_.emplace(key, id);
    return id;
}

// Pushes onto `out` every stack that `pos` (with `parent` below it) can stand for once rule
// references are entered and finished alternatives return: tops are Chars elements, or -1 for
// an empty stack (the grammar may end).
void GrammarMatcher::expand(uint32_t pos0, int32_t parent0, std::vector<int32_t>& out) {
    // Depth first, in the order a recursive walk would take (alternatives pushed last to first),
    // each (pos, parent) pair entered once.
    auto& todo = expand_todo_;
    todo.clear();
    todo.emplace_back(pos0, parent0);
    while (!todo.empty()) {
        const auto [pos, parent] = todo.back();
        todo.pop_back();
        if (!expanded_.insert((static_cast<uint64_t>(pos) << 32) | static_cast<uint32_t>(parent + 1)).second) continue;
        const Elem& e = g_->elems[pos];
        switch (e.kind) {
            case ElemKind::End:
                if (parent < 0) {
                    out.push_back(-1);
                } else {
                    const Node n = nodes_[static_cast<size_t>(parent)];
                    todo.emplace_back(n.pos, n.parent);
                }
                break;
            case ElemKind::Chars:
                out.push_back(intern_node(pos, parent));
                break;
            case ElemKind::Rule: {
                const bool tail = g_->elems[pos + 1].kind == ElemKind::End;
                const int32_t ret = tail ? parent : intern_node(pos + 1, parent);
                const auto& alts = g_->rules[e.value].alts;
                for (auto a = alts.rbegin(); a != alts.rend(); ++a) todo.emplace_back(*a, ret);
                break;
            }
        }
    }
}

int32_t GrammarMatcher::intern_set(std::vector<int32_t>& nodes) {
    std::sort(nodes.begin(), nodes.end());
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    auto it = set_ids_.find(nodes);
    if (it != set_ids_.end()) return it->second;
    const auto id = static_cast<int32_t>(sets_.size());
    sets_.push_back(nodes);
    set_ids_.emplace(nodes, id);
    return id;
}

StateId GrammarMatcher::intern_state(int32_t set, uint32_t cp, uint8_t need, uint8_t len) {
    // cp < 2^21, need < 4 and len <= 4 keep the low 32 bits unique for a given set.
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(set)) << 32) |
                         (static_cast<uint64_t>(cp) << 5) | (static_cast<uint64_t>(need) << 3) | len;
    auto it = state_ids_.find(key);
    if (it != state_ids_.end()) return it->second;
    State st{set, cp, need, len, false, false, 0};
    const auto& nodes = sets_[static_cast<size_t>(set)];
    uint32_t best = UINT32_MAX;
    if (need == 0) {
        for (int32_t n : nodes) {
            if (n < 0) {
                st.accepting = true;
                best = 0;
            } else {
                st.can_continue = true;
                best = std::min(best, nodes_[static_cast<size_t>(n)].min_bytes);
            }
        }
    } else {
        // The half-read character ends in `need` bytes; then the rest of each stack that can
        // take a character with these leading bits.
        st.can_continue = true;
        const uint32_t lo = std::max(cp << (6 * need), min_cp_for_len(len));
        const uint32_t hi = std::min((cp << (6 * need)) | ((1u << (6 * need)) - 1), kMaxCp);
        for (int32_t n : nodes) {
            if (n < 0) continue;
            const Node& nd = nodes_[static_cast<size_t>(n)];
            const Elem& e = g_->elems[nd.pos];
            if (!g_->char_sets[e.value].intersects(lo, hi)) continue;
            const uint32_t below = nd.parent < 0 ? 0 : nodes_[static_cast<size_t>(nd.parent)].min_bytes;
            best = std::min(best, need + g_->rest_min_bytes[nd.pos + 1] + below);
        }
    }
    st.min_bytes = best == UINT32_MAX ? 0 : best;
    const auto id = static_cast<StateId>(states_.size());
    states_.push_back(st);
    state_ids_.emplace(key, id);
    trans_.resize(states_.size() * 256, kUnknown);
    return id;
}

StateId GrammarMatcher::advance(int32_t set, uint32_t cp) {
    std::vector<int32_t>& out = scratch_;
    out.clear();
    expanded_.clear();
    for (int32_t n : sets_[static_cast<size_t>(set)]) {
        if (n < 0) continue;
        const Node nd = nodes_[static_cast<size_t>(n)];
        if (g_->char_sets[g_->elems[nd.pos].value].contains(cp)) expand(nd.pos + 1, nd.parent, out);
    }
    if (out.empty()) return kDead;
    return intern_state(intern_set(out), 0, 0, 0);
}

StateId GrammarMatcher::compute(StateId s, uint8_t b) {
    const State st = states_[static_cast<size_t>(s)];
    StateId r = kDead;
    if (st.need == 0) {
        if (b < 0x80) {
            r = advance(st.set, b);
        } else {
            uint8_t len = 0;
            uint32_t bits = 0;
            if (b >= 0xC2 && b <= 0xDF) {
                len = 2;
                bits = b & 0x1Fu;
            } else if (b >= 0xE0 && b <= 0xEF) {
                len = 3;
                bits = b & 0x0Fu;
            } else if (b >= 0xF0 && b <= 0xF4) {
                len = 4;
                bits = b & 0x07u;
            }
            if (len != 0) {
                const auto need = static_cast<uint8_t>(len - 1);
                const uint32_t lo = std::max(bits << (6 * need), min_cp_for_len(len));
                const uint32_t hi = std::min((bits << (6 * need)) | ((1u << (6 * need)) - 1), kMaxCp);
                bool ok = false;
                if (lo <= hi) {
                    for (int32_t n : sets_[static_cast<size_t>(st.set)]) {
                        if (n >= 0 && g_->char_sets[g_->elems[nodes_[static_cast<size_t>(n)].pos].value].intersects(lo, hi)) {
                            ok = true;
                            break;
                        }
                    }
                }
                if (ok) r = intern_state(st.set, bits, need, len);
            }
        }
    } else if ((b & 0xC0) == 0x80) {
        const uint32_t cp = (st.cp << 6) | (b & 0x3Fu);
        const auto need = static_cast<uint8_t>(st.need - 1);
        if (need == 0) {
            if (cp >= min_cp_for_len(st.len) && cp <= kMaxCp && (cp < 0xD800 || cp > 0xDFFF)) {
                r = advance(st.set, cp);
            }
        } else {
            const uint32_t lo = std::max(cp << (6 * need), min_cp_for_len(st.len));
            const uint32_t hi = std::min((cp << (6 * need)) | ((1u << (6 * need)) - 1), kMaxCp);
            bool ok = false;
            if (lo <= hi) {
                for (int32_t n : sets_[static_cast<size_t>(st.set)]) {
                    if (n >= 0 && g_->char_sets[g_->elems[nodes_[static_cast<size_t>(n)].pos].value].intersects(lo, hi)) {
                        ok = true;
                        break;
                    }
                }
            }
            if (ok) r = intern_state(st.set, cp, need, st.len);
        }
    }
    trans_[static_cast<size_t>(s) * 256 + b] = r;
    return r;
}

StateId GrammarMatcher::next(StateId s, std::string_view bytes) {
    for (char c : bytes) {
        if (s == kDead) return kDead;
        s = next(s, static_cast<uint8_t>(c));
    }
    return s;
}

StateId GrammarMatcher::compact(StateId s) {
    // Save s as plain stacks of positions, rebuild from nothing, and re-intern it.
    const State st = states_[static_cast<size_t>(s)];
    std::vector<std::vector<uint32_t>> stacks;
    for (int32_t n : sets_[static_cast<size_t>(st.set)]) {
        std::vector<uint32_t> chain;
        for (int32_t k = n; k >= 0; k = nodes_[static_cast<size_t>(k)].parent) {
            chain.push_back(nodes_[static_cast<size_t>(k)].pos);
        }
        if (n < 0) chain.push_back(UINT32_MAX);  // marks the empty stack
        stacks.push_back(std::move(chain));
    }
    reset_caches();
    std::vector<int32_t> nodes;
    for (const auto& chain : stacks) {
        if (!chain.empty() && chain[0] == UINT32_MAX) {
            nodes.push_back(-1);
            continue;
        }
        int32_t parent = -1;
        for (size_t i = chain.size(); i-- > 0;) parent = intern_node(chain[i], parent);
        nodes.push_back(parent);
    }
    return intern_state(intern_set(nodes), st.cp, st.need, st.len);
}

// --- TokenTrie --------------------------------------------------------------------------------

TokenTrie::TokenTrie(const model::Tokenizer& tok) : n_vocab_(tok.n_vocab()) {
    const auto n = static_cast<size_t>(n_vocab_);
    bytes_.resize(n);
    is_eog_.assign(n, 0);
    std::vector<model::TokenId> order;
    std::vector<char> single(256, 0);
    for (model::TokenId id = 0; id < n_vocab_; ++id) {
        if (tok.is_eog(id)) {
            is_eog_[static_cast<size_t>(id)] = 1;
            eog_.push_back(id);
            continue;
        }
        if (tok.is_control(id) || tok.token_type(id) == model::TokenType::Unknown) continue;
        std::string b = tok.token_to_bytes(id);
        if (b.empty()) continue;
        if (b.size() == 1) single[static_cast<uint8_t>(b[0])] = 1;
        bytes_[static_cast<size_t>(id)] = std::move(b);
        order.push_back(id);
    }
    has_all_bytes_ = std::all_of(single.begin(), single.end(), [](char c) { return c != 0; });
    std::stable_sort(order.begin(), order.end(), [&](model::TokenId a, model::TokenId b) {
        return bytes_[static_cast<size_t>(a)] < bytes_[static_cast<size_t>(b)];
    });
    // Preorder of the trie = the sorted strings; a node is added for each byte past the common
    // prefix with the previous string. `path` holds the node index at each depth.
    std::vector<uint32_t> path;
    std::string prev;
    std::vector<std::vector<model::TokenId>> ends;
    for (model::TokenId id : order) {
        const std::string& s = bytes_[static_cast<size_t>(id)];
        size_t common = 0;
        while (common < s.size() && common < prev.size() && s[common] == prev[common]) ++common;
        path.resize(common);
        for (size_t d = common; d < s.size(); ++d) {
            path.push_back(static_cast<uint32_t>(byte_.size()));
            byte_.push_back(static_cast<uint8_t>(s[d]));
            depth_.push_back(static_cast<uint16_t>(d + 1));
            ends.emplace_back();
        }
        ends[path.back()].push_back(id);
        max_depth_ = std::max(max_depth_, s.size());
        prev = s;
    }
    LYRA_CHECK(max_depth_ < 65535, "token of {} bytes is too long for the trie", max_depth_);
    const auto nn = static_cast<uint32_t>(byte_.size());
    skip_.assign(nn, nn);
    std::vector<uint32_t> open;  // nodes whose subtree is still open
    for (uint32_t i = 0; i < nn; ++i) {
        while (!open.empty() && depth_[open.back()] >= depth_[i]) {
            skip_[open.back()] = i;
            open.pop_back();
        }
        open.push_back(i);
    }
    tok_off_.assign(nn + 1, 0);
    for (uint32_t i = 0; i < nn; ++i) {
        tok_off_[i] = static_cast<uint32_t>(tok_.size());
        tok_.insert(tok_.end(), ends[i].begin(), ends[i].end());
    }
    tok_off_[nn] = static_cast<uint32_t>(tok_.size());
}

}  // namespace lyra::gen::constraint
