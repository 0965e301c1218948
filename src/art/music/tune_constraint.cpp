// TuneConstraint (tune_constraint.h): a character-level state machine over the generated ABC
// body. Each candidate token is run through a copy of the state; it survives if every byte is
// accepted and the resulting state can still reach the end of the tune (within the budget).
#include "art/music/tune_constraint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace lyra::art::music {

namespace {

// The note lengths the generator may write, in half units of L.
struct LenText {
    const char* text;
    int half_units;
};
constexpr LenText kLengths[] = {{"", 2}, {"/2", 1}, {"3/2", 3}, {"2", 4}, {"3", 6}, {"4", 8}, {"6", 12}};

bool is_prefix(std::string_view p, std::string_view s) { return s.substr(0, p.size()) == p; }

}  // namespace

std::vector<PartPlan> parse_parts(const std::string& parts, int bars_per_part) {
    auto bad = [&](const std::string& why) {
        throw_error(ErrorKind::InvalidArgument,
                    "parts: {}; expected letters A, B, C... in order, each once or twice in a row "
                    "(AABB, AB, AABBCC), got '{}'",
                    why, parts);
    };
    if (parts.empty() || parts.size() > 12) bad("wrong length");
    std::vector<PartPlan> out;
    size_t i = 0;
    while (i < parts.size()) {
        char c = parts[i];
        if (c != static_cast<char>('A' + out.size())) bad(std::string("unexpected '") + c + "'");
        size_t j = i;
        while (j < parts.size() && parts[j] == c) ++j;
        if (j - i > 2) bad("a part repeated more than twice");
        out.push_back({c, bars_per_part, j - i == 2});
        i = j;
    }
    return out;
}

TuneConstraint::TuneConstraint(TuneSpec spec, const model::Tokenizer& tok)
    : spec_(std::move(spec)) {
    if (spec_.meter.free) {
        throw_error(ErrorKind::InvalidArgument, "meter: a generated tune needs a meter; got 'none'");
    }
    Frac half = spec_.meter.bar / spec_.unit * Frac(2);
    if (half.den != 1 || half.num < 1 || half.num > 64) {
        throw_error(ErrorKind::InvalidArgument,
                    "meter: {} with unit length {} does not make a bar of whole half-units; expected "
                    "a meter such as 6/8, 4/4, 3/4, 2/4, 9/8",
                    spec_.meter.str(), spec_.unit.str());
    }
    bar_units_ = static_cast<int>(half.num);
    if (spec_.parts.empty()) throw_error(ErrorKind::InvalidArgument, "parts: no parts");
    if (spec_.bars_per_line < 1) spec_.bars_per_line = 4;
    fill_cost_.assign(static_cast<size_t>(bar_units_) + 1, 1 << 20);
    fill_cost_[0] = 0;
    for (int n = 1; n <= bar_units_; ++n) {
        for (const LenText& l : kLengths) {
            if (l.half_units <= n) {
                int c = 1 + static_cast<int>(std::string_view(l.text).size()) +
                        fill_cost_[static_cast<size_t>(n - l.half_units)];
                fill_cost_[static_cast<size_t>(n)] = std::min(fill_cost_[static_cast<size_t>(n)], c);
            }
        }
    }
    // The middle of the bar is a chord slot when the bar splits into two equal groups of beats
    // (2/4, 4/4, 6/8, 12/8), as in harmonize().
    int beats = spec_.meter.compound() ? spec_.meter.beats_num / 3 : spec_.meter.beats_num;
    if (beats % 2 == 0 && bar_units_ % 2 == 0) half_bar_ = bar_units_ / 2;
    for (const std::string& c : spec_.chords) {
        if (c.empty() || c.find('"') != std::string::npos) {
            throw_error(ErrorKind::InvalidArgument, "chords: '{}' is not a chord symbol", c);
        }
    }
    int32_t n = tok.n_vocab();
    bytes_.resize(static_cast<size_t>(n));
    eog_.assign(static_cast<size_t>(n), 0);
    for (int32_t id = 0; id < n; ++id) {
        if (tok.is_eog(id)) {
            eog_[static_cast<size_t>(id)] = 1;
            continue;
        }
        if (tok.is_control(id)) continue;  // empty bytes: never allowed
        bytes_[static_cast<size_t>(id)] = tok.token_to_bytes(id);
    }
    reset();
}

void TuneConstraint::reset() {
    st_ = State{};
    st_.rem = bar_units_;
    if (spec_.parts[0].repeat) st_.forced = "|:";
    text_.clear();
    dead_end_ = false;
}

bool TuneConstraint::complete() const { return st_.done; }

bool TuneConstraint::is_tonic(char letter) const {
    if (letter == 'z') return false;
    Pitch p;
    p.letter = static_cast<char>(std::toupper(static_cast<unsigned char>(letter)));
    int acc = spec_.key.signature()[static_cast<size_t>(letter_index(p.letter))];
    return ((letter_semitone(p.letter) + acc) % 12 + 12) % 12 == spec_.key.tonic_pc();
}

