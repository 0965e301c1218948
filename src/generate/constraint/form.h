// FormConstraint: the programmable layer the art forms build on (issue #4). It constrains text
// by its shape rather than a grammar: the number of units per line (CJK characters by default,
// any character class through is_unit, or English syllables through a pronouncing dictionary the
// caller supplies, syllable.h), fixed characters at given unit
// positions (acrostics), character classes at given positions (tone classes such as 平/仄 per
// position), rhyme labels (lines with the same label end on characters of a shared rhyme group),
// the characters allowed at all, line breaks forced by full lines, and an arbitrary predicate
// over the text so far (the music module can sum note lengths per bar). `lyra generate --form
// FILE` builds one from a JSON file (form_spec.h).
// One per generation stream; not thread-safe. Never throws after construction; a dead end (no
// token fits) allows only end-of-generation and is reported by status(). Syllable forms built for
// the same dictionary and vocabulary share their read-only per-vocabulary tables (SylTables),
// and forms with the same FormSpec::rules_id their per-token tables (TokenTables), from any thread.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "generate/constraint/constraint.h"
#include "generate/constraint/syllable.h"
#include "generate/sampler.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::gen::constraint {

struct FormLine {
    int units = 0;                    // units the line must hold before its '\n' (0 = any)
    std::map<int, uint32_t> fixed = {};  // unit index in the line -> required code point
    // Unit index -> the name of a FormSpec class its character must belong to; a negative index
    // counts from the end of the line (-1 = the last unit; needs units > 0).
    std::map<int, std::string> classes = {};
    // Lines with the same non-empty label rhyme: their last units (needs units > 0) share at
    // least one FormSpec rhyme group.
    std::string rhyme = {};
};

// Rhyme groups are numbered 0 .. kMaxRhymeGroups-1; at most kMaxRhymeLabels labels per form.
inline constexpr int kMaxRhymeGroups = 256;
inline constexpr int kMaxRhymeLabels = 8;

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
    // Once the last line holds all its units, nothing but end-of-generation may follow (no
    // trailing punctuation, no more text). Needs lines whose last has a unit count.
    bool closed = false;
    // Named character classes FormLine.classes refer to.
    std::map<std::string, std::function<bool(uint32_t cp)>> classes = {};
    // The rhyme groups of each character that can end a rhyming line (a character may be in
    // several, as a 多音字 is); a character with none cannot end one.
    std::unordered_map<uint32_t, std::vector<int>> rhyme_groups = {};
    // Non-null: the unit is the syllable. Words (runs of ASCII letters and digits, joined by inner
    // apostrophes) count the syllables this dictionary gives them (several pronunciations: any of
    // their counts); every other character separates words and counts nothing. A letter is taken
    // only if the word so far can still become a word (of the dictionary, or ended here and
    // guessed) whose count lets the line reach its total with more dictionary words; a line
    // breaks only at its exact total. is_unit is not used; every line needs units 1..63, and
    // fixed, classes and rhyme (character positions) are refused.
    std::shared_ptr<const SyllableDictionary> syllables = {};
    // A name for this form's character rules, `allowed` and `is_unit`: specs with the same
    // non-empty name promise the same two functions, so that the constraints built from them, in
    // any thread, share what the functions say about whole ranges of characters: whether a UTF-8
    // lead byte can still start an allowed character (a scan of up to 262,144 code points per
    // lead byte, ~2.5 ms per constraint at a 150k vocabulary for a form over letters, which each
    // request's constraint paid in its first masks), and, for the same vocabulary, what the form
    // reads of each token (TokenTables: a pass over the vocabulary, ~16 ms at 150k, made in the
    // constructor). "" = share nothing.
    std::string rules_id = {};
};

// CJK unified ideographs (U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF): the default unit.
bool is_cjk(uint32_t cp);

// The code points of s when it is exactly whole UTF-8 characters; false otherwise.
bool decode_utf8(std::string_view s, std::vector<uint32_t>& out);

