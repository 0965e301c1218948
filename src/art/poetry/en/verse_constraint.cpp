// VerseConstraint and its lexicon (verse_constraint.h).
#include "art/poetry/en/verse_constraint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_set>

#include "art/common/data_paths.h"
#include "art/poetry/en/pronounce.h"
#include "core/error.h"

namespace lyra::art::poetry::en {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kMaxWordSyllables = 15;

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_punct(char c) { return c == ',' || c == ';' || c == ':' || c == '.' || c == '!' || c == '?'; }

using gen::constraint::SyllableMask;
using gen::constraint::lowest_syllable;
using gen::constraint::syllable_bits;

bool usable_word(const std::string& w, int syllables) {
    if (w.empty() || w.size() > 12 || syllables < 1 || syllables > kMaxWordSyllables) return false;
    if (static_cast<int>(w.size()) > 3 * syllables + 2) return false;
    if (!is_lower(w.front()) || !is_lower(w.back())) return false;
    for (char c : w)
        if (!is_lower(c) && c != '\'') return false;
    if (w.size() == 1 && w != "a" && w != "i" && w != "o") return false;
    return w.find_first_of("aeiouy") != std::string::npos;  // no "th", "xml"
}

// Lower-case words of the shared English corpora (verse, stories, Shakespeare; empty when they
// are not installed).
std::unordered_set<std::string> corpus_words() {
    std::unordered_set<std::string> out;
    out.reserve(60000);
    std::string root;
    try {
        root = shared_data_dir();
    } catch (const Error&) {
        return out;
    }
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const char* sub : {"english-poetry", "english-stories", "tinyshakespeare"}) {
        const std::filesystem::path dir = std::filesystem::path(root) / sub;
        if (!std::filesystem::is_directory(dir, ec)) continue;
        for (const auto& e : std::filesystem::directory_iterator(dir, ec))
            if (e.path().extension() == ".txt") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        const std::string text = ss.str();
        std::string w;
        for (size_t i = 0; i <= text.size(); ++i) {
            const char c = i < text.size() ? text[i] : ' ';
            if (is_lower(c) || is_upper(c) || (c == '\'' && !w.empty())) {
                w += static_cast<char>(is_upper(c) ? c | 0x20 : c);
            } else {
                while (!w.empty() && w.back() == '\'') w.pop_back();
                if (!w.empty()) out.insert(w);
                w.clear();
            }
        }
    }
    return out;
}

}  // namespace

// --- Lexicon ------------------------------------------------------------------------------

Lexicon::Lexicon(std::vector<LexWord> words) : words_(std::move(words)) {
    std::sort(words_.begin(), words_.end(), [](const LexWord& a, const LexWord& b) { return a.text < b.text; });
    words_.erase(std::unique(words_.begin(), words_.end(), [](const LexWord& a, const LexWord& b) { return a.text == b.text; }),
                 words_.end());
    // Sorted and unique already, so the trie keeps these indices.
    std::vector<gen::constraint::SyllableWord> sw;
    sw.reserve(words_.size());
    for (const LexWord& w : words_) sw.push_back({w.text, SyllableMask{1} << w.syllables});
    dict_ = std::make_shared<const gen::constraint::SyllableDictionary>(std::move(sw));
    for (size_t i = 0; i < words_.size(); ++i) by_rhyme_[words_[i].rhyme].push_back(static_cast<int32_t>(i));
}

const std::vector<int32_t>* Lexicon::rhymes(const std::string& key) const {
    auto it = by_rhyme_.find(key);
    return it == by_rhyme_.end() ? nullptr : &it->second;
}

