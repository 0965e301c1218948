// Harmony (Viterbi over diatonic triads) and lyrics (syllables on notes) — harmony.h.
#include "art/music/harmony.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "art/music/meter.h"
#include "core/error.h"

namespace lyra::art::music {

namespace {

struct ChordCand {
    std::string name;
    std::vector<int> pcs;  // root, third, fifth
    int degree;            // 0 = tonic, 4 = dominant
    int bass = 0;          // pitch class in the bass: the root, or the third of an inversion
    bool inverted = false; // first inversion ("C/E")
    bool dim = false;      // diminished triad (vii° in major, ii° in minor)
};

std::string pc_name(char letter, int acc) {
    std::string s(1, letter);
    if (acc > 0) s += std::string(static_cast<size_t>(acc), '#');
    if (acc < 0) s += std::string(static_cast<size_t>(-acc), 'b');
    return s;
}

// The note `pc` spelled on the letter `letter_steps` above the tonic's ("G#" for the raised
// leading tone of A minor, though the signature has G).
std::string spell(const Key& key, int letter_steps, int pc) {
    static const char letters[] = "CDEFGAB";
    char letter = letters[(letter_index(key.tonic) + letter_steps) % 7];
    int acc = ((pc - letter_semitone(letter)) % 12 + 12) % 12;
    if (acc > 6) acc -= 12;
    return pc_name(letter, acc);
}

std::vector<ChordCand> candidates(const Key& key) {
    std::array<int, 7> pcs = key.scale_pcs();
    std::vector<ChordCand> out;
    for (int d = 0; d < 7; ++d) {
        int r = pcs[static_cast<size_t>(d)], t = pcs[static_cast<size_t>((d + 2) % 7)],
            f = pcs[static_cast<size_t>((d + 4) % 7)];
        int third = (t - r + 12) % 12, fifth = (f - r + 12) % 12;
        // Diminished triads: only the two that lead somewhere, vii° to the tonic in major and ii°
        // to the dominant in minor (the others of the modes stay out, as before).
        bool dim = third == 3 && fifth == 6;
        if (fifth != 7 && !(dim && ((key.mode == Mode::Major && d == 6) || (key.mode == Mode::Minor && d == 1)))) {
            continue;
        }
        std::string name = spell(key, d, r) + (dim ? "dim" : third == 3 ? "m" : "");
        out.push_back({name, {r, t, f}, d, r, false, dim});
    }
    // Minor modes: the major dominant (harmonic minor) too.
    if (key.mode == Mode::Minor || key.mode == Mode::Dorian) {
        int r = pcs[4];
        std::string name = spell(key, 4, r);
        bool have = std::any_of(out.begin(), out.end(), [&](const ChordCand& c) { return c.name == name; });
        if (!have) out.push_back({name, {r, (r + 4) % 12, (r + 7) % 12}, 4, r});
    }
    // Each triad in first inversion too, the third in the bass ("C/E"): a bass that moves by
    // step where the roots leap (C G/B C, the vii° as Bdim/D).
    const size_t roots = out.size();
    for (size_t i = 0; i < roots; ++i) {
        ChordCand c = out[i];
        int third_steps = (c.degree + 2) % 7;
        c.name.push_back('/');
        c.name.append(spell(key, third_steps, c.pcs[1]));
        c.bass = c.pcs[1];
        c.inverted = true;
        out.push_back(std::move(c));
    }
    return out;
}

bool has(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

std::set<int> section_end_bars(const Tune& tune) {
    // Bars counted as written_notes() counts them: a bar line ends a bar only after a note.
    int bar = 0;
    bool any = false;
    std::set<int> ends;
    for (const Element& e : tune.body) {
        if (e.kind == ElemKind::Note || e.kind == ElemKind::Chord) any = true;
        if (e.kind == ElemKind::Bar) {
            if (any && (e.text.find(":|") != std::string::npos || e.text == "||" || e.text == "|]" ||
                        e.text == "::")) {
                ends.insert(bar);
            }
            if (any) ++bar;
            any = false;
        }
    }
    return ends;
}

std::vector<std::string> harmonize(Tune& tune) {
    // Drop the old chord symbols (annotations, which are not chords, stay).
    std::vector<Element> body;
    for (Element& e : tune.body) {
        if (e.kind == ElemKind::ChordSymbol && !chord_pitch_classes(e.text).empty()) continue;
        body.push_back(std::move(e));
    }
    tune.body = std::move(body);
    Key key = parse_key(tune.field('K'));
    if (key.none) key = Key{};
    std::vector<ChordCand> cands = candidates(key);
    std::vector<WrittenNote> notes = written_notes(tune);
    if (notes.empty()) return {};

    // Segments: half bars where the bar splits evenly in two beats groups, else whole bars.
    struct Segment {
        int bar;
        Frac start;  // within the bar
        size_t first_note;  // index into notes of the first note starting in it (or npos)
        std::vector<double> w = std::vector<double>(12, 0.0);
        bool section_end = false, half = false;
    };
    std::vector<Segment> segs;
    int n_bars = notes.back().bar + 1;
    std::vector<Frac> bar_len(static_cast<size_t>(n_bars));
    for (const WrittenNote& n : notes) bar_len[static_cast<size_t>(n.bar)] = n.bar_len;
    // Bars of an even number of beats (2/4, 4/4, 2/2, 6/8, 12/8) split into two halves.
    bool even_beats = false;
    try {
        Meter m = parse_meter(tune.field('M'));
        int beats = m.compound() ? m.beats_num / 3 : m.beats_num;
        even_beats = !m.free && beats % 2 == 0;
    } catch (const Error&) {
    }
    for (int b = 0; b < n_bars; ++b) {
        Frac full = bar_len[static_cast<size_t>(b)];
        segs.push_back({b, Frac(0), std::string::npos, std::vector<double>(12, 0.0), false, false});
        if (even_beats && full.num > 0) {
            segs.push_back({b, full * Frac(1, 2), std::string::npos, std::vector<double>(12, 0.0), false, true});
        }
    }
    auto seg_of = [&](const WrittenNote& n) {
        // The last segment of n's bar that starts at or before the note.
        size_t best = 0;
        for (size_t s = 0; s < segs.size(); ++s) {
            if (segs[s].bar == n.bar && segs[s].start <= n.offset) best = s;
        }
        return best;
    };
    for (size_t i = 0; i < notes.size(); ++i) {
        const WrittenNote& n = notes[i];
        size_t s = seg_of(n);
        if (segs[s].first_note == std::string::npos && n.offset == segs[s].start) segs[s].first_note = i;
        if (n.midi.empty()) continue;
        double w = n.dur.value() * (n.offset == segs[s].start ? 1.5 : 1.0);
        for (int m : n.midi) segs[s].w[static_cast<size_t>(((m % 12) + 12) % 12)] += w;
    }
    {
        std::set<int> ends = section_end_bars(tune);
        ends.insert(n_bars - 1);
        for (Segment& s : segs) s.section_end = ends.count(s.bar) > 0;
    }

    // Viterbi.
    size_t S = segs.size(), C = cands.size();
    const double kNeg = -std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> score(S, std::vector<double>(C, kNeg));
    std::vector<std::vector<size_t>> back(S, std::vector<size_t>(C, 0));
    auto local = [&](size_t s, size_t c) {
        const Segment& seg = segs[s];
        double total = 0, in = 0;
        for (int pc = 0; pc < 12; ++pc) {
            total += seg.w[static_cast<size_t>(pc)];
            if (has(cands[c].pcs, pc)) in += seg.w[static_cast<size_t>(pc)];
        }
        double v = total > 0 ? 3.0 * in / total - 1.0 * (total - in) / total : 0.0;
        const ChordCand& cc = cands[c];
        int deg = cc.degree;
        if (deg == 0 || deg == 3 || deg == 4) v += 0.15;  // primary triads
        // Inversions and diminished triads are colour: chosen only where the melody or the bass
        // line asks for them (trans()). An inversion costs a little more than one bass step
        // earns, so it takes a step in and a step out (C G/B C) to beat the root position.
        if (cc.inverted) v -= 0.35;
        if (cc.dim) v -= 0.2;
        // Cadences want root position: the opening tonic, each section's closing tonic and the
        // dominant before it.
        const bool root_pos = !cc.inverted;
        if (s == 0 && deg == 0 && root_pos) v += 1.0;
        if (!root_pos && s + 1 < S && segs[s + 1].section_end) v -= 0.5;  // the approach to a cadence
        bool last_of_section = seg.section_end && (s + 1 == S || segs[s + 1].bar != seg.bar);
        if (last_of_section && deg == 0 && root_pos) v += 1.5;
        if (s + 1 == S && (deg != 0 || !root_pos)) v -= 3.0;  // the tune ends on the tonic, root in the bass
        // The segment before a section's last one: dominant.
        if (s + 1 < S && segs[s + 1].section_end && (s + 2 == S || segs[s + 2].bar != segs[s + 1].bar) &&
            segs[s + 1].bar != seg.bar && deg == 4 && root_pos && !cc.dim) {
            v += 0.8;
        }
        return v;
    };
    auto trans = [&](size_t s, size_t a, size_t b) {
        double v = 0;
        for (int pc : cands[a].pcs) v += has(cands[b].pcs, pc) ? 0.1 : 0.0;  // common tones
        int motion = (cands[b].pcs[0] - cands[a].pcs[0] + 12) % 12;
        if (motion == 5) v += 0.3;  // falling fifth (V -> I, ii -> V)
        // vii° resolves up a step to I (ii° -> V in minor is a falling fifth, above).
        if (cands[a].dim && cands[a].degree == 6 && cands[b].degree == 0) v += 0.3;
        if (cands[a].inverted || cands[b].inverted) {
            // An inversion earns its place by the bass line: a step (1-2 semitones) into or out of
            // it earns, a held bass note is neutral, a leap costs.
            int step = std::abs(cands[b].bass - cands[a].bass);
            step = std::min(step, 12 - step);
            v += step == 0 ? 0.0 : step <= 2 ? 0.2 : -0.3;
        }
        if (segs[s].half) v += a == b ? 0.4 : -0.5;  // change inside a bar only when it pays
        else if (a == b) v += 0.1;
        return v;
    };
    for (size_t c = 0; c < C; ++c) score[0][c] = local(0, c);
    for (size_t s = 1; s < S; ++s) {
        for (size_t c = 0; c < C; ++c) {
            double l = local(s, c);
            for (size_t p = 0; p < C; ++p) {
                double v = score[s - 1][p] + trans(s, p, c) + l;
                if (v > score[s][c]) {
                    score[s][c] = v;
                    back[s][c] = p;
                }
            }
        }
    }
    std::vector<size_t> path(S);
    path[S - 1] = static_cast<size_t>(std::max_element(score[S - 1].begin(), score[S - 1].end()) - score[S - 1].begin());
    for (size_t s = S - 1; s > 0; --s) path[s - 1] = back[s][path[s]];

    // Insert a symbol at each bar start and at each change, before the segment's first note.
    std::map<size_t, std::string> at;  // element index -> chord
    std::vector<std::string> chosen;
    for (size_t s = 0; s < S; ++s) {
        if (segs[s].first_note == std::string::npos) continue;
        if (segs[s].half && path[s] == path[s - 1]) continue;
        at[notes[segs[s].first_note].elem] = cands[path[s]].name;
        chosen.push_back(cands[path[s]].name);
    }
    std::vector<Element> out;
    for (size_t i = 0; i < tune.body.size(); ++i) {
        auto it = at.find(i);
        if (it != at.end()) {
            Element cs;
            cs.kind = ElemKind::ChordSymbol;
            cs.text = it->second;
            // Before the note's decorations/grace notes too: walk back over them.
            size_t insert = out.size();
            while (insert > 0 && (out[insert - 1].kind == ElemKind::Decoration ||
                                  out[insert - 1].kind == ElemKind::Grace ||
                                  out[insert - 1].kind == ElemKind::SlurOpen ||
                                  out[insert - 1].kind == ElemKind::Tuplet)) {
                --insert;
            }
            out.insert(out.begin() + static_cast<std::ptrdiff_t>(insert), cs);
        }
        out.push_back(tune.body[i]);
    }
    tune.body = std::move(out);
    return chosen;
}

std::vector<std::string> key_chords(const Key& key) {
    std::array<int, 7> pcs = key.scale_pcs();
    std::array<int, 7> sig = key.signature();
    static const char letters[] = "CDEFGAB";
    int li = letter_index(key.tonic);
    auto root = [&](int degree) {
        char letter = letters[(li + degree) % 7];
        return pc_name(letter, sig[static_cast<size_t>(letter_index(letter))]);
    };
    std::vector<std::string> out;
    auto add = [&](const std::string& name) {
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    };
    for (int d = 0; d < 7; ++d) {
        auto at = [&](int k) { return pcs[static_cast<size_t>((d + k) % 7)]; };
        int third = (at(2) - at(0) + 12) % 12, fifth = (at(4) - at(0) + 12) % 12,
            seventh = (at(6) - at(0) + 12) % 12;
        if (fifth != 7) continue;  // diminished: left out
        add(root(d) + (third == 3 ? "m" : ""));
        if (third == 4 && seventh == 10) add(root(d) + "7");  // a dominant seventh in the mode
    }
    if (key.mode == Mode::Minor || key.mode == Mode::Dorian) {
        add(root(4));  // V with the raised leading tone
        add(root(4) + "7");
    }
    if (key.mode == Mode::Major) {
        add(root(1));  // V/V: the dominant's dominant, the commonest chromatic chord of folk tunes
        add(root(1) + "7");
    }
    return out;
}

std::string ChordName::str() const {
    std::string s = pc_name(root, root_acc) + quality;
    if (bass) s += "/" + pc_name(bass, bass_acc);
    return s;
}

std::optional<ChordName> parse_chord_name(std::string_view s) {
    if (s.empty() || s[0] < 'A' || s[0] > 'G') return std::nullopt;
    ChordName c;
    c.root = s[0];
    size_t i = 1;
    if (i < s.size() && (s[i] == '#' || s[i] == 'b')) c.root_acc = s[i++] == '#' ? 1 : -1;
    size_t slash = s.find('/', i);
    std::string_view q = s.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i);
    // Written -> canonical quality.
    static const std::pair<std::string_view, std::string_view> kQualities[] = {
        {"", ""},         {"m", "m"},       {"min", "m"},     {"7", "7"},       {"m7", "m7"},
        {"min7", "m7"},   {"maj7", "maj7"}, {"dim", "dim"},   {"d", "dim"},     {"dim7", "dim7"},
        {"aug", "aug"},   {"+", "aug"},     {"sus4", "sus4"}, {"6", "6"},       {"m6", "m6"},
        {"9", "9"},       {"m9", "m9"},     {"7b9", "7b9"},   {"m7b5", "m7b5"},
        // The diminished signs of lead sheets: o and ° (dim), ø (half-diminished, m7b5).
        {"o", "dim"},     {"\u00b0", "dim"}, {"\u00f8", "m7b5"},
    };
    bool known = false;
    for (const auto& [written, canonical] : kQualities) {
        if (q == written) {
            c.quality = canonical;
            known = true;
        }
    }
    if (!known) return std::nullopt;
    if (slash != std::string_view::npos) {
        std::string_view b = s.substr(slash + 1);
        if (b.empty() || b.size() > 2) return std::nullopt;
        char l = static_cast<char>(std::toupper(static_cast<unsigned char>(b[0])));
        if (l < 'A' || l > 'G') return std::nullopt;
        c.bass = l;
        if (b.size() == 2) {
            if (b[1] == '#' || b[1] == '+') c.bass_acc = 1;
            else if (b[1] == 'b' || b[1] == '-') c.bass_acc = -1;
            else return std::nullopt;
        }
    }
    return c;
}

namespace {

// Moves a letter and its accidental up `steps` letters and `semitones` in pitch; a double
// accidental is respelled on the neighbouring letter (Fx -> G, Ebb -> D).
void move_letter(char& letter, int& acc, int steps, int semitones) {
    static const char letters[] = "CDEFGAB";
    int pc = letter_semitone(letter) + acc + semitones;
    int li = ((letter_index(letter) + steps) % 7 + 7) % 7;
    acc = ((pc - letter_semitone(letters[li])) % 12 + 12) % 12;
    if (acc > 6) acc -= 12;
    while (acc > 1) {
        int up = (li + 1) % 7;
        acc -= (letter_semitone(letters[up]) - letter_semitone(letters[li]) + 12) % 12;
        li = up;
    }
    while (acc < -1) {
        int down = (li + 6) % 7;
        acc += (letter_semitone(letters[li]) - letter_semitone(letters[down]) + 12) % 12;
        li = down;
    }
    letter = letters[li];
}

}  // namespace

std::string transpose_chord(std::string_view symbol, int letter_steps, int semitones) {
    std::optional<ChordName> c = parse_chord_name(symbol);
    if (!c) return {};
    move_letter(c->root, c->root_acc, letter_steps, semitones);
    if (c->bass) move_letter(c->bass, c->bass_acc, letter_steps, semitones);
    return c->str();
}

// --- lyrics ----------------------------------------------------------------------------------

namespace {

bool is_vowel(char c, bool y_vowel) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || (y_vowel && c == 'y');
}

// Decodes one UTF-8 code point at s[i] (advances i).
uint32_t next_cp(const std::string& s, size_t& i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    uint32_t cp = len == 1 ? c : c & (0x3f >> (len - 1));
    for (int k = 1; k < len && i + static_cast<size_t>(k) < s.size(); ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3f);
    }
    i += static_cast<size_t>(len);
    return cp;
}

bool is_cjk(uint32_t cp) {
    return (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xf900 && cp <= 0xfaff);
}

std::map<std::string, int> cmu_counts(const std::string& index_js, const std::set<std::string>& words) {
    std::map<std::string, int> out;
    if (index_js.empty() || words.empty()) return out;
    std::ifstream f(index_js);
    std::string line;
    while (std::getline(f, line)) {
        size_t q1 = line.find('"');
        if (q1 == std::string::npos) continue;
        size_t q2 = line.find('"', q1 + 1);
        if (q2 == std::string::npos) continue;
        std::string w = line.substr(q1 + 1, q2 - q1 - 1);
        if (!words.count(w)) continue;
        size_t q3 = line.find('"', q2 + 1), q4 = q3 == std::string::npos ? q3 : line.find('"', q3 + 1);
        if (q4 == std::string::npos) continue;
        int n = 0;
        for (size_t k = q3; k < q4; ++k) n += std::isdigit(static_cast<unsigned char>(line[k])) ? 1 : 0;
        if (n > 0) out[w] = n;
    }
    return out;
}

}  // namespace

