// Meter engine (meter.h): a written-order walk that times every symbol, then the bar check and
// the performance (repeats expanded) built on it.
#include "art/music/meter.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/error.h"

namespace lyra::art::music {

namespace {

// A timed symbol in written order.
struct Sym {
    size_t elem = 0;
    Frac dur = {};
    std::vector<int> midi = {};  // empty for a rest
    bool tie = false;
    bool whole_bars = false;     // Z/X multi-bar rest: dur already counts the bars
};

struct Walk {
    std::vector<Sym> syms;
    std::vector<Frac> bar_len_at;  // per element: the meter's bar length in force
    Meter first_meter;
    Key first_key;
    int tempo = 120;
};

int tuplet_q(int p, const Meter& m) {
    switch (p) {
        case 2: return 3;
        case 3: return 2;
        case 4: return 3;
        case 6: return 2;
        case 8: return 3;
        default: return m.compound() ? 3 : 2;
    }
}

// Q:1/4=120, Q:120, Q:"Allegro" 1/4=120 -> quarter notes per minute.
int parse_tempo(const std::string& q) {
    size_t eq = q.find('=');
    try {
        if (eq == std::string::npos) {
            int v = std::stoi(q);
            return v > 0 ? v : 120;
        }
        std::string lhs = q.substr(0, eq);
        size_t start = lhs.find_last_of(" \"");
        lhs = start == std::string::npos ? lhs : lhs.substr(start + 1);
        int bpm = std::stoi(q.substr(eq + 1));
        Frac beat = lhs.empty() ? Frac(1, 4) : parse_unit(lhs);
        double qpm = bpm * beat.value() * 4.0;
        return qpm > 0 ? static_cast<int>(qpm + 0.5) : 120;
    } catch (const std::exception&) {
        return 120;
    }
}

Walk walk(const Tune& t) {
    Walk w;
    Meter meter = t.has_field('M') ? parse_meter(t.field('M')) : parse_meter("none");
    Frac unit = t.has_field('L') ? parse_unit(t.field('L')) : default_unit(meter);
    Key key = parse_key(t.field('K'));
    if (t.has_field('Q')) w.tempo = parse_tempo(t.field('Q'));
    w.first_meter = meter;
    w.first_key = key;
    std::array<int, 7> sig = key.signature();
    std::map<std::pair<int, int>, int> bar_acc;  // (letter, octave) -> accidental this bar
    int tup_left = 0;
    Frac tup_factor = {1, 1};
    Frac broken_next = {1, 1};
    bool broken_pending = false;

    auto field = [&](const std::string& text) {
        if (text.size() < 2) return;
        std::string v = text.substr(2);
        switch (text[0]) {
            case 'K': key = parse_key(v); sig = key.signature(); break;
            case 'M': meter = parse_meter(v); if (!t.has_field('L')) unit = default_unit(meter); break;
            case 'L': unit = parse_unit(v); break;
            default: break;
        }
    };
    auto pitch_of = [&](const Pitch& p) {
        std::pair<int, int> k{letter_index(p.letter), p.octave};
        if (p.acc != kNoAccidental) {
            bar_acc[k] = p.acc;
            return midi_pitch(p, p.acc);
        }
        auto it = bar_acc.find(k);
        if (it != bar_acc.end()) return midi_pitch(p, it->second);
        return midi_pitch(p, sig[static_cast<size_t>(k.first)]);
    };

    w.bar_len_at.resize(t.body.size());
    for (size_t i = 0; i < t.body.size(); ++i) {
        const Element& e = t.body[i];
        w.bar_len_at[i] = meter.free ? Frac(0) : meter.bar;
        switch (e.kind) {
            case ElemKind::Field:
            case ElemKind::InlineField: field(e.text); break;
            case ElemKind::Bar: bar_acc.clear(); break;
            case ElemKind::Tuplet: {
                int p = 0, q = 0, r = 0;
                std::vector<int> parts{0};
                // Digits saturate: a part past 64 is refused below either way, and a long run of
                // them (as a corrupt file has) must neither overflow nor wrap into range.
                constexpr int kPartMax = 1000;
                for (char c : e.text) {
                    if (c == ':') parts.push_back(0);
                    else parts.back() = std::min(kPartMax, parts.back() * 10 + (c - '0'));
                }
                p = parts[0];
                q = parts.size() > 1 && parts[1] ? parts[1] : tuplet_q(p, meter);
                r = parts.size() > 2 && parts[2] ? parts[2] : p;
                if (p < 2 || p > 64) break;
                tup_left = r;
                tup_factor = {q, p};
                break;
            }
            case ElemKind::Broken: {
                int n = static_cast<int>(e.text.size());
                Frac small = {1, int64_t{1} << n};
                Frac big = Frac(2) - small;
                Frac mine = e.text[0] == '>' ? big : small;
                broken_next = e.text[0] == '>' ? small : big;
                broken_pending = true;
                // Stretch or shrink the symbol before it.
                for (auto it = w.syms.rbegin(); it != w.syms.rend(); ++it) {
                    if (!it->whole_bars) {
                        it->dur = it->dur * mine;
                        break;
                    }
                }
                break;
            }
            case ElemKind::Note:
            case ElemKind::Chord: {
                Sym s;
                s.elem = i;
                const Note& n0 = e.notes[0];
                if (e.kind == ElemKind::Note && (n0.rest == 'Z' || n0.rest == 'X')) {
                    s.dur = meter.free ? Frac(0) : meter.bar * n0.len;
                    s.whole_bars = true;
                    w.syms.push_back(s);
                    break;
                }
                Frac len = e.kind == ElemKind::Chord ? e.len * n0.len : n0.len;
                s.dur = len * unit;
                if (tup_left > 0) {
                    s.dur = s.dur * tup_factor;
                    --tup_left;
                }
                if (broken_pending) {
                    s.dur = s.dur * broken_next;
                    broken_pending = false;
                }
                if (!n0.rest) {
                    for (const Note& n : e.notes) s.midi.push_back(pitch_of(n.pitch));
                }
                s.tie = e.kind == ElemKind::Chord ? e.tie : n0.tie;
                w.syms.push_back(s);
                break;
            }
            default: break;
        }
    }
    return w;
}

bool ends_section(const Element& e) {
    return e.kind == ElemKind::Bar &&
           (e.text.find(':') != std::string::npos || e.text == "||" || e.text == "|]" ||
            e.text == "[|" || !e.ending.empty());
}

// Element indices in the order they are played.
std::vector<size_t> play_order(const Tune& t) {
    const auto& b = t.body;
    std::vector<size_t> order;
    std::set<size_t> jumped;
    size_t start = 0;
    int pass = 1;
    auto in_list = [](const std::string& list, int p) {
        // "1", "1,2", "1-3"
        size_t i = 0;
        // A pass number; digits past any real count saturate (an ending "|444444444444" must not
        // overflow: a fuzz_abc finding).
        auto number = [&](size_t& j) {
            int v = 0;
            for (; j < list.size() && std::isdigit(static_cast<unsigned char>(list[j])); ++j)
                v = std::min(v * 10 + (list[j] - '0'), 1'000'000);
            return v;
        };
        while (i < list.size()) {
            size_t j = i;
            const int a = number(j);
            int c = a;
            if (j < list.size() && list[j] == '-') {
                ++j;
                c = number(j);
            }
            if (p >= a && p <= c) return true;
            i = j + 1;
        }
        return false;
    };
    auto ending_of = [](const Element& e) -> const std::string* {
        if (e.kind == ElemKind::Ending) return &e.text;
        if (e.kind == ElemKind::Bar && !e.ending.empty()) return &e.ending;
        return nullptr;
    };
    size_t guard = 0;
    size_t pos = 0;
    while (pos < b.size() && guard++ < 64 * b.size() + 64) {
        const Element& e = b[pos];
        if (e.kind == ElemKind::Bar) {
            bool ends_rep = e.text[0] == ':';
            bool starts_rep = e.text.back() == ':';
            if (ends_rep && !jumped.count(pos)) {
                jumped.insert(pos);
                pass = 2;
                order.push_back(pos);
                pos = start;
                continue;
            }
            if (ends_rep || starts_rep || e.text == "||" || e.text == "|]" || e.text == "[|") {
                start = pos + 1;
                if (!ending_of(e)) pass = 1;
            }
        }
        if (const std::string* list = ending_of(e)) {
            if (!in_list(*list, pass)) {
                size_t k = pos + 1;
                for (; k < b.size(); ++k) {
                    const std::string* l2 = ending_of(b[k]);
                    if (l2 && in_list(*l2, pass)) break;
                }
                if (k < b.size()) {
                    pos = k;
                    continue;
                }
            }
        }
        order.push_back(pos);
        ++pos;
    }
    return order;
}

}  // namespace

MeterReport check_meter(const Tune& tune) {
    MeterReport r;
    Walk w = walk(tune);
    if (w.first_meter.free && !tune.has_field('M')) r.free = true;
    std::map<size_t, const Sym*> by_elem;
    for (const Sym& s : w.syms) by_elem[s.elem] = &s;

    // Split the body at bar lines; remember which bars sit at section edges.
    struct Open {
        Frac dur;
        Frac want;
        int line = 0, col = 0;
        bool after_boundary = true;
        bool any = false;
        bool multi = false;
    } cur;
    auto close = [&](bool before_boundary) {
        if (!cur.any && cur.dur == Frac(0)) return;
        BarSpan bs;
        bs.dur = cur.dur;
        bs.want = cur.want;
        bs.line = cur.line;
        bs.col = cur.col;
        bs.short_ok = cur.after_boundary || before_boundary;
        bs.multi = cur.multi;
        r.bars.push_back(bs);
    };
    for (size_t i = 0; i < tune.body.size(); ++i) {
        const Element& e = tune.body[i];
        if (e.kind == ElemKind::Bar || e.kind == ElemKind::Ending) {
            bool boundary = e.kind == ElemKind::Ending || ends_section(e) ||
                            (i + 1 < tune.body.size() && tune.body[i + 1].kind == ElemKind::Ending);
            // A lone ending right after the bar line ("|[2") also makes an edge.
            for (size_t k = i + 1; k < tune.body.size(); ++k) {
                ElemKind kk = tune.body[k].kind;
                if (kk == ElemKind::Ending) boundary = true;
                if (kk != ElemKind::Space && kk != ElemKind::LineBreak) break;
            }
            if (e.kind == ElemKind::Bar) {
                close(boundary);
                cur = Open{};
                cur.after_boundary = boundary;
            } else {
                cur.after_boundary = true;
            }
            continue;
        }
        if (e.kind == ElemKind::Field && e.text.size() > 1 &&
            (e.text[0] == 'P' || e.text[0] == 'M' || e.text[0] == 'K')) {
            if (cur.any) {
                close(true);
                cur = Open{};
            }
            cur.after_boundary = true;
        }
        auto it = by_elem.find(i);
        if (it == by_elem.end()) continue;
        if (!cur.any) {
            cur.line = e.line;
            cur.col = e.col;
            cur.want = w.bar_len_at[i];
        }
        cur.any = true;
        cur.multi |= it->second->whole_bars;
        cur.dur = cur.dur + it->second->dur;
    }
    close(true);
    if (r.free) return r;
    for (size_t k = 0; k < r.bars.size(); ++k) {
        const BarSpan& b = r.bars[k];
        if (b.want == Frac(0) || b.dur == b.want) continue;
        bool over = b.want < b.dur;
        if (b.multi || (!over && b.short_ok)) continue;
        MeterFault f;
        f.bar = static_cast<int>(k) + 1;
        f.line = b.line;
        f.col = b.col;
        f.got = b.dur;
        f.want = b.want;
        f.message = fmt::format("line {}, column {}: bar {} lasts {} whole notes, the meter wants {}",
                                b.line, b.col, f.bar, b.dur.str(), b.want.str());
        r.faults.push_back(std::move(f));
    }
    return r;
}

std::vector<WrittenNote> written_notes(const Tune& tune) {
    Walk w = walk(tune);
    std::map<size_t, const Sym*> by_elem;
    for (const Sym& s : w.syms) by_elem[s.elem] = &s;
    std::vector<WrittenNote> out;
    int bar = 0;
    Frac offset = {0};
    bool any = false;
    for (size_t i = 0; i < tune.body.size(); ++i) {
        const Element& e = tune.body[i];
        if (e.kind == ElemKind::Bar) {
            if (any) ++bar;
            any = false;
            offset = Frac(0);
            continue;
        }
        auto it = by_elem.find(i);
        if (it == by_elem.end()) continue;
        const Sym& s = *it->second;
        out.push_back({i, bar, offset, s.dur, s.midi, s.tie, w.bar_len_at[i]});
        offset = offset + s.dur;
        any = true;
    }
    return out;
}

Performance perform(const Tune& tune) {
    Performance p;
    Walk w = walk(tune);
    p.meter = w.first_meter;
    p.key = w.first_key;
    p.tempo_qpm = w.tempo;
    std::map<size_t, const Sym*> by_elem;
    for (const Sym& s : w.syms) by_elem[s.elem] = &s;
    Frac now = {0};
    std::map<int, size_t> tied;  // midi -> index in p.notes of a note tied over
    for (size_t idx : play_order(tune)) {
        const Element& e = tune.body[idx];
        if (e.kind == ElemKind::ChordSymbol) {
            if (!chord_pitch_classes(e.text).empty()) p.chords.push_back({e.text, now});
            continue;
        }
        auto it = by_elem.find(idx);
        if (it == by_elem.end()) continue;
        const Sym& s = *it->second;
        std::map<int, size_t> next_tied;
        for (int m : s.midi) {
            auto t = tied.find(m);
            size_t at;
            if (t != tied.end()) {
                p.notes[t->second].dur = p.notes[t->second].dur + s.dur;
                at = t->second;
            } else {
                p.notes.push_back({m, now, s.dur});
                at = p.notes.size() - 1;
            }
            if (s.tie) next_tied[m] = at;
        }
        tied = std::move(next_tied);
        now = now + s.dur;
    }
    p.total = now;
    std::stable_sort(p.notes.begin(), p.notes.end(),
                     [](const PlayedNote& a, const PlayedNote& b) { return a.start < b.start; });
    return p;
}

double key_fit(const Performance& p, const Key& key) {
    std::array<int, 7> pcs = key.scale_pcs();
    double in = 0, all = 0;
    for (const PlayedNote& n : p.notes) {
        double d = n.dur.value();
        all += d;
        if (std::find(pcs.begin(), pcs.end(), ((n.midi % 12) + 12) % 12) != pcs.end()) in += d;
    }
    return all > 0 ? in / all : 0.0;
}

std::vector<int> chord_pitch_classes(const std::string& symbol) {
    if (symbol.empty() || symbol[0] < 'A' || symbol[0] > 'G') return {};
    size_t i = 1;
    int root = letter_semitone(symbol[0]);
    if (i < symbol.size() && (symbol[i] == '#' || symbol[i] == 'b')) {
        root += symbol[i] == '#' ? 1 : -1;
        ++i;
    }
    root = (root + 12) % 12;
    std::string rest = symbol.substr(i);
    std::string bass;
    size_t slash = rest.find('/');
    if (slash != std::string::npos) {
        bass = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    std::vector<int> iv;
    if (rest.rfind("maj7", 0) == 0) iv = {0, 4, 7, 11};
    else if (rest.rfind("m7b5", 0) == 0) iv = {0, 3, 6, 10};
    else if (rest.rfind("dim", 0) == 0 || rest.rfind("o", 0) == 0 || rest.rfind("\u00b0", 0) == 0) iv = {0, 3, 6};
    else if (rest.rfind("\u00f8", 0) == 0) iv = {0, 3, 6, 10};  // half-diminished: m7b5
    else if (rest.rfind("aug", 0) == 0 || rest.rfind("+", 0) == 0) iv = {0, 4, 8};
    else if (rest.rfind("sus4", 0) == 0) iv = {0, 5, 7};
    else if (rest.rfind("m7", 0) == 0 || rest.rfind("min7", 0) == 0) iv = {0, 3, 7, 10};
    else if (rest.rfind("m", 0) == 0 || rest.rfind("min", 0) == 0) iv = {0, 3, 7};
    else if (rest.rfind("7", 0) == 0) iv = {0, 4, 7, 10};
    else if (rest.rfind("6", 0) == 0) iv = {0, 4, 7, 9};
    else if (rest.rfind("9", 0) == 0) iv = {0, 4, 7, 10, 2};
    else if (rest.empty() || rest.rfind("maj", 0) == 0) iv = {0, 4, 7};
    else return {};
    std::vector<int> pcs;
    for (int v : iv) pcs.push_back((root + v) % 12);
    (void)bass;  // chord_bass_pc() reads it
    return pcs;
}

int chord_bass_pc(const std::string& symbol) {
    std::vector<int> pcs = chord_pitch_classes(symbol);
    if (pcs.empty()) return -1;
    size_t slash = symbol.find('/');
    if (slash == std::string::npos) return pcs[0];
    // The bass after '/': a letter (Nottingham writes it in lower case, with '+' for sharp and
    // '-' for flat: "D/f+" is D/F#) and at most one accidental. A bass that is not a note
    // ("G/x") leaves the root in the bass, as chord_pitch_classes() still plays the chord.
    std::string b = symbol.substr(slash + 1);
    if (b.empty() || b.size() > 2) return pcs[0];
    char l = static_cast<char>(std::toupper(static_cast<unsigned char>(b[0])));
    if (l < 'A' || l > 'G') return pcs[0];
    int pc = letter_semitone(l);
    if (b.size() == 2) {
        if (b[1] == '#' || b[1] == '+') ++pc;
        else if (b[1] == 'b' || b[1] == '-') --pc;
        else return pcs[0];
    }
    return (pc + 12) % 12;
}

}  // namespace lyra::art::music
