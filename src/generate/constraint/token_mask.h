// Token masks as bitsets (one bit a token, 64 tokens a word) and their application to a candidate
// set, shared by the grammar and form constraints (issue #4). A mask is two rows: `allow` (the
// token fits) and `ask` (a callback decides, e.g. a user predicate; it wins over `allow`).
// Applying one touches only what changes: where the candidates sit in id order (as
// CandidateSet::reset leaves them) a word of 64 allowed tokens is skipped, a word of 64 ruled-out
// tokens is a run of -inf stores, and a mixed word visits its ruled-out tokens only; elsewhere
// each candidate looks its id up. reference_apply_token_mask is the plain per-candidate loop the
// fast path must agree with bit for bit (tests compare the two). reset_with_token_mask builds a
// candidate set from a logits row with a mask already applied (the sampler chain's path for a
// constraint that comes first).
// Header-only (the callback is a template parameter: no per-candidate indirect call); never throws
// or allocates, except that reset_with_token_mask sizes the set as CandidateSet::reset does (once,
// then it reuses the capacity); not thread-safe on one CandidateSet.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>

#include "generate/sampler.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lyra::gen::constraint {

namespace detail {

inline constexpr uint32_t kNegInfBits = 0xFF800000u;  // -inf as a float's bits

// Live: not -inf (a NaN counts as live, as it does in the samplers after the mask).
inline bool is_live(const Candidate& c) {
    uint32_t bits;
    std::memcpy(&bits, &c.logit, sizeof bits);
    return bits != kNegInfBits;
}

inline bool bit_at(const uint64_t* row, uint32_t i) { return ((row[i >> 6] >> (i & 63)) & 1) != 0; }

// The 64 candidates from `it` have the ids base .. base+63 in order. Every id is read (the
// layout could have been changed by any sampler before), so this check is most of the cost of a
// mask that changes few candidates. A plain loop of compares costs some 3-4 instructions a
// candidate; the SSE2 form (part of every x86-64) gathers the ids of four candidates (48 bytes,
// three loads) with two shuffles and compares them at once: the grammar masks at 150k went from
// 56 to 36 µs. (A branch-free `diff |= id ^ (base + j)` loop left to GCC's vectoriser was several
// times slower than either: it spilled lanes through the stack.) ids_in_place_scalar is the plain
// loop, used where SSE2 is missing and compared with the SSE2 form in the tests.
inline bool ids_in_place_scalar(const Candidate* it, uint32_t base) {
    for (uint32_t j = 0; j < 64; ++j)
        if (static_cast<uint32_t>(it[j].id) != base + j) return false;
    return true;
}

inline bool ids_in_place(const Candidate* it, uint32_t base) {
#if defined(__SSE2__)
    static_assert(sizeof(Candidate) == 12 && offsetof(Candidate, id) == 0, "the shuffles assume {id, logit, p}");
    const auto* p = reinterpret_cast<const float*>(it);
    __m128i want = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(base)), _mm_set_epi32(3, 2, 1, 0));
    const __m128i four = _mm_set1_epi32(4);
    __m128i diff = _mm_setzero_si128();
    for (int q = 0; q < 16; ++q, p += 12) {
        // Floats 0..11 of four candidates; their ids are floats 0, 3, 6 and 9.
        const __m128 v0 = _mm_loadu_ps(p), v1 = _mm_loadu_ps(p + 4), v2 = _mm_loadu_ps(p + 8);
        const __m128 mid = _mm_shuffle_ps(v1, v2, _MM_SHUFFLE(1, 1, 2, 2));  // {6, 6, 9, 9}
        const __m128 ids = _mm_shuffle_ps(v0, mid, _MM_SHUFFLE(2, 0, 3, 0));  // {0, 3, 6, 9}
        diff = _mm_or_si128(diff, _mm_xor_si128(_mm_castps_si128(ids), want));
        want = _mm_add_epi32(want, four);
    }
    return _mm_movemask_epi8(_mm_cmpeq_epi32(diff, _mm_setzero_si128())) == 0xFFFF;
#else
    return ids_in_place_scalar(it, base);
#endif
}

// One candidate's verdict: a token out of range (id < 0 or >= n_tokens) is ruled out; an asked
// one is kept if it is live and `decide` says yes (a candidate already at -inf is never asked).
template <class Decide>
bool keeps(const Candidate& cand, const uint64_t* allow, const uint64_t* ask, uint32_t n_tokens, Decide& decide) {
    const auto id = static_cast<uint32_t>(cand.id);
    if (cand.id < 0 || id >= n_tokens) return false;
    if (ask != nullptr && bit_at(ask, id)) return is_live(cand) && decide(cand.id);
    return bit_at(allow, id);
}

// 64 candidates from `out` with the ids base.. in order: the row's logits, or all -inf.
inline void write_candidates(Candidate* out, const float* row, uint32_t base) {
    for (uint32_t j = 0; j < 64; ++j) out[j] = Candidate{static_cast<TokenId>(base + j), row[j], 0.0f};
}
inline void write_ruled_out(Candidate* out, uint32_t base) {
    for (uint32_t j = 0; j < 64; ++j) out[j] = Candidate{static_cast<TokenId>(base + j), -std::numeric_limits<float>::infinity(), 0.0f};
}