std::vector<std::string> split_word(const std::string& word, int want) {
    // Vowel groups: each starts a syllable; consonants between two groups split in the middle
    // (one consonant goes with the next syllable). A final silent 'e' joins the group before.
    std::string w = word;
    std::vector<std::pair<size_t, size_t>> groups;
    for (size_t i = 0; i < w.size();) {
        if (is_vowel(w[i], i > 0)) {
            size_t j = i;
            while (j < w.size() && is_vowel(w[j], true)) ++j;
            groups.push_back({i, j});
            i = j;
        } else {
            ++i;
        }
    }
    if (groups.size() > 1) {
        auto [a, b] = groups.back();
        bool silent_e = b == w.size() && b - a == 1 && std::tolower(static_cast<unsigned char>(w[a])) == 'e' &&
                        !(a >= 2 && std::tolower(static_cast<unsigned char>(w[a - 1])) == 'l' &&
                          !is_vowel(w[a - 2], true));
        if (silent_e) groups.pop_back();
    }
    if (want > 0) {
        while (static_cast<int>(groups.size()) > want && groups.size() > 1) {
            // Merge the closest pair (fewest consonants between).
            size_t best = 0, gap = SIZE_MAX;
            for (size_t k = 0; k + 1 < groups.size(); ++k) {
                size_t g = groups[k + 1].first - groups[k].second;
                if (g < gap) gap = g, best = k;
            }
            groups[best].second = groups[best + 1].second;
            groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(best) + 1);
        }
    }
    if (groups.size() <= 1) return {word};
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t k = 0; k + 1 < groups.size(); ++k) {
        size_t cons_begin = groups[k].second, cons_end = groups[k + 1].first;
        // One consonant goes with the next syllable (hap-py, birth-day), two when they end in
        // l or r (lit-tle, a-pron... when the cluster allows) or form a digraph (mo-ther).
        size_t n = cons_end - cons_begin;
        size_t cut = n <= 1 ? cons_begin : cons_end - 1;
        if (n >= 2) {
            char a = static_cast<char>(std::tolower(static_cast<unsigned char>(w[cons_end - 2])));
            char b = static_cast<char>(std::tolower(static_cast<unsigned char>(w[cons_end - 1])));
            bool digraph = b == 'h' && (a == 't' || a == 's' || a == 'c' || a == 'p' || a == 'w' || a == 'g');
            bool liquid = (b == 'l' || b == 'r') && a != b && n >= 3;
            if (digraph || liquid || (n == 2 && b == 'k' && a == 'c')) cut = cons_end - 2;
        }
        out.push_back(w.substr(start, cut - start));
        start = cut;
    }
    out.push_back(w.substr(start));
    return out;
}