std::shared_ptr<const Lexicon> Lexicon::standard() {
    static std::once_flag once;
    static std::shared_ptr<const Lexicon> lex;
    std::call_once(once, [] {
        const Dictionary& dict = Dictionary::get();
        const std::unordered_set<std::string> corpus = corpus_words();
        std::vector<LexWord> all;
        for (const auto& [w, prons] : dict.words()) {
            const Pron& p = prons.front();
            if (usable_word(w, p.syllables)) all.push_back({w, p.syllables, p.rhyme, p.stress});
        }
        std::vector<LexWord> chosen;
        if (corpus.empty()) {
            chosen = std::move(all);
        } else {
            int per_letter[26] = {};
            for (const LexWord& w : all)
                if (corpus.count(w.text)) {
                    chosen.push_back(w);
                    ++per_letter[w.text[0] - 'a'];
                }
            for (const LexWord& w : all)
                if (per_letter[w.text[0] - 'a'] < 3 && !corpus.count(w.text)) chosen.push_back(w);
        }
        lex = std::make_shared<const Lexicon>(std::move(chosen));
    });
    return lex;
}

// --- VerseConstraint ----------------------------------------------------------------------

int VerseConstraint::max_chars(const VerseForm& form) {
    // A word is at most 3 letters per syllable + 2, followed by at most punctuation and a space.
    int n = 1;
    for (const LineSpec& l : form.lines) n += 7 * l.max_syllables + 1;
    return n;
}

VerseConstraint::VerseConstraint(VerseForm form, std::string acrostic, std::shared_ptr<const Lexicon> lexicon,
                                 const model::Tokenizer& tok)
    : form_(std::move(form)), acrostic_(std::move(acrostic)), lex_(std::move(lexicon)) {
    for (char& c : acrostic_) c = static_cast<char>(c | 0x20);
    for (size_t i = 0; i < acrostic_.size(); ++i) {
        if (lex_->child(0, acrostic_[i]) < 0) {
            throw_error(ErrorKind::InvalidArgument, "acrostic: no word in the English lexicon starts with '{}' (line {}); expected letters that begin words",
                        acrostic_[i], i + 1);
        }
    }
    // The vocabulary: each token's bytes if they are verse characters ('\n' only at the end).
    const auto nv = static_cast<size_t>(tok.n_vocab());
    bytes_.resize(nv);
    eog_.assign(nv, 0);
    std::set<char> single;
    for (model::TokenId id = 0; id < tok.n_vocab(); ++id) {
        if (tok.is_eog(id)) {
            eog_[static_cast<size_t>(id)] = 1;
            continue;
        }
        if (tok.is_control(id) || tok.token_type(id) == model::TokenType::Unknown) continue;
        std::string b = tok.token_to_bytes(id);
        bool ok = !b.empty();
        for (size_t k = 0; k < b.size() && ok; ++k) {
            const char c = b[k];
            ok = is_lower(c) || is_upper(c) || c == '\'' || c == ' ' || is_punct(c) || (c == '\n' && k + 1 == b.size());
        }
        if (!ok) continue;
        if (b.size() == 1) single.insert(b[0]);
        bytes_[static_cast<size_t>(id)] = std::move(b);
    }
    bool has_eog = false;
    for (uint8_t e : eog_) has_eog = has_eog || e;
    for (char c : std::string("abcdefghijklmnopqrstuvwxyz' \n")) {
        if (!single.count(c) || !has_eog) {
            throw_error(ErrorKind::Unsupported,
                        "verse constraint: the model's vocabulary cannot spell English verse one character at a time; expected single-character tokens for a-z, apostrophe, space and newline and an end-of-text token, got none for {}",
                        has_eog ? fmt::format("'{}'", c == '\n' ? std::string("\\n") : std::string(1, c)) : std::string("end-of-text"));
        }
    }
    // Rhyme groups and their openers: a word may open a group only if its rhyme key has enough
    // other words short enough for every later line of the group (after the acrostic word
    // that may have to start the line).
    const auto& words = lex_->words();
    const auto& nodes = lex_->nodes();
    for (size_t i = 0; i < form_.lines.size(); ++i) {
        const char g = form_.lines[i].rhyme;
        if (g == 0) continue;
        auto it = std::find(group_letters_.begin(), group_letters_.end(), g);
        if (it == group_letters_.end()) {
            group_letters_.push_back(g);
            group_size_.push_back(0);
            it = group_letters_.end() - 1;
        }
        ++group_size_[static_cast<size_t>(it - group_letters_.begin())];
    }
    auto min_syl_from = [&](char letter) {
        const int node = lex_->child(0, letter);
        return node < 0 ? 99 : lowest_syllable(nodes[static_cast<size_t>(node)].mask);
    };
    for (size_t g = 0; g < group_letters_.size(); ++g) {
        int bound = 99;
        bool first = true;
        for (size_t i = 0; i < form_.lines.size(); ++i) {
            if (form_.lines[i].rhyme != group_letters_[g]) continue;
            if (first) {
                first = false;
                continue;
            }
            const int lead = i < acrostic_.size() ? min_syl_from(acrostic_[i]) : 0;
            bound = std::min(bound, form_.lines[i].max_syllables - lead);
        }
        std::vector<uint8_t> ok(words.size(), 0);
        std::vector<SyllableMask> mask(nodes.size(), 0);
        for (size_t w = 0; w < words.size(); ++w) {
            const auto* partners = lex_->rhymes(words[w].rhyme);
            int fit = 0;
            for (int32_t p : *partners)
                if (static_cast<size_t>(p) != w && words[static_cast<size_t>(p)].syllables <= bound) ++fit;
            if (fit >= group_size_[g] - 1) ok[w] = 1;
        }
        for (size_t n = nodes.size(); n-- > 0;) {
            const auto& node = nodes[n];
            if (node.word >= 0 && ok[static_cast<size_t>(node.word)]) mask[n] |= SyllableMask{1} << words[static_cast<size_t>(node.word)].syllables;
            if (node.parent >= 0) mask[static_cast<size_t>(node.parent)] |= mask[n];
        }
        opener_.push_back(std::move(ok));
        opener_mask_.push_back(std::move(mask));
    }
    reset();
    State s = state_;
    if (!feasible(s)) {
        throw_error(ErrorKind::InvalidArgument, "{}: no poem of this form can be spelled from the English lexicon{}; expected a satisfiable form",
                    form_.name, acrostic_.empty() ? "" : fmt::format(" with acrostic '{}'", acrostic_));
    }
}

