// Constrained decoding for the Chinese forms: every output is valid by construction. The mask
// follows the poem slot by slot — a character position allows only single-character tokens whose
// tone fits a tone pattern still open for the line (and the acrostic character at a line's start);
// a rhyme position allows only characters sharing a rhyme key with the set's earlier rhymes and
// not used before; line ends force the punctuation and line break; the end forces end-of-text.
// Dead ends are ruled out ahead: a rhyme set starts only in a key with enough characters left
// in the vocabulary for all its lines, and the vocabulary must hold 平 and 仄 characters (checked
// at construction, with the acrostic characters against their lines' first positions). Under
// 换韵 (FormVariant::rhyme_changes) a set's first rhyme shares no key with any rhyme of the set
// before it, so no reading of the two finds a rhyme they share.
// A dead end the checks miss (a vocabulary with no character of a class a slot needs) is reported
// as the generic constraints do: apply() then allows only end-of-text and dead_end() says where
// and why; the caller turns that into one error instead of a half-written poem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "art/poetry/forms.h"
#include "art/poetry/prosody.h"
#include "generate/sampler.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::art::poetry {

// What the mask needs to know of a vocabulary, computed once per (tokenizer, book, reading:
// FormDef::rhyme_reading). Under GroupOrBu (古体) a character of both tone classes gets no rhyme
// keys: it never ends a rhyme line there (its tone would be ambiguous).
struct ZhVocab {
    std::vector<char32_t> ch;   // per token: its single Han character, 0 if not one
    std::vector<uint8_t> tone;  // its tone class under the book (0 = unusable)
    std::vector<std::vector<int>> keys_p, keys_z;  // rhyme keys on 平 / 仄 rhyme lines
    std::map<std::pair<int, char>, int> key_count;  // (key, 'P'/'Z') -> distinct characters
    std::map<char32_t, model::TokenId> token_of;
    std::vector<model::TokenId> comma_nl, stop_nl;  // "，\n" and "。\n" as tokens
    model::TokenId eos = -1;
};
std::shared_ptr<const ZhVocab> make_zh_vocab(const model::Tokenizer& tok, RhymeBook book,
                                            RhymeReading reading);

class ZhConstraint final : public gen::Constraint {
public:
    // Throws Error(InvalidArgument) when the acrostic cannot start the variant's lines, or the
    // vocabulary cannot fill the form.
    ZhConstraint(const FormDef& form, const FormVariant& variant, RhymeBook book,
                 std::u32string acrostic, std::shared_ptr<const ZhVocab> vocab);

    void apply(gen::CandidateSet& c) override;
    void accept(model::TokenId id) override;
    void reset() override;
    bool done() const { return done_; }
    // Empty until no token could continue the poem; then "line 2, char 5: ..." (1-based).
    const std::string& dead_end() const { return dead_end_; }

    // Whether `acrostic` can begin the variant's lines under the book (each character's tone
    // fits its line's first position); on failure `why` says which one.
    static bool acrostic_fits(const FormVariant& v, RhymeBook book, const std::u32string& acrostic,
                              std::string* why);

private:
    bool char_ok(model::TokenId id) const;
    // Whether rhyme key `k` has enough characters in the vocabulary for every line of set `sid`.
    bool key_has_room(const std::string& sid, int k) const;
    // 换韵: whether `keys` (a set's first rhyme) meet a key of a rhyme of the set before `sid`.
    bool keeps_previous_rhyme(const std::string& sid, const std::vector<int>& keys) const;
    std::string set_id(const LineDef& l) const;
    void end_line();
    std::string explain_dead_end() const;

    const FormDef& form_;
    const FormVariant& v_;
    RhymeBook book_;
    std::u32string acrostic_;
    std::shared_ptr<const ZhVocab> vocab_;
    std::map<std::string, std::map<char, int>> need_;  // set -> tone -> lines

    int line_ = 0, pos_ = 0;
    std::vector<uint8_t> alive_;
    uint8_t mask_ = 0;  // tones allowed at pos_
    std::vector<model::TokenId> forced_;
    size_t forced_at_ = 0;
    bool done_ = false;
    std::string dead_end_;
    std::map<std::string, std::vector<int>> live_keys_;  // set -> keys still shared
    std::map<std::string, std::set<char32_t>> used_;
    std::map<std::string, std::string> prev_set_;    // 换韵: set -> the set before it
    std::map<std::string, std::vector<int>> heard_;  // set -> every key of its rhymes so far
    char32_t last_rhyme_ = 0;
    std::u32string line_text_, prev_line_;  // the line being written, the one before (叠句)
};

}  // namespace lyra::art::poetry
