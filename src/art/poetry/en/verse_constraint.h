// VerseConstraint: English verse forms kept by construction during decoding (issue #5).
// The text is tracked word by word against a lexicon trie (dictionary words with their
// syllables and rhyme keys; the trie and its syllable masks are the form layer's syllable unit,
// gen::constraint::SyllableDictionary): a word may only be spelled along the trie; a word ends (space,
// punctuation, line break) only where it is a whole word whose syllables still fit the line;
// a line breaks only when its syllable count is met and, for rhyming lines, its last word
// rhymes with the group's first (a word used once in a group is not used again); acrostic
// letters are forced at line starts; after the last line only end-of-generation is allowed.
// Every candidate token is kept only if a completion of the whole poem is still possible
// after it (the trie carries, per node, the syllable counts of the words below it, and rhyme
// groups are opened only with words that have enough partners), so no path dead-ends and even a
// random-weight model writes a valid poem, provided the vocabulary has single-character tokens
// for letters, space, punctuation and '\n' (checked at construction).
// One per generation stream; not thread-safe. A Lexicon is immutable and shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "art/poetry/en/forms.h"
#include "generate/constraint/syllable.h"
#include "generate/sampler.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::art::poetry::en {

struct LexWord {
    std::string text;  // lower case: letters and inner apostrophes
    int syllables = 0;
    std::string rhyme;
    std::string stress;
};

// The words generation may use: their rhyme keys and stresses, and the generic syllable trie
// of the form layer (gen::constraint::SyllableDictionary) over the same words in the same order,
// so a word's index is the same in both and a trie node's [lo, hi) range indexes words().
class Lexicon {
public:
    using Node = gen::constraint::SyllableDictionary::Node;
    explicit Lexicon(std::vector<LexWord> words);  // sorts and de-duplicates by spelling

    // The standard generation lexicon, built once: CMU dictionary words of letters (and inner
    // apostrophes) with a vowel, at most 12 letters and 3 per syllable plus 2; when the English
    // corpora in ../shared/data (poetry, stories, Shakespeare) are present, only words they use
    // (a letter with fewer than 3 such words keeps the dictionary's).
    static std::shared_ptr<const Lexicon> standard();

    int child(int node, char c) const { return dict_->child(node, c); }  // -1 when absent
    const std::vector<LexWord>& words() const { return words_; }
    const std::vector<Node>& nodes() const { return dict_->nodes(); }
    // The syllable trie (one count per word: its first pronunciation's).
    const std::shared_ptr<const gen::constraint::SyllableDictionary>& syllables() const { return dict_; }
    // Indices (ascending) of the words with this rhyme key; null when none.
    const std::vector<int32_t>* rhymes(const std::string& key) const;
    int find(const std::string& word) const { return dict_->find(word); }  // index or -1

private:
    std::vector<LexWord> words_;
    std::shared_ptr<const gen::constraint::SyllableDictionary> dict_;
    std::unordered_map<std::string, std::vector<int32_t>> by_rhyme_;
};

class VerseConstraint final : public gen::Constraint {
public:
    // Throws Error(InvalidArgument) when an acrostic letter starts no lexicon word, and
    // Error(Unsupported) when the vocabulary cannot spell verse one character at a time.
    VerseConstraint(VerseForm form, std::string acrostic, std::shared_ptr<const Lexicon> lexicon,
                    const model::Tokenizer& tok);

    void apply(gen::CandidateSet& c) override;
    void accept(gen::TokenId id) override;
    void reset() override;

    bool is_complete() const { return state_.phase == Phase::Done; }
    bool dead_end() const { return dead_end_; }
    // The most characters a poem of this form can take under the lexicon's length limits (the
    // token budget to give the generator).
    static int max_chars(const VerseForm& form);

private:
    enum class Phase : uint8_t { LineStart, InWord, AfterPunct, AfterSpace, Done };
    struct State {
        Phase phase = Phase::LineStart;
        int line = 0;
        int syl = 0;         // syllables of the line's finished words
        int node = 0;        // trie node of the word being spelled (InWord)
        int word = -1;       // the word before the punctuation (AfterPunct)
        int new_group = -1;  // a rhyme group given a word inside the token being tried
        int new_word = -1;
        bool bad = false;
    };
    bool step(State& s, char c) const;
    bool commit_mid(State& s, int w) const;
    bool commit_final(State& s, int w) const;
    bool final_ok(const State& s, int w) const;
    bool can_end(const State& s) const;
    bool feasible(const State& s) const;
    bool feasible_node(const State& s, int node) const;
    gen::constraint::SyllableMask final_mask(const State& s) const;
    int key_word(const State& s, int group) const;
    bool used(const State& s, int group, int w) const;
    int min_final(const State& s) const;
    int group_of(int line) const;

    VerseForm form_;
    std::string acrostic_;
    std::shared_ptr<const Lexicon> lex_;
    std::vector<std::string> bytes_;  // per token; empty = never allowed
    std::vector<uint8_t> eog_;
    std::vector<char> group_letters_;           // distinct rhyme letters
    std::vector<std::vector<uint8_t>> opener_;  // per group: word may open it
    std::vector<std::vector<gen::constraint::SyllableMask>> opener_mask_;  // per group, per node
    std::vector<int> group_size_;
    // Committed rhyme state.
    std::vector<int> key_;                 // per group: the word that opened it, or -1
    std::vector<std::vector<int>> used_;   // per group: words used
    mutable std::vector<int> min_cache_;   // per line: min_final for the committed state (-2 = unknown)
    State state_;
    bool dead_end_ = false;
};

}  // namespace lyra::art::poetry::en
