#include "art/poetry/checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace lyra::art::poetry {

namespace {

bool is_break(char32_t c) {
    static const std::u32string breaks = U"，。？！；、：,.?!;:\n\r\t 　「」『』“”\"'（）()《》";
    return breaks.find(c) != std::u32string::npos;
}

const char* tone_name(char t) { return t == 'P' ? "平" : "仄"; }

std::string tone_of(uint8_t t) {
    if (t == (kPing | kZe)) return "平/仄";
    return t == kPing ? "平" : "仄";
}

// Rhyme sets: a group letter, split by tone under 平水韵 (its 平 and 仄 keys never meet).
std::string set_id(const LineDef& l, RhymeBook book) {
    std::string id(1, l.rhyme);
    if (is_pingshui(book)) id += l.rhyme_tone();
    return id;
}

}  // namespace

std::vector<std::u32string> split_verse(std::string_view text, bool fold) {
    std::vector<std::u32string> lines;
    std::string kept;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (!(line.size() > 0 && line[0] == '#')) {
            kept.append(line);
            kept += '\n';
        }
        start = end + 1;
    }
    std::u32string all = to_u32(fold ? to_simplified(kept) : kept);
    std::u32string cur;
    for (char32_t c : all) {
        if (is_break(c)) {
            if (!cur.empty()) lines.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) lines.push_back(cur);
    return lines;
}

namespace {

// `lines` are the poem's lines from 0-based line `offset` on (a 换韵 stanza is read alone);
// faults name the poem's line numbers.
CheckResult check_variant(const FormVariant& v, const std::vector<std::u32string>& lines,
                          RhymeBook book, RhymeReading reading, int offset = 0) {
    const Prosody& pr = Prosody::get();
    CheckResult r;
    auto line_no = [offset](size_t i) { return static_cast<int>(i) + 1 + offset; };
    r.variant = v.name;
    auto add = [&r](int line, int pos, std::string exp, std::string found, std::string msg) {
        r.faults.push_back(Fault{line, pos, std::move(exp), std::move(found), std::move(msg)});
    };
    if (lines.size() != v.lines.size()) {
        add(0, 0, fmt::format("{} lines", v.lines.size()), fmt::format("{} lines", lines.size()),
            fmt::format("poem: {} lines expected, found {}", v.lines.size(), lines.size()));
        r.length_faults = 1;
        return r;
    }
    std::vector<bool> len_ok(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
        const LineDef& def = v.lines[i];
        len_ok[i] = static_cast<int>(lines[i].size()) == def.length;
        if (!len_ok[i]) {
            ++r.length_faults;
            add(line_no(i), 0, fmt::format("{} characters", def.length),
                fmt::format("{} characters", lines[i].size()),
                fmt::format("line {}: {} characters expected, found {} ({})", line_no(i),
                            def.length, lines[i].size(), to_utf8(lines[i])));
            continue;
        }
        if (def.repeats && i > 0 && lines[i] != lines[i - 1]) {
            ++r.length_faults;
            add(line_no(i), 0, fmt::format("line {} again (叠句)", line_no(i) - 1),
                to_utf8(lines[i]),
                fmt::format("line {}: 叠句 expected, the line repeats line {} ({}), found {}",
                            line_no(i), line_no(i) - 1, to_utf8(lines[i - 1]), to_utf8(lines[i])));
        }
        for (size_t j = 0; j < lines[i].size(); ++j) {
            if (!is_han(lines[i][j])) {
                ++r.length_faults;
                add(line_no(i), static_cast<int>(j + 1), "a Chinese character",
                    to_utf8(lines[i][j]),
                    fmt::format("line {}, char {}: a Chinese character expected, found '{}'",
                                line_no(i), j + 1, to_utf8(lines[i][j])));
            }
        }
        // Tone: the pattern with the fewest misfits.
        const std::string* best = nullptr;
        int best_bad = 1 << 30;
        for (const std::string& p : def.patterns) {
            int bad = 0;
            for (size_t j = 0; j < p.size(); ++j) {
                uint8_t t = pr.tone(lines[i][j], book);
                if (t != 0 && (t & (p[j] == 'P' ? kPing : kZe)) == 0) ++bad;
            }
            if (bad < best_bad) {
                best_bad = bad;
                best = &p;
            }
        }
        if (best != nullptr && best_bad > 0) {
            for (size_t j = 0; j < best->size(); ++j) {
                uint8_t t = pr.tone(lines[i][j], book);
                char want = (*best)[j];
                if (t != 0 && (t & (want == 'P' ? kPing : kZe)) == 0) {
                    ++r.tone_faults;
                    std::string ch = to_utf8(lines[i][j]);
                    add(line_no(i), static_cast<int>(j + 1), tone_name(want),
                        ch + " (" + tone_of(t) + ")",
                        fmt::format("line {}, char {}: {} expected, {} is {}", line_no(i), j + 1,
                                    tone_name(want), ch, tone_of(t)));
                }
            }
        }
    }
    // Rhyme sets.
    std::map<std::string, std::vector<size_t>> sets;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (v.lines[i].rhyme != 0 && len_ok[i]) sets[set_id(v.lines[i], book)].push_back(i);
    }
    for (const auto& [id, idx] : sets) {
        std::map<int, int> votes;
        std::vector<std::vector<int>> keys(idx.size());
        for (size_t k = 0; k < idx.size(); ++k) {
            const uint8_t line_tone = v.lines[idx[k]].rhyme_tone() == 'P' ? kPing : kZe;
            keys[k] = pr.rhyme_keys(lines[idx[k]].back(), book, line_tone, reading);
            for (int key : keys[k]) ++votes[key];
        }
        // The key most rhyme characters share; on a tie, the earliest line's.
        int best = -1, best_n = 0;
        for (size_t k = 0; k < idx.size(); ++k) {
            for (int key : keys[k]) {
                if (votes[key] > best_n) {
                    best = key;
                    best_n = votes[key];
                }
            }
        }
        std::set<char32_t> seen;
        for (size_t k = 0; k < idx.size(); ++k) {
            size_t i = idx[k];
            char32_t c = lines[i].back();
            std::string ch = to_utf8(c);
            int pos = static_cast<int>(lines[i].size());
            if (seen.count(c) != 0 && !v.lines[i].repeat_ok) {
                ++r.rhyme_faults;
                add(line_no(i), pos, "a rhyme character not used before", ch,
                    fmt::format("line {}, char {}: rhyme character {} repeats an earlier rhyme",
                                line_no(i), pos, ch));
            }
            seen.insert(c);
            if (pr.find(c) == nullptr || best < 0) continue;
            const uint8_t line_tone = v.lines[i].rhyme_tone() == 'P' ? kPing : kZe;
            // A character of the right tone whose group the data does not know is not judged,
            // like a character missing from the table (build_tables.py leaves such characters
            // out of every group rather than guess one).
            if (keys[k].empty() && (pr.tone(c, book) & line_tone) != 0) continue;
            bool fits = std::find(keys[k].begin(), keys[k].end(), best) != keys[k].end();
            if (!fits && i == 0 && reading == RhymeReading::Group) {
                for (int key : keys[k]) fits |= Prosody::neighbours(key, best);  // 孤雁出群
            }
            if (!fits) {
                ++r.rhyme_faults;
                std::string in;
                for (int key : keys[k]) {
                    if (!in.empty()) in += '/';
                    in += Prosody::key_name(key);
                }
                const bool ping = v.lines[i].rhyme_tone() == 'P';
                if (in.empty()) in = fmt::format("not a {} rhyme", ping ? "平声" : "仄声");
                else in = "in " + in;
                add(line_no(i), pos, "rhyme " + Prosody::key_name(best), ch,
                    fmt::format("line {}, char {}: rhyme {} expected, {} is {}", line_no(i), pos,
                                Prosody::key_name(best), ch, in));
            }
        }
    }
    return r;
}

