// FormConstraint's syllable unit (form.h): the word rules, the byte walk's steps (step_syllable,
// end_word, word_fits) and the precomputed path the mask takes. The walk reads a candidate's bytes
// against the dictionary trie one at a time; run over the whole vocabulary at every step, and with
// the letter-to-sound guess asked for every word that leaves the dictionary, it cost tens of
// milliseconds per token at 32k tokens. The precomputed path reads each token once into the words
// and breaks it holds, so that a candidate takes its head's few trie steps, a guess by fold and a
// few mask operations; tests check that both give the same mask over whole vocabularies. Inside a
// word the model made up, the tokens that extend it are decided by class (build_syllable_head_mask):
// the head-by-head path it replaced stays as the reference the tests compare it with. Between
// words, the tokens are decided by group (build_syllable_items_mask; a few hundred groups at 150k
// tokens), with the token-by-token pass it replaced kept as the reference.
#include "generate/constraint/form.h"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "core/error.h"
#include "generate/constraint/shared_once.h"

namespace lyra::gen::constraint {

namespace {

// Bit s + k for every s in `totals` and k in `counts` (sums past 63 drop out).
SyllableMask add_counts(SyllableMask totals, SyllableMask counts) {
    SyllableMask out = 0;
    for (; totals != 0; totals &= totals - 1) out |= counts << __builtin_ctzll(totals);
    return out;
}

constexpr size_t kMaxWordChars = 40;

}  // namespace

void FormConstraint::init_syllables() {
    if (spec_.lines.empty())
        throw_error(ErrorKind::InvalidArgument, "form: the syllable unit needs lines; expected at least one line with a count");
    // Totals whole dictionary words can make (each word at least one syllable).
    const SyllableMask word_counts = spec_.syllables->nodes()[0].mask;
    SyllableMask reach = 1;
    for (int i = 0; i < kMaxLineSyllables; ++i) reach |= add_counts(reach, word_counts);
    for (size_t i = 0; i < spec_.lines.size(); ++i) {
        const FormLine& line = spec_.lines[i];
        if (line.units < 1 || line.units > kMaxLineSyllables)
            throw_error(ErrorKind::InvalidArgument, "form: line {} asks for {} syllables; expected 1..{}", i + 1, line.units,
                        kMaxLineSyllables);
        if (!line.fixed.empty() || !line.classes.empty() || !line.rhyme.empty())
            throw_error(ErrorKind::InvalidArgument,
                        "form: line {} has fixed characters, classes or a rhyme; expected none with the syllable unit "
                        "(they name character positions)",
                        i + 1);
        SyllableMask need = 0;
        for (int t = 0; t <= line.units; ++t)
            if ((reach >> (line.units - t)) & 1) need |= SyllableMask{1} << t;
        if ((need & 1) == 0)
            throw_error(ErrorKind::InvalidArgument,
                        "form: line {} asks for {} syllables; no words of the dictionary add up to that", i + 1, line.units);
        need_.push_back(need);
    }
    spec_.is_unit = [](uint32_t) { return false; };  // the character paths count nothing
}

SyllableMask FormConstraint::word_counts(const Cursor& cur) const {
    const SyllableDictionary& dict = *spec_.syllables;
    if (cur.node >= 0) {
        const int w = dict.nodes()[static_cast<size_t>(cur.node)].word;
        if (w >= 0) return dict.words()[static_cast<size_t>(w)].counts;
    }
    if (!dict.has_guess() || cur.word.empty()) return 0;
    // The guess may be slow (the CMU one tries parts, endings, then letter rules); the same words
    // come back at every word start and every step inside a word.
    if (auto it = guessed_.find(cur.word); it != guessed_.end()) return it->second;
    if (guessed_.size() >= (1u << 20)) guessed_.clear();
    const SyllableMask m = dict.counts(cur.word, -1);
    guessed_.emplace(cur.word, m);
    return m;
}

bool FormConstraint::word_fits(const Cursor& cur) const {
    const SyllableDictionary& dict = *spec_.syllables;
    const SyllableMask need = need_[static_cast<size_t>(cur.line)];
    // Words of the dictionary the letters so far begin; failing those, the word if it ended here
    // (the guess, asked only when the trie cannot answer: it is the slow part).
    const SyllableMask below = cur.node >= 0 ? dict.nodes()[static_cast<size_t>(cur.node)].mask : 0;
    if ((add_counts(cur.line_syl, below) & need) != 0) return true;
    return dict.has_guess() && (add_counts(cur.line_syl, word_counts(cur)) & need) != 0;
}

bool FormConstraint::end_word(Cursor& cur) const {
    const SyllableMask counts = word_counts(cur);
    cur.word.clear();
    cur.node = 0;
    const SyllableMask totals = add_counts(cur.line_syl, counts) & need_[static_cast<size_t>(cur.line)];
    if (totals == 0) return false;
    cur.line_syl = totals;
    return true;
}

bool FormConstraint::step_syllable(Cursor& cur, uint32_t cp) const {
    const auto n_lines = static_cast<int>(spec_.lines.size());
    const bool in_word = !cur.word.empty();
    const uint32_t c = cp == 0x2019 && in_word ? uint32_t{'\''} : cp;  // a typographic apostrophe
    if (is_word_char(c) || (c == '\'' && in_word)) {
        if (spec_.allowed && !spec_.allowed(cp)) return false;
        if (cur.line >= n_lines || cur.word.size() >= kMaxWordChars) return false;
        const char lc = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        cur.node = spec_.syllables->child(in_word ? cur.node : 0, lc);
        cur.word += lc;
        // With a guess, a letter that leaves the dictionary is judged once, at the token's end
        // (fits), so the guess runs once per candidate rather than once per letter.
        return spec_.syllables->has_guess() || word_fits(cur);
    }
    // Any other character ends the word being written.
    if (in_word && !end_word(cur)) return false;
    if (cp == '\n') {
        if (cur.line >= n_lines - 1) return false;  // no line after the last
        const int target = spec_.lines[static_cast<size_t>(cur.line)].units;
        if (((cur.line_syl >> target) & 1) == 0) return false;  // the line is not full yet
        ++cur.line;
        cur.line_syl = 1;
        return true;
    }
    return !spec_.allowed || spec_.allowed(cp);
}


// --- the precomputed path ----------------------------------------------------------------------

namespace {

enum class CharKind { Word, Apostrophe, Newline, Other };

CharKind kind_of(uint32_t cp) {
    if (is_word_char(cp)) return CharKind::Word;
    if (cp == '\'') return CharKind::Apostrophe;
    return cp == '\n' ? CharKind::Newline : CharKind::Other;
}

size_t utf8_length(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

char lower(uint32_t cp) { return static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp | 0x20 : cp); }

}  // namespace

void FormConstraint::init_syllable_tokens(SylTables& tb) const {
    const SyllableDictionary& dict = *spec_.syllables;
    tb.syl_.assign(tokens_->info.size(), SylToken{});
    std::vector<uint32_t> cps;
    auto in_word = [&](size_t i) { return kind_of(cps[i]) == CharKind::Word || kind_of(cps[i]) == CharKind::Apostrophe; };
    for (size_t id = 0; id < tokens_->info.size(); ++id) {
        const TokenInfo& info = tokens_->info[id];
        const std::string& b = tokens_->bytes[id];
        if (info.skip || info.eog || !decode_utf8(b, cps)) continue;
        // Overlong forms, surrogates and U+2019 (an apostrophe inside a word, a break outside it,
        // judged by can_complete before it is whole) are left to the walk, as are tokens too long
        // for the compact fields.
        size_t canonical = 0;
        bool plain = cps.size() < 250;
        for (uint32_t cp : cps) {
            canonical += utf8_length(cp);
            plain = plain && cp != 0x2019 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        }
        if (!plain || canonical != b.size()) continue;
        SylToken& t = tb.syl_[id];
        t.fast = true;
        size_t h = 0;
        while (h < cps.size() && in_word(h)) ++h;
        t.head = static_cast<int32_t>(tb.syl_chars_.size());
        t.head_len = static_cast<uint16_t>(h);
        for (size_t i = 0; i < h; ++i) tb.syl_chars_ += lower(cps[i]);
        if (dict.has_fold()) t.head_summary = dict.fold().summary(std::string_view(tb.syl_chars_).substr(static_cast<size_t>(t.head), h));
        // Items: a word starts at a letter or digit and goes on through letters, digits and
        // apostrophes; an apostrophe outside a word is any other character. The head ends where a
        // word does (or is apostrophes only), so the items after it are a tail of these.
        t.items = static_cast<int32_t>(tb.syl_items_.size());
        for (size_t i = 0; i < cps.size();) {
            if (i < h) ++t.skip;
            const CharKind k = kind_of(cps[i]);
            if (k != CharKind::Word) {
                tb.syl_items_.push_back(k == CharKind::Newline ? kSylNewline : kSylOther);
                ++i;
                continue;
            }
            SylWord w;
            w.text = static_cast<int32_t>(tb.syl_chars_.size());
            const size_t start = i;
            for (; i < cps.size() && in_word(i); ++i) tb.syl_chars_ += lower(cps[i]);
            w.len = static_cast<uint16_t>(i - start);
            for (size_t j = 0; j < w.len && w.node >= 0; ++j)
                w.node = dict.child(w.node, tb.syl_chars_[static_cast<size_t>(w.text) + j]);
            if (w.node >= 0) {
                const SyllableDictionary::Node& n = dict.nodes()[static_cast<size_t>(w.node)];
                w.below = n.mask;
                if (n.word >= 0) w.counts = dict.words()[static_cast<size_t>(n.word)].counts;
            }
            tb.syl_items_.push_back(static_cast<int32_t>(tb.syl_words_.size()));
            tb.syl_words_.push_back(w);
        }
        t.n_items = static_cast<uint8_t>(tb.syl_items_.size() - static_cast<size_t>(t.items));
    }
    tb.syl_route_.resize(tokens_->info.size());
    tb.syl_zero_.assign((tokens_->info.size() + 63) / 64, 0);
    for (auto& bits : tb.syl_route_bits_) bits.assign(tb.syl_zero_.size(), 0);
    for (size_t id = 0; id < tokens_->info.size(); ++id) {
        const SylToken& t = tb.syl_[id];
        tb.syl_route_[id] = tokens_->info[id].skip ? SylRoute::Never
                         : !t.fast      ? SylRoute::Walk
                         : t.head_len   ? SylRoute::Head
                                        : SylRoute::Items;
        const int row = tb.syl_route_[id] == SylRoute::Items ? 0 : tb.syl_route_[id] == SylRoute::Head ? 1 : -1;
        if (row >= 0) tb.syl_route_bits_[static_cast<size_t>(row)][id >> 6] |= uint64_t{1} << (id & 63);
        if (tb.syl_route_[id] == SylRoute::Walk) tb.syl_walk_ids_.push_back(static_cast<int32_t>(id));
        if (tb.syl_route_[id] == SylRoute::Head) {
            tb.syl_heads_.push_back({.id = static_cast<int32_t>(id),
                                  .rest = t.items + t.skip,
                                  .len = t.head_len,
                                  .n_rest = static_cast<uint8_t>(t.n_items - t.skip)});
        }
    }
    auto head_of = [&](const SylHead& h) {
        const SylToken& t = tb.syl_[static_cast<size_t>(h.id)];
        return std::string_view(tb.syl_chars_).substr(static_cast<size_t>(t.head), t.head_len);
    };
    std::sort(tb.syl_heads_.begin(), tb.syl_heads_.end(),
              [&](const SylHead& a, const SylHead& b) { return std::make_pair(head_of(a), a.id) < std::make_pair(head_of(b), b.id); });
    for (size_t k = 0; k < tb.syl_heads_.size(); ++k) {
        const std::string_view head = head_of(tb.syl_heads_[k]);
        if (k > 0) {
            const std::string_view prev = head_of(tb.syl_heads_[k - 1]);
            size_t n = 0;
            while (n < prev.size() && n < head.size() && prev[n] == head[n]) ++n;
            tb.syl_heads_[k].shared = static_cast<uint16_t>(n);
        }
        tb.syl_head_chars_ += head;
        tb.syl_head_summaries_.push_back(tb.syl_[static_cast<size_t>(tb.syl_heads_[k].id)].head_summary);
    }
    // The class path's tables: each head's class under the fold, and the tokens of each class.
    if (!dict.has_fold() || !dict.fold().has_classes()) return;
    std::map<int64_t, int32_t> index;
    std::vector<std::array<std::vector<uint64_t>, 2>> dense;  // per class, rows as below
    tb.syl_head_class_.assign(tb.syl_heads_.size(), -1);
    for (size_t k = 0; k < tb.syl_heads_.size(); ++k) {
        const SylHead& h = tb.syl_heads_[k];
        tb.syl_by_length_.push_back(static_cast<int32_t>(k));
        const int64_t cls = dict.fold().piece_class(tb.syl_head_summaries_[k]);
        if (cls < 0) {
            tb.syl_unclassed_.push_back(static_cast<int32_t>(k));
            continue;
        }
        auto [it, added] = index.emplace(cls, static_cast<int32_t>(tb.syl_classes_.size()));
        if (added) {
            tb.syl_classes_.push_back(cls);
            dense.push_back({std::vector<uint64_t>(tb.syl_zero_.size(), 0), std::vector<uint64_t>(tb.syl_zero_.size(), 0)});
        }
        tb.syl_head_class_[k] = it->second;
        dense[static_cast<size_t>(it->second)][h.n_rest == 0 ? 0 : 1][static_cast<size_t>(h.id) >> 6] |= uint64_t{1} << (h.id & 63);
    }
    std::unordered_map<uint64_t, int32_t> distinct;
    for (const int32_t k : tb.syl_unclassed_) {
        const uint64_t summary = tb.syl_head_summaries_[static_cast<size_t>(k)];
        auto [it, added] = distinct.try_emplace(summary, static_cast<int32_t>(tb.syl_unclassed_summaries_.size()));
        if (added) tb.syl_unclassed_summaries_.push_back(summary);
        tb.syl_unclassed_pick_.push_back(it->second);
    }
    // Kept as their nonzero words only: most classes are small, and a class mask reads them all.
    tb.syl_class_bits_.resize(dense.size());
    for (size_t i = 0; i < dense.size(); ++i)
        for (size_t row = 0; row < 2; ++row)
            for (size_t w = 0; w < dense[i][row].size(); ++w)
                if (dense[i][row][w] != 0) tb.syl_class_bits_[i][row].push_back({static_cast<uint32_t>(w), dense[i][row][w]});
    std::stable_sort(tb.syl_by_length_.begin(), tb.syl_by_length_.end(), [&](int32_t a, int32_t b) {
        return tb.syl_heads_[static_cast<size_t>(a)].len > tb.syl_heads_[static_cast<size_t>(b)].len;
    });
}

// The count of tables made, for syllable_tables_made().
namespace {

std::atomic<int64_t> g_tables_made{0};

}  // namespace

int64_t FormConstraint::syllable_tables_made() { return g_tables_made.load(); }

std::shared_ptr<const FormConstraint::SylTables> FormConstraint::syllable_tables(uint64_t vocab) const {
    // Per key (dictionary, vocabulary fingerprint); kept while some constraint holds the tables.
    static SharedOnce<std::pair<const void*, uint64_t>, SylTables> cache;
    return cache.get({spec_.syllables.get(), vocab}, [&] { return make_syllable_tables(); });
}

std::shared_ptr<const FormConstraint::SylTables> FormConstraint::make_syllable_tables() const {
    auto tb = std::make_shared<SylTables>();
    tb->dict = spec_.syllables;
    init_syllable_tokens(*tb);
    // Every word's counts now (the dictionary's, else the guess, by fold where it can tell), so
    // that the shared tables are never written once made.
    const SyllableDictionary& dict = *spec_.syllables;
    for (SylWord& w : tb->syl_words_) {
        if (w.counts != kAskGuess) continue;
        const std::string_view text = std::string_view(tb->syl_chars_).substr(static_cast<size_t>(w.text), w.len);
        const SyllableMask folded = dict.has_fold() ? dict.fold().counts(dict.fold().summary(text)) : kAskGuess;
        w.counts = folded != kAskGuess ? folded & syllable_bits(1, kMaxLineSyllables) : dict.counts(text, -1);
    }
    init_syllable_groups(*tb);
    g_tables_made.fetch_add(1);
    return tb;
}

FormConstraint::SylStep FormConstraint::syllable_step() const {
    SylStep step;
    if (cur_.word.empty()) return step;
    Cursor c = cur_;
    if (end_word(c)) step.ended = c.line_syl;
    if (spec_.syllables->has_fold()) step.summary = spec_.syllables->fold().summary(cur_.word);
    return step;
}

SyllableMask FormConstraint::guess_joined(const SylStep& step, const SylToken& t) const {
    const SyllableDictionary& dict = *spec_.syllables;
    if (dict.has_fold()) {
        const SyllableMask m = dict.fold().counts(dict.fold().join(step.summary, t.head_summary));
        if (m != kAskGuess) return m & syllable_bits(1, kMaxLineSyllables);
    }
    scratch_.assign(cur_.word).append(syl_tab_->syl_chars_, static_cast<size_t>(t.head), t.head_len);
    if (auto it = guessed_.find(scratch_); it != guessed_.end()) return it->second;
    if (guessed_.size() >= (1u << 20)) guessed_.clear();
    const SyllableMask m = dict.counts(scratch_, -1);
    guessed_.emplace(scratch_, m);
    return m;
}

bool FormConstraint::syllable_items(const int32_t* it, const int32_t* end, int line, SyllableMask syl,
                                    bool first_checked) const {
    const auto last = static_cast<int>(spec_.lines.size()) - 1;
    const int last_units = spec_.lines.back().units;
    const SylWord* word = nullptr;  // the token's word being written
    for (bool checked = first_checked; it != end; ++it, checked = false) {
        // Between words of a closed form whose last line is full, nothing may follow (is_closed).
        if (word == nullptr && !checked && spec_.closed && line == last && ((syl >> last_units) & 1)) return false;
        if (word != nullptr) {  // this character ends it (end_word)
            const SyllableMask totals = add_counts(syl, word->counts) & need_[static_cast<size_t>(line)];
            if (totals == 0) return false;
            syl = totals;
            word = nullptr;
        }
        if (*it == kSylNewline) {
            if (line >= last || ((syl >> spec_.lines[static_cast<size_t>(line)].units) & 1) == 0) return false;
            ++line;
            syl = 1;
        } else if (*it >= 0) {
            word = &syl_tab_->syl_words_[static_cast<size_t>(*it)];
            if (word->len > kMaxWordChars) return false;
        }
    }
    if (word == nullptr) return true;
    // A word left open at the token's end must still be able to fit (word_fits; without a guess
    // the walk checks every letter, but the masks only shrink down the trie, so the last decides).
    const SyllableMask need = need_[static_cast<size_t>(line)];
    if ((add_counts(syl, word->below) & need) != 0) return true;
    return spec_.syllables->has_guess() && (add_counts(syl, word->counts) & need) != 0;
}

const std::vector<uint64_t>& FormConstraint::syllable_items_mask(int line, SyllableMask syl, bool word_ended) {
    // A haiku needs a few dozen keys; a bound keeps a long free-form run from growing the map.
    constexpr size_t kMaxMasks = 512;
    const auto key = std::make_tuple(line, syl, word_ended);
    if (auto it = syl_masks_.find(key); it != syl_masks_.end()) return it->second;
    if (syl_masks_.size() >= kMaxMasks) syl_masks_.clear();
    std::vector<uint64_t> bits;
    if (syl_items_reference_) build_syllable_items_mask_reference(line, syl, word_ended, bits);
    else build_syllable_items_mask(line, syl, word_ended, bits);
    return syl_masks_.emplace(key, std::move(bits)).first->second;
}

void FormConstraint::build_syllable_items_mask_reference(int line, SyllableMask syl, bool word_ended,
                                                         std::vector<uint64_t>& bits) const {
    bits.assign((syl_tab_->syl_.size() + 63) / 64, 0);
    for (size_t i = 0; i < syl_tab_->syl_.size(); ++i) {
        const SylToken& t = syl_tab_->syl_[i];
        if (!t.fast || (word_ended && t.head_len != 0)) continue;
        const int32_t* items = syl_tab_->syl_items_.data() + t.items;
        // As the mask reads them: the whole token between words; after the word it ends,
        // the items its (empty) head does not cover (all of them: skip is 0 without a head).
        const int32_t* from = word_ended ? items + t.skip : items;
        if (syllable_items(from, items + t.n_items, line, syl, word_ended)) bits[i >> 6] |= uint64_t{1} << (i & 63);
    }
}

// A token's key is what syllable_items reads of its items, so that two tokens with one key get
// one verdict for every line, totals and first_checked: a newline; a run of other characters (at
// most two count: the closed-form check reads the same state at the second and later ones); a
// word's counts when a character follows it; and for a word left open at the end, what word_fits
// reads, its trie mask or with a guess the union of that mask and its counts (adding counts to
// totals distributes over the union, so the two tests are one). A word too long to be a word ends
// the key: the verdict is no from there on. At a 150k vocabulary a few thousand keys remain.
void FormConstraint::syllable_items_key(const SylTables& tb, const int32_t* items, size_t n, std::vector<uint64_t>& key) const {
    enum : uint64_t { kNewline, kOther, kTooLong, kWord, kOpenWord };
    const bool guess = spec_.syllables->has_guess();
    for (size_t i = 0, run = 0; i < n; ++i) {
        const int32_t item = items[i];
        run = item == kSylOther ? run + 1 : 0;
        if (item == kSylNewline) {
            key.push_back(kNewline);
        } else if (item == kSylOther) {
            if (run <= 2) key.push_back(kOther);
        } else {
            const SylWord& w = tb.syl_words_[static_cast<size_t>(item)];
            if (w.len > kMaxWordChars) {
                key.push_back(kTooLong);
                break;
            }
            const bool open = i + 1 == n;
            key.push_back(open ? kOpenWord : kWord);
            key.push_back(!open ? w.counts : guess ? w.below | w.counts : w.below);
        }
    }
}

namespace {

struct KeyHash {
    size_t operator()(const std::vector<uint64_t>& k) const {
        uint64_t h = 0x9E3779B97F4A7C15ull;
        for (uint64_t x : k) h = (h ^ x) * 0xFF51AFD7ED558CCDull + (h >> 29);
        return static_cast<size_t>(h);
    }
};

}  // namespace

void FormConstraint::init_syllable_groups(SylTables& tb) const {
    std::unordered_map<std::vector<uint64_t>, int32_t, KeyHash> index;
    std::vector<std::vector<int32_t>> members;
    std::vector<uint64_t> key;
    for (size_t id = 0; id < tb.syl_.size(); ++id) {
        const SylToken& t = tb.syl_[id];
        if (!t.fast || tokens_->info[id].skip) continue;
        key.assign(1, t.head_len == 0 ? 1 : 0);
        syllable_items_key(tb, tb.syl_items_.data() + t.items, t.n_items, key);
        auto [it, added] = index.try_emplace(key, static_cast<int32_t>(tb.syl_groups_.size()));
        if (added) {
            tb.syl_groups_.push_back({.rep = static_cast<int32_t>(id), .headless = t.head_len == 0, .bits = {}});
            members.emplace_back();
        }
        members[static_cast<size_t>(it->second)].push_back(static_cast<int32_t>(id));
    }
    const auto rows_of = [](std::vector<int32_t> ids, std::vector<SylBits>& rows) {
        std::sort(ids.begin(), ids.end());  // ascending ids: one row per 64-token word
        for (const int32_t id : ids) {
            const auto w = static_cast<uint32_t>(id >> 6);
            if (rows.empty() || rows.back().word != w) rows.push_back({w, 0});
            rows.back().bits |= uint64_t{1} << (id & 63);
        }
    };
    for (size_t g = 0; g < tb.syl_groups_.size(); ++g) rows_of(members[g], tb.syl_groups_[g].bits);
    // The heads without a class, grouped by what their verdict off the trie reads (head_decide
    // with node -1): their summary under the fold (so their guessed counts), their length (the
    // room left in the word) and the key of the items after them (an open word reads nothing
    // more). At 150k tokens the ~1,100 short heads fall into a few hundred groups.
    std::unordered_map<std::vector<uint64_t>, int32_t, KeyHash> head_index;
    std::vector<std::vector<int32_t>> head_members;
    for (size_t i = 0; i < tb.syl_unclassed_.size(); ++i) {
        const auto k = tb.syl_unclassed_[i];
        const SylHead& h = tb.syl_heads_[static_cast<size_t>(k)];
        key.assign({static_cast<uint64_t>(tb.syl_unclassed_pick_[i]), h.len, h.n_rest == 0 ? 0u : 1u});
        syllable_items_key(tb, tb.syl_items_.data() + h.rest, h.n_rest, key);
        auto [it, added] = head_index.try_emplace(key, static_cast<int32_t>(tb.syl_unclassed_groups_.size()));
        if (added) {
            tb.syl_unclassed_groups_.push_back({.rep = static_cast<int32_t>(k), .pick = tb.syl_unclassed_pick_[i], .len = h.len, .members = {}, .bits = {}});
            head_members.emplace_back();
        }
        tb.syl_unclassed_groups_[static_cast<size_t>(it->second)].members.push_back(k);
        head_members[static_cast<size_t>(it->second)].push_back(h.id);
    }
    for (size_t g = 0; g < tb.syl_unclassed_groups_.size(); ++g) rows_of(head_members[g], tb.syl_unclassed_groups_[g].bits);
}

void FormConstraint::build_syllable_items_mask(int line, SyllableMask syl, bool word_ended, std::vector<uint64_t>& bits) const {
    bits.assign(syl_tab_->syl_zero_.size(), 0);
    for (const SylGroup& g : syl_tab_->syl_groups_) {
        if (word_ended && !g.headless) continue;
        const SylToken& t = syl_tab_->syl_[static_cast<size_t>(g.rep)];
        const int32_t* items = syl_tab_->syl_items_.data() + t.items;
        if (!syllable_items(items, items + t.n_items, line, syl, word_ended)) continue;
        for (const SylBits& b : g.bits) bits[b.word] |= b.bits;
    }
}

const std::vector<uint64_t>& FormConstraint::syllable_head_mask(const SylStep& step) {
    // 19 kB a mask at 150k tokens: the bound keeps the map under 5 MB.
    constexpr size_t kMaxMasks = 256;
    auto key = std::make_tuple(cur_.line, cur_.line_syl, cur_.word);
    if (auto it = syl_head_masks_.find(key); it != syl_head_masks_.end()) return it->second;
    if (syl_head_masks_.size() >= kMaxMasks) syl_head_masks_.clear();
    std::vector<uint64_t> bits;
    build_syllable_head_mask(step, bits);
    return syl_head_masks_.emplace(std::move(key), std::move(bits)).first->second;
}

// The verdict once the counts are known (0 = the word cannot be said).
bool FormConstraint::head_decide(size_t k, int node, SyllableMask counts) const {
    const SylHead& h = syl_tab_->syl_heads_[k];
    const SyllableDictionary& dict = *spec_.syllables;
    const SyllableMask need = need_[static_cast<size_t>(cur_.line)];
    if (h.n_rest == 0) {  // the word is still open: word_fits
        const SyllableMask below = node >= 0 ? dict.nodes()[static_cast<size_t>(node)].mask : 0;
        return (add_counts(cur_.line_syl, below) & need) != 0 ||
               (dict.has_guess() && (add_counts(cur_.line_syl, counts) & need) != 0);
    }
    const SyllableMask totals = add_counts(cur_.line_syl, counts) & need;
    const int32_t* rest = syl_tab_->syl_items_.data() + h.rest;
    return totals != 0 && syllable_items(rest, rest + h.n_rest, cur_.line, totals, true);
}

// The heads that extend the word being written, by class. A head off the trie (nearly all of them
// once a made-up word has left the dictionary) is guessed, and with classes its count depends only
// on its class and the word's class: the verdicts of all such heads come from a mask kept per line,
// totals and word class, which the model's new words share. The heads without a class are
// guessed one at a time, also as if off the trie; the heads whose word stays on the trie are then
// found by walking the trie and the sorted heads together, and decided again; heads too long for a
// word are out. Words without a class (digits, apostrophes) take the reference path.
void FormConstraint::build_syllable_head_mask(const SylStep& step, std::vector<uint64_t>& bits) {
    const SyllableDictionary& dict = *spec_.syllables;
    if (syl_reference_ || !dict.has_fold() || !dict.fold().has_classes()) return build_syllable_head_mask_reference(step, bits);
    const int64_t word_class = dict.fold().word_class(step.summary);
    if (word_class < 0) return build_syllable_head_mask_reference(step, bits);
    bits = syllable_class_mask(word_class);
    auto put = [&](int32_t id, bool yes) {
        const uint64_t bit = uint64_t{1} << (id & 63);
        uint64_t& word = bits[static_cast<size_t>(id) >> 6];
        word = yes ? word | bit : word & ~bit;
    };
    // Heads that would make the word longer than a word may be are out (the longest first).
    const size_t room = kMaxWordChars - std::min(cur_.word.size(), kMaxWordChars);
    for (const int32_t k : syl_tab_->syl_by_length_) {
        if (syl_tab_->syl_heads_[static_cast<size_t>(k)].len <= room) break;
        put(syl_tab_->syl_heads_[static_cast<size_t>(k)].id, false);
    }
    // The heads without a class, as if off the trie too: the fold's guess once per distinct
    // summary (in bulk where the fold offers it) instead of once per head; what the fold cannot
    // tell is asked with the spelled-out word.
    const SylTables& tab = *syl_tab_;
    const GuessFold& fold = dict.fold();
    const std::vector<uint64_t>& summaries = tab.syl_unclassed_summaries_;
    unclassed_counts_.resize(summaries.size());
    if (fold.counts_joined) {
        fold.counts_joined(step.summary, summaries.data(), summaries.size(), unclassed_counts_.data());
    } else {
        for (size_t i = 0; i < summaries.size(); ++i) unclassed_counts_[i] = fold.counts(fold.join(step.summary, summaries[i]));
    }
    // By groups of heads that share the verdict (init_syllable_groups): one head_decide a group,
    // its bits ORed in (the class mask has none of them set); a count the fold cannot tell is
    // guessed head by head, with the spelled-out word.
    for (const SylHeadGroup& g : tab.syl_unclassed_groups_) {
        if (g.len > room) continue;
        const SyllableMask m = unclassed_counts_[static_cast<size_t>(g.pick)];
        if (m == kAskGuess) {
            for (const int32_t k : g.members) {
                const SylHead& h = tab.syl_heads_[static_cast<size_t>(k)];
                put(h.id, head_decide(static_cast<size_t>(k), -1, guess_joined(step, tab.syl_[static_cast<size_t>(h.id)])));
            }
            continue;
        }
        if (!head_decide(static_cast<size_t>(g.rep), -1, m & syllable_bits(1, kMaxLineSyllables))) continue;
        for (const SylBits& b : g.bits) bits[b.word] |= b.bits;
    }
    if (cur_.node >= 0) fix_heads_on_trie(cur_.node, 0, 0, syl_tab_->syl_heads_.size(), bits);
}

// Heads [lo, hi) share their first `depth` characters, which take the word being written to trie
// node `node`. Sorted, those that end there come first; the rest split into runs by their next
// character, and only the runs the trie goes on with are followed.
void FormConstraint::fix_heads_on_trie(int node, size_t depth, size_t lo, size_t hi, std::vector<uint64_t>& bits) const {
    if (cur_.word.size() + depth > kMaxWordChars) return;  // these heads are out (too long)
    const SyllableDictionary& dict = *spec_.syllables;
    auto char_at = [&](size_t k) { return syl_tab_->syl_chars_[static_cast<size_t>(syl_tab_->syl_[static_cast<size_t>(syl_tab_->syl_heads_[k].id)].head) + depth]; };
    for (; lo < hi && syl_tab_->syl_heads_[lo].len == depth; ++lo) {
        const SylHead& h = syl_tab_->syl_heads_[lo];
        const int w = dict.nodes()[static_cast<size_t>(node)].word;
        const uint64_t bit = uint64_t{1} << (h.id & 63);
        uint64_t& word = bits[static_cast<size_t>(h.id) >> 6];
        // A word of the dictionary: its counts, not the guess the class mask assumed. A prefix of
        // one: an open word its node lets fit, else the guess as assumed.
        if (w >= 0) word = head_decide(lo, node, dict.words()[static_cast<size_t>(w)].counts) ? word | bit : word & ~bit;
        else if (h.n_rest == 0 && head_decide(lo, node, 0)) word |= bit;
    }
    while (lo < hi) {
        const char c = char_at(lo);
        size_t a = lo, b = hi;  // the end of the run of c: the first head with a later character
        while (a < b) {
            const size_t mid = a + (b - a) / 2;
            if (char_at(mid) <= c) a = mid + 1;
            else b = mid;
        }
        const int kid = dict.child(node, c);
        if (kid >= 0) fix_heads_on_trie(kid, depth + 1, lo, a, bits);
        lo = a;
    }
}

const std::vector<uint64_t>& FormConstraint::syllable_class_mask(int64_t word_class) {
    // A few classes of words per line and totals: the bound only stops a long run from growing it.
    constexpr size_t kMaxMasks = 256;
    auto key = std::make_tuple(cur_.line, cur_.line_syl, word_class);
    if (auto it = syl_class_masks_.find(key); it != syl_class_masks_.end()) return it->second;
    const GuessFold& fold = spec_.syllables->fold();
    const SyllableMask need = need_[static_cast<size_t>(cur_.line)];
    std::vector<uint64_t> bits(syl_tab_->syl_zero_.size(), 0);
    for (size_t i = 0; i < syl_tab_->syl_classes_.size(); ++i) {
        // head_decide off the trie with the class's counts: an open word fits when its totals do;
        // a word that ends inside the token, when the rest of the token fits after it.
        const SyllableMask counts = fold.class_counts(word_class, syl_tab_->syl_classes_[i]) & syllable_bits(1, kMaxLineSyllables);
        const SyllableMask totals = add_counts(cur_.line_syl, counts) & need;
        if (totals == 0) continue;
        const auto& [open, ending] = syl_tab_->syl_class_bits_[i];
        for (const SylBits& b : open) bits[b.word] |= b.bits;
        if (ending.empty()) continue;
        const std::vector<uint64_t>& rest = syllable_rest_mask(cur_.line, totals);
        for (const SylBits& b : ending) bits[b.word] |= b.bits & rest[b.word];
    }
    if (syl_class_masks_.size() >= kMaxMasks) syl_class_masks_.clear();
    return syl_class_masks_.emplace(std::move(key), std::move(bits)).first->second;
}

const std::vector<uint64_t>& FormConstraint::syllable_rest_mask(int line, SyllableMask syl) {
    constexpr size_t kMaxMasks = 512;
    const auto key = std::make_pair(line, syl);
    if (auto it = syl_rest_masks_.find(key); it != syl_rest_masks_.end()) return it->second;
    if (syl_rest_masks_.size() >= kMaxMasks) syl_rest_masks_.clear();
    std::vector<uint64_t> bits(syl_tab_->syl_zero_.size(), 0);
    for (const SylHead& h : syl_tab_->syl_heads_) {
        if (h.n_rest == 0) continue;
        const int32_t* rest = syl_tab_->syl_items_.data() + h.rest;
        if (syllable_items(rest, rest + h.n_rest, line, syl, true)) bits[static_cast<size_t>(h.id) >> 6] |= uint64_t{1} << (h.id & 63);
    }
    return syl_rest_masks_.emplace(key, std::move(bits)).first->second;
}

// For each token whose head extends the word being written (cur_.word + head): its trie node, its
// counts (the dictionary's, else the guess's), then word_fits when the word stays open at the
// token's end, or the end of the word and the token's other items. The heads come sorted, so the
// trie walk starts where the previous head's parted from this one; the guesses that a verdict
// needs go to the fold in one call at the end.
void FormConstraint::build_syllable_head_mask_reference(const SylStep& step, std::vector<uint64_t>& bits) {
    const SyllableDictionary& dict = *spec_.syllables;
    const bool guess = dict.has_guess();
    const bool bulk = dict.has_fold();
    bits.assign((syl_tab_->syl_.size() + 63) / 64, 0);
    pending_.clear();
    pending_summaries_.clear();
    // path[d]: the trie node after d characters of the current head (path[0]: the word so far).
    std::array<int32_t, 256> path;
    path[0] = cur_.node;
    auto decide = [&](const SylHead& h, int node, SyllableMask counts) {
        return head_decide(static_cast<size_t>(&h - syl_tab_->syl_heads_.data()), node, counts);
    };
    auto set = [&](int32_t id) { bits[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63); };
    // path[d] is -1 (off the trie) for every d >= dead: a word off the dictionary, or a head
    // that left it, takes no more trie steps for the heads that share that prefix.
    size_t dead = path[0] < 0 ? 0 : SIZE_MAX;
    const char* head = syl_tab_->syl_head_chars_.data();  // lower-case ASCII, head after head
    for (size_t k = 0; k < syl_tab_->syl_heads_.size(); head += syl_tab_->syl_heads_[k].len, ++k) {
        const SylHead& h = syl_tab_->syl_heads_[k];
        if (h.shared < dead) {
            dead = SIZE_MAX;
            for (size_t d = h.shared; d < h.len; ++d) {
                path[d + 1] = dict.child(path[d], head[d]);
                if (path[d + 1] < 0) {
                    dead = d + 1;
                    break;
                }
            }
        }
        if (cur_.word.size() + h.len > kMaxWordChars) continue;
        const int node = h.len >= dead ? -1 : path[h.len];
        const int w = node >= 0 ? dict.nodes()[static_cast<size_t>(node)].word : -1;
        if (w >= 0 || !guess) {
            if (decide(h, node, w >= 0 ? dict.words()[static_cast<size_t>(w)].counts : 0)) set(h.id);
            continue;
        }
        // Off the dictionary: an open word that its trie node already lets fit needs no guess.
        if (h.n_rest == 0 && node >= 0 && decide(h, node, 0)) {
            set(h.id);
            continue;
        }
        if (!bulk) {
            if (decide(h, node, guess_joined(step, syl_tab_->syl_[static_cast<size_t>(h.id)]))) set(h.id);
            continue;
        }
        pending_.push_back(static_cast<int32_t>(k));
        pending_summaries_.push_back(syl_tab_->syl_head_summaries_[k]);
    }
    if (pending_.empty()) return;
    // The guesses by fold: in bulk when the fold offers it, else piece by piece. A summary the
    // fold cannot tell (kAskGuess) is asked with the spelled-out word (guess_joined).
    const GuessFold& fold = dict.fold();
    pending_counts_.resize(pending_.size());
    if (fold.counts_joined) {
        fold.counts_joined(step.summary, pending_summaries_.data(), pending_.size(), pending_counts_.data());
    } else {
        for (size_t i = 0; i < pending_.size(); ++i)
            pending_counts_[i] = fold.counts(fold.join(step.summary, pending_summaries_[i]));
    }
    const SyllableMask counted = syllable_bits(1, kMaxLineSyllables);
    for (size_t i = 0; i < pending_.size(); ++i) {
        const SylHead& h = syl_tab_->syl_heads_[static_cast<size_t>(pending_[i])];
        const SyllableMask m = pending_counts_[i];
        // The node matters only to an open word, whose trie mask was 0 or did not fit (decide(…,
        // 0) above), so -1 gives the same verdict.
        if (decide(h, -1, m != kAskGuess ? m & counted : guess_joined(step, syl_tab_->syl_[static_cast<size_t>(h.id)]))) set(h.id);
    }
}

}  // namespace lyra::gen::constraint
