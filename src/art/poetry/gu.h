// 古体诗 (old-style verse, docs/poetry.md "古体"): `wugu` 五言古诗, `qigu` 七言古诗 and `zayan`
// 杂言古诗 (lines of mixed length, 3 to 9 characters, given as a pattern) — an even number of
// lines (4..24 when generating, default 8; up to 400 when checking a poem a person wrote), one
// rhyme on the even lines (line 1 may join it), 平 or 仄, tones free elsewhere (no 粘对, and 三平尾
// is allowed: it is the 古体 cadence, not a fault). One rhyme holds through the poem (一韵到底)
// unless stanzas are given: then the rhyme changes at each stanza (换韵), every stanza rhyming on
// its own even lines (its first line may join) in a rhyme the stanza before it does not share.
// The forms are FormDefs like the regulated ones, so ZhConstraint and the checker take them.
// Thread-safe; errors are Error(InvalidArgument) naming the request key.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "art/poetry/checker.h"
#include "art/poetry/forms.h"
#include "art/poetry/prosody.h"
#include "core/rng.h"

namespace lyra::art::poetry {

inline constexpr int kGuMinLines = 4;
inline constexpr int kGuMaxLines = 24;        // generation (the default model's context holds it)
inline constexpr int kGuDefaultLines = 8;
inline constexpr int kGuMaxCheckLines = 400;  // checking (孔雀东南飞 has 357 lines)
inline constexpr int kZaMinLength = 3;        // 杂言 line lengths (三字句 .. 九字句)
inline constexpr int kZaMaxLength = 9;
inline constexpr std::string_view kZaDefaultPattern = "3,3,7,7,5,5,7,7";

bool is_gu_form(std::string_view name);  // "wugu" | "qigu" | "zayan"

// The 古体 options a request or the command line gave; nullopt = not given (a value given, 0 or
// "" included, is checked, never read as "not given").
struct GuOptions {
    std::optional<int> lines = {};  // even, kGuMinLines..max
    std::optional<std::string> tone_rhyme =
        {};  // ping | ze | any | alternate (换韵: 平/仄 in turn)
    std::optional<std::string> stanzas = {};  // "4" (a new rhyme every 4 lines) or "4,4,8"
    std::optional<std::string> pattern = {};  // zayan: characters per line, "3,3,7,7,5,5,7,7"
    // The request's keys "lines", "tone_rhyme", "stanzas" (a number, a list of numbers or a
    // string "4,4,8") and "pattern" (a list of numbers or a string). Throws
    // Error(InvalidArgument) when one has the wrong JSON type.
    static GuOptions from_request(const nlohmann::json& request);
    bool any() const { return lines || tone_rhyme || stanzas || pattern; }
};

// The 古体 form `name` with `lines` lines rhyming on `tone`: "ping" (平),
// "ze" (仄; 上/去/入 under 平水韵, tones 3/4 under 中华新韵), or "any" (both; each candidate
// draws one). Built once per shape and kept for the program's life, so a ZhConstraint may hold
// the reference. Throws Error(InvalidArgument) for an odd count or one outside
// kGuMinLines..kGuMaxLines, or an unknown tone.
const FormDef& gu_form(std::string_view name, int lines, std::string_view tone);
// The same for every option (stanzas, pattern, "alternate" included), checked as gu_form does
// and with one message naming the key for a bad stanza list or pattern.
const FormDef& gu_form(std::string_view name, const GuOptions& options);

// The same forms built afresh (not kept), with counts up to `max_lines`: the checker reads poems
// longer than generation allows. Same errors.
FormDef make_gu_form(std::string_view name, int lines, std::string_view tone, int max_lines);
FormDef make_gu_form(std::string_view name, const GuOptions& options, int max_lines);

// A reading of a 换韵 form (FormDef::stanzas non-empty) for one candidate: each stanza's tone
// and 首句入韵 drawn from `rng` (tones in turn under "alternate"), the stanzas joined with one
// rhyme set each and FormVariant::rhyme_changes set.
FormVariant draw_stanza_variant(const FormDef& form, core::Rng& rng);

// The characters per line of `form` as a pattern string ("3,3,7,7"), as "pattern" takes it.
std::string pattern_of(const FormDef& form);

// The Chinese form a request names ("form"): for 古体 with its keys (GuOptions::from_request).
// Null when "form" names no Chinese form. Throws Error(InvalidArgument) when those keys are bad
// or come with a form that does not take them (they would be silently ignored).
const FormDef* find_zh_form_for(const nlohmann::json& request);

// Checks a poem a person wrote against 古体 `name` as `options` describe it. Not given: the
// count is the poem's own (odd or outside 4..kGuMaxCheckLines, or not a multiple of a "stanzas"
// length, is then the poem's one fault) and so, for zayan, are the line lengths; tone_rhyme is
// "any". Throws Error(InvalidArgument) for a bad option (0 lines included: it is a count asked
// for, not "the poem's own").
CheckResult check_gu(std::string_view name, std::string_view text, RhymeBook book,
                     const GuOptions& options);
CheckResult check_gu(std::string_view name, std::string_view text, RhymeBook book,
                     std::optional<int> lines, std::string_view tone);

// Throws Error(InvalidArgument): the 古体 option `key` ("lines", "tone_rhyme", "stanzas",
// "pattern") was given for `form`, which does not take it.
[[noreturn]] void refuse_gu_option(std::string_view key, std::string_view form);
// refuse_gu_option for the first option `options` holds that `form` (not 古体) cannot take.
void refuse_gu_options(const GuOptions& options, std::string_view form);

}  // namespace lyra::art::poetry
