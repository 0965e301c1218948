// The English forms and the checker (forms.h).
#include "art/poetry/en/forms.h"

#include <algorithm>
#include <map>
#include <set>

#include "art/poetry/en/pronounce.h"
#include "core/error.h"

namespace lyra::art::poetry::en {

namespace {

std::vector<LineSpec> scheme(std::string_view rhymes, int lo, int hi) {
    std::vector<LineSpec> out;
    for (char c : rhymes) out.push_back({lo, hi, c == '-' ? char{0} : c});
    return out;
}

std::string syllables_text(const LineSpec& l) {
    if (l.min_syllables == l.max_syllables) return fmt::format("{} syllables", l.min_syllables);
    return fmt::format("{}-{} syllables", l.min_syllables, l.max_syllables);
}

std::string trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
    return std::string(s.substr(a, b - a));
}

// Achievable syllable totals of a line (bit k = some choice of pronunciations gives k).
uint64_t syllable_mask(const std::vector<std::vector<Pron>>& prons) {
    uint64_t mask = 1;
    for (const auto& alts : prons) {
        uint64_t next = 0;
        for (const Pron& p : alts)
            if (p.syllables < 64) next |= mask << p.syllables;
        mask = next == 0 ? mask : next;
    }
    return mask;
}

int first_total(const std::vector<std::vector<Pron>>& prons) {
    int n = 0;
    for (const auto& alts : prons)
        if (!alts.empty()) n += alts.front().syllables;
    return n;
}

// The rhyme keys of a word: its pronunciations' keys, and its spelling key (used when either
// word of a pair is a letter-to-sound guess, so an unknown word still rhymes by spelling).
struct RhymeKeys {
    std::set<std::string> keys;
    std::string spelling;
    bool guessed = false;
};

RhymeKeys rhyme_keys(const std::vector<Pron>& prons, const std::string& word) {
    RhymeKeys r;
    for (const Pron& p : prons) {
        r.keys.insert(p.rhyme);
        r.guessed = r.guessed || p.guessed;
    }
    r.spelling = guess_pron(normalize_word(word)).rhyme;
    return r;
}

bool share(const RhymeKeys& a, const RhymeKeys& b) {
    for (const auto& k : a.keys)
        if (b.keys.count(k)) return true;
    return (a.guessed || b.guessed) && a.spelling == b.spelling;
}

}  // namespace

const std::vector<VerseForm>& verse_forms() {
    static const std::vector<VerseForm> forms = {
        {"haiku", "English haiku: three lines of 5, 7 and 5 syllables", {{5, 5, 0}, {7, 7, 0}, {5, 5, 0}}, false},
        {"limerick", "limerick: five lines rhyming AABBA, 8-9 syllables (A) and 5-6 syllables (B)",
         {{8, 9, 'A'}, {8, 9, 'A'}, {5, 6, 'B'}, {5, 6, 'B'}, {8, 9, 'A'}}, false},
        {"sonnet", "Shakespearean sonnet: 14 lines of 10 syllables rhyming ABAB CDCD EFEF GG, iambic",
         scheme("ABABCDCDEFEFGG", 10, 10), true},
        {"acrostic", "acrostic: one line of 6-8 syllables per letter of --acrostic, each starting with its letter",
         {}, false},
    };
    return forms;
}

const VerseForm* find_verse_form(std::string_view name) {
    for (const VerseForm& f : verse_forms())
        if (f.name == name) return &f;
    return nullptr;
}

VerseForm resolve_form(std::string_view name, std::string_view acrostic) {
    const VerseForm* base = find_verse_form(name);
    if (base == nullptr) {
        throw_error(ErrorKind::InvalidArgument, "form: unknown English form; expected haiku, limerick, sonnet or acrostic, got '{}'",
                    name);
    }
    for (char c : acrostic) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            throw_error(ErrorKind::InvalidArgument, "acrostic: only the letters A-Z can begin English lines; expected letters, got '{}'",
                        acrostic);
        }
    }
    VerseForm form = *base;
    if (form.name == "acrostic") {
        if (acrostic.size() < 2 || acrostic.size() > 30) {
            throw_error(ErrorKind::InvalidArgument, "acrostic: the acrostic form needs one letter per line; expected 2 to 30 letters, got {} ('{}')",
                        acrostic.size(), acrostic);
        }
        form.lines = scheme(std::string(acrostic.size(), '-'), 6, 8);
    } else if (!acrostic.empty() && acrostic.size() != form.lines.size()) {
        throw_error(ErrorKind::InvalidArgument, "acrostic: a {} has {} lines; expected {} letters, got {} ('{}')", form.name,
                    form.lines.size(), form.lines.size(), acrostic.size(), acrostic);
    }
    return form;
}

std::vector<std::string> poem_lines(std::string_view text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= text.size()) {
        size_t j = text.find('\n', i);
        if (j == std::string_view::npos) j = text.size();
        std::string line = trim(text.substr(i, j - i));
        if (!line.empty()) out.push_back(std::move(line));
        i = j + 1;
    }
    return out;
}

nlohmann::json VerseReport::to_json() const {
    nlohmann::json f = nlohmann::json::array();
    for (const Fault& x : faults)
        f.push_back({{"line", x.line}, {"position", x.position}, {"expected", x.expected}, {"found", x.found},
                     {"message", x.message}});
    return {{"compliant", compliant()}, {"lines", lines}, {"syllable_accuracy", syllable_accuracy},
            {"rhyme_accuracy", rhyme_accuracy}, {"acrostic_accuracy", acrostic_accuracy}, {"meter", meter},
            {"faults", f}};
}

