// The form layer's syllable unit (issue #4): a pronouncing dictionary the caller supplies, as
// the decoder needs it. Words (lower case) carry the syllable counts of their pronunciations as a
// bit mask (several bits for a word said more than one way); they sit in a trie whose nodes know
// the counts of every word below them, so a word half-written across tokens still has a known
// set of possible counts. An optional letter-to-sound guess gives counts for words the dictionary
// lacks. Immutable after construction and safe to share between streams; the guess must be too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lyra::gen::constraint {

// Bit k set: k syllables are possible.
using SyllableMask = uint64_t;
// The most syllables a form line may count (the masks are 64 bits wide).
inline constexpr int kMaxLineSyllables = 63;

// A GuessFold's answer when a summary cannot tell the counts: the plain guess is asked with the
// spelled-out word (bit 0, zero syllables, is never a count).
inline constexpr SyllableMask kAskGuess = 1;

// Bits lo..hi, clamped to 0..63 (0 when hi < lo).
SyllableMask syllable_bits(int lo, int hi);
// The smallest count in m; -1 when m is empty.
int lowest_syllable(SyllableMask m);

struct SyllableWord {
    std::string text;        // lower-case ASCII letters and digits, inner apostrophes
    SyllableMask counts = 0; // one bit per pronunciation's count (1..63)
};

// The guess as a fold over the word's pieces (optional, beside the Guess): a piece's summary, the
// summary of two pieces in a row from theirs, and the guess's counts from a whole word's summary.
// The decoder asks about (word so far + candidate token) for every token of the vocabulary at every
// step; with a fold that is two calls on precomputed summaries instead of spelling the word out
// and running the guess. Contract: counts(join(summary(a), summary(b))) equals the Guess of a + b
// (or is kAskGuess) for every word a + b the dictionary lacks; join with summary("") is identity.
struct GuessFold {
    std::function<uint64_t(std::string_view piece)> summary;
    std::function<uint64_t(uint64_t a, uint64_t b)> join;
    std::function<SyllableMask(uint64_t word)> counts;
    // Optional, the same in bulk: out[i] = counts(join(word, pieces[i])) for i < n. The mask asks
    // this for every token that extends the word being written; one call for them all saves two
    // indirect calls a token (most of the cost at a 150k vocabulary). Null: join and counts are used.
    std::function<void(uint64_t word, const uint64_t* pieces, size_t n, SyllableMask* out)> counts_joined = {};
    // Optional, by classes: the few things of a word and of a piece that counts(join(word, piece))
    // reads, as small numbers (-1: no class; the pair is then asked as above). Contract: when both
    // classes are >= 0, class_counts(word_class(word), piece_class(piece)) equals
    // counts(join(word, piece)) and is not kAskGuess. The mask inside a word made up by the model
    // then asks a few dozen classes instead of every token that extends it, and keeps the verdicts
    // per word class, which new words share (form_syllable.cpp). Null: not used.
    std::function<int64_t(uint64_t piece)> piece_class = {};
    std::function<int64_t(uint64_t word)> word_class = {};
    std::function<SyllableMask(int64_t word_class, int64_t piece_class)> class_counts = {};
    bool has_classes() const { return piece_class && word_class && class_counts; }
};

class SyllableDictionary {
public:
    // Counts for a word the dictionary lacks (lower case, as spelled so far); 0 = the word cannot
    // be said. Null: such words are not allowed.
    using Guess = std::function<SyllableMask(std::string_view word)>;
    struct Node {
        int32_t parent = -1;
        int32_t edge_begin = 0, edge_end = 0;  // children in edge order (ascending character)
        int32_t word = -1;                     // the word spelled by the path to here, or -1
        int32_t lo = 0, hi = 0;                // the words below: [lo, hi) of words()
        SyllableMask mask = 0;                 // counts of the words below (this one included)
    };

    // Sorts the words by spelling and merges repeats (their counts are joined). Throws
    // Error(InvalidArgument) naming the word for an empty one, a character outside a-z 0-9 and
    // inner apostrophes, or no count / a count outside 1..63.
    // A fold is used only with a guess, whose answers it must match (GuessFold).
    explicit SyllableDictionary(std::vector<SyllableWord> words, Guess guess = {}, GuessFold fold = {});

    int child(int node, char c) const;  // -1 when absent (or node is -1)
    int find(std::string_view word) const;  // index into words(), or -1
    // The counts of a whole word: the dictionary's, else the guess's, else 0. `node` is the word's
    // trie node when the caller has walked to it (-1 = off the trie or not known).
    SyllableMask counts(std::string_view word, int node = -2) const;
    const std::vector<SyllableWord>& words() const { return words_; }
    const std::vector<Node>& nodes() const { return nodes_; }
    bool has_guess() const { return static_cast<bool>(guess_); }
    // Null members when the guess has no fold.
    const GuessFold& fold() const { return fold_; }
    bool has_fold() const { return guess_ && fold_.summary && fold_.join && fold_.counts; }

private:
    int32_t build(int32_t parent, int32_t lo, int32_t hi, size_t depth);
    std::vector<SyllableWord> words_;
    std::vector<Node> nodes_;
    std::vector<std::pair<char, int32_t>> edges_;
    Guess guess_;
    GuessFold fold_;
};

// A character that may be part of a word for the syllable unit: ASCII letters and digits (the
// apostrophe joins them inside a word).
inline bool is_word_char(uint32_t cp) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}

}  // namespace lyra::gen::constraint
