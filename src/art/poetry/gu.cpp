#include "art/poetry/gu.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <tuple>

#include "art/common/art.h"
#include "core/check.h"
#include "core/error.h"

namespace lyra::art::poetry {

namespace {

int gu_length(std::string_view name) { return name == "wugu" ? 5 : 7; }

std::string gu_title(std::string_view name) {
    LYRA_CHECK(is_gu_form(name), "gu form: '{}' is not a 古体 form", name);
    return name == "wugu" ? "五言古诗" : name == "qigu" ? "七言古诗" : "杂言古诗";
}

// Every tone string of `length` characters, or only those ending in `last` ('P'/'Z'; 0 = any).
// 古体 fixes no tone but the rhyme's: positions are free, 三平尾 included (docs/poetry.md).
std::vector<std::string> free_patterns(int length, char last) {
    std::vector<std::string> out;
    for (int mask = 0; mask < (1 << length); ++mask) {
        std::string s;
        for (int i = 0; i < length; ++i) s += (mask >> i) & 1 ? 'Z' : 'P';
        if (last == 0 || s.back() == last) out.push_back(std::move(s));
    }
    return out;
}

// One variant over lines of `lengths`: the even lines rhyme on `tone`, line 1 too when
// `first_rhymes`.
FormVariant gu_variant(const std::vector<int>& lengths, char tone, bool first_rhymes) {
    FormVariant v;
    v.name = std::string(tone == 'P' ? "平韵" : "仄韵") + (first_rhymes ? "·首句入韵" : "·首句不入韵");
    for (size_t i = 0; i < lengths.size(); ++i) {
        const bool rhymes = i % 2 == 1 || (i == 0 && first_rhymes);
        LineDef l;
        l.length = lengths[i];
        l.patterns = free_patterns(l.length, rhymes ? tone : 0);
        l.rhyme = rhymes ? 'A' : 0;
        v.lines.push_back(std::move(l));
    }
    return v;
}

std::string join_counts(const std::vector<int>& v) {
    return fmt::format("{}", fmt::join(v, ","));
}

// "4,4,8" -> {4, 4, 8} (spaces allowed); anything else is the one error naming `key`.
std::vector<int> parse_counts(std::string_view key, const std::string& text,
                              std::string_view example) {
    std::vector<int> out;
    std::string cur;
    bool ok = true;
    for (size_t i = 0; i <= text.size() && ok; ++i) {
        const char c = i < text.size() ? text[i] : ',';
        if (c == ' ') continue;
        if (c >= '0' && c <= '9') {
            cur += c;
            ok = cur.size() <= 4;  // no count here has more than 3 digits
        } else if (c == ',') {
            ok = !cur.empty();
            if (ok) out.push_back(std::stoi(cur));
            cur.clear();
        } else {
            ok = false;
        }
    }
    if (!ok || out.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "{}: expected whole numbers separated by commas, e.g. {}, got '{}'", key,
                    example, text);
    return out;
}

// What a request asks of a 古体 form, checked: the length of every line, the stanzas (lines
// each; empty = one rhyme through the poem) and the rhyme tone.
struct GuShape {
    std::string title;
    std::vector<int> lengths;
    std::vector<int> stanzas;
    std::string tone;
    std::string key() const {
        return fmt::format("{}|{}|{}", join_counts(lengths), join_counts(stanzas), tone);
    }
};

// Resolves `o` for form `name`. `own` (checking a poem): the poem's line lengths, which stand for
// the count (and zayan's lengths) not given; a count of the poem's own that the form cannot read
// fills `own_fault` (the poem's one fault) instead of throwing. Everything given is checked
// first, so a bad option is an error whatever the poem.
GuShape resolve_shape(std::string_view name, const GuOptions& o, int max_lines,
                      const std::vector<int>* own, Fault* own_fault) {
    GuShape s;
    s.title = gu_title(name);
    s.tone = o.tone_rhyme.value_or("any");
    if (s.tone != "any" && s.tone != "ping" && s.tone != "ze" && s.tone != "alternate")
        throw_error(ErrorKind::InvalidArgument,
                    "tone_rhyme: unknown rhyme tone; expected ping (平), ze (仄), any or alternate "
                    "(换韵: 平 and 仄 "
                    "in turn), got '{}'",
                    s.tone);
    std::vector<int> stanzas;
    if (o.stanzas) {
        stanzas = parse_counts("stanzas", *o.stanzas, "4 or 4,4,8");
        for (int n : stanzas) {
            // A stanza rhymes on its own even lines, so it must end on one.
            if (n < 2 || n % 2 != 0)
                throw_error(ErrorKind::InvalidArgument,
                            "stanzas: a stanza rhymes on its even lines, so it has an even number "
                            "of lines, 2 or "
                            "more; expected e.g. 4 or 4,4,8, got '{}'",
                            *o.stanzas);
        }
    }
    bool from_poem = false;
    if (name == "zayan") {
        if (o.pattern) {
            s.lengths = parse_counts("pattern", *o.pattern, kZaDefaultPattern);
            for (size_t i = 0; i < s.lengths.size(); ++i) {
                if (s.lengths[i] < kZaMinLength || s.lengths[i] > kZaMaxLength)
                    throw_error(ErrorKind::InvalidArgument,
                                "pattern: a 杂言 line has {} to {} characters; expected {} to {}, "
                                "got {} for line {}",
                                kZaMinLength, kZaMaxLength, kZaMinLength, kZaMaxLength,
                                s.lengths[i], i + 1);
            }
            const auto n = static_cast<int>(s.lengths.size());
            if (n % 2 != 0 || n < kGuMinLines || n > max_lines)
                throw_error(ErrorKind::InvalidArgument,
                            "pattern: 杂言古诗 rhymes on the even lines, so its pattern gives an "
                            "even number of "
                            "lines; expected {} to {}, got {}",
                            kGuMinLines, max_lines, n);
            if (o.lines && *o.lines != n)
                throw_error(
                    ErrorKind::InvalidArgument,
                    "lines: the pattern gives 杂言古诗 {} lines; expected {} or no lines, got {}",
                    n, n, *o.lines);
        } else if (o.lines) {
            throw_error(ErrorKind::InvalidArgument,
                        "lines: 杂言古诗 takes its lines from a pattern; expected a pattern such "
                        "as {} with "
                        "lines, got lines {} alone",
                        kZaDefaultPattern, *o.lines);
        } else if (own != nullptr) {
            // Lengths outside the form stay faults of their lines: held to the nearest it allows.
            for (int len : *own) s.lengths.push_back(std::clamp(len, kZaMinLength, kZaMaxLength));
            from_poem = true;
        } else {
            s.lengths = parse_counts("pattern", std::string(kZaDefaultPattern), kZaDefaultPattern);
        }
    } else {
        if (o.pattern) refuse_gu_option("pattern", name);
        int lines = kGuDefaultLines;
        if (o.lines)
            lines = *o.lines;
        else if (stanzas.size() > 1)
            lines = std::accumulate(stanzas.begin(), stanzas.end(), 0);
        else if (own != nullptr) {
            lines = static_cast<int>(own->size());
            from_poem = true;
        }
        // The even lines carry the rhyme, so an odd count would end on an unrhymed line.
        const bool bad = lines % 2 != 0 || lines < kGuMinLines || lines > max_lines;
        if (!from_poem && bad && !o.lines && stanzas.size() > 1)  // the count came from --stanzas
            throw_error(ErrorKind::InvalidArgument,
                        "stanzas: {} adds up to {} lines; {} takes {} to {} lines", *o.stanzas,
                        lines, s.title, kGuMinLines, max_lines);
        if (!from_poem && bad)
            throw_error(ErrorKind::InvalidArgument,
                        "lines: {} rhymes on the even lines, so it takes an even number of lines; "
                        "expected {} to "
                        "{}, got {}",
                        s.title, kGuMinLines, max_lines, lines);
        s.lengths.assign(static_cast<size_t>(std::max(lines, 0)), gu_length(name));
    }
    const auto n = static_cast<int>(s.lengths.size());
    if (from_poem && (n % 2 != 0 || n < kGuMinLines || n > max_lines)) {
        // Read against any fixed count, every line would be a fault; the count is the one.
        *own_fault =
            Fault{0, 0, fmt::format("an even number of lines, {} to {}", kGuMinLines, max_lines),
                  fmt::format("{} lines", n),
                  fmt::format(
                      "poem: 古体 rhymes on the even lines; expected an even number of lines from "
                      "{} to {}, found {}",
                      kGuMinLines, max_lines, n)};
        return s;
    }
    if (stanzas.size() == 1 && n % stanzas[0] != 0) {
        if (from_poem) {
            *own_fault = Fault{
                0, 0, fmt::format("a multiple of {} lines", stanzas[0]), fmt::format("{} lines", n),
                fmt::format("poem: stanzas of {} lines; expected a multiple of {} lines, found {}",
                            stanzas[0], stanzas[0], n)};
            return s;
        }
        throw_error(ErrorKind::InvalidArgument,
                    "stanzas: a new rhyme every {} lines does not divide {} lines; expected a "
                    "stanza length that "
                    "divides the line count, or a list that adds up to it",
                    stanzas[0], n);
    }
    if (stanzas.size() == 1) stanzas.assign(static_cast<size_t>(n / stanzas[0]), stanzas[0]);
    const int sum = std::accumulate(stanzas.begin(), stanzas.end(), 0);
    if (!stanzas.empty() && sum != n) {
        if (from_poem) {
            *own_fault = Fault{
                0, 0, fmt::format("{} lines", sum), fmt::format("{} lines", n),
                fmt::format("poem: {} lines expected (stanzas {}), found {}", sum, *o.stanzas, n)};
            return s;
        }
        throw_error(
            ErrorKind::InvalidArgument,
            "stanzas: {} adds up to {} lines; expected stanzas that add up to the poem's {}",
            *o.stanzas, sum, n);
    }
    if (stanzas.size() > 1) s.stanzas = std::move(stanzas);
    if (s.tone == "alternate" && s.stanzas.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "tone_rhyme: alternate turns the rhyme tone at each stanza; expected stanzas "
                    "(e.g. 4) with it, "
                    "or ping, ze or any for one rhyme");
    return s;
}

// The rhyme letter of stanza `i`: distinct for the 12 stanzas generation allows (24 lines of
// two-line stanzas); the checker reads stanzas one by one and never joins more.
char stanza_letter(size_t i) {
    return static_cast<char>('A' + i % 26);
}

// The stanzas' readings `pick` joined into one variant over the whole poem.
FormVariant join_stanzas(const FormDef& f, const std::vector<size_t>& pick) {
    FormVariant v;
    v.name = "换韵";
    v.rhyme_changes = true;
    for (size_t i = 0; i < f.stanzas.size(); ++i) {
        const FormVariant& sv = f.stanzas[i].variants[pick[i]];
        v.name += (i == 0 ? " " : " / ") + sv.name;
        for (LineDef l : sv.lines) {
            if (l.rhyme != 0) l.rhyme = stanza_letter(i);
            v.lines.push_back(std::move(l));
        }
    }
    return v;
}

FormDef build_form(std::string_view name, const GuShape& s) {
    FormDef f;
    f.name = std::string(name);
    f.title = s.title;
    f.gu = true;
    if (name == "zayan")
        f.description = fmt::format(
            "{} (古体, 歌行): lines of {}-{} characters by --pattern (default {}), one 平 or 仄 "
            "rhyme on the "
            "even lines, a new rhyme per --stanzas",
            f.title, kZaMinLength, kZaMaxLength, kZaDefaultPattern);
    else
        f.description = fmt::format(
            "{} (古体): {}-{} lines (even; --lines, default {}) of {} characters, one 平 or 仄 "
            "rhyme "
            "(--tone-rhyme) on the even lines, tones otherwise free; 换韵 by --stanzas",
            f.title, kGuMinLines, kGuMaxLines, kGuDefaultLines, gu_length(name));
    std::vector<char> tones;
    if (s.tone != "ze") tones.push_back('P');
    if (s.tone != "ping") tones.push_back('Z');
    // 首句入韵 first: a poem whose first line rhymes fits both, and the checker reports the first
    // of equally good readings.
    auto readings = [&tones](const std::vector<int>& lengths) {
        std::vector<FormVariant> out;
        for (char t : tones) {
            out.push_back(gu_variant(lengths, t, true));
            out.push_back(gu_variant(lengths, t, false));
        }
        return out;
    };
    if (s.stanzas.empty()) {
        f.variants = readings(s.lengths);
        return f;
    }
    size_t first = 0;
    std::vector<size_t> pick;
    for (int n : s.stanzas) {
        FormStanza st;
        st.first_line = static_cast<int>(first);
        st.variants =
            readings(std::vector<int>(s.lengths.begin() + static_cast<std::ptrdiff_t>(first),
                                      s.lengths.begin() + static_cast<std::ptrdiff_t>(first + n)));
        // The shape's own reading: 平 then 仄 in turn under "alternate" (readings 0 and 2).
        pick.push_back(s.tone == "alternate" && f.stanzas.size() % 2 == 1 ? 2 : 0);
        f.stanzas.push_back(std::move(st));
        first += static_cast<size_t>(n);
    }
    f.alternate_tones = s.tone == "alternate";
    f.variants.push_back(join_stanzas(f, pick));
    return f;
}

// A request's list key as the string the options hold: "4,4,8" from 4, [4,4,8] or "4,4,8".
std::optional<std::string> list_option(const nlohmann::json& request, const char* key,
                                       std::string_view example) {
    if (!request.contains(key) || request[key].is_null()) return std::nullopt;
    const nlohmann::json& v = request[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    if (v.is_array()) {
        std::string out;
        for (const auto& x : v) {
            if (!x.is_number_integer()) {
                out.clear();
                break;
            }
            out += (out.empty() ? "" : ",") + std::to_string(x.get<int64_t>());
        }
        if (!out.empty()) return out;
    }
    throw_error(ErrorKind::InvalidArgument,
                "{}: expected a list of whole numbers such as {}, got {}", key, example, v.dump());
}

}  // namespace

bool is_gu_form(std::string_view name) {
    return name == "wugu" || name == "qigu" || name == "zayan";
}

GuOptions GuOptions::from_request(const nlohmann::json& request) {
    GuOptions o;
    if (request.contains("lines") && !request["lines"].is_null()) {
        // The range is the form's to check (one message for the CLI and the server): only a
        // count that is not an int at all is refused here.
        o.lines = static_cast<int>(get_int(request, "lines", kGuDefaultLines,
                                           std::numeric_limits<int>::min(),
                                           std::numeric_limits<int>::max()));
    }
    if (request.contains("tone_rhyme") && !request["tone_rhyme"].is_null())
        o.tone_rhyme = get_string(request, "tone_rhyme");
    o.stanzas = list_option(request, "stanzas", "4 or [4,4,8]");
    o.pattern = list_option(request, "pattern", "[3,3,7,7,5,5,7,7]");
    return o;
}

FormDef make_gu_form(std::string_view name, const GuOptions& options, int max_lines) {
    return build_form(name, resolve_shape(name, options, max_lines, nullptr, nullptr));
}

FormDef make_gu_form(std::string_view name, int lines, std::string_view tone, int max_lines) {
    return make_gu_form(name, GuOptions{.lines = lines, .tone_rhyme = std::string(tone)},
                        max_lines);
}

FormVariant draw_stanza_variant(const FormDef& form, core::Rng& rng) {
    LYRA_CHECK(!form.stanzas.empty(), "draw_stanza_variant: {} has no stanzas", form.name);
    const bool start_ze = form.alternate_tones && rng.next_u64() % 2 == 1;
    std::vector<size_t> pick;
    for (size_t i = 0; i < form.stanzas.size(); ++i) {
        const std::vector<FormVariant>& vs = form.stanzas[i].variants;
        std::vector<size_t> fits;
        for (size_t k = 0; k < vs.size(); ++k) {
            const bool ze = vs[k].lines.back().rhyme_tone() == 'Z';
            if (!form.alternate_tones || ze == (start_ze != (i % 2 == 1))) fits.push_back(k);
        }
        LYRA_CHECK(!fits.empty(), "draw_stanza_variant: stanza {} of {} has no reading", i + 1,
                   form.name);
        pick.push_back(fits[rng.next_u64() % fits.size()]);
    }
    return join_stanzas(form, pick);
}

std::string pattern_of(const FormDef& form) {
    std::vector<int> lengths;
    for (const LineDef& l : form.variants[0].lines) lengths.push_back(l.length);
    return join_counts(lengths);
}

void refuse_gu_option(std::string_view key, std::string_view form) {
    if (key == "pattern")
        throw_error(ErrorKind::InvalidArgument,
                    "pattern: only 杂言古诗 (zayan) takes a line-length pattern; expected no "
                    "pattern for {}",
                    form);
    const char* what = key == "lines"        ? "line count"
                       : key == "tone_rhyme" ? "rhyme tone"
                                             : "stanza list (换韵)";
    throw_error(ErrorKind::InvalidArgument,
                "{}: only the 古体 forms (wugu, qigu, zayan) take a {}; expected no {} for {}", key,
                what, key, form);
}

void refuse_gu_options(const GuOptions& o, std::string_view form) {
    if (o.lines) refuse_gu_option("lines", form);
    if (o.tone_rhyme) refuse_gu_option("tone_rhyme", form);
    if (o.stanzas) refuse_gu_option("stanzas", form);
    if (o.pattern) refuse_gu_option("pattern", form);
}

const FormDef* find_zh_form_for(const nlohmann::json& request) {
    const std::string name = get_string(request, "form");
    const GuOptions o = GuOptions::from_request(request);
    if (!is_gu_form(name)) {
        const FormDef* f = find_zh_form(name);
        if (f != nullptr) refuse_gu_options(o, name);
        return f;
    }
    return &gu_form(name, o);
}

CheckResult check_gu(std::string_view name, std::string_view text, RhymeBook book,
                     const GuOptions& options) {
    std::vector<int> own;
    for (const std::u32string& l : split_verse(text)) own.push_back(static_cast<int>(l.size()));
    Fault fault;
    const GuShape s = resolve_shape(name, options, kGuMaxCheckLines, &own, &fault);
    if (!fault.message.empty()) {
        CheckResult r;
        r.faults.push_back(std::move(fault));
        r.length_faults = 1;
        return r;
    }
    return check_zh(build_form(name, s), text, book);
}

CheckResult check_gu(std::string_view name, std::string_view text, RhymeBook book,
                     std::optional<int> lines, std::string_view tone) {
    return check_gu(name, text, book, GuOptions{.lines = lines, .tone_rhyme = std::string(tone)});
}

const FormDef& gu_form(std::string_view name, const GuOptions& options) {
    const GuShape s = resolve_shape(name, options, kGuMaxLines, nullptr, nullptr);
    static std::mutex mu;
    static std::map<std::pair<std::string, std::string>, std::unique_ptr<const FormDef>> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = cache[{std::string(name), s.key()}];
    if (!slot) slot = std::make_unique<const FormDef>(build_form(name, s));
    return *slot;
}

const FormDef& gu_form(std::string_view name, int lines, std::string_view tone) {
    return gu_form(name, GuOptions{.lines = lines, .tone_rhyme = std::string(tone)});
}

}  // namespace lyra::art::poetry
