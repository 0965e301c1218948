// Prosody of Chinese characters for the regulated forms (docs/poetry.md "Prosody data"): tone
// class (平/仄) and rhyme group under the two rhyme books, from the table that
// data/poetry/build_tables.py derives from Unihan, go-pinyin, the chinese-poetry corpus and
// OpenCC (embedded in the binary, so nothing is read at run time). Traditional input is folded
// to Simplified with OpenCC's t2s before lookup. Thread-safe after the first use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lyra::art::poetry {

// Pingshui: 诗 rhyme within one 平水韵 group, 词 within one 词林正韵 部 (the rhyme book 词 were
// written to, which merges neighbouring groups and 上/去 of a row). PingshuiStrict: every rhyme
// set, 词 included and 仄 or 平, within one 平水韵 group. Xinyun: 中华新韵 groups.
enum class RhymeBook { Pingshui, Xinyun, PingshuiStrict };
// "pingshui" | "pingshui-strict" | "xinyun"; throws Error(InvalidArgument) for anything else.
RhymeBook parse_rhyme_book(std::string_view name);
const char* rhyme_book_name(RhymeBook b);
// Whether b reads tones and groups from 平水韵 (pingshui or pingshui-strict).
inline bool is_pingshui(RhymeBook b) { return b != RhymeBook::Xinyun; }

// How the characters of one rhyme set must agree under 平水韵 (Pingshui): in one group (regulated
// 诗), in one 词林正韵 部 (词, written to that book: 邻韵 and 上/去 of a row together, 入声 apart),
// or either (古体: one group always fits — the 部 split of 元 by today's final would part 门 from
// 元 — and the 部 stands for the 通韵 古体 allows). PingshuiStrict and Xinyun ignore it.
enum class RhymeReading { Group, Bu, GroupOrBu };

// Tone classes as a bit set: a polyphonic character (多音字) may carry both.
constexpr uint8_t kPing = 1;
constexpr uint8_t kZe = 2;

struct CharInfo {
    std::string readings;        // "zhong1,zhong4"
    uint8_t tone_pingshui = 0;   // kPing|kZe, from the corpus' marks (入声 is 仄)
    uint8_t tone_xinyun = 0;     // from modern readings: tones 1,2 平; 3,4 仄
    std::vector<int> pingshui;   // 平声 group indices 0..29 (empty: none known)
    std::vector<int> pingshui_ze;  // 仄声 groups: 上 30..58, 去 59..88, 入 89..105 (empty: none)
    std::vector<int> xinyun_ping, xinyun_ze;  // 中华新韵 groups 1..14 of its 平 / 仄 readings
};

// Rhyme keys live in one integer space: the 106 平水韵 groups 0..105 (平 0..29, 上 30..58,
// 去 59..88, 入 89..105), 中华新韵 groups 201..214, and for 词 and 古体 under 平水韵 the 词林正韵 部 that
// merge them: 平 rhymes 301..314, 仄 rhymes 321..339 (部 1..14 with 上 and 去 of one row
// together, 入声 部 15..19 apart).
class Prosody {
public:
    static const Prosody& get();

    const CharInfo* find(char32_t c) const;  // Simplified characters; null when unknown
    uint8_t tone(char32_t c, RhymeBook b) const;  // 0 when unknown
    // The rhyme keys c can take on a line whose last tone is `tone` (kPing or kZe), read as
    // `reading` says (FormDef::rhyme_reading; `by_bu` true is RhymeReading::Bu); empty when
    // c cannot end such a line, or can but its group is not known (a rare character the rhyme
    // book data leaves out rather than guess: never generated there, not judged by the checker).
    std::vector<int> rhyme_keys(char32_t c, RhymeBook b, uint8_t tone, RhymeReading reading) const;
    std::vector<int> rhyme_keys(char32_t c, RhymeBook b, uint8_t tone, bool by_bu) const {
        return rhyme_keys(c, b, tone, by_bu ? RhymeReading::Bu : RhymeReading::Group);
    }
    static std::string key_name(int key);
    // Neighbouring 平水韵 groups (邻韵: one 词林正韵 部, e.g. 东/冬, 鱼/虞, 庚/青/蒸), which a
    // regulated poem's first line may borrow (孤雁出群).
    static bool neighbours(int a, int b);  // "东", "词林第7部", "新韵8寒"
    size_t size() const { return chars_.size(); }
    const std::unordered_map<char32_t, CharInfo>& all() const { return chars_; }

private:
    Prosody();
    std::unordered_map<char32_t, CharInfo> chars_;
};

// The 30 平水韵 平声 group names in order (东 冬 江 支 ...).
const std::vector<std::string>& pingshui_groups();
// The 76 仄声 group names in key order: 上声 董..豏, 去声 送..陷, 入声 屋..洽 (keys 30..105).
const std::vector<std::string>& pingshui_ze_groups();

// The embedded 词牌 files (data/poetry/ci/*.txt): (name, text), by name.
const std::vector<std::pair<std::string, std::string>>& ci_data();

// UTF-8 <-> code points (invalid bytes become U+FFFD).
std::u32string to_u32(std::string_view s);
std::string to_utf8(std::u32string_view s);
std::string to_utf8(char32_t c);
bool is_han(char32_t c);
// Traditional -> Simplified (OpenCC t2s); the text unchanged if OpenCC's data is missing.
std::string to_simplified(const std::string& text);

}  // namespace lyra::art::poetry
