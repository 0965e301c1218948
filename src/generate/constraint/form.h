// FormConstraint: the programmable layer the art forms build on (issue #4). It constrains text
// by its shape rather than a grammar: the number of units per line (CJK characters by default;
// the poetry module can count syllables by supplying is_unit), fixed characters at given unit
// positions (acrostics), the characters allowed at all, line breaks forced by full lines, and an
// arbitrary predicate over the text so far (the music module can sum note lengths per bar).
// One per generation stream; not thread-safe. Never throws after construction; a dead end (no
// token fits) allows only end-of-generation and is reported by status().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "generate/constraint/constraint.h"
#include "generate/sampler.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::gen::constraint {

struct FormLine {
    int units = 0;                    // units the line must hold before its '\n' (0 = any)
    std::map<int, uint32_t> fixed = {};  // unit index in the line -> required code point
};

struct FormSpec {
    std::vector<FormLine> lines = {};  // the poem's lines; empty = no line structure
    // What counts as a unit; null = CJK unified ideographs (U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF).
    std::function<bool(uint32_t cp)> is_unit = {};
    // Characters allowed anywhere (besides '\n', which the lines govern); null = all.
    std::function<bool(uint32_t cp)> allowed = {};
    // Called with the text so far plus a candidate token's bytes (complete characters only);
    // returning false rules the token out. Null = none. Runs once per surviving candidate, so
    // keep it cheap or combine it with a small top-k before it.
    std::function<bool(std::string_view text)> predicate = {};
};

// Acrostic helper: `lines` lines of `units` units whose first units spell `head`.
FormSpec acrostic_form(std::u32string_view head, int units);

class FormConstraint final : public Constraint {
public:
    FormConstraint(FormSpec spec, const model::Tokenizer& tok);

    void apply(CandidateSet& c) override;
    void accept(TokenId id) override;
    void reset() override;

    ConstraintStatus status() const { return status_; }
    // Every line is complete (the text may end here).
    bool is_complete() const;
    const std::string& text() const { return text_; }
    const MaskStats& stats() const { return stats_; }

private:
    struct Cursor {
        int line = 0;
        int units = 0;      // units in the current line so far
        uint32_t cp = 0;    // a half-read UTF-8 character
        int need = 0;       // its continuation bytes still to come
        int len = 0;        // its total length in bytes
    };
    // Per token, precomputed: units and whether a fast check suffices.
    struct TokenInfo {
        int units = 0;
        bool simple = false;  // whole characters, all allowed, no '\n'
        bool eog = false;
        bool skip = false;    // control or empty: never allowed
    };
    bool step(Cursor& cur, uint8_t byte) const;  // false = rejected
    bool fits(const Cursor& cur, TokenId id) const;
    bool unit_ok(const Cursor& cur, int count) const;
    bool can_complete(const Cursor& cur) const;
    bool has_fixed_ahead(const Cursor& cur, int count) const;

    FormSpec spec_;
    const model::Tokenizer& tok_;
    std::vector<std::string> bytes_;
    std::vector<TokenInfo> info_;
    Cursor cur_;
    std::string text_;
    ConstraintStatus status_ = ConstraintStatus::Active;
    MaskStats stats_;
    mutable std::unordered_map<uint64_t, bool> feasible_;  // can_complete without a fixed char
};

}  // namespace lyra::gen::constraint