void VerseConstraint::reset() {
    state_ = State{};
    key_.assign(group_letters_.size(), -1);
    used_.assign(group_letters_.size(), {});
    min_cache_.assign(form_.lines.size(), -2);
    dead_end_ = false;
}

int VerseConstraint::group_of(int line) const {
    const char g = form_.lines[static_cast<size_t>(line)].rhyme;
    if (g == 0) return -1;
    return static_cast<int>(std::find(group_letters_.begin(), group_letters_.end(), g) - group_letters_.begin());
}

int VerseConstraint::key_word(const State& s, int group) const {
    if (key_[static_cast<size_t>(group)] >= 0) return key_[static_cast<size_t>(group)];
    return s.new_group == group ? s.new_word : -1;
}

bool VerseConstraint::used(const State& s, int group, int w) const {
    if (s.new_group == group && s.new_word == w) return true;
    const auto& u = used_[static_cast<size_t>(group)];
    return std::find(u.begin(), u.end(), w) != u.end();
}

bool VerseConstraint::final_ok(const State& s, int w) const {
    const int g = group_of(s.line);
    if (g < 0) return true;
    const int kw = key_word(s, g);
    if (kw < 0) return opener_[static_cast<size_t>(g)][static_cast<size_t>(w)] != 0;
    const auto& words = lex_->words();
    return words[static_cast<size_t>(w)].rhyme == words[static_cast<size_t>(kw)].rhyme && !used(s, g, w);
}

