// SyllableDictionary (syllable.h): the word trie with per-node syllable masks.
#include "generate/constraint/syllable.h"

#include <algorithm>

#include "core/error.h"

namespace lyra::gen::constraint {

SyllableMask syllable_bits(int lo, int hi) {
    lo = std::max(lo, 0);
    hi = std::min(hi, 63);
    if (hi < lo) return 0;
    const SyllableMask upto = hi == 63 ? ~SyllableMask{0} : (SyllableMask{1} << (hi + 1)) - 1;
    return upto & ~((SyllableMask{1} << lo) - 1);
}

int lowest_syllable(SyllableMask m) { return m == 0 ? -1 : __builtin_ctzll(m); }

SyllableDictionary::SyllableDictionary(std::vector<SyllableWord> words, Guess guess, GuessFold fold)
    : words_(std::move(words)), guess_(std::move(guess)), fold_(std::move(fold)) {
    for (const SyllableWord& w : words_) {
        bool ok = !w.text.empty() && w.text.front() != '\'' && w.text.back() != '\'';
        for (char c : w.text) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'');
        if (!ok)
            throw_error(ErrorKind::InvalidArgument,
                        "syllable dictionary: word '{}' is not a word; expected lower-case letters a-z, digits and inner apostrophes",
                        w.text);
        if (w.counts == 0 || (w.counts & 1) != 0)
            throw_error(ErrorKind::InvalidArgument,
                        "syllable dictionary: word '{}' has no syllable count of 1 or more; expected counts 1..{}", w.text,
                        kMaxLineSyllables);
    }
    // Stable, so a caller that passes sorted unique words keeps its indices.
    std::stable_sort(words_.begin(), words_.end(),
                     [](const SyllableWord& a, const SyllableWord& b) { return a.text < b.text; });
    std::vector<SyllableWord> merged;
    merged.reserve(words_.size());
    for (SyllableWord& w : words_) {
        if (!merged.empty() && merged.back().text == w.text) merged.back().counts |= w.counts;
        else merged.push_back(std::move(w));
    }
    words_ = std::move(merged);
    nodes_.reserve(words_.size() * 3 + 1);
    build(-1, 0, static_cast<int32_t>(words_.size()), 0);
    // Children come after their parents: fold the masks up in reverse order.
    for (size_t i = nodes_.size(); i-- > 0;) {
        Node& n = nodes_[i];
        if (n.word >= 0) n.mask |= words_[static_cast<size_t>(n.word)].counts;
        if (n.parent >= 0) nodes_[static_cast<size_t>(n.parent)].mask |= n.mask;
    }
}

int32_t SyllableDictionary::build(int32_t parent, int32_t lo, int32_t hi, size_t depth) {
    const auto id = static_cast<int32_t>(nodes_.size());
    nodes_.push_back({.parent = parent, .lo = lo, .hi = hi});
    int32_t i = lo;
    if (i < hi && words_[static_cast<size_t>(i)].text.size() == depth) nodes_.back().word = i++;
    // Children: runs of words sharing the character at `depth` (sorted, so runs are contiguous).
    std::vector<std::pair<int32_t, int32_t>> runs;
    while (i < hi) {
        const char c = words_[static_cast<size_t>(i)].text[depth];
        int32_t j = i;
        while (j < hi && words_[static_cast<size_t>(j)].text[depth] == c) ++j;
        runs.emplace_back(i, j);
        i = j;
    }
    const auto begin = static_cast<int32_t>(edges_.size());
    edges_.resize(edges_.size() + runs.size());
    nodes_[static_cast<size_t>(id)].edge_begin = begin;
    nodes_[static_cast<size_t>(id)].edge_end = begin + static_cast<int32_t>(runs.size());
    for (size_t r = 0; r < runs.size(); ++r) {
        const char c = words_[static_cast<size_t>(runs[r].first)].text[depth];
        const int32_t kid = build(id, runs[r].first, runs[r].second, depth + 1);
        edges_[static_cast<size_t>(begin) + r] = {c, kid};
    }
    return id;
}

int SyllableDictionary::child(int node, char c) const {
    if (node < 0) return -1;
    const Node& n = nodes_[static_cast<size_t>(node)];
    for (int32_t e = n.edge_begin; e < n.edge_end; ++e)
        if (edges_[static_cast<size_t>(e)].first == c) return edges_[static_cast<size_t>(e)].second;
    return -1;
}

int SyllableDictionary::find(std::string_view word) const {
    auto it = std::lower_bound(words_.begin(), words_.end(), word,
                               [](const SyllableWord& a, std::string_view b) { return a.text < b; });
    return it != words_.end() && it->text == word ? static_cast<int>(it - words_.begin()) : -1;
}

SyllableMask SyllableDictionary::counts(std::string_view word, int node) const {
    const int w = node == -2 ? find(word) : node >= 0 ? nodes_[static_cast<size_t>(node)].word : -1;
    if (w >= 0) return words_[static_cast<size_t>(w)].counts;
    if (!guess_ || word.empty()) return 0;
    return guess_(word) & syllable_bits(1, 63);
}

}  // namespace lyra::gen::constraint
