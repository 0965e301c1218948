#include "art/poetry/checker.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

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

CheckResult check_variant(const FormVariant& v, const std::vector<std::u32string>& lines,
                          RhymeBook book, RhymeReading reading) {
    const Prosody& pr = Prosody::get();
    CheckResult r;
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
            add(static_cast<int>(i + 1), 0, fmt::format("{} characters", def.length),
                fmt::format("{} characters", lines[i].size()),
                fmt::format("line {}: {} characters expected, found {} ({})", i + 1, def.length,
                            lines[i].size(), to_utf8(lines[i])));
            continue;
        }
        if (def.repeats && i > 0 && lines[i] != lines[i - 1]) {
            ++r.length_faults;
            add(static_cast<int>(i + 1), 0, fmt::format("line {} again (叠句)", i),
                to_utf8(lines[i]),
                fmt::format("line {}: 叠句 expected, the line repeats line {} ({}), found {}", i + 1, i,
                            to_utf8(lines[i - 1]), to_utf8(lines[i])));
        }
        for (size_t j = 0; j < lines[i].size(); ++j) {
            if (!is_han(lines[i][j])) {
                ++r.length_faults;
                add(static_cast<int>(i + 1), static_cast<int>(j + 1), "a Chinese character",
                    to_utf8(lines[i][j]),
                    fmt::format("line {}, char {}: a Chinese character expected, found '{}'", i + 1,
                                j + 1, to_utf8(lines[i][j])));
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
                    add(static_cast<int>(i + 1), static_cast<int>(j + 1), tone_name(want),
                        ch + " (" + tone_of(t) + ")",
                        fmt::format("line {}, char {}: {} expected, {} is {}", i + 1, j + 1,
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
                add(static_cast<int>(i + 1), pos, "a rhyme character not used before", ch,
                    fmt::format("line {}, char {}: rhyme character {} repeats an earlier rhyme", i + 1,
                                pos, ch));
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
                add(static_cast<int>(i + 1), pos, "rhyme " + Prosody::key_name(best), ch,
                    fmt::format("line {}, char {}: rhyme {} expected, {} is {}", i + 1, pos,
                                Prosody::key_name(best), ch, in));
            }
        }
    }
    return r;
}

}  // namespace

CheckResult check_zh(const FormDef& form, std::string_view text, RhymeBook book) {
    std::vector<std::u32string> lines = split_verse(text);
    CheckResult best;
    bool have = false;
    for (const FormVariant& v : form.variants) {
        CheckResult r = check_variant(v, lines, book, form.rhyme_reading());
        if (!have || r.faults.size() < best.faults.size()) {
            best = std::move(r);
            have = true;
        }
    }
    best.length_ok = best.length_faults == 0;
    best.tone_ok = best.length_ok && best.tone_faults == 0;
    best.rhyme_ok = best.length_ok && best.rhyme_faults == 0;
    return best;
}

}  // namespace lyra::art::poetry