// Syllable counts of the words that may end the current line.
SyllableMask VerseConstraint::final_mask(const State& s) const {
    const int g = group_of(s.line);
    if (g < 0) return lex_->nodes()[0].mask;
    const int kw = key_word(s, g);
    if (kw < 0) return opener_mask_[static_cast<size_t>(g)][0];
    const auto& words = lex_->words();
    SyllableMask m = 0;
    for (int32_t p : *lex_->rhymes(words[static_cast<size_t>(kw)].rhyme))
        if (!used(s, g, p)) m |= SyllableMask{1} << words[static_cast<size_t>(p)].syllables;
    return m;
}

int VerseConstraint::min_final(const State& s) const {
    const bool cacheable = s.new_group < 0;
    int& slot = min_cache_[static_cast<size_t>(s.line)];
    if (cacheable && slot != -2) return slot;
    const SyllableMask m = final_mask(s);
    const int v = m == 0 ? 99 : lowest_syllable(m);
    if (cacheable) slot = v;
    return v;
}

// Ends word w mid-line: the line must still have room for a last word after it.
bool VerseConstraint::commit_mid(State& s, int w) const {
    const LineSpec& l = form_.lines[static_cast<size_t>(s.line)];
    const int syl = lex_->words()[static_cast<size_t>(w)].syllables;
    if (s.syl + syl + min_final(s) > l.max_syllables) return false;
    s.syl += syl;
    s.phase = Phase::AfterSpace;
    return true;
}

// Ends the line with word w (a line break follows).
bool VerseConstraint::commit_final(State& s, int w) const {
    const auto n_lines = static_cast<int>(form_.lines.size());
    if (s.line + 1 >= n_lines || s.new_group >= 0) return false;
    const LineSpec& l = form_.lines[static_cast<size_t>(s.line)];
    const int total = s.syl + lex_->words()[static_cast<size_t>(w)].syllables;
    if (total < l.min_syllables || total > l.max_syllables || !final_ok(s, w)) return false;
    const int g = group_of(s.line);
    if (g >= 0) {
        s.new_group = g;
        s.new_word = w;
    }
    ++s.line;
    s.syl = 0;
    s.phase = Phase::LineStart;
    s.node = 0;
    return true;
}

// The poem may end here (end-of-generation): the last line's last word is complete and fits.
bool VerseConstraint::can_end(const State& s) const {
    if (s.line != static_cast<int>(form_.lines.size()) - 1) return false;
    int w = -1;
    if (s.phase == Phase::InWord) w = lex_->nodes()[static_cast<size_t>(s.node)].word;
    else if (s.phase == Phase::AfterPunct) w = s.word;
    if (w < 0) return false;
    const LineSpec& l = form_.lines[static_cast<size_t>(s.line)];
    const int total = s.syl + lex_->words()[static_cast<size_t>(w)].syllables;
    return total >= l.min_syllables && total <= l.max_syllables && final_ok(s, w);
}

bool VerseConstraint::step(State& s, char c) const {
    const int last_word = s.phase == Phase::InWord ? lex_->nodes()[static_cast<size_t>(s.node)].word : -1;
    switch (s.phase) {
        case Phase::Done:
            return false;
        case Phase::LineStart:
        case Phase::AfterSpace: {
            if (!is_lower(c) && !is_upper(c)) return false;
            const char lc = static_cast<char>(c | 0x20);
            if (s.phase == Phase::LineStart && static_cast<size_t>(s.line) < acrostic_.size() &&
                lc != acrostic_[static_cast<size_t>(s.line)])
                return false;
            s.node = lex_->child(0, lc);
            s.phase = Phase::InWord;
            return s.node >= 0;
        }
        case Phase::InWord:
            if (is_lower(c) || c == '\'') {
                s.node = lex_->child(s.node, c);
                return s.node >= 0;
            }
            if (last_word < 0) return false;
            if (c == ' ') return commit_mid(s, last_word);
            if (c == '\n') return commit_final(s, last_word);
            if (is_punct(c)) {
                s.word = last_word;
                s.phase = Phase::AfterPunct;
                return true;
            }
            return false;
        case Phase::AfterPunct:
            if (c == ' ') return commit_mid(s, s.word);
            if (c == '\n') return commit_final(s, s.word);
            return false;
    }
    return false;
}