// The rhyme keys every judged rhyme character of `v` over `lines` shares (a character with no
// key for its line's tone is not judged, as in check_variant); empty when none is judged.
std::vector<int> shared_keys(const FormVariant& v, const std::vector<std::u32string>& lines,
                             RhymeBook book, RhymeReading reading) {
    const Prosody& pr = Prosody::get();
    std::optional<std::vector<int>> shared;
    for (size_t i = 0; i < lines.size() && i < v.lines.size(); ++i) {
        const LineDef& l = v.lines[i];
        if (l.rhyme == 0 || static_cast<int>(lines[i].size()) != l.length) continue;
        const std::vector<int> keys =
            pr.rhyme_keys(lines[i].back(), book, l.rhyme_tone() == 'P' ? kPing : kZe, reading);
        if (keys.empty()) continue;
        if (!shared)
            shared = keys;
        else
            std::erase_if(*shared, [&keys](int k) {
                return std::find(keys.begin(), keys.end(), k) == keys.end();
            });
    }
    return shared.value_or(std::vector<int>{});
}

// 换韵 (FormDef::stanzas): each stanza is read alone against its readings (rhyme tone x 首句入韵),
// and a stanza whose rhyme characters share a key with the stanza before it has kept the rhyme
// instead of changing it (one fault at its first rhyme). The change rule links neighbours, so the
// readings are chosen together: the path through them with the fewest faults (Viterbi), and
// under alternate tones once starting 平 and once 仄.
CheckResult check_stanzas(const FormDef& form, const std::vector<std::u32string>& lines,
                          RhymeBook book) {
    const RhymeReading reading = form.rhyme_reading();
    if (lines.size() != form.variants[0].lines.size())
        return check_variant(form.variants[0], lines, book, reading);
    struct Reading {
        CheckResult r;
        std::vector<int> keys;
        bool ze = false;
    };
    std::vector<std::vector<Reading>> rd;
    for (const FormStanza& st : form.stanzas) {
        const auto first = static_cast<std::ptrdiff_t>(st.first_line);
        const auto n = static_cast<std::ptrdiff_t>(st.variants[0].lines.size());
        const std::vector<std::u32string> part(lines.begin() + first, lines.begin() + first + n);
        auto& row = rd.emplace_back();
        for (const FormVariant& v : st.variants) {
            row.push_back({check_variant(v, part, book, reading, st.first_line),
                           shared_keys(v, part, book, reading),
                           v.lines.back().rhyme_tone() == 'Z'});
        }
    }
    // The key stanza s (reading k) keeps from stanza s-1 (reading j), or -1 when the rhyme changed.
    auto kept = [&rd](size_t s, size_t j, size_t k) {
        for (int key : rd[s][k].keys) {
            const auto& prev = rd[s - 1][j].keys;
            if (std::find(prev.begin(), prev.end(), key) != prev.end()) return key;
        }
        return -1;
    };
    constexpr size_t kNone = std::numeric_limits<size_t>::max() / 4;
    const size_t n_st = rd.size();
    std::vector<size_t> path;
    size_t path_cost = kNone;
    for (int start = 0; start < (form.alternate_tones ? 2 : 1); ++start) {
        std::vector<std::vector<size_t>> cost(n_st), from(n_st);
        for (size_t s = 0; s < n_st; ++s) {
            cost[s].assign(rd[s].size(), kNone);
            from[s].assign(rd[s].size(), 0);
            for (size_t k = 0; k < rd[s].size(); ++k) {
                if (form.alternate_tones && rd[s][k].ze != ((start == 1) != (s % 2 == 1))) continue;
                const size_t own = rd[s][k].r.faults.size();
                if (s == 0) {
                    cost[s][k] = own;
                    continue;
                }
                for (size_t j = 0; j < rd[s - 1].size(); ++j) {
                    if (cost[s - 1][j] >= kNone) continue;
                    const size_t c = cost[s - 1][j] + own + (kept(s, j, k) >= 0 ? 1 : 0);
                    if (c < cost[s][k]) {
                        cost[s][k] = c;
                        from[s][k] = j;
                    }
                }
            }
        }
        for (size_t k = 0; k < rd[n_st - 1].size(); ++k) {
            if (cost[n_st - 1][k] >= path_cost) continue;
            path_cost = cost[n_st - 1][k];
            path.assign(n_st, k);
            for (size_t s = n_st - 1; s > 0; --s) path[s - 1] = from[s][path[s]];
        }
    }
    CheckResult out;
    out.variant = "换韵";
    for (size_t s = 0; s < n_st; ++s) {
        const Reading& x = rd[s][path[s]];
        out.variant += (s == 0 ? " " : " / ") + x.r.variant;
        const int key = s == 0 ? -1 : kept(s, path[s - 1], path[s]);
        if (key >= 0) {
            const FormStanza& st = form.stanzas[s];
            const FormVariant& v = st.variants[path[s]];
            size_t i = 0;
            while (v.lines[i].rhyme == 0) ++i;
            const std::u32string& line = lines[static_cast<size_t>(st.first_line) + i];
            const std::string ch = to_utf8(line.back()), name = Prosody::key_name(key);
            const int line_no = st.first_line + static_cast<int>(i) + 1;
            out.faults.push_back(
                Fault{line_no, static_cast<int>(line.size()), "a rhyme other than " + name,
                      ch + " (" + name + ")",
                      fmt::format("line {}, char {}: stanza {} (lines {}-{}) keeps the rhyme of "
                                  "stanza {} ({}); 换韵 "
                                  "expects a new rhyme at each stanza",
                                  line_no, line.size(), s + 1, st.first_line + 1,
                                  st.first_line + static_cast<int>(v.lines.size()), s, name)});
            ++out.rhyme_faults;
        }
        out.faults.insert(out.faults.end(), x.r.faults.begin(), x.r.faults.end());
        out.tone_faults += x.r.tone_faults;
        out.rhyme_faults += x.r.rhyme_faults;
        out.length_faults += x.r.length_faults;
    }
    return out;
}

}  // namespace

CheckResult check_zh(const FormDef& form, std::string_view text, RhymeBook book) {
    std::vector<std::u32string> lines = split_verse(text);
    CheckResult best;
    if (!form.stanzas.empty()) {
        best = check_stanzas(form, lines, book);
    } else {
        bool have = false;
        for (const FormVariant& v : form.variants) {
            CheckResult r = check_variant(v, lines, book, form.rhyme_reading());
            if (!have || r.faults.size() < best.faults.size()) {
                best = std::move(r);
                have = true;
            }
        }
    }
    best.length_ok = best.length_faults == 0;
    best.tone_ok = best.length_ok && best.tone_faults == 0;
    best.rhyme_ok = best.length_ok && best.rhyme_faults == 0;
    return best;
}

}  // namespace lyra::art::poetry