std::vector<Syllable> syllabify(const std::string& text, const std::string& cmu_index_js) {
    std::vector<Syllable> out;
    // Words: runs of ASCII letters/apostrophes; each CJK character is its own word.
    std::vector<std::string> words;
    std::vector<bool> cjk;
    std::string cur;
    auto flush = [&]() {
        if (!cur.empty()) {
            words.push_back(cur);
            cjk.push_back(false);
            cur.clear();
        }
    };
    for (size_t i = 0; i < text.size();) {
        size_t at = i;
        uint32_t cp = next_cp(text, i);
        if (cp < 0x80 && (std::isalpha(static_cast<int>(cp)) || (cp == '\'' && !cur.empty()))) {
            cur += static_cast<char>(cp);
        } else if (is_cjk(cp)) {
            flush();
            words.push_back(text.substr(at, i - at));
            cjk.push_back(true);
        } else {
            flush();
        }
    }
    flush();
    std::set<std::string> lower;
    for (size_t k = 0; k < words.size(); ++k) {
        if (cjk[k]) continue;
        std::string l;
        for (char c : words[k]) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        lower.insert(l);
    }
    std::map<std::string, int> counts = cmu_counts(cmu_index_js, lower);
    for (size_t k = 0; k < words.size(); ++k) {
        if (cjk[k]) {
            out.push_back({words[k], true});
            continue;
        }
        std::string l;
        for (char c : words[k]) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto it = counts.find(l);
        std::vector<std::string> parts = split_word(words[k], it == counts.end() ? 0 : it->second);
        for (size_t p = 0; p < parts.size(); ++p) out.push_back({parts[p], p + 1 == parts.size()});
    }
    if (out.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "lyrics: no words to set; expected English words or Chinese characters");
    }
    return out;
}