VerseReport analyse_poem(const VerseForm& form, std::string_view text, std::string_view acrostic) {
    const Dictionary& dict = Dictionary::get();
    VerseReport r;
    const std::vector<std::string> lines = poem_lines(text);
    r.lines = static_cast<int>(lines.size());
    const int want = static_cast<int>(form.lines.size());
    if (want > 0 && r.lines != want) {
        r.faults.push_back({0, 0, fmt::format("{} lines", want), fmt::format("{} lines", r.lines),
                            fmt::format("poem: a {} has {} lines; found {}", form.name, want, r.lines)});
    }
    const int n = want > 0 ? std::min(want, r.lines) : r.lines;
    int syl_ok = 0, rhyme_lines = 0, rhyme_ok = 0, acro_ok = 0;
    double meter_sum = 0;
    int meter_lines = 0;
    struct Opener {
        int line;
        std::string word;
        RhymeKeys keys;
    };
    std::map<char, Opener> openers;
    std::map<char, std::vector<std::string>> used;
    for (int i = 0; i < n; ++i) {
        const std::string& line = lines[static_cast<size_t>(i)];
        const LineSpec spec = want > 0 ? form.lines[static_cast<size_t>(i)] : LineSpec{1, 63, 0};
        const std::vector<std::string> words = split_words(line);
        std::vector<std::vector<Pron>> prons;
        for (const std::string& w : words) prons.push_back(dict.lookup(w));
        // Syllables.
        const uint64_t mask = syllable_mask(prons);
        bool fits = false;
        for (int k = spec.min_syllables; k <= spec.max_syllables && k < 64; ++k) fits = fits || ((mask >> k) & 1);
        if (fits) {
            ++syl_ok;
        } else {
            const int found = first_total(prons);
            r.faults.push_back({i + 1, 0, syllables_text(spec), fmt::format("{} syllables", found),
                                fmt::format("line {}: {} expected, found {} (\"{}\")", i + 1, syllables_text(spec), found, line)});
        }
        // Acrostic letter.
        if (static_cast<size_t>(i) < acrostic.size()) {
            const char want_c = static_cast<char>(acrostic[static_cast<size_t>(i)] | 0x20);
            const char got = static_cast<char>(line[0] | 0x20);
            if (got == want_c) {
                ++acro_ok;
            } else {
                const std::string first = words.empty() ? line : words.front();
                r.faults.push_back({i + 1, 1, fmt::format("a word starting with '{}'", static_cast<char>(want_c & ~0x20)),
                                    first, fmt::format("line {}, word 1: a word starting with '{}' expected, found '{}'", i + 1,
                                                       static_cast<char>(want_c & ~0x20), first)});
            }
        }
        // Rhyme.
        if (spec.rhyme != 0 && !words.empty()) {
            const std::string last = normalize_word(words.back());
            const RhymeKeys keys = rhyme_keys(prons.back(), last);
            const int pos = static_cast<int>(words.size());
            auto it = openers.find(spec.rhyme);
            if (it == openers.end()) {
                openers[spec.rhyme] = {i + 1, last, keys};
            } else {
                ++rhyme_lines;
                auto& seen = used[spec.rhyme];
                const bool repeat = last == it->second.word || std::find(seen.begin(), seen.end(), last) != seen.end();
                if (repeat) {
                    r.faults.push_back({i + 1, pos, "a new rhyme word", last,
                                        fmt::format("line {}, word {}: a new rhyme word expected, '{}' is repeated", i + 1, pos, last)});
                } else if (!share(keys, it->second.keys)) {
                    r.faults.push_back({i + 1, pos, fmt::format("a rhyme with '{}' (line {})", it->second.word, it->second.line), last,
                                        fmt::format("line {}, word {}: a rhyme with '{}' (line {}) expected, '{}' does not rhyme", i + 1,
                                                    pos, it->second.word, it->second.line, last)});
                } else {
                    ++rhyme_ok;
                }
                seen.push_back(last);
            }
        }
        // Meter: iambic fit (unstressed, stressed, ...); one-syllable words fit either beat.
        std::string stress;
        for (size_t w = 0; w < prons.size(); ++w) {
            if (prons[w].empty()) continue;
            const Pron& p = prons[w].front();
            if (p.syllables == 1) stress += '?';
            else stress += p.stress;
        }
        if (!stress.empty()) {
            int match = 0, known = 0;
            if (form.iambic) {
                for (size_t k = 0; k < stress.size(); ++k) {
                    if (stress[k] == '?') continue;
                    ++known;
                    const bool stressed = stress[k] != '0';
                    if (stressed == (k % 2 == 1) || stress[k] == '2') ++match;
                }
            } else {
                // Other forms: no stress clash (two primary stresses side by side).
                for (size_t k = 0; k + 1 < stress.size(); ++k) {
                    if (stress[k] == '?' || stress[k + 1] == '?') continue;
                    ++known;
                    if (!(stress[k] == '1' && stress[k + 1] == '1')) ++match;
                }
            }
            meter_sum += known == 0 ? 1.0 : static_cast<double>(match) / known;
            ++meter_lines;
        }
    }
    const int denom = want > 0 ? want : std::max(1, r.lines);
    r.syllable_accuracy = static_cast<double>(syl_ok) / denom;
    int expected_rhymes = 0;
    std::set<char> groups;
    for (const LineSpec& l : form.lines)
        if (l.rhyme != 0 && !groups.insert(l.rhyme).second) ++expected_rhymes;
    r.rhyme_accuracy = expected_rhymes == 0 ? 1.0 : static_cast<double>(rhyme_ok) / expected_rhymes;
    (void)rhyme_lines;
    r.acrostic_accuracy = acrostic.empty() ? 1.0 : static_cast<double>(acro_ok) / static_cast<double>(acrostic.size());
    r.meter = meter_lines == 0 ? 0.0 : meter_sum / meter_lines;
    return r;
}

}  // namespace lyra::art::poetry::en