// Acrostic helper: `lines` lines of `units` units whose first units spell `head`.
FormSpec acrostic_form(std::u32string_view head, int units);

class FormConstraint final : public Constraint {
public:
    // Throws Error(InvalidArgument) for a line naming an unknown class, a negative position or a
    // rhyme on a line without a unit count, a rhyme group out of range or too many labels; with
    // the syllable unit, for no lines, a line count outside 1..63, positional rules, or a count
    // no words of the dictionary add up to.
    FormConstraint(FormSpec spec, const model::Tokenizer& tok);

    void apply(CandidateSet& c) override;
    void accept(TokenId id) override;
    void reset() override;
    // The chain's fast path (sampler.h): the same masks as apply() as bit rows; none after a dead
    // end or with a half-read character (apply's per-candidate walk). The time of decide() calls
    // made while the chain writes the set (a predicate's) is not in stats().
    bool row_mask(RowMask& out) override;
    bool decide(TokenId id) override { return row_decide(id); }
    void row_masked(CandidateSet& c, bool any) override;

    ConstraintStatus status() const { return status_; }
    // Every line is complete (the text may end here).
    bool is_complete() const;
    const std::string& text() const { return text_; }
    const MaskStats& stats() const { return stats_; }
    // Syllable unit: how many times this process has made the per-vocabulary tables (a second
    // constraint for the same dictionary and vocabulary reuses the first one's), and which tables
    // this constraint reads (equal pointers: shared). For tests and benchmarks.
    static int64_t syllable_tables_made();
    // How many times this process has made the per-token tables every form reads (a constraint
    // whose spec has the rules_id of one alive for the same vocabulary reuses its tables), and
    // which this constraint reads. For tests and benchmarks.
    static int64_t token_tables_made();
    const void* token_tables_id() const { return tokens_.get(); }
    const void* syllable_tables_id() const { return syl_tab_.get(); }
    // Whether token `id` may come next by walking its bytes one at a time: the definition the
    // mask's precomputed paths must agree with (tests compare the two over whole vocabularies).
    bool fits_by_walk(TokenId id) const { return walk(cur_, id); }
    // Syllable unit: build the masks inside a word head by head, as before the word classes
    // (build_syllable_head_mask_reference), so that tests can compare the two bit for bit.
    void use_reference_head_masks(bool on) {
        syl_reference_ = on;
        syl_head_masks_.clear();
    }
    // Syllable unit: build the masks between words (and after a word ends) token by token, as
    // before the token groups (build_syllable_items_mask_reference), for the same comparison.
    void use_reference_items_masks(bool on) {
        syl_items_reference_ = on;
        syl_masks_.clear();
    }

private:
    using GroupSet = std::bitset<kMaxRhymeGroups>;
    struct Cursor {
        int line = 0;
        int units = 0;      // units in the current line so far
        uint32_t cp = 0;    // a half-read UTF-8 character
        int need = 0;       // its continuation bytes still to come
        int len = 0;        // its total length in bytes
        // Per rhyme label: the groups its lines so far share (none yet = all set).
        std::array<GroupSet, kMaxRhymeLabels> rhyme = {};
        // Syllable unit: the line's possible totals over its finished words, and the word being
        // written ("" = between words) with its trie node (-1 = off the dictionary).
        SyllableMask line_syl = 1;
        int node = 0;
        std::string word;
    };
    // Per line, resolved from its FormLine: the class test at each checked unit index and the
    // rhyme label's index (-1 = none).
    struct LineRules {
        std::map<int, const std::function<bool(uint32_t)>*> classes;
        std::set<int> checked;  // fixed, classed or rhyming positions: the slow path's
        int rhyme = -1;
    };
    // Per token, precomputed: units and whether a fast check suffices.
    struct TokenInfo {
        int units = 0;
        bool simple = false;  // whole characters, all allowed, no '\n'
        bool eog = false;
        bool skip = false;    // control or empty: never allowed
        bool whole = false;   // whole valid characters (its code points are in cps_)
    };
    // The mask's summary of a token (kind_): a simple token's unit count (0..kMaxSimpleUnits), or
    // one of these. One byte a token, so a mask over 150k tokens reads 150 kB.
    static constexpr int8_t kNever = -1, kEog = -2, kWalk = -3, kMaxSimpleUnits = 120;
    // What the cursor allows simple tokens, worked out once per mask.
    struct SimplePlan {
        bool closed = false;  // nothing but end-of-generation may follow
        int room = 0;         // units the line can still take
        int free_run = 0;     // units before the next checked position (fixed, class, rhyme)
        bool closing = false; // the last line of a closed form: nothing may follow its last unit
    };
    SimplePlan simple_plan() const;
    // What a simple token's kind says: no, yes (then the predicate), yes outright (end of
    // generation), or look at the token itself (fits_closer).
    enum class Verdict : uint8_t { No, Yes, YesPlain, Closer };
    Verdict simple_verdict(const SimplePlan& plan, int kind) const;
    bool fits_closer(const SimplePlan& plan, TokenId id) const;
    // The masks without a half-read character, as bit rows (allowed; asked: row_decide decides):
    // what the cursor allows. What row_decide reads is kept in members until the next mask.
    RowMask mask_simple();
    RowMask mask_syllables();
    bool row_decide(TokenId id) const;
    // After a mask: a dead end when no token stays (only end-of-generation is then allowed).
    void finish_mask(CandidateSet& c, bool any);
    bool step(Cursor& cur, uint8_t byte) const;  // false = rejected
    bool step_char(Cursor& cur, uint32_t cp) const;  // a whole character; false = rejected
    // The unit at the cursor's position may be `cp` (fixed character, class, rhyme); on a
    // rhyming last unit, narrows cur's groups.
    bool place_unit(Cursor& cur, uint32_t cp) const;
    bool unit_allowed(const Cursor& cur, uint32_t cp) const;  // place_unit without narrowing
    GroupSet groups_of(uint32_t cp) const;
    // The definition: the token's bytes stepped one at a time (then the predicate).
    bool walk(const Cursor& cur, TokenId id) const;
    // The same verdict stepping whole characters where the token has them (no half-character
    // lookahead, which at a checked position tries every character the lead byte can start).
    bool walk_chars(const Cursor& cur, TokenId id) const;
    bool predicate_ok(TokenId id) const;
    bool is_complete_at(const Cursor& cur) const;
    bool is_closed(const Cursor& cur) const;  // spec_.closed and nothing may follow
    bool can_complete(const Cursor& cur) const;
    // Syllable unit: steps one whole character; ends the word being written (false when its count
    // leaves the line unable to reach its total); the word so far can still fit.
    void init_syllables();  // checks the lines and fills need_
    bool step_syllable(Cursor& cur, uint32_t cp) const;
    bool end_word(Cursor& cur) const;
    bool word_fits(const Cursor& cur) const;
    SyllableMask word_counts(const Cursor& cur) const;  // the word so far, ended here

