// Emoji names in other languages, from CLDR's annotations (Debian unicode-cldr-core): each
// emoji's name ("tts") and keywords in about 140 languages. The drawing corpus names its emoji
// in English (emoji-test.txt), so without these a subject in Chinese, Japanese, Russian or
// Hindi found no drawing to start from (guide.h); with them "苹果" finds the red and the green
// apple. Pure apart from reading the files; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lyra::art::visual {

inline constexpr std::string_view kCldrAnnotationsDir = "/usr/share/unicode/cldr/common/annotations";

// The English names (en.xml's "tts" names, which emoji-test.txt's are) of the emoji a subject
// names in any language, best first: the emoji itself ("🍎"); else the emoji whose name in some
// language is the subject ("红苹果", "カメラ"); else those with the subject among their keywords
// ("苹果": red apple, green apple). The subject and the terms compare whole, after trimming,
// with ASCII letters in either case. Empty when nothing matches or the annotations are not
// installed: the caller then draws without a guide.
std::vector<std::string> english_emoji_names(std::string_view subject,
                                             const std::string& dir = std::string(kCldrAnnotationsDir));

}  // namespace lyra::art::visual
