// `lyra poem` (issue #5): the one entry point for every poetic form. Chinese forms (wujue, qijue,
// wulv, qilv, wugu, qigu, ci:<词牌>) are written here under ZhConstraint; English forms are
// dispatched to art::poetry::en. Request keys: "form" (required), "theme"/"title" (non-empty when
// given), "acrostic", "rhyme" ("pingshui" default | "pingshui-strict" | "xinyun"; Chinese only),
// "lines" (even, 4..24, default 8) and "tone_rhyme" ("ping" | "ze" | "any", default) for the
// 古体 forms only, plus the common keys.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"
#include "art/poetry/fault.h"

namespace lyra::art::poetry {

// The default Chinese model file (models/poetry-zh.gguf, recipes/poetry-zh.toml).
inline constexpr std::string_view kZhModel = "poetry-zh.gguf";

// (name, one-line description) for every form, Chinese then English.
std::vector<std::pair<std::string, std::string>> list_forms();

ArtResult write_poem(const nlohmann::json& request, Context& ctx);

// Every fault of `text` against `form` (empty = it keeps the form). `rhyme` is the rhyme book
// for Chinese forms; with `acrostic` each line must begin with its character (letter). For the
// 古体 forms (wugu, qigu), `gu_lines` (0 = the poem's own count) and `tone_rhyme` ("ping", "ze";
// empty = either) — given with another form, they are refused.
// Throws Error(InvalidArgument) for an unknown form or rhyme book, or a bad 古体 option.
std::vector<Fault> check_poem(std::string_view form, std::string_view text,
                              std::string_view rhyme = "pingshui", std::string_view acrostic = {},
                              int gu_lines = 0, std::string_view tone_rhyme = {});

// The Chinese prompt: "形式:五言绝句\n题:<title>\n" (the corpus builder writes the same).
std::string zh_prompt(std::string_view form_title, std::string_view title);

// `lyra poem eval`: `count` poems per form with seeds 1..count, each checked; one JSON object
// per form with line_length/rhyme/tone/full compliance, distinct_2, copied_line_share,
// loglik_per_char. `forms` empty = every Chinese form. `gu_lines` (0 = default) and `tone_rhyme`
// (empty = default) go to every request, so they need 古体 forms.
nlohmann::json eval_poems(const std::vector<std::string>& forms, int count,
                          const std::string& model_path, std::string_view rhyme, Context& ctx,
                          int gu_lines = 0, std::string_view tone_rhyme = {});

// The "chinese-poetry" corpus builder: Tang 绝句/律诗 (全唐诗) and Song 词 (全宋词) from the npm
// package, in Simplified characters, each as "形式:<form>\n题:<title>\n<lines>" with the
// punctuation and line breaks `lyra poem` writes. Options: {"max_docs": N (0 = all),
// "ci": true, "shi": true}.
void build_zh_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit);

}  // namespace lyra::art::poetry