    // Syllable unit, the precomputed path (form_syllable.cpp). Each token's characters are read
    // once into the words and breaks the rules see, so a candidate costs a few mask operations
    // instead of a walk over its bytes. Every mask reads these for the whole vocabulary, so they
    // are kept small (24 bytes a token and a word): memory traffic is most of the cost.
    // A word that starts inside a token (text in syl_chars_), with its trie node from the root and
    // that node's mask (the trie is megabytes, read at random); its counts (dictionary, else
    // guess), worked out when the tables are made (they are shared across threads, read only).
    struct SylWord {
        SyllableMask below = 0;
        SyllableMask counts = kAskGuess;
        int32_t node = 0;
        int32_t text = 0;  // into syl_chars_
        uint16_t len = 0;
    };
    // Item codes in syl_items_: an index into syl_words_, or one of these characters.
    static constexpr int32_t kSylNewline = -1, kSylOther = -2;
    struct SylToken {
        // The leading letters, digits and apostrophes (lower case, in syl_chars_), which extend a
        // word being written, and their summary under the dictionary's guess fold.
        uint64_t head_summary = 0;
        int32_t head = 0;
        int32_t items = 0;     // the token's items (syl_items_), read between words
        uint16_t head_len = 0;
        uint8_t n_items = 0;
        uint8_t skip = 0;      // of them, those the head covers: a word being written reads the rest
        bool fast = false;     // whole valid characters without U+2019 (which needs the walk)
    };
    // What the precomputed path needs of the cursor, once per mask.
    struct SylStep {
        SyllableMask ended = 0;  // line totals once the word being written ends (0 = it cannot)
        uint64_t summary = 0;    // the word being written, under the guess fold
    };
    struct SylTables;
    void init_syllable_tokens(SylTables& tb) const;
    SylStep syllable_step() const;
    // Between words, and for the tokens whose first character ends the word being written, a
    // token's verdict depends only on the line, its possible totals and which of the two it is:
    // such masks (one bit a token) are worked out once per key and kept, across generations too.
    const std::vector<uint64_t>& syllable_items_mask(int line, SyllableMask syl, bool word_ended);
    void build_syllable_items_mask_reference(int line, SyllableMask syl, bool word_ended, std::vector<uint64_t>& bits) const;
    // The same mask by groups (syl_groups_): the verdict of one token of each group, set for the
    // whole group through its bit rows. The groups are made with the rest of the tables.
    void build_syllable_items_mask(int line, SyllableMask syl, bool word_ended, std::vector<uint64_t>& bits) const;
    void init_syllable_groups(SylTables& tb) const;
    // Appends to `key` what syllable_items reads of items [items, items + n) (init_syllable_groups).
    void syllable_items_key(const SylTables& tb, const int32_t* items, size_t n, std::vector<uint64_t>& key) const;
    // Inside a word, the verdicts of the tokens that extend it (route Head), one bit a token. They
    // depend only on the line, its totals and the word so far, so they are kept per such key too
    // (a word's prefixes come back at every generation that writes it).
    const std::vector<uint64_t>& syllable_head_mask(const SylStep& step);
    void build_syllable_head_mask(const SylStep& step, std::vector<uint64_t>& bits);
    void build_syllable_head_mask_reference(const SylStep& step, std::vector<uint64_t>& bits);
    // One head's verdict once its trie node (-1: off the trie) and counts are known.
    bool head_decide(size_t k, int node, SyllableMask counts) const;
    // The class path (GuessFold::has_classes): the verdicts of the classed heads as if off the
    // trie, kept per line, totals and word class; the rest items' verdicts of the heads with
    // items after them, kept per line and totals after the word ends; and the heads that stay on
    // the trie below `node` (heads [lo, hi), which share their first `depth` characters).
    const std::vector<uint64_t>& syllable_class_mask(int64_t word_class);
    const std::vector<uint64_t>& syllable_rest_mask(int line, SyllableMask syl);
    void fix_heads_on_trie(int node, size_t depth, size_t lo, size_t hi, std::vector<uint64_t>& bits) const;
    // Runs items [it, end) from a line with totals syl; `first_checked`: the first character ends a
    // word, so the closed-text rule (checked between words only) does not apply to it.
    bool syllable_items(const int32_t* it, const int32_t* end, int line, SyllableMask syl, bool first_checked) const;
    // The guess for the word being written extended by a token's head.
    SyllableMask guess_joined(const SylStep& step, const SylToken& t) const;