bool TuneConstraint::final_bar(const State& s) const {
    return s.part + 1 == static_cast<int>(spec_.parts.size()) &&
           s.bar + 1 == spec_.parts[static_cast<size_t>(s.part)].bars;
}

bool TuneConstraint::chord_slot(const State& s) const {
    if (spec_.chords.empty() || s.after_chord || s.broken || !s.forced.empty()) return false;
    return s.rem == bar_units_ || s.rem == half_bar_;
}

int TuneConstraint::chord_close_cost(const std::string& prefix) const {
    int best = 1 << 20;
    for (const std::string& c : spec_.chords) {
        if (is_prefix(prefix, c)) best = std::min(best, static_cast<int>(c.size() - prefix.size()) + 1);
    }
    return best;
}

bool TuneConstraint::note_ok(const State& s, int len) const {
    if (len > s.rem) return false;
    if (s.broken && len != 2) return false;
    if (final_bar(s) && len == s.rem && !is_tonic(s.letter)) return false;
    return true;
}

void TuneConstraint::end_bar(State& s) const {
    const PartPlan& p = spec_.parts[static_cast<size_t>(s.part)];
    bool last_in_part = s.bar + 1 == p.bars;
    bool last_part = s.part + 1 == static_cast<int>(spec_.parts.size());
    const char* bar_line = !last_in_part ? "|" : p.repeat ? ":|" : last_part ? "|]" : "||";
    bool newline = !last_in_part ? (s.bar + 1) % spec_.bars_per_line == 0 : true;
    bool open_next = last_in_part && !last_part && spec_.parts[static_cast<size_t>(s.part) + 1].repeat;
    std::string f = std::string(bar_line) + (newline ? "\n" : "") + (open_next ? "|:" : "");
    if (!last_in_part) {
        ++s.bar;
    } else {
        ++s.part;
        s.bar = 0;
    }
    s.forced = f;
    s.rem = bar_units_;
    s.prev_unit_note = false;
    s.last_space = false;
    s.bar_has_symbol = false;
}

bool TuneConstraint::finish_note(State& s) const {
    int len = -1;
    for (const LenText& l : kLengths) {
        if (s.dur == l.text) len = l.half_units;
    }
    if (len < 0 || !note_ok(s, len)) return false;
    s.rem -= len;
    if (s.letter != 'z') ++s.notes;
    s.prev_unit_note = s.letter != 'z' && s.dur.empty() && !s.broken;
    s.broken = false;
    s.in_note = false;
    s.last_space = false;
    s.bar_has_symbol = true;
    if (s.rem == 0) end_bar(s);
    return true;
}

bool TuneConstraint::step(State& s, char c) const {
    if (s.done) return false;
    if (s.in_note) {
        if (!s.octave_mark && s.dur.empty() && s.letter != 'z' &&
            ((c == ',' && std::isupper(static_cast<unsigned char>(s.letter))) ||
             (c == '\'' && std::islower(static_cast<unsigned char>(s.letter))))) {
            s.octave_mark = true;
            return true;
        }
        if (c == '/' || std::isdigit(static_cast<unsigned char>(c))) {
            std::string nd = s.dur + c;
            for (const LenText& l : kLengths) {
                if (is_prefix(nd, l.text)) {
                    s.dur = nd;
                    return true;
                }
            }
        }
        if (!finish_note(s)) return false;
        // fall through: c starts whatever comes next
    }
    if (!s.forced.empty()) {
        if (c != s.forced[0]) return false;
        s.forced.erase(0, 1);
        if (s.forced.empty() && s.part >= static_cast<int>(spec_.parts.size())) s.done = true;
        return true;
    }
    if (s.part >= static_cast<int>(spec_.parts.size())) return false;
    if (s.in_chord) {
        if (c == '"') {
            if (std::find(spec_.chords.begin(), spec_.chords.end(), s.chord) == spec_.chords.end()) return false;
            s.in_chord = false;
            s.after_chord = true;
            ++s.chords;
            return true;
        }
        std::string next = s.chord + c;
        if (std::none_of(spec_.chords.begin(), spec_.chords.end(),
                         [&](const std::string& name) { return is_prefix(next, name); })) {
            return false;
        }
        s.chord = std::move(next);
        return true;
    }
    if (c == '"') {
        if (!chord_slot(s)) return false;
        s.in_chord = true;
        s.chord.clear();
        return true;
    }
    bool note_start = (c >= 'A' && c <= 'G') || (c >= 'a' && c <= 'g') || c == 'z';
    if (s.after_chord && !note_start) return false;  // the symbol belongs to the next note
    // The first note of the tune carries a chord.
    if (!spec_.chords.empty() && s.chords == 0 && note_start && !s.after_chord) return false;
    if (c == ' ') {
        if (s.last_space || !s.bar_has_symbol || s.broken) return false;
        s.last_space = true;
        s.prev_unit_note = false;
        return true;
    }
    if (c == '>' || c == '<') {
        if (!spec_.broken_rhythm || !s.prev_unit_note || s.broken || s.rem < 2) return false;
        s.broken = true;
        s.prev_unit_note = false;
        return true;
    }
    bool letter = (c >= 'A' && c <= 'G') || (c >= 'a' && c <= 'g');
    if (letter || c == 'z') {
        if (c == 'z' && s.broken) return false;
        s.after_chord = false;
        s.in_note = true;
        s.letter = c;
        s.dur.clear();
        s.octave_mark = false;
        s.last_space = false;
        return true;
    }
    return false;
}