// Some word below `node` can finish the line (its syllables land in range and it may end the
// line) or can be followed by more words and a last word that fits.
bool VerseConstraint::feasible_node(const State& s, int node) const {
    const auto& n = lex_->nodes()[static_cast<size_t>(node)];
    const LineSpec& l = form_.lines[static_cast<size_t>(s.line)];
    const int lo = l.min_syllables - s.syl, hi = l.max_syllables - s.syl;
    const int m = min_final(s);
    if (m <= hi && (n.mask & syllable_bits(1, hi - m)) != 0) return true;
    const SyllableMask range = syllable_bits(std::max(lo, 1), hi);
    const int g = group_of(s.line);
    if (g < 0) return (n.mask & range) != 0;
    const int kw = key_word(s, g);
    if (kw < 0) return (opener_mask_[static_cast<size_t>(g)][static_cast<size_t>(node)] & range) != 0;
    const auto& words = lex_->words();
    const auto* partners = lex_->rhymes(words[static_cast<size_t>(kw)].rhyme);
    for (auto it = std::lower_bound(partners->begin(), partners->end(), n.lo); it != partners->end() && *it < n.hi; ++it) {
        if ((range >> words[static_cast<size_t>(*it)].syllables & 1) && !used(s, g, *it)) return true;
    }
    return false;
}

bool VerseConstraint::feasible(const State& s) const {
    switch (s.phase) {
        case Phase::Done:
            return true;
        case Phase::LineStart: {
            int node = 0;
            if (static_cast<size_t>(s.line) < acrostic_.size()) node = lex_->child(0, acrostic_[static_cast<size_t>(s.line)]);
            return node >= 0 && feasible_node(s, node);
        }
        case Phase::AfterSpace:
            return feasible_node(s, 0);
        case Phase::InWord:
            return feasible_node(s, s.node);
        case Phase::AfterPunct: {
            State a = s;
            if (commit_mid(a, s.word)) return true;
            if (can_end(s)) return true;
            State b = s;
            return commit_final(b, s.word) && feasible(b);
        }
    }
    return false;
}

void VerseConstraint::apply(gen::CandidateSet& c) {
    bool any = false;
    for (gen::Candidate& cand : c.items) {
        if (cand.logit == kNegInf) continue;
        const auto id = static_cast<size_t>(cand.id);
        bool ok = false;
        if (eog_[id]) {
            ok = can_end(state_);
        } else if (!bytes_[id].empty() && state_.phase != Phase::Done) {
            State s = state_;
            ok = true;
            for (char ch : bytes_[id]) {
                if (!step(s, ch)) {
                    ok = false;
                    break;
                }
            }
            ok = ok && feasible(s);
        }
        if (ok) any = true;
        else cand.logit = kNegInf;
    }
    if (!any) {
        // Cannot happen when the vocabulary passed the constructor's check; allow only the end
        // so the caller sees an incomplete poem rather than a loop.
        dead_end_ = true;
        for (gen::Candidate& cand : c.items)
            if (eog_[static_cast<size_t>(cand.id)]) cand.logit = 0;
    }
    c.has_probs = false;
}

void VerseConstraint::accept(gen::TokenId id) {
    const auto i = static_cast<size_t>(id);
    if (i >= eog_.size()) return;
    if (eog_[i]) {
        state_.phase = Phase::Done;
        return;
    }
    State s = state_;
    for (char ch : bytes_[i]) {
        if (!step(s, ch)) {
            dead_end_ = true;
            return;
        }
    }
    if (s.new_group >= 0) {
        const auto g = static_cast<size_t>(s.new_group);
        if (key_[g] < 0) key_[g] = s.new_word;
        used_[g].push_back(s.new_word);
        s.new_group = -1;
        s.new_word = -1;
        std::fill(min_cache_.begin(), min_cache_.end(), -2);
    }
    state_ = s;
}

}  // namespace lyra::art::poetry::en