    FormSpec spec_;
    const model::Tokenizer& tok_;
    std::vector<LineRules> rules_;
    // Syllable unit, per line: the totals t from which whole dictionary words can still make the
    // line's count (bit t; none above the count).
    std::vector<SyllableMask> need_;
    // What the form reads of each token, worked out in one pass over the vocabulary (~16 ms at
    // 150k tokens): it depends only on the vocabulary and the form's character rules (`allowed`,
    // `is_unit`, and whether the unit is the syllable), so the constraints whose specs carry the
    // same rules_id share it, across threads (token_tables(); without a rules_id each makes its
    // own). Read only once made.
    struct TokenTables {
        std::vector<std::string> bytes;
        std::vector<TokenInfo> info;
        std::vector<int8_t> kind;
        std::vector<uint32_t> first_unit;       // a simple token's first unit character (0 = none)
        std::vector<uint32_t> cps, cps_begin;   // whole tokens' code points; token i's start at cps_begin[i]
        uint64_t syl_vocab = 0;  // syllable unit: the fingerprint syllable_tables is keyed on
    };
    std::shared_ptr<const TokenTables> token_tables() const;
    std::shared_ptr<const TokenTables> make_token_tables() const;
    std::shared_ptr<const TokenTables> tokens_;
    // mask_simple's verdicts, one bit a token in each row, by the plan they answer.
    struct SimpleMask {
        std::vector<uint64_t> allow;  // fits outright
        std::vector<uint64_t> ask;    // the predicate or fits_closer decides
    };
    std::unordered_map<uint64_t, SimpleMask> simple_masks_;
    // The last mask_simple's plan and verdicts by kind, for row_decide.
    SimplePlan row_plan_;
    std::array<Verdict, 256> row_by_kind_ = {};
    std::vector<uint64_t> row_allow_;  // mask_simple's allowed row with the asks answered
    Cursor cur_;
    std::string text_;
    ConstraintStatus status_ = ConstraintStatus::Active;
    MaskStats stats_;
    mutable std::unordered_map<uint64_t, bool> feasible_;  // can_complete without a fixed char
    // The same answers for every constraint with this spec's rules_id (null without one): read on
    // a miss in feasible_, written after a scan (LeadAnswers in form.cpp, under its own mutex).
    struct LeadAnswers;
    static std::shared_ptr<LeadAnswers> lead_answers(const std::string& rules_id);
    std::shared_ptr<LeadAnswers> shared_feasible_;
    mutable std::unordered_map<std::string, SyllableMask> guessed_;  // the dictionary's guesses
    std::map<std::tuple<int, SyllableMask, bool>, std::vector<uint64_t>> syl_masks_;
    // Per token, how the syllable mask decides it: never; by the walk (not whole characters, or
    // U+2019); by the kept masks only (no leading word characters); or, inside a word, by
    // extending it (a head of word characters).
    enum class SylRoute : uint8_t { Never, Walk, Items, Head };
    // The Head-route tokens in the order of their heads (sorted), with the characters each shares
    // with the one before: the mid-word mask walks a shared prefix down the dictionary's trie once.
    // What that mask reads of them is copied here in the same order (the heads' characters one
    // after another in syl_head_chars_, their summaries under the guess fold in
    // syl_head_summaries_), so that it reads memory in sequence; the guesses go in one call.
    struct SylHead {
        int32_t id = 0;
        int32_t rest = 0;     // the items after the head (syl_items_)
        uint16_t shared = 0;  // leading characters in common with the head before
        uint16_t len = 0;
        uint8_t n_rest = 0;   // 0: the token ends inside the word
    };
    // mask_syllables' scratch row of the tokens allowed.
    std::vector<uint64_t> syl_yes_;
    std::map<std::tuple<int, SyllableMask, std::string>, std::vector<uint64_t>> syl_head_masks_;
    // Scratch of build_syllable_head_mask: the heads whose verdict waits on the guess, with their
    // summaries and then their guessed counts.
    std::vector<int32_t> pending_;
    std::vector<uint64_t> pending_summaries_;
    std::vector<SyllableMask> pending_counts_;
    std::vector<SyllableMask> unclassed_counts_;  // per distinct unclassed summary, this mask's guess
    // The class path: per head (syl_heads_ order) its class's index in syl_classes_ (-1: no
    // class, decided one at a time, listed in syl_unclassed_); per class, its tokens whose word
    // stays open (row 0) or that go on after the word (row 1), one bit a token (nonzero words).
    struct SylBits {
        uint32_t word = 0;  // bits of tokens 64 * word ... 64 * word + 63
        uint64_t bits = 0;
    };
    std::map<std::tuple<int, SyllableMask, int64_t>, std::vector<uint64_t>> syl_class_masks_;
    std::map<std::pair<int, SyllableMask>, std::vector<uint64_t>> syl_rest_masks_;
    // The tokens of the Items route and the Head-route tokens read between words, grouped by what
    // syllable_items reads of their items: the breaks, each word's counts, and of a word left open
    // at the token's end what word_fits reads. Tokens with a head and those without make separate
    // groups (after a word ends, only the latter are read). One token stands for the group.
    struct SylGroup {
        int32_t rep = 0;
        bool headless = false;
        std::vector<SylBits> bits;  // the group's tokens, one bit a token (nonzero words)
    };
    // The heads without a class (syl_unclassed_) grouped by what their verdict off the trie reads:
    // their summary's index in syl_unclassed_summaries_, their length and the key of their items
    // after the head. `rep` and `members` are indexes into syl_heads_.
    struct SylHeadGroup {
        int32_t rep = 0;
        int32_t pick = 0;
        uint16_t len = 0;
        std::vector<int32_t> members;
        std::vector<SylBits> bits;  // the members' tokens
    };
    // Everything the syllable path reads of the vocabulary, made once per dictionary and vocabulary
    // (token bytes, and which tokens the form never allows or that end generation) and shared by
    // every constraint built for them, across threads (syllable_tables(), a process-wide cache that
    // holds them while some constraint does): at 150k tokens they take 10 ms or more to make, which
    // each request's constraint used to pay. Read only once made.
    struct SylTables {
        std::shared_ptr<const SyllableDictionary> dict;  // keeps the key's dictionary alive
        std::vector<SylToken> syl_;
        std::vector<SylWord> syl_words_;
        std::vector<int32_t> syl_items_;
        std::string syl_chars_;
        std::vector<SylRoute> syl_route_;
        std::vector<SylHead> syl_heads_;
        std::string syl_head_chars_;
        std::vector<uint64_t> syl_zero_;  // a mask of no tokens
        // The tokens of the Items and Head routes, one bit a token each; those of the Walk route.
        std::array<std::vector<uint64_t>, 2> syl_route_bits_;
        std::vector<int32_t> syl_walk_ids_;
        std::vector<uint64_t> syl_head_summaries_;
        std::vector<int32_t> syl_head_class_;
        std::vector<int64_t> syl_classes_;
        std::vector<std::array<std::vector<SylBits>, 2>> syl_class_bits_;
        std::vector<int32_t> syl_unclassed_;
        // The unclassed heads' distinct summaries under the fold, and per entry of syl_unclassed_
        // the index of its summary there: a mask inside a word guesses each summary once, in one
        // call (the short heads without a class, " a", "a,", "as", share a few hundred summaries).
        std::vector<uint64_t> syl_unclassed_summaries_;
        std::vector<int32_t> syl_unclassed_pick_;
        std::vector<SylHeadGroup> syl_unclassed_groups_;
        std::vector<int32_t> syl_by_length_;  // the heads (syl_heads_ order), longest first
        std::vector<SylGroup> syl_groups_;
    };
    // The tables for this constraint's dictionary and vocabulary: the cached ones, or made now
    // (once per key even when several threads ask at the same time). `vocab` fingerprints what
    // the tables read of the vocabulary: the tokenizer's fingerprint and the tokens the form never
    // allows.
    std::shared_ptr<const SylTables> syllable_tables(uint64_t vocab) const;
    std::shared_ptr<const SylTables> make_syllable_tables() const;
    std::shared_ptr<const SylTables> syl_tab_;
    bool syl_items_reference_ = false;
    bool syl_reference_ = false;
    mutable std::string scratch_;  // a spelled-out word, for guesses without a fold
};

}  // namespace lyra::gen::constraint