int TuneConstraint::min_chars_to_end(const State& s) const {
    int n_parts = static_cast<int>(spec_.parts.size());
    if (s.part >= n_parts) return static_cast<int>(s.forced.size());
    int total = static_cast<int>(s.forced.size());
    // A chord symbol being written, or the first one still owed (its quotes and shortest name).
    if (s.in_chord) total += chord_close_cost(s.chord);
    else if (!spec_.chords.empty() && s.chords == 0 && !s.after_chord) total += 1 + chord_close_cost("");
    // The current bar.
    if (s.in_note) {
        int best = 1 << 20;
        for (const LenText& l : kLengths) {
            if (!is_prefix(s.dur, l.text) || !note_ok(s, l.half_units)) continue;
            int c = static_cast<int>(std::string_view(l.text).size() - s.dur.size()) +
                    fill_cost_[static_cast<size_t>(s.rem - l.half_units)];
            best = std::min(best, c);
        }
        total += best;
    } else {
        total += fill_cost_[static_cast<size_t>(s.rem)];
    }
    // Bar lines from the current bar on, and the bars after it.
    bool first = true;
    for (int p = s.part; p < n_parts; ++p) {
        const PartPlan& plan = spec_.parts[static_cast<size_t>(p)];
        for (int b = p == s.part ? s.bar : 0; b < plan.bars; ++b) {
            if (!first) total += fill_cost_[static_cast<size_t>(bar_units_)];
            first = false;
            bool last_in_part = b + 1 == plan.bars;
            if (!last_in_part) {
                total += 1 + ((b + 1) % spec_.bars_per_line == 0 ? 1 : 0);
            } else {
                total += 3;
                if (p + 1 < n_parts && spec_.parts[static_cast<size_t>(p) + 1].repeat) total += 2;
            }
        }
    }
    return total;
}

int TuneConstraint::min_tokens() const {
    State s;
    s.rem = bar_units_;
    if (spec_.parts[0].repeat) s.forced = "|:";
    return min_chars_to_end(s) + 1;
}

bool TuneConstraint::viable(const State& s) const {
    if (s.done) return true;
    int n_parts = static_cast<int>(spec_.parts.size());
    // Half units still to fill after the current bar.
    int later = 0;
    for (int p = s.part; p < n_parts; ++p) {
        const PartPlan& plan = spec_.parts[static_cast<size_t>(p)];
        for (int b = p == s.part ? s.bar + 1 : 0; b < plan.bars; ++b) later += bar_units_;
    }
    if (s.in_note) {
        bool any = false;
        for (const LenText& l : kLengths) {
            if (!is_prefix(s.dur, l.text) || !note_ok(s, l.half_units)) continue;
            int notes = s.notes + (s.letter != 'z' ? 1 : 0);
            if (spec_.min_notes - notes > s.rem - l.half_units + later) continue;
            any = true;
            break;
        }
        if (!any) return false;
    } else if (s.part < n_parts) {
        if (spec_.min_notes - s.notes > s.rem + later) return false;
    }
    if (spec_.max_tokens > 0) {
        // One token is kept for the end of generation.
        if (min_chars_to_end(s) > spec_.max_tokens - s.tokens - 1) return false;
    }
    return true;
}

bool TuneConstraint::feed(std::string_view s) {
    for (char c : s) {
        State next = st_;
        if (!step(next, c) || !viable(next)) return false;
        st_ = std::move(next);
        text_ += c;
    }
    return true;
}

void TuneConstraint::apply(gen::CandidateSet& c) {
    bool any = false;
    for (gen::Candidate& cand : c.items) {
        if (std::isinf(cand.logit) && cand.logit < 0) continue;
        size_t id = static_cast<size_t>(cand.id);
        bool ok;
        if (eog_[id]) {
            ok = st_.done;
        } else if (bytes_[id].empty() || st_.done) {
            ok = false;
        } else {
            State s = st_;
            s.tokens += 1;
            ok = true;
            for (char ch : bytes_[id]) {
                if (!step(s, ch)) {
                    ok = false;
                    break;
                }
            }
            ok = ok && viable(s);
        }
        if (!ok) cand.logit = -std::numeric_limits<float>::infinity();
        any |= ok;
    }
    if (!any) {
        dead_end_ = true;
        for (gen::Candidate& cand : c.items) {
            if (eog_[static_cast<size_t>(cand.id)]) cand.logit = 0.0f;
        }
    }
    c.sorted = false;
    c.has_probs = false;
}

void TuneConstraint::accept(gen::TokenId id) {
    size_t i = static_cast<size_t>(id);
    if (i >= bytes_.size() || eog_[i]) return;
    for (char ch : bytes_[i]) {
        if (!step(st_, ch)) {
            dead_end_ = true;
            break;
        }
    }
    st_.tokens += 1;
    text_ += bytes_[i];
}

}  // namespace lyra::art::music
