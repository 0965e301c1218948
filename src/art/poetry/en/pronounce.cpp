// The CMU dictionary, the letter-to-sound fallback and word splitting (pronounce.h).
#include "art/poetry/en/pronounce.h"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>

#include "art/common/data_paths.h"
#include "core/error.h"

namespace lyra::art::poetry::en {

namespace {

bool is_vowel_phone(std::string_view p) { return !p.empty() && p.back() >= '0' && p.back() <= '2'; }

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_vowel_letter(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; }

// Joins two pronunciations of consecutive parts ("well" + "known").
Pron join(const Pron& a, const Pron& b) {
    Pron p;
    p.syllables = a.syllables + b.syllables;
    p.stress = a.stress + b.stress;
    p.rhyme = b.syllables > 0 ? b.rhyme : a.rhyme;
    p.guessed = a.guessed || b.guessed;
    return p;
}

// Every combination of the parts' pronunciations (capped: each part's first few variants).
std::vector<Pron> combine(const std::vector<std::vector<Pron>>& parts) {
    std::vector<Pron> out = {Pron{}};
    for (const auto& alts : parts) {
        std::vector<Pron> next;
        for (const Pron& a : out)
            for (size_t i = 0; i < alts.size() && i < 3; ++i) next.push_back(join(a, alts[i]));
        if (next.size() > 16) next.resize(16);
        out = std::move(next);
    }
    return out;
}

const char* kOnes[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                       "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                       "seventeen", "eighteen", "nineteen"};
const char* kTens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

std::string below_thousand(int n) {
    std::string s;
    if (n >= 100) {
        s.append(kOnes[n / 100]).append(" hundred");
        n %= 100;
        if (n == 0) return s;
        s.push_back(' ');
    }
    if (n < 20) return s.append(kOnes[n]);
    s.append(kTens[n / 10]);
    if (n % 10) s.append(" ").append(kOnes[n % 10]);
    return s;
}

}  // namespace

Pron pron_from_phones(std::string_view phones) {
    Pron p;
    std::vector<std::string_view> ph;
    size_t i = 0;
    while (i < phones.size()) {
        while (i < phones.size() && phones[i] == ' ') ++i;
        size_t j = i;
        while (j < phones.size() && phones[j] != ' ') ++j;
        if (j > i) ph.push_back(phones.substr(i, j - i));
        i = j;
    }
    int last_stressed = -1, last_vowel = -1;
    for (size_t k = 0; k < ph.size(); ++k) {
        if (!is_vowel_phone(ph[k])) continue;
        ++p.syllables;
        p.stress += ph[k].back();
        last_vowel = static_cast<int>(k);
        if (ph[k].back() != '0') last_stressed = static_cast<int>(k);
    }
    const int from = last_stressed >= 0 ? last_stressed : last_vowel;
    if (from >= 0) {
        for (size_t k = static_cast<size_t>(from); k < ph.size(); ++k) {
            std::string_view x = ph[k];
            if (is_vowel_phone(x)) x.remove_suffix(1);
            if (!p.rhyme.empty()) p.rhyme += ' ';
            p.rhyme += x;
        }
    }
    return p;
}

Pron guess_pron(std::string_view word) {
    std::string w;
    for (char c : word)
        if (is_letter(c)) w += static_cast<char>(c | 0x20);
    Pron p;
    p.guessed = true;
    if (w.empty()) return p;
    // Vowel groups ('y' counts as a vowel except at the start).
    std::vector<std::pair<size_t, size_t>> groups;
    for (size_t i = 0; i < w.size();) {
        const bool v = is_vowel_letter(w[i]) && !(w[i] == 'y' && i == 0);
        if (!v) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < w.size() && is_vowel_letter(w[j])) ++j;
        groups.emplace_back(i, j);
        i = j;
    }
    int n = static_cast<int>(groups.size());
    const size_t len = w.size();
    auto ends_with = [&](std::string_view s) { return len >= s.size() && std::string_view(w).substr(len - s.size()) == s; };
    if (n > 1) {
        const auto& last = groups.back();
        const bool final_e = last.first == len - 1 && w[len - 1] == 'e' && last.second - last.first == 1;
        // Silent final e ("stone"), but not "-le" after a consonant ("table").
        if (final_e && !(ends_with("le") && len >= 3 && !is_vowel_letter(w[len - 3]))) --n;
        // "-ed" is silent except after t/d ("loved" but "wanted"); "-es" likewise except after
        // sibilants ("stones" but "roses").
        else if (ends_with("ed") && last.first == len - 2 && len >= 3 && w[len - 3] != 't' && w[len - 3] != 'd') --n;
        else if (ends_with("es") && last.first == len - 2 && len >= 3 &&
                 std::string_view("sxzh").find(w[len - 3]) == std::string_view::npos && !ends_with("ces") &&
                 !ends_with("ges")) --n;
    }
    if (n < 1) n = 1;
    p.syllables = n;
    p.stress = std::string(static_cast<size_t>(n), '?');
    // Rhyme from the last voiced vowel group on.
    size_t from = groups.empty() ? 0 : groups.back().first;
    if (groups.size() > 1 && static_cast<int>(groups.size()) > n) from = groups[groups.size() - 2].first;
    p.rhyme.assign(1, '~');
    p.rhyme.append(w, from, std::string::npos);
    return p;
}

std::string number_to_words(std::string_view digits) {
    if (digits.empty() || digits.size() > 6) {
        std::string s;
        for (char c : digits) {
            if (!is_digit(c)) continue;
            if (!s.empty()) s += ' ';
            s += kOnes[c - '0'];
        }
        return s;
    }
    int n = 0;
    for (char c : digits) n = n * 10 + (c - '0');
    if (n < 1000) return below_thousand(n);
    std::string s = below_thousand(n / 1000);
    s.append(" thousand");
    if (n % 1000) s.append(" ").append(below_thousand(n % 1000));
    return s;
}

std::string normalize_word(std::string_view word) {
    std::string out;
    for (size_t i = 0; i < word.size(); ++i) {
        const auto c = static_cast<unsigned char>(word[i]);
        if (c == 0xE2 && i + 2 < word.size() && static_cast<unsigned char>(word[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(word[i + 2]) == 0x99 || static_cast<unsigned char>(word[i + 2]) == 0x98)) {
            out += '\'';
            i += 2;
        } else if (c >= 'A' && c <= 'Z') {
            out += static_cast<char>(c | 0x20);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::vector<std::string> split_words(std::string_view line) {
    // Dashes (" -- ", em/en dashes) separate words; a single hyphen joins parts of one word.
    std::string s;
    for (size_t i = 0; i < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c == 0xE2 && i + 2 < line.size() && static_cast<unsigned char>(line[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(line[i + 2]) == 0x94 || static_cast<unsigned char>(line[i + 2]) == 0x93)) {
            s += ' ';
            i += 2;
        } else if (c == '-' && i + 1 < line.size() && line[i + 1] == '-') {
            s += ' ';
            ++i;
        } else {
            s += static_cast<char>(c);
        }
    }
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
        size_t j = i;
        while (j < s.size() && !(s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
        std::string w;
        for (size_t k = i; k < j; ++k) {
            const auto c = static_cast<unsigned char>(s[k]);
            if (c == 0xE2 && k + 2 < j && static_cast<unsigned char>(s[k + 1]) == 0x80 &&
                (static_cast<unsigned char>(s[k + 2]) == 0x99 || static_cast<unsigned char>(s[k + 2]) == 0x98)) {
                w += '\'';
                k += 2;
            } else {
                w += static_cast<char>(c);
            }
        }
        // Trim punctuation at both ends (keeping an apostrophe that starts a known elision
        // like 'tis, decided at lookup).
        auto keep = [](char c) { return is_letter(c) || is_digit(c) || (static_cast<unsigned char>(c) >= 0x80); };
        size_t a = 0, b = w.size();
        while (a < b && !keep(w[a]) && w[a] != '\'') ++a;
        while (b > a && !keep(w[b - 1])) --b;
        while (a < b && w[a] == '\'' && (a + 1 >= b || !keep(w[a + 1]))) ++a;
        std::string t = w.substr(a, b - a);
        bool any = false;
        for (char c : t) any = any || keep(c);
        if (any) out.push_back(std::move(t));
        i = j;
    }
    return out;
}

Dictionary::Dictionary(std::string_view text) {
    words_.reserve(140000);
    size_t i = 0;
    while (i < text.size()) {
        size_t eol = text.find('\n', i);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view line = text.substr(i, eol - i);
        i = eol + 1;
        const size_t q1 = line.find('"');
        if (q1 == std::string_view::npos) continue;
        const size_t q2 = line.find('"', q1 + 1);
        if (q2 == std::string_view::npos) continue;
        const size_t q3 = line.find('"', q2 + 1);
        if (q3 == std::string_view::npos) continue;
        const size_t q4 = line.find('"', q3 + 1);
        if (q4 == std::string_view::npos) continue;
        std::string_view word = line.substr(q1 + 1, q2 - q1 - 1);
        std::string_view phones = line.substr(q3 + 1, q4 - q3 - 1);
        if (const size_t paren = word.find('('); paren != std::string_view::npos && paren > 0) word = word.substr(0, paren);
        Pron p = pron_from_phones(phones);
        if (p.syllables == 0) continue;
        words_[std::string(word)].push_back(std::move(p));
    }
    if (words_.size() < 1000) {
        throw_error(ErrorKind::Corrupt, "cmu-pronouncing-dictionary index.js: too few entries; expected over 100000, got {}",
                    words_.size());
    }
}

const Dictionary& Dictionary::get() {
    static std::once_flag once;
    static std::unique_ptr<Dictionary> dict;
    std::call_once(once, [] {
        const std::string path = npm_package_dir("cmu-pronouncing-dictionary") + "/index.js";
        std::ifstream in(path, std::ios::binary);
        if (!in) throw_error(ErrorKind::NotFound, "{}: cannot open; hint: run scripts/setup.sh", path);
        std::ostringstream ss;
        ss << in.rdbuf();
        dict = std::make_unique<Dictionary>(ss.str());
    });
    return *dict;
}

const std::vector<Pron>* Dictionary::find(std::string_view word) const {
    auto it = words_.find(std::string(word));
    return it == words_.end() ? nullptr : &it->second;
}

std::vector<Pron> Dictionary::lookup(std::string_view raw) const {
    std::string w = normalize_word(raw);
    if (const auto* p = find(w)) return *p;
    // Digits: read them out.
    bool digits = !w.empty();
    for (char c : w) digits = digits && is_digit(c);
    if (digits) {
        std::vector<std::vector<Pron>> parts;
        for (const std::string& part : split_words(number_to_words(w))) parts.push_back(lookup(part));
        return combine(parts);
    }
    // Hyphenated: the parts in turn.
    if (w.find('-') != std::string::npos) {
        std::vector<std::vector<Pron>> parts;
        size_t i = 0;
        while (i <= w.size()) {
            size_t j = w.find('-', i);
            if (j == std::string::npos) j = w.size();
            if (j > i) {
                auto sub = lookup(w.substr(i, j - i));
                if (!sub.empty()) parts.push_back(std::move(sub));
            }
            i = j + 1;
        }
        if (!parts.empty()) return combine(parts);
    }
    // Possessive / contraction endings the dictionary lacks: "rose's", "heav'n", "lov'd".
    if (w.size() > 2 && w.compare(w.size() - 2, 2, "'s") == 0) {
        if (const auto* p = find(w.substr(0, w.size() - 2))) {
            std::vector<Pron> out = *p;
            const char last = w[w.size() - 3];
            if (std::string_view("sxz").find(last) != std::string_view::npos)
                for (Pron& x : out) {
                    ++x.syllables;
                    x.stress += '0';
                    x.rhyme = "IH Z";
                }
            return out;
        }
    }
    if (w.size() > 2 && w.compare(w.size() - 2, 2, "'d") == 0) {
        if (const auto* p = find(w.substr(0, w.size() - 2) + "ed")) return *p;
    }
    // Strip apostrophes and try again ("o'er" is in the dictionary; "e'en" may not be).
    std::string letters;
    for (char c : w)
        if (is_letter(c) || is_digit(c)) letters += c;
    if (letters.empty()) return {};
    if (letters != w) {
        if (const auto* p = find(letters)) return *p;
    }
    return {guess_pron(letters)};
}

// The letter-to-sound count as a fold (pronounce.h). A piece's summary packs what guess_pron's
// count reads of a word: its vowel groups (with 'y' a vowel everywhere; the word's first letter is
// corrected at the end), its length, its first two and last three letters (5 bits each, 0 = none,
// 31 = not a-z) and whether all of it is a-z.
namespace {

constexpr uint64_t kOther = 31;
uint64_t letter_code(char c) { return c >= 'a' && c <= 'z' ? static_cast<uint64_t>(c - 'a' + 1) : kOther; }
// Sets of letter codes as bit masks (bit k: code k), so that the tests below are one shift each:
// the decoder runs them for every token that extends a word, and branches on random letters
// mispredict.
constexpr uint32_t code_set(std::string_view letters) {
    uint32_t m = 0;
    for (char c : letters) m |= uint32_t{1} << (c - 'a' + 1);
    return m;
}
constexpr uint32_t kVowelCodes = code_set("aeiouy");
static_assert(kVowelCodes == ((1u << 1) | (1u << 5) | (1u << 9) | (1u << 15) | (1u << 21) | (1u << 25)));
bool vowel_code(uint64_t k) { return ((kVowelCodes >> (k & 31)) & 1) != 0; }
bool in_codes(uint32_t set, uint64_t k) { return ((set >> (k & 31)) & 1) != 0; }

struct FoldSummary {
    uint64_t groups = 0, len = 0, first2 = 0, last3 = 0;
    bool plain = true;
    uint64_t first() const { return first2 & 31; }
    uint64_t second() const { return first2 >> 5; }
    uint64_t last(int back) const { return (last3 >> (5 * back)) & 31; }  // back 0 = the last letter
    uint64_t pack() const {
        return groups | (len << 8) | (first2 << 16) | (last3 << 26) | (plain ? 0 : uint64_t{1} << 41);
    }
    static FoldSummary unpack(uint64_t s) {
        return {s & 255, (s >> 8) & 255, (s >> 16) & 1023, (s >> 26) & 32767, ((s >> 41) & 1) == 0};
    }
};

FoldSummary fold_join(const FoldSummary& a, const FoldSummary& b) {
    if (a.len == 0) return b;
    if (b.len == 0) return a;
    FoldSummary j;
    j.groups = std::min<uint64_t>(a.groups + b.groups - (vowel_code(a.last(0)) && vowel_code(b.first()) ? 1 : 0), 255);
    j.len = std::min<uint64_t>(a.len + b.len, 255);
    j.first2 = a.len >= 2 ? a.first2 : a.first() | (b.first() << 5);
    j.last3 = b.len >= 3 ? b.last3 : ((a.last3 << (5 * b.len)) | b.last3) & 32767;
    j.plain = a.plain && b.plain;
    return j;
}

FoldSummary fold_summary(std::string_view piece) {
    FoldSummary s;
    for (char c : piece) {
        FoldSummary one;
        one.len = 1;
        one.first2 = one.last3 = letter_code(c);
        one.groups = vowel_code(one.first2) ? 1 : 0;
        one.plain = c >= 'a' && c <= 'z';
        s = fold_join(s, one);
    }
    return s;
}

bool ending_takes_group(const FoldSummary& s);

// guess_pron's count from a summary, rule by rule (see there).
gen::constraint::SyllableMask fold_counts_of(const FoldSummary& s) {
    if (!s.plain) return gen::constraint::kAskGuess;
    if (s.len == 0) return 0;
    const uint64_t y = letter_code('y');
    // A leading 'y' is no vowel: it made a group of its own unless a vowel follows it.
    int n = static_cast<int>(s.groups);
    if (s.first() == y && (s.len == 1 || !vowel_code(s.second()))) --n;
    n -= static_cast<int>((n > 1) & ending_takes_group(s));
    n = std::max(n, 1);
    return n <= gen::constraint::kMaxLineSyllables ? gen::constraint::SyllableMask{1} << n : 0;
}

// Whether the word's ending (a silent final e, -ed, -es) takes a group away (from words of more
// than one group).
bool ending_takes_group(const FoldSummary& s) {
    const uint64_t y = letter_code('y'), e = letter_code('e');
    // Letter `back` from the end is a vowel that can start or continue a group (not a leading y).
    // (Bitwise & and | on plain comparisons below: each is cheap, and evaluating all beats
    // branching. Where a side is a lookup, && lets the compiler choose.)
    auto voiced = [&](int back) {
        const bool at_start = s.len == static_cast<uint64_t>(back) + 1;
        return vowel_code(s.last(back)) && !(at_start & (s.last(back) == y));
    };
    const uint64_t l0 = s.last(0), l1 = s.last(1), l2 = s.last(2);
    const bool final_e = (l0 == e) & ((s.len == 1) | !voiced(1));
    const bool final_le = l1 == letter_code('l') && s.len >= 3 && !vowel_code(l2);  // "-ble": its e is voiced
    const bool starts_before_last = (s.len >= 3) & (l1 == e) & !voiced(2);  // a group "e" + one letter
    const bool silent_ed = l0 == letter_code('d') && starts_before_last && !in_codes(code_set("td"), l2);
    const bool silent_es = l0 == letter_code('s') && starts_before_last && !in_codes(code_set("sxzhcg"), l2);
    return (final_e & !final_le) | silent_ed | silent_es;
}

// counts(join(word, piece)) for many pieces after one word. When the word has 2 letters or more
// and the piece 3 or more (most tokens that extend a word), the joined word's first letters are
// the word's and its last three the piece's, and it is longer than 3 letters: the count is the
// groups of both (less one where a vowel meets a vowel, less a leading y's) less what the
// piece's last three letters take away, looked up in a table made once.
// ending_takes_group for a word longer than 3 letters, which reads only its last three (a table
// made once).
bool ending_of_long(uint64_t last3) {
    static const std::vector<bool> table = [] {
        std::vector<bool> t(32768);
        for (uint64_t l = 0; l < t.size(); ++l) t[l] = ending_takes_group({.len = 4, .last3 = l});
        return t;
    }();
    return table[last3 & 32767];
}

void fold_counts_joined(uint64_t word, const uint64_t* pieces, size_t n, gen::constraint::SyllableMask* out) {
    const FoldSummary a = FoldSummary::unpack(word);
    const bool fast = a.plain && a.len >= 2;
    const uint64_t y = letter_code('y');
    const int leading_y = a.first() == y && !vowel_code(a.second()) ? 1 : 0;
    const bool a_vowel_end = vowel_code(a.last(0));
    for (size_t i = 0; i < n; ++i) {
        const FoldSummary b = FoldSummary::unpack(pieces[i]);
        if (!fast || !b.plain || b.len < 3) {
            out[i] = fold_counts_of(fold_join(a, b));
            continue;
        }
        const uint64_t groups = std::min<uint64_t>(a.groups + b.groups - ((a_vowel_end && vowel_code(b.first())) ? 1 : 0), 255);
        int c = static_cast<int>(groups) - leading_y;
        c -= static_cast<int>((c > 1) & ending_of_long(b.last3));
        c = std::max(c, 1);
        out[i] = c <= gen::constraint::kMaxLineSyllables ? gen::constraint::SyllableMask{1} << c : 0;
    }
}

gen::constraint::SyllableMask fold_counts(uint64_t packed) { return fold_counts_of(FoldSummary::unpack(packed)); }

// The fold by classes (GuessFold::piece_class). When the word is plain and the piece plain and 3
// letters or more, the joined word is longer than 3 letters and its count reads (fold_counts_of,
// fold_join): the groups of both, whether the word ends and the piece starts on a vowel (they
// merge), whether the word's leading y is a consonant (a word of one letter y: when the piece
// starts on a consonant), and whether the piece's last three letters take a group away.
// A piece's class: groups << 2 | starts on a vowel << 1 | ending takes a group.
int64_t fold_piece_class(uint64_t packed) {
    const FoldSummary b = FoldSummary::unpack(packed);
    if (!b.plain || b.len < 3) return -1;
    return static_cast<int64_t>((b.groups << 2) | (vowel_code(b.first()) ? 2 : 0) | (ending_of_long(b.last3) ? 1 : 0));
}

// A word's class: groups | ends on a vowel << 8 | leading y << 9 (0: none, 1: a consonant, 2: a
// consonant when the piece starts on one, for the word "y" alone).
int64_t fold_word_class(uint64_t packed) {
    const FoldSummary a = FoldSummary::unpack(packed);
    if (!a.plain || a.len == 0) return -1;
    const uint64_t y = letter_code('y');
    const uint64_t leading_y = a.first() != y ? 0 : a.len == 1 ? 2 : vowel_code(a.second()) ? 0 : 1;
    return static_cast<int64_t>(a.groups | (vowel_code(a.last(0)) ? 256 : 0) | (leading_y << 9));
}

gen::constraint::SyllableMask fold_class_counts(int64_t word, int64_t piece) {
    const auto a_groups = static_cast<uint64_t>(word & 255), b_groups = static_cast<uint64_t>(piece >> 2);
    const bool a_vowel_end = ((word >> 8) & 1) != 0, b_vowel_start = ((piece >> 1) & 1) != 0;
    const int64_t leading_y = word >> 9;
    const uint64_t groups = std::min<uint64_t>(a_groups + b_groups - (a_vowel_end && b_vowel_start ? 1 : 0), 255);
    int c = static_cast<int>(groups) - ((leading_y == 1 || (leading_y == 2 && !b_vowel_start)) ? 1 : 0);
    c -= static_cast<int>((c > 1) & ((piece & 1) != 0));
    c = std::max(c, 1);
    return c <= gen::constraint::kMaxLineSyllables ? gen::constraint::SyllableMask{1} << c : 0;
}

}  // namespace

gen::constraint::GuessFold letter_guess_fold() {
    return {.summary = [](std::string_view piece) { return fold_summary(piece).pack(); },
            .join = [](uint64_t a, uint64_t b) { return fold_join(FoldSummary::unpack(a), FoldSummary::unpack(b)).pack(); },
            .counts = fold_counts,
            .counts_joined = fold_counts_joined,
            .piece_class = fold_piece_class,
            .word_class = fold_word_class,
            .class_counts = fold_class_counts};
}

std::shared_ptr<const gen::constraint::SyllableDictionary> cmu_syllables() {
    using gen::constraint::SyllableMask;
    static std::once_flag once;
    static std::shared_ptr<const gen::constraint::SyllableDictionary> dict;
    std::call_once(once, [] {
        const Dictionary& cmu = Dictionary::get();
        auto mask_of = [](const std::vector<Pron>& prons) {
            SyllableMask m = 0;
            for (const Pron& p : prons)
                if (p.syllables >= 1 && p.syllables <= gen::constraint::kMaxLineSyllables) m |= SyllableMask{1} << p.syllables;
            return m;
        };
        std::vector<gen::constraint::SyllableWord> words;
        words.reserve(cmu.size());
        for (const auto& [w, prons] : cmu.words()) {
            bool ok = !w.empty() && w.front() != '\'' && w.back() != '\'';
            for (char c : w) ok = ok && ((c >= 'a' && c <= 'z') || is_digit(c) || c == '\'');
            const SyllableMask m = mask_of(prons);
            if (ok && m != 0) words.push_back({w, m});
        }
        // The guess runs for thousands of candidate tokens per step. A word of plain letters that
        // is not in the dictionary (the trie has them all) goes straight to the letter-to-sound
        // rules, as lookup would send it after its other rules (digits, hyphens, apostrophes).
        auto guess = [mask_of](std::string_view w) {
            bool plain = !w.empty();
            for (char c : w) plain = plain && c >= 'a' && c <= 'z';
            if (plain && Dictionary::get().find(w) == nullptr) return mask_of({guess_pron(w)});
            return mask_of(Dictionary::get().lookup(w));
        };
        // Plain-letter words the dictionary lacks are guessed by letter_guess_fold's summaries.
        dict = std::make_shared<const gen::constraint::SyllableDictionary>(std::move(words), guess, letter_guess_fold());
    });
    return dict;
}

}  // namespace lyra::art::poetry::en
