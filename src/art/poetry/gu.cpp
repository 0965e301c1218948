#include "art/poetry/gu.h"

#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include <fmt/format.h>

#include "art/common/art.h"
#include "core/check.h"
#include "core/error.h"

namespace lyra::art::poetry {

namespace {

int gu_length(std::string_view name) { return name == "wugu" ? 5 : 7; }

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

// One variant: the even lines rhyme on `tone`, line 1 too when `first_rhymes`.
FormVariant gu_variant(int lines, int length, char tone, bool first_rhymes) {
    FormVariant v;
    v.name = std::string(tone == 'P' ? "平韵" : "仄韵") + (first_rhymes ? "·首句入韵" : "·首句不入韵");
    for (int i = 0; i < lines; ++i) {
        const bool rhymes = i % 2 == 1 || (i == 0 && first_rhymes);
        LineDef l;
        l.length = length;
        l.patterns = free_patterns(length, rhymes ? tone : 0);
        l.rhyme = rhymes ? 'A' : 0;
        v.lines.push_back(std::move(l));
    }
    return v;
}

// The title, after checking the request's count and tone: one error naming the key.
std::string checked_title(std::string_view name, int lines, std::string_view tone, int max_lines) {
    LYRA_CHECK(is_gu_form(name), "gu form: '{}' is not a 古体 form", name);
    const std::string title = gu_length(name) == 5 ? "五言古诗" : "七言古诗";
    // The even lines carry the rhyme, so an odd count would end on an unrhymed line.
    if (lines % 2 != 0 || lines < kGuMinLines || lines > max_lines)
        throw_error(ErrorKind::InvalidArgument,
                    "lines: {} rhymes on the even lines, so it takes an even number of lines; expected "
                    "{} to {}, got {}",
                    title, kGuMinLines, max_lines, lines);
    if (tone != "any" && tone != "ping" && tone != "ze")
        throw_error(ErrorKind::InvalidArgument,
                    "tone_rhyme: unknown rhyme tone; expected ping (平), ze (仄) or any, got '{}'", tone);
    return title;
}

}  // namespace

bool is_gu_form(std::string_view name) { return name == "wugu" || name == "qigu"; }

FormDef make_gu_form(std::string_view name, int lines, std::string_view tone, int max_lines) {
    FormDef f;
    f.name = std::string(name);
    f.title = checked_title(name, lines, tone, max_lines);
    f.gu = true;
    const int length = gu_length(name);
    f.description = fmt::format(
        "{} (古体): {}-{} lines (even; --lines, default {}) of {} characters, one 平 or 仄 rhyme "
        "(--tone-rhyme) on the even lines, tones otherwise free",
        f.title, kGuMinLines, kGuMaxLines, kGuDefaultLines, length);
    for (char t : {'P', 'Z'}) {
        if ((t == 'P' && tone == "ze") || (t == 'Z' && tone == "ping")) continue;
        // 首句入韵 first: a poem whose first line rhymes fits both, and the checker reports the
        // first of equally good readings.
        f.variants.push_back(gu_variant(lines, length, t, true));
        f.variants.push_back(gu_variant(lines, length, t, false));
    }
    return f;
}

void refuse_gu_option(std::string_view key, std::string_view form) {
    throw_error(ErrorKind::InvalidArgument,
                "{}: only the 古体 forms (wugu, qigu) take a {}; expected no {} for {}", key,
                key == "lines" ? "line count" : "rhyme tone", key, form);
}

const FormDef* find_zh_form_for(const nlohmann::json& request) {
    const std::string name = get_string(request, "form");
    const bool has_lines = request.contains("lines") && !request["lines"].is_null();
    const bool has_tone = request.contains("tone_rhyme") && !request["tone_rhyme"].is_null();
    if (!is_gu_form(name)) {
        const FormDef* f = find_zh_form(name);
        if (f != nullptr && has_lines) refuse_gu_option("lines", name);
        if (f != nullptr && has_tone) refuse_gu_option("tone_rhyme", name);
        return f;
    }
    // The range is gu_form's to check, so an odd, zero or too large count gets the message the
    // CLI gives (the server passes the key through unchanged): only a count that is not an int
    // at all is refused here.
    const auto lines =
        static_cast<int>(get_int(request, "lines", kGuDefaultLines, std::numeric_limits<int>::min(),
                                 std::numeric_limits<int>::max()));
    return &gu_form(name, lines, get_string(request, "tone_rhyme", "any"));
}

CheckResult check_gu(std::string_view name, std::string_view text, RhymeBook book,
                     std::optional<int> lines, std::string_view tone) {
    const int found = static_cast<int>(split_verse(text).size());
    if (!lines && (found % 2 != 0 || found < kGuMinLines || found > kGuMaxCheckLines)) {
        // Read against any fixed count, every line would be a fault; the count is the one.
        CheckResult r;
        r.faults.push_back(Fault{0, 0, fmt::format("an even number of lines, {} to {}", kGuMinLines, kGuMaxCheckLines),
                                 fmt::format("{} lines", found),
                                 fmt::format("poem: 古体 rhymes on the even lines; expected an even number of "
                                             "lines from {} to {}, found {}",
                                             kGuMinLines, kGuMaxCheckLines, found)});
        r.length_faults = 1;
        make_gu_form(name, kGuMinLines, tone, kGuMaxCheckLines);  // a bad tone is still an error
        return r;
    }
    const FormDef f = make_gu_form(name, lines.value_or(found), tone, kGuMaxCheckLines);
    return check_zh(f, text, book);
}

const FormDef& gu_form(std::string_view name, int lines, std::string_view tone) {
    checked_title(name, lines, tone, kGuMaxLines);
    static std::mutex mu;
    static std::map<std::tuple<std::string, int, std::string>, std::unique_ptr<const FormDef>> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = cache[{std::string(name), lines, std::string(tone)}];
    if (!slot) slot = std::make_unique<const FormDef>(make_gu_form(name, lines, tone, kGuMaxLines));
    return *slot;
}

}  // namespace lyra::art::poetry
