// `lyra poem` (issue #5): the one entry point for every poetic form. Chinese forms (wujue, qijue,
// wulv, qilv, wugu, qigu, zayan, ci:<词牌>) are written here under ZhConstraint; English forms are
// dispatched to art::poetry::en. Request keys: "form" (required), "theme"/"title" (non-empty when
// given), "acrostic", "rhyme" ("pingshui" default | "pingshui-strict" | "xinyun"; Chinese only),
// and for the 古体 forms only "lines" (even, 4..24, default 8), "tone_rhyme" ("ping" | "ze" |
// "any", default | "alternate"), "stanzas" (换韵) and "pattern" (zayan) as gu.h reads them,
// plus the common keys.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "art/common/art.h"
#include "art/poetry/fault.h"
#include "art/poetry/gu.h"

namespace lyra::art::poetry {

// The default Chinese model file (models/poetry-zh.gguf, recipes/poetry-zh.toml).
inline constexpr std::string_view kZhModel = "poetry-zh.gguf";

// (name, one-line description) for every form, Chinese then English.
std::vector<std::pair<std::string, std::string>> list_forms();

ArtResult write_poem(const nlohmann::json& request, Context& ctx);

// Every fault of `text` against `form` (empty = it keeps the form). `rhyme` is the rhyme book
// for Chinese forms; with `acrostic` each line must begin with its character (letter). For the
// 古体 forms (wugu, qigu, zayan), `gu` holds the poem to a count, rhyme tone, stanzas (换韵) and
// line-length pattern (zayan) as check_gu reads them (not given: the poem's own count and
// lengths, either tone, one rhyme) — given with another form, they are refused. Given means
// given: 0 lines or an empty tone is an error, not "the default" (a flag the user typed is never
// silently dropped). Throws Error(InvalidArgument) for an unknown form or rhyme book, or a bad
// 古体 option.
std::vector<Fault> check_poem(std::string_view form, std::string_view text, std::string_view rhyme,
                              std::string_view acrostic, const GuOptions& gu);
// The same with only the count and the tone (nullopt = not given).
std::vector<Fault> check_poem(std::string_view form, std::string_view text,
                              std::string_view rhyme = "pingshui", std::string_view acrostic = {},
                              std::optional<int> gu_lines = std::nullopt,
                              std::optional<std::string_view> tone_rhyme = std::nullopt);

// The Chinese prompt: "形式:五言绝句\n题:<title>\n" (the corpus builder writes the same).
std::string zh_prompt(std::string_view form_title, std::string_view title);

// `lyra poem eval`: `count` poems per form with seeds 1..count, each checked; one JSON object
// per form with line_length/rhyme/tone/full compliance, distinct_2, copied_line_share,
// loglik_per_char. `forms` empty = every Chinese form. The 古体 options given in `gu` go to every
// request as its keys ("lines", "tone_rhyme", "stanzas", "pattern"), so they need 古体 forms and
// are checked as a request's keys are.
nlohmann::json eval_poems(const std::vector<std::string>& forms, int count,
                          const std::string& model_path, std::string_view rhyme, Context& ctx,
                          const GuOptions& gu = {});

// The "chinese-poetry" corpus builder: Tang 绝句/律诗 (全唐诗) and Song 词 (全宋词) from the npm
// package, in Simplified characters, each as "形式:<form>\n题:<title>\n<lines>" with the
// punctuation and line breaks `lyra poem` writes. Options: {"max_docs": N (0 = all),
// "ci": true, "shi": true}.
void build_zh_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit);

}  // namespace lyra::art::poetry
