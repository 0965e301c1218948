// 古体诗 (old-style verse, docs/poetry.md "古体"): `wugu` 五言古诗 and `qigu` 七言古诗 — an even
// number of lines (4..24 when generating, default 8; up to 400 when checking a poem a person
// wrote) of 5 or 7 characters, one rhyme on the even lines (line 1 may join it), 平 or 仄, held
// through the poem (一韵到底; 换韵 is not offered), tones free elsewhere (no 粘对, and 三平尾 is
// allowed: it is the 古体 cadence, not a fault). The forms are FormDefs like the regulated ones,
// so ZhConstraint and the checker take them unchanged. Thread-safe; errors are
// Error(InvalidArgument) naming the request key.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "art/poetry/checker.h"
#include "art/poetry/forms.h"
#include "art/poetry/prosody.h"

namespace lyra::art::poetry {

inline constexpr int kGuMinLines = 4;
inline constexpr int kGuMaxLines = 24;        // generation (the default model's context holds it)
inline constexpr int kGuDefaultLines = 8;
inline constexpr int kGuMaxCheckLines = 400;  // checking (孔雀东南飞 has 357 lines)

bool is_gu_form(std::string_view name);  // "wugu" | "qigu"

// The 古体 form `name` with `lines` lines rhyming on `tone`: "ping" (平),
// "ze" (仄; 上/去/入 under 平水韵, tones 3/4 under 中华新韵), or "any" (both; each candidate
// draws one). An empty tone is refused like any other unknown one: a request or flag that names
// the key must name a tone. Built once per (name, lines, tone) and kept for the program's life, so
// a ZhConstraint may hold the reference. Throws Error(InvalidArgument) for an odd count or one
// outside kGuMinLines..kGuMaxLines, or an unknown tone.
const FormDef& gu_form(std::string_view name, int lines, std::string_view tone);

// The same form built afresh (not kept), with counts up to `max_lines`: the checker reads poems
// longer than generation allows. Same errors.
FormDef make_gu_form(std::string_view name, int lines, std::string_view tone, int max_lines);

// The Chinese form a request names ("form"): for 古体 with its keys "lines" (default 8) and
// "tone_rhyme" (default any). Null when "form" names no Chinese form. Throws
// Error(InvalidArgument) when those keys are bad or come with a form that is not 古体 (they
// would be silently ignored).
const FormDef* find_zh_form_for(const nlohmann::json& request);

// Checks a poem a person wrote against 古体 `name` with `lines` lines (nullopt = the poem's own
// count; a count that is odd or outside 4..kGuMaxCheckLines is then the poem's one fault) rhyming
// on `tone` (as gu_form). Throws Error(InvalidArgument) for a bad `lines` (0 included: it is a
// count asked for, not "the poem's own") or `tone`.
CheckResult check_gu(std::string_view name, std::string_view text, RhymeBook book,
                     std::optional<int> lines, std::string_view tone);

// Throws Error(InvalidArgument): the 古体 option `key` ("lines", "tone_rhyme") was given for
// `form`, which is not 古体.
[[noreturn]] void refuse_gu_option(std::string_view key, std::string_view form);

}  // namespace lyra::art::poetry