// One word's kept tokens: the allowed ones, except that an asked token is kept only if it is live
// (`live(j)` for the word's j-th token) and `decide` says yes; `decide` is called for the asked
// tokens in id order.
template <class Live, class Decide>
uint64_t word_keep(uint64_t allow_word, uint64_t ask_word, uint32_t base, const Live& live, Decide& decide) {
    uint64_t keep = allow_word & ~ask_word;
    for (uint64_t m = ask_word; m != 0; m &= m - 1) {
        const int j = std::countr_zero(m);
        if (live(j) && decide(static_cast<TokenId>(base + static_cast<uint32_t>(j)))) keep |= uint64_t{1} << j;
    }
    return keep;
}

}  // namespace detail

// The definition: each candidate in turn; the ruled-out ones get -inf. Returns whether any
// candidate is still live.
template <class Decide>
bool reference_apply_token_mask(CandidateSet& c, const uint64_t* allow, const uint64_t* ask, uint32_t n_tokens,
                                Decide&& decide) {
    bool any = false;
    for (auto& cand : c.items) {
        if (!detail::keeps(cand, allow, ask, n_tokens, decide)) cand.logit = -std::numeric_limits<float>::infinity();
        else if (detail::is_live(cand)) any = true;
    }
    return any;
}

// The same result, word by word where the ids are in place. `allow` and `ask` (null = no token is
// asked) hold (n_tokens + 63) / 64 words; their bits past n_tokens are never read.
template <class Decide>
bool apply_token_mask(CandidateSet& c, const uint64_t* allow, const uint64_t* ask, uint32_t n_tokens,
                      Decide&& decide) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    Candidate* items = c.items.data();
    const size_t n = c.items.size();
    bool any = false;
    size_t i = 0;
    for (; i + 64 <= n && i + 64 <= n_tokens; i += 64) {
        Candidate* it = items + i;
        const auto base = static_cast<uint32_t>(i);
        if (!detail::ids_in_place(it, base)) break;  // reordered or cut: the lookups below
        const uint64_t keep = detail::word_keep(allow[i >> 6], ask != nullptr ? ask[i >> 6] : 0, base,
                                                [it](int j) { return detail::is_live(it[j]); }, decide);
        if (keep == 0) {
            for (int j = 0; j < 64; ++j) it[j].logit = kNegInf;
            continue;
        }
        for (uint64_t m = ~keep; m != 0; m &= m - 1) it[std::countr_zero(m)].logit = kNegInf;
        if (!any) {
            for (uint64_t m = keep; m != 0 && !any; m &= m - 1) any = detail::is_live(it[std::countr_zero(m)]);
        }
    }
    for (; i < n; ++i) {
        if (!detail::keeps(items[i], allow, ask, n_tokens, decide)) items[i].logit = kNegInf;
        else if (!any) any = detail::is_live(items[i]);
    }
    return any;
}

// c.reset(logits) and then the mask, in one pass over the row (the chain's path when a
// constraint comes first, Constraint::row_mask): each record is written once, with -inf where the
// mask rules the token out, so applying the mask adds a bit test per token to the reset's stores
// rather than a second pass over 12 bytes a token. The same set and return value, and the same
// calls to `decide` in the same order, as c.reset(logits) then reference_apply_token_mask.
template <class Decide>
bool reset_with_token_mask(CandidateSet& c, std::span<const float> logits, const uint64_t* allow, const uint64_t* ask,
                           uint32_t n_tokens, Decide&& decide) {
    const size_t n = logits.size();
    c.items.resize(n);
    c.sorted = false;
    c.has_probs = false;
    c.selected = -1;
    Candidate* items = c.items.data();
    const float* row = logits.data();
    const auto live_at = [row](size_t i) {
        uint32_t bits;
        std::memcpy(&bits, row + i, sizeof bits);
        return bits != detail::kNegInfBits;
    };
    bool any = false;
    size_t i = 0;
    const size_t whole = std::min<size_t>(n, n_tokens) & ~size_t{63};
    for (; i < whole; i += 64) {
        const uint64_t keep = detail::word_keep(allow[i >> 6], ask != nullptr ? ask[i >> 6] : 0, static_cast<uint32_t>(i),
                                                [&](int j) { return live_at(i + static_cast<size_t>(j)); }, decide);
        // Written as the plain reset writes them (loops the compiler turns into wide stores), then
        // the exceptions patched: a per-token select was twice the plain reset's cost. Kept
        // values are copied as floats, as the reset copies them (a NaN keeps its payload).
        Candidate* it = items + i;
        const auto base = static_cast<uint32_t>(i);
        if (keep == ~uint64_t{0}) {
            detail::write_candidates(it, row + i, base);
        } else if (std::popcount(keep) < 32) {
            detail::write_ruled_out(it, base);
            for (uint64_t m = keep; m != 0; m &= m - 1) it[std::countr_zero(m)].logit = row[i + static_cast<size_t>(std::countr_zero(m))];
        } else {
            detail::write_candidates(it, row + i, base);
            for (uint64_t m = ~keep; m != 0; m &= m - 1) it[std::countr_zero(m)].logit = -std::numeric_limits<float>::infinity();
        }
        if (!any) {
            for (uint64_t m = keep; m != 0 && !any; m &= m - 1) any = live_at(i + static_cast<size_t>(std::countr_zero(m)));
        }
    }
    for (; i < n; ++i) {  // the last partial word, and ids past n_tokens: as the definition
        items[i] = Candidate{static_cast<TokenId>(i), row[i], 0.0f};
        if (!detail::keeps(items[i], allow, ask, n_tokens, decide)) items[i].logit = -std::numeric_limits<float>::infinity();
        else if (!any) any = detail::is_live(items[i]);
    }
    return any;
}

}  // namespace lyra::gen::constraint