std::vector<WrittenNote> sung_notes(const Tune& tune) {
    std::vector<WrittenNote> out;
    bool tied = false;
    for (WrittenNote& w : written_notes(tune)) {
        if (w.midi.empty()) continue;
        if (!tied) out.push_back(w);
        tied = w.tie;
    }
    return out;
}

int count_sung_notes(const Tune& tune) { return static_cast<int>(sung_notes(tune).size()); }

void set_lyrics(Tune& tune, const std::vector<Syllable>& syl) {
    // Remove old lyrics lines.
    std::vector<Element> body;
    for (Element& e : tune.body) {
        if (e.kind == ElemKind::Field && e.text.rfind("w:", 0) == 0) continue;
        body.push_back(std::move(e));
    }
    tune.body = std::move(body);
    // Sung notes in order: index of the element, skipping tie continuations.
    std::vector<size_t> sung;
    for (const WrittenNote& w : sung_notes(tune)) sung.push_back(w.elem);
    size_t M = sung.size(), N = syl.size();
    if (N > M) {
        throw_error(ErrorKind::InvalidArgument,
                    "lyrics: {} syllables but the melody has {} notes; expected at most one syllable "
                    "per note (use more --bars)",
                    N, M);
    }
    // Note j starts syllable i when j == floor(i * M / N).
    std::vector<int> starts(M, -1);
    for (size_t i = 0; i < N; ++i) starts[i * M / N] = static_cast<int>(i);
    std::map<size_t, std::string> token;  // element -> its w: token
    for (size_t j = 0; j < M; ++j) {
        if (starts[j] >= 0) {
            const Syllable& s = syl[static_cast<size_t>(starts[j])];
            std::string t = s.text;
            if (!s.word_end) t.push_back('-');
            token.emplace(sung[j], std::move(t));
        } else {
            token.emplace(sung[j], std::string(1, '_'));
        }
    }
    // One w: line after each music line that has sung notes.
    std::vector<Element> out;
    std::string line;
    for (size_t i = 0; i < tune.body.size(); ++i) {
        out.push_back(tune.body[i]);
        auto it = token.find(i);
        if (it != token.end()) {
            bool glue = !line.empty() && line.back() == '-';
            if (!line.empty() && !glue) line += ' ';
            line += it->second;
        }
        if (tune.body[i].kind == ElemKind::LineBreak && !line.empty()) {
            Element w;
            w.kind = ElemKind::Field;
            w.text = "w:" + line;
            out.push_back(std::move(w));
            line.clear();
        }
    }
    if (!line.empty()) {
        Element w;
        w.kind = ElemKind::Field;
        w.text = "w:" + line;
        out.push_back(std::move(w));
    }
    tune.body = std::move(out);
}

}  // namespace lyra::art::music
