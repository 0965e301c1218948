// Token masks as bit rows (token_mask.h): the word-by-word application against the per-candidate
// loop that defines it, over random rows and every candidate layout the samplers can leave (ids in
// place, cut short, shuffled, sorted, one pair swapped inside a word, ids out of range); and the
// grammar and form constraints' real masks applied to candidates in id order (the word path) and
// in shuffled order (the lookups), which must rule out the same tokens bit for bit; and the
// chain's path (the set written with the mask applied, reset_with_token_mask, Constraint::row_mask)
// against a reset followed by apply.
#include "generate/constraint/token_mask.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/rng.h"
#include "generate/constraint/constraint.h"
#include "generate/constraint/form.h"
#include "unit/constraint/constraint_test_util.h"

namespace lyra::gen::constraint {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

uint32_t bits_of(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
}

// A row with whole words of 0 and of 1 bits as well as mixed words, so that every branch of the
// word path comes up.
std::vector<uint64_t> random_row(core::Rng& rng, uint32_t n_tokens) {
    std::vector<uint64_t> row((n_tokens + 63) / 64);
    for (auto& w : row) {
        const float r = rng.uniform();
        w = r < 0.3f ? 0 : r < 0.55f ? ~uint64_t{0} : rng.next_u64();
    }
    return row;
}

// Logits of every kind the mask must keep as they are or rule out: ordinary values, -inf (already
// ruled out), +inf, NaN, -0.
std::vector<float> random_logits(core::Rng& rng, uint32_t n) {
    std::vector<float> out(n);
    for (auto& x : out) {
        const float r = rng.uniform();
        x = r < 0.1f    ? kNegInf
            : r < 0.12f ? std::numeric_limits<float>::quiet_NaN()
            : r < 0.13f ? std::numeric_limits<float>::infinity()
            : r < 0.14f ? -0.0f
                        : rng.normal();
    }
    return out;
}

enum class Layout { InPlace, CutShort, Shuffled, Sorted, SwappedInAWord, OutOfRange };

CandidateSet layout(const std::vector<float>& logits, Layout how, core::Rng& rng) {
    CandidateSet c;
    c.reset(logits);
    const size_t n = c.items.size();
    switch (how) {
        case Layout::InPlace: break;
        case Layout::CutShort: c.items.resize(n - std::min<size_t>(n, 1 + static_cast<size_t>(rng.uniform() * 100))); break;
        case Layout::Shuffled:
            for (size_t i = n; i > 1; --i) std::swap(c.items[i - 1], c.items[rng.next_u64() % i]);
            break;
        case Layout::Sorted: c.sort(); break;
        case Layout::SwappedInAWord:
            if (n >= 2) {
                const size_t a = rng.next_u64() % n, b = (a / 64) * 64 + rng.next_u64() % std::min<size_t>(64, n - (a / 64) * 64);
                std::swap(c.items[a], c.items[b]);
            }
            break;
        case Layout::OutOfRange:
            c.items.push_back({static_cast<TokenId>(n), 1.0f, 0.0f});
            c.items.push_back({-1, 1.0f, 0.0f});
            if (n > 0) c.items[rng.next_u64() % n].id = static_cast<TokenId>(n + 5);
            break;
    }
    return c;
}

TEST(TokenMask, WordPathEqualsThePerCandidateLoop) {
    core::Rng rng(17);
    int compared = 0, asked = 0;
    for (uint32_t n : {0u, 1u, 5u, 63u, 64u, 65u, 127u, 128u, 129u, 300u, 1000u, 4097u}) {
        for (int trial = 0; trial < 12; ++trial) {
            const auto allow = random_row(rng, n);
            const auto ask = random_row(rng, n);
            // Every third trial, nearly everything is already ruled out, so whether any token stays
            // depends on the one or two live ones (the word path stops looking once it has one).
            auto logits = random_logits(rng, n);
            if (trial % 3 == 2) {
                std::fill(logits.begin(), logits.end(), kNegInf);
                for (int k = 0; k < 2 && n > 0; ++k) logits[rng.next_u64() % n] = 1.0f;
            }
            for (Layout how : {Layout::InPlace, Layout::CutShort, Layout::Shuffled, Layout::Sorted, Layout::SwappedInAWord,
                               Layout::OutOfRange}) {
                for (bool with_ask : {false, true}) {
                    core::Rng pick(static_cast<uint64_t>(trial) * 31 + n);
                    CandidateSet fast = layout(logits, how, pick);
                    CandidateSet ref = fast;
                    // The callback says yes to odd ids and records who was asked, in order.
                    std::vector<TokenId> asked_fast, asked_ref;
                    const uint64_t* a = with_ask ? ask.data() : nullptr;
                    const bool any_fast = apply_token_mask(fast, allow.data(), a, n, [&](TokenId id) {
                        asked_fast.push_back(id);
                        return (id & 1) != 0;
                    });
                    const bool any_ref = reference_apply_token_mask(ref, allow.data(), a, n, [&](TokenId id) {
                        asked_ref.push_back(id);
                        return (id & 1) != 0;
                    });
                    const std::string where = "n " + std::to_string(n) + ", trial " + std::to_string(trial) + ", layout " +
                                              std::to_string(static_cast<int>(how)) + (with_ask ? ", with ask" : "");
                    ASSERT_EQ(any_fast, any_ref) << where;
                    ASSERT_EQ(asked_fast, asked_ref) << where;
                    ASSERT_EQ(fast.items.size(), ref.items.size()) << where;
                    for (size_t i = 0; i < ref.items.size(); ++i) {
                        ASSERT_EQ(fast.items[i].id, ref.items[i].id) << where;
                        ASSERT_EQ(bits_of(fast.items[i].logit), bits_of(ref.items[i].logit)) << where << ", candidate " << i;
                    }
                    asked += static_cast<int>(asked_ref.size());
                    ++compared;
                }
            }
        }
    }
    EXPECT_EQ(compared, 12 * 12 * 6 * 2);
    EXPECT_GT(asked, 10000);  // the callback path is exercised, not just the rows
}

// The word path reads every id of a word before it trusts the word: one pair of neighbours
// swapped, at each position in turn, under a row that tells neighbours apart.
TEST(TokenMask, AnyIdOutOfPlaceIsNoticed) {
    constexpr uint32_t n = 256;
    const std::vector<uint64_t> allow(n / 64, 0x5555555555555555ull);
    const std::vector<float> logits(n, 1.0f);
    for (uint32_t p = 0; p < n; ++p) {
        CandidateSet fast;
        fast.reset(logits);
        std::swap(fast.items[p], fast.items[p ^ 1]);
        CandidateSet ref = fast;
        const auto no = [](TokenId) { return false; };
        apply_token_mask(fast, allow.data(), nullptr, n, no);
        reference_apply_token_mask(ref, allow.data(), nullptr, n, no);
        for (uint32_t i = 0; i < n; ++i)
            ASSERT_EQ(bits_of(fast.items[i].logit), bits_of(ref.items[i].logit)) << "swapped " << p << ", candidate " << i;
    }
}

// The id check itself, its SSE2 form (where built) against the plain loop: every single id of a
// word changed in turn (to its neighbours' ids, to far ones, to -1), and whole words in place.
TEST(TokenMask, IdCheckEqualsThePlainLoop) {
    std::vector<Candidate> items(64 * 3);
    int in_place = 0;
    for (uint32_t base : {0u, 64u, 0x7FFFFF00u}) {
        for (int j = -1; j < 64; ++j) {
            for (int32_t delta : {1, -1, 4, 64, 1 << 20}) {
                for (size_t i = 0; i < 64; ++i) items[i] = {static_cast<TokenId>(base + i), 0.5f, 0.25f};
                if (j >= 0) items[static_cast<size_t>(j)].id = delta == (1 << 20) ? -1 : items[static_cast<size_t>(j)].id + delta;
                const bool plain = detail::ids_in_place_scalar(items.data(), base);
                ASSERT_EQ(detail::ids_in_place(items.data(), base), plain) << "base " << base << ", changed " << j;
                ASSERT_EQ(plain, j < 0) << "base " << base << ", changed " << j;
                in_place += plain;
            }
        }
    }
    EXPECT_EQ(in_place, 3 * 5);
}

// The definition on a few hand-made cases: an asked token already at -inf is not asked; the
// callback's no beats the allow row; out-of-range ids are ruled out.
TEST(TokenMask, ReferenceRulesOnKnownCases) {
    const std::vector<uint64_t> allow = {0b0110}, ask = {0b1100};
    CandidateSet c;
    c.reset(std::vector<float>{1.0f, 2.0f, kNegInf, 4.0f});
    c.items.push_back({7, 5.0f, 0.0f});
    std::vector<TokenId> asked;
    const bool any = reference_apply_token_mask(c, allow.data(), ask.data(), 4, [&](TokenId id) {
        asked.push_back(id);
        return false;
    });
    EXPECT_TRUE(any);  // token 1
    EXPECT_EQ(asked, std::vector<TokenId>{3});
    EXPECT_EQ(c.items[0].logit, kNegInf);
    EXPECT_EQ(c.items[1].logit, 2.0f);
    EXPECT_EQ(c.items[2].logit, kNegInf);
    EXPECT_EQ(c.items[3].logit, kNegInf);
    EXPECT_EQ(c.items[4].logit, kNegInf);
}

// The chain's path (a set written with the mask applied) against its definition, a plain reset
// and then the per-candidate loop: every row shape, logits of every kind, rows shorter and
// longer than the logits, asks and none, and a set left over from an earlier step (sorted, other
// size, probabilities set) to be rebuilt.
TEST(TokenMask, MaskedResetEqualsResetThenTheDefinition) {
    core::Rng rng(23);
    int compared = 0, asked = 0;
    for (uint32_t n : {0u, 1u, 63u, 64u, 65u, 128u, 300u, 4097u, 32000u}) {
        for (int trial = 0; trial < 8; ++trial) {
            // The mask's vocabulary: the logits' size, or fewer tokens (ids past it are ruled out),
            // or more (bits past the logits are never read).
            const uint32_t n_tokens = trial % 4 == 1 ? n - std::min(n, 1u + static_cast<uint32_t>(rng.next_u64() % 70))
                                      : trial % 4 == 2 ? n + 64
                                                       : n;
            const auto allow = random_row(rng, n_tokens + 64);
            const auto ask = random_row(rng, n_tokens + 64);
            auto logits = random_logits(rng, n);
            if (trial % 4 == 3) {
                std::fill(logits.begin(), logits.end(), kNegInf);
                for (int k = 0; k < 2 && n > 0; ++k) logits[rng.next_u64() % n] = 1.0f;
            }
            for (bool with_ask : {false, true}) {
                CandidateSet fast, ref;
                fast.reset(random_logits(rng, n / 2 + 7));  // an earlier step's set, sorted with probabilities
                fast.softmax();
                fast.selected = 3;
                std::vector<TokenId> asked_fast, asked_ref;
                const uint64_t* a = with_ask ? ask.data() : nullptr;
                const bool any_fast = reset_with_token_mask(fast, logits, allow.data(), a, n_tokens, [&](TokenId id) {
                    asked_fast.push_back(id);
                    return id % 3 != 0;
                });
                ref.reset(logits);
                const bool any_ref = reference_apply_token_mask(ref, allow.data(), a, n_tokens, [&](TokenId id) {
                    asked_ref.push_back(id);
                    return id % 3 != 0;
                });
                const std::string where = "n " + std::to_string(n) + ", n_tokens " + std::to_string(n_tokens) + ", trial " +
                                          std::to_string(trial) + (with_ask ? ", with ask" : "");
                ASSERT_EQ(any_fast, any_ref) << where;
                ASSERT_EQ(asked_fast, asked_ref) << where;
                ASSERT_EQ(fast.sorted, ref.sorted) << where;
                ASSERT_EQ(fast.has_probs, ref.has_probs) << where;
                ASSERT_EQ(fast.selected, ref.selected) << where;
                ASSERT_EQ(fast.items.size(), ref.items.size()) << where;
                for (size_t i = 0; i < ref.items.size(); ++i) {
                    ASSERT_EQ(fast.items[i].id, ref.items[i].id) << where;
                    ASSERT_EQ(bits_of(fast.items[i].logit), bits_of(ref.items[i].logit)) << where << ", candidate " << i;
                    ASSERT_EQ(bits_of(fast.items[i].p), bits_of(ref.items[i].p)) << where << ", candidate " << i;
                }
                asked += static_cast<int>(asked_ref.size());
                ++compared;
            }
        }
    }
    EXPECT_EQ(compared, 9 * 8 * 2);
    EXPECT_GT(asked, 10000);
}

// Applies `c`'s mask at its current state to the candidates in id order and to the same
// candidates shuffled (two constraints at the same state, since a dead end changes the state);
// counts the tokens that differ. Random logits, some already -inf.
template <class C>
int64_t compare_orders(C& in_order, C& shuffled, int32_t n_vocab, core::Rng& rng, std::vector<TokenId>* allowed) {
    std::vector<float> logits(static_cast<size_t>(n_vocab));
    for (auto& x : logits) x = rng.uniform() < 0.05f ? kNegInf : rng.normal();
    CandidateSet a, b;
    a.reset(logits);
    b.reset(logits);
    for (size_t i = b.items.size(); i > 1; --i) std::swap(b.items[i - 1], b.items[rng.next_u64() % i]);
    in_order.apply(a);
    shuffled.apply(b);
    std::vector<uint32_t> by_id(static_cast<size_t>(n_vocab));
    for (const auto& cand : b.items) by_id[static_cast<size_t>(cand.id)] = bits_of(cand.logit);
    int64_t diff = in_order.status() != shuffled.status() ? 1 : 0;
    allowed->clear();
    for (const auto& cand : a.items) {
        diff += bits_of(cand.logit) != by_id[static_cast<size_t>(cand.id)];
        if (cand.logit != kNegInf) allowed->push_back(cand.id);
    }
    return diff;
}

// Random walks through a constraint: at each state the two orders are compared, then both take
// the same allowed token. Returns {differing tokens, states compared}.
template <class Make>
std::pair<int64_t, int> walk_both(Make make, int32_t n_vocab, int walks, int steps, uint64_t seed) {
    auto a = make(), b = make();
    core::Rng rng(seed);
    int64_t diff = 0;
    int states = 0;
    std::vector<TokenId> allowed;
    for (int w = 0; w < walks; ++w) {
        a->reset();
        b->reset();
        for (int s = 0; s < steps; ++s) {
            diff += compare_orders(*a, *b, n_vocab, rng, &allowed);
            ++states;
            if (allowed.empty()) break;
            const TokenId next = allowed[rng.next_u64() % allowed.size()];
            a->accept(next);
            b->accept(next);
        }
    }
    return {diff, states};
}

std::vector<std::string> latin_pieces() {
    std::vector<std::string> pieces = {"\n", " ", ",", ".", "{\"", "\":", "\",", "\"}", "[", "]", "true", "false", "null",
                                       "0", "1", "42", "\"", "a\nb", "ab\n"};
    core::Rng rng(3);
    const std::string letters = "abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 400; ++i) {
        std::string s = rng.uniform() < 0.4f ? " " : "";
        const int len = 1 + static_cast<int>(rng.uniform() * 6);
        for (int k = 0; k < len; ++k) s += letters[rng.next_u64() % letters.size()];
        pieces.push_back(s);
    }
    std::sort(pieces.begin(), pieces.end());
    pieces.erase(std::unique(pieces.begin(), pieces.end()), pieces.end());
    return pieces;
}

// Three lines of 6, 4 (an 'e' second) and 5 letters, spaces free; variant 1 adds a predicate,
// 2 closes the form, 3 drops the allowed set (every byte token walks: half-read characters).
FormSpec letters_form(int variant) {
    auto is_letter = [](uint32_t cp) { return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'; };
    FormSpec spec{.lines = {{.units = 6}, {.units = 4, .fixed = {{1, 'e'}}}, {.units = 5}},
                  .is_unit = is_letter,
                  .allowed = [is_letter](uint32_t cp) { return cp == ' ' || is_letter(cp); }};
    if (variant == 1) spec.predicate = [](std::string_view text) { return text.size() % 3 != 1; };
    spec.closed = variant == 2;
    if (variant == 3) spec.allowed = {};
    return spec;
}

TEST(TokenMask, FormMasksAreTheSameInAnyCandidateOrder) {
    const auto tok = testing::piece_vocab(latin_pieces(), true);
    ASSERT_GT(tok->n_vocab(), 600);  // several words of 64 tokens, and a partial last one
    for (int variant = 0; variant < 3; ++variant) {
        auto make = [&] { return std::make_unique<FormConstraint>(letters_form(variant), *tok); };
        const auto [diff, states] = walk_both(make, tok->n_vocab(), 6, 30, 40 + static_cast<uint64_t>(variant));
        EXPECT_EQ(diff, 0) << "variant " << variant;
        EXPECT_GT(states, 60) << "variant " << variant;
    }
}

TEST(TokenMask, GrammarMasksAreTheSameInAnyCandidateOrder) {
    const auto tok = testing::piece_vocab(latin_pieces(), true);
    auto trie = std::make_shared<const TokenTrie>(*tok);
    const std::string json = testing::grammar_file("json.gbnf");
    for (int budget : {0, 12}) {
        auto make = [&] { return make_grammar_constraint(json, trie, {.max_tokens = budget}); };
        const auto [diff, states] = walk_both(make, tok->n_vocab(), 6, 30, 7 + static_cast<uint64_t>(budget));
        EXPECT_EQ(diff, 0) << "budget " << budget;
        EXPECT_GT(states, 40) << "budget " << budget;
    }
}

// A constraint through the chain's path (ConstraintSampler::build: its bit rows applied while the
// set is written, or apply where it has none) against apply on a plainly reset set, at every
// state of random walks: the same set bit for bit and the same status. Random logits, some -inf.
template <class Make>
std::pair<int64_t, int> walk_row_path(Make make, int32_t n_vocab, int walks, int steps, uint64_t seed, int* by_rows) {
    auto plain = make(), rows = make();
    const auto sampler = make_constraint(rows.get());
    core::Rng rng(seed);
    int64_t diff = 0;
    int states = 0;
    for (int w = 0; w < walks; ++w) {
        plain->reset();
        rows->reset();
        for (int s = 0; s < steps; ++s) {
            std::vector<float> logits(static_cast<size_t>(n_vocab));
            for (auto& x : logits) x = rng.uniform() < 0.05f ? kNegInf : rng.normal();
            CandidateSet a, b;
            a.reset(logits);
            plain->apply(a);
            *by_rows += testing::build_like_the_chain(*sampler, b, logits);
            diff += plain->status() != rows->status();
            std::vector<TokenId> allowed;
            for (size_t i = 0; i < a.items.size(); ++i) {
                diff += a.items[i].id != b.items[i].id || bits_of(a.items[i].logit) != bits_of(b.items[i].logit);
                if (a.items[i].logit != kNegInf) allowed.push_back(a.items[i].id);
            }
            ++states;
            if (allowed.empty()) break;
            const TokenId next = allowed[rng.next_u64() % allowed.size()];
            plain->accept(next);
            sampler->accept(next);
        }
    }
    return {diff, states};
}

TEST(TokenMask, FormRowPathEqualsApply) {
    const auto tok = testing::piece_vocab(latin_pieces(), true);
    for (int variant = 0; variant < 4; ++variant) {
        auto make = [&] { return std::make_unique<FormConstraint>(letters_form(variant), *tok); };
        int by_rows = 0;
        const auto [diff, states] = walk_row_path(make, tok->n_vocab(), 6, 30, 60 + static_cast<uint64_t>(variant), &by_rows);
        EXPECT_EQ(diff, 0) << "variant " << variant;
        EXPECT_GT(states, 60) << "variant " << variant;
        // The row path, not only the fallback (dead ends and half-read characters take apply).
        EXPECT_GE(by_rows, 15) << "variant " << variant;
    }
}

TEST(TokenMask, GrammarRowPathEqualsApply) {
    const auto tok = testing::piece_vocab(latin_pieces(), true);
    auto trie = std::make_shared<const TokenTrie>(*tok);
    const std::string json = testing::grammar_file("json.gbnf");
    for (int budget : {0, 12}) {
        auto make = [&] { return make_grammar_constraint(json, trie, {.max_tokens = budget}); };
        int by_rows = 0;
        const auto [diff, states] = walk_row_path(make, tok->n_vocab(), 6, 30, 9 + static_cast<uint64_t>(budget), &by_rows);
        EXPECT_EQ(diff, 0) << "budget " << budget;
        EXPECT_GT(states, 40) << "budget " << budget;
        EXPECT_GE(by_rows, 30) << "budget " << budget;
    }
}

// A constraint that hides the row path: the chain then resets the set and calls apply.
class ApplyOnly final : public Constraint {
public:
    explicit ApplyOnly(Constraint& inner) : inner_(inner) {}
    void apply(CandidateSet& c) override { inner_.apply(c); }
    void accept(TokenId id) override { inner_.accept(id); }
    void reset() override { inner_.reset(); }

private:
    Constraint& inner_;
};

// Whole sampler chains (constraint first, then top-k/top-p/min-p/temperature/dist, or greedy)
// pick the same tokens through the row path as through apply, over many seeded steps.
TEST(TokenMask, ChainPicksTheSameTokensThroughTheRowPath) {
    const auto tok = testing::piece_vocab(latin_pieces(), true);
    auto trie = std::make_shared<const TokenTrie>(*tok);
    const std::string json = testing::grammar_file("json.gbnf");
    auto is_letter = [](uint32_t cp) { return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'; };
    const auto form = [&] {
        return std::make_unique<FormConstraint>(
            FormSpec{.lines = {{.units = 6}, {.units = 4}, {.units = 5}},
                     .is_unit = is_letter,
                     .allowed = [is_letter](uint32_t cp) { return cp == ' ' || is_letter(cp); }},
            *tok);
    };
    int picks = 0;
    for (int kind = 0; kind < 2; ++kind) {
        for (float temperature : {0.0f, 0.9f}) {
            std::unique_ptr<Constraint> fast_c, plain_c;
            if (kind == 0) {
                fast_c = form();
                plain_c = form();
            } else {
                fast_c = make_grammar_constraint(json, trie);
                plain_c = make_grammar_constraint(json, trie);
            }
            ApplyOnly hidden(*plain_c);
            SamplerOptions o{.temperature = temperature, .top_k = 20, .seed = 11};
            o.constraint = fast_c.get();
            SamplerChain fast = make_sampler_chain(o);
            o.constraint = &hidden;
            SamplerChain plain = make_sampler_chain(o);
            core::Rng rng(static_cast<uint64_t>(kind) * 7 + 1);
            for (int run = 0; run < 4; ++run) {
                fast.reset();
                plain.reset();
                for (int step = 0; step < 25; ++step) {
                    std::vector<float> logits(static_cast<size_t>(tok->n_vocab()));
                    for (auto& x : logits) x = 2.0f * rng.normal();
                    const TokenId a = fast.sample(logits), b = plain.sample(logits);
                    ASSERT_EQ(a, b) << "kind " << kind << ", temperature " << temperature << ", step " << step;
                    ++picks;
                    if (tok->is_eog(a)) break;
                    fast.accept(a);
                    plain.accept(b);
                }
            }
        }
    }
    EXPECT_GT(picks, 200);
}

}  // namespace
}  // namespace lyra::gen::constraint
