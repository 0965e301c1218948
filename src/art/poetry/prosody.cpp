#include "art/poetry/prosody.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <sstream>

#include <opencc/opencc.h>

#include "core/error.h"

namespace lyra::art::poetry {

namespace {

#include "art/poetry/tables.inc"

const char* const kGroups[] = {"东", "冬", "江", "支", "微", "鱼", "虞", "齐", "佳", "灰",
                               "真", "文", "元", "寒", "删", "先", "萧", "肴", "豪", "歌",
                               "麻", "阳", "庚", "青", "蒸", "尤", "侵", "覃", "盐", "咸"};
// 词林正韵's 19 部 merge the 平水韵 groups by final; its 平声 half, per 平水韵 group (元, 灰 and
// 佳 split in 词林正韵: the majority side here, the split by final in cilin_bu below).
const int kCilin[] = {1, 1, 2, 3, 3, 4, 4, 3, 5, 3, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9,
                      10, 2, 11, 11, 11, 12, 13, 14, 14, 14};
// The 仄声 groups of 平水韵 (keys 30..105): 上声 29 (蒸's merged into 迥), 去声 30 (泰 has no 平
// or 上 partner), 入声 17.
const char* const kZeGroups[] = {
    "董", "肿", "讲", "纸", "尾", "语", "麌", "荠", "蟹", "贿", "轸", "吻", "阮", "旱", "潸",
    "铣", "筱", "巧", "皓", "哿", "马", "养", "梗", "迥", "有", "寝", "感", "琰", "豏",
    "送", "宋", "绛", "寘", "未", "御", "遇", "霁", "泰", "卦", "队", "震", "问", "愿", "翰",
    "谏", "霰", "啸", "效", "号", "个", "祃", "漾", "敬", "径", "宥", "沁", "勘", "艳", "陷",
    "屋", "沃", "觉", "质", "物", "月", "曷", "黠", "屑", "药", "陌", "锡", "职", "缉", "合",
    "叶", "洽"};
constexpr int kShang = 30, kQu = 59, kRu = 89, kNumGroups = 106;
constexpr int kTaiRow = 30;  // 泰: a 去声 group with no 平 or 上 partner
// The 平 row (四声相承) of a 平 or 上/去 group: 董 and 送 are 东's (0); 泰 is kTaiRow.
int ping_row(int g) {
    if (g < kShang) return g;
    if (g >= kQu) {
        const int j = g - kQu;
        return j < 8 ? j : j == 8 ? kTaiRow : j <= 24 ? j - 1 : j;
    }
    const int i = g - kShang;
    return i < 24 ? i : i + 1;  // 蒸 (24) has no 上声 group
}
// 词林正韵 splits four rows between two 部 by the final: 元 (-an with 寒删先 in 第7部, -en with
// 真文 in 第6部), 灰 (-ai 第5部, -ui 第3部), 佳 (-a 第10部, -ai 第5部) and 泰 (-ai 第5部, -ui
// 第3部). Today's final (the character's 中华新韵 group: 8 寒, 9 文, 4 开, 5 微, 1 麻) tells the
// halves apart; a character with neither keeps the row's default (kCilin; 泰 第5部). Measured on
// 300 平-rhyming and 190 仄-rhyming 词 of the corpus (docs/poetry.md): the 元 split helps both
// tones, the 灰 and 佳 splits only 仄 (Song poets rhyme 灰's 杯 with 咍's 台 on 平, 晏殊's
// 一曲新词酒一杯), so 平 keeps those rows whole.
struct CilinSplit {
    int row, xinyun, bu;
    bool ze_only;
};
const CilinSplit kCilinSplits[] = {{12, 8, 7, false}, {12, 9, 6, false},     {9, 4, 5, true},
                                   {9, 5, 3, true},   {8, 1, 10, true},      {8, 4, 5, true},
                                   {kTaiRow, 4, 5, true}, {kTaiRow, 5, 3, true}};
const int kCilinRu[] = {15, 15, 16, 17, 18, 18, 18, 18, 18, 16, 17, 17, 17, 17, 19, 18, 19};

// The 词林正韵 部 of group g (any of the 106) for character `info`: 入声 groups in their own 部
// 15..19, the others through their 平 row (more than one for a 多音字 on both sides of a split).
std::vector<int> cilin_bu(int g, const CharInfo& info) {
    if (g >= kRu) return {kCilinRu[g - kRu]};
    const int row = ping_row(g);
    std::vector<int> out;
    for (const CilinSplit& s : kCilinSplits) {
        if (s.row != row || (s.ze_only && g < kShang)) continue;
        const bool has = std::find(info.xinyun_ping.begin(), info.xinyun_ping.end(), s.xinyun) != info.xinyun_ping.end() ||
                         std::find(info.xinyun_ze.begin(), info.xinyun_ze.end(), s.xinyun) != info.xinyun_ze.end();
        if (has && std::find(out.begin(), out.end(), s.bu) == out.end()) out.push_back(s.bu);
    }
    if (out.empty()) out.push_back(row == kTaiRow ? 5 : kCilin[row]);
    return out;
}
// Whether some character of group g can fall in 部 bu (for naming a 部 by its groups).
bool group_in_bu(int g, int bu) {
    if (g >= kRu) return kCilinRu[g - kRu] == bu;
    const int row = ping_row(g);
    if ((row == kTaiRow ? 5 : kCilin[row]) == bu) return true;
    for (const CilinSplit& s : kCilinSplits) {
        if (s.row == row && s.bu == bu && !(s.ze_only && g < kShang)) return true;
    }
    return false;
}
constexpr int kCilinPing = 300, kCilinZe = 320;
const char* const kXinyun[] = {"", "麻", "波", "皆", "开", "微", "豪", "尤", "寒", "文",
                               "唐", "庚", "齐", "支", "姑"};

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == sep) {
            out.emplace_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

}  // namespace

std::u32string to_u32(std::string_view s) {
    std::u32string out;
    size_t i = 0;
    while (i < s.size()) {
        auto b = static_cast<unsigned char>(s[i]);
        int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + static_cast<size_t>(n) > s.size()) {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
        bool ok = true;
        for (int k = 1; k < n; ++k) {
            auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
            if ((c >> 6) != 2) ok = false;
            cp = (cp << 6) | (c & 0x3F);
        }
        if (!ok) {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += static_cast<size_t>(n);
    }
    return out;
}

std::string to_utf8(char32_t c) {
    std::string out;
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
    return out;
}

std::string to_utf8(std::u32string_view s) {
    std::string out;
    for (char32_t c : s) out += to_utf8(c);
    return out;
}

bool is_han(char32_t c) {
    return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}

std::string to_simplified(const std::string& text) {
    static std::once_flag once;
    static opencc_t od = reinterpret_cast<opencc_t>(-1);
    static std::mutex mu;
    std::call_once(once, [] { od = opencc_open(OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP); });
    if (od == reinterpret_cast<opencc_t>(-1)) return text;
    std::lock_guard<std::mutex> lock(mu);
    char* out = opencc_convert_utf8(od, text.data(), text.size());
    if (out == nullptr) return text;
    std::string s(out);
    opencc_convert_utf8_free(out);
    return s;
}

RhymeBook parse_rhyme_book(std::string_view name) {
    if (name == "pingshui") return RhymeBook::Pingshui;
    if (name == "pingshui-strict") return RhymeBook::PingshuiStrict;
    if (name == "xinyun") return RhymeBook::Xinyun;
    throw_error(ErrorKind::InvalidArgument,
                "rhyme: unknown rhyme book; expected pingshui (平水韵), pingshui-strict (平水韵, 词 "
                "too held to one group) or xinyun (中华新韵), got '{}'",
                name);
}

const char* rhyme_book_name(RhymeBook b) {
    return b == RhymeBook::Pingshui ? "pingshui" : b == RhymeBook::PingshuiStrict ? "pingshui-strict" : "xinyun";
}

const std::vector<std::string>& pingshui_groups() {
    static const std::vector<std::string> g(std::begin(kGroups), std::end(kGroups));
    return g;
}

const std::vector<std::string>& pingshui_ze_groups() {
    static const std::vector<std::string> g(std::begin(kZeGroups), std::end(kZeGroups));
    return g;
}

const std::vector<std::pair<std::string, std::string>>& ci_data() {
    static const std::vector<std::pair<std::string, std::string>> v = [] {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& file : kCiFiles) out.emplace_back(file[0], file[1]);
        return out;
    }();
    return v;
}

const Prosody& Prosody::get() {
    static const Prosody p;
    return p;
}

Prosody::Prosody() {
    std::unordered_map<std::string, int> group_index;
    for (int i = 0; i < 30; ++i) group_index[kGroups[i]] = i;
    std::unordered_map<std::string, int> ze_index;
    for (int i = 0; i < kNumGroups - kShang; ++i) ze_index[kZeGroups[i]] = kShang + i;
    for (const char* chunk : kCharsTsv) {
        std::istringstream in(chunk);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::vector<std::string> f = split(line, '\t');
            if (f.size() != 6) continue;
            std::u32string c = to_u32(f[0]);
            if (c.size() != 1) continue;
            CharInfo info;
            info.readings = f[1];
            info.tone_pingshui = f[2] == "P" ? kPing : f[2] == "Z" ? kZe : (kPing | kZe);
            if (f[3] != "-") {
                for (const std::string& g : split(f[3], ',')) {
                    auto it = group_index.find(g);
                    if (it != group_index.end()) info.pingshui.push_back(it->second);
                }
            }
            if (f[5] != "-") {
                for (const std::string& g : split(f[5], ',')) {
                    auto it = ze_index.find(g);
                    if (it != ze_index.end()) info.pingshui_ze.push_back(it->second);
                }
            }
            for (const std::string& x : split(f[4], ',')) {
                if (x.size() < 2) continue;
                int g = std::stoi(x.substr(0, x.size() - 1));
                if (x.back() == 'P') {
                    info.xinyun_ping.push_back(g);
                    info.tone_xinyun |= kPing;
                } else {
                    info.xinyun_ze.push_back(g);
                    info.tone_xinyun |= kZe;
                }
            }
            chars_.emplace(c[0], std::move(info));
        }
    }
}

const CharInfo* Prosody::find(char32_t c) const {
    auto it = chars_.find(c);
    return it == chars_.end() ? nullptr : &it->second;
}

uint8_t Prosody::tone(char32_t c, RhymeBook b) const {
    const CharInfo* i = find(c);
    if (i == nullptr) return 0;
    return is_pingshui(b) ? i->tone_pingshui : i->tone_xinyun;
}

std::vector<int> Prosody::rhyme_keys(char32_t c, RhymeBook b, uint8_t tone, RhymeReading reading) const {
    std::vector<int> keys;
    const CharInfo* i = find(c);
    if (i == nullptr) return keys;
    auto add = [&keys](int k) {
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    };
    if (is_pingshui(b)) {
        // Regulated 诗 rhyme within one 平水韵 group; 词 within one 词林正韵 部, 古体 within
        // either (docs/poetry.md); everything within one group under pingshui-strict.
        if ((i->tone_pingshui & tone) == 0) return keys;
        for (int g : tone == kPing ? i->pingshui : i->pingshui_ze) {
            if (reading != RhymeReading::Bu || b == RhymeBook::PingshuiStrict) add(g);
            if (reading == RhymeReading::Group || b == RhymeBook::PingshuiStrict) continue;
            for (int bu : cilin_bu(g, *i)) add((tone == kPing ? kCilinPing : kCilinZe) + bu);
        }
        return keys;
    }
    for (int g : tone == kPing ? i->xinyun_ping : i->xinyun_ze) add(200 + g);
    return keys;
}

bool Prosody::neighbours(int a, int b) {
    return a >= 0 && a < 30 && b >= 0 && b < 30 && kCilin[a] == kCilin[b];
}

std::string Prosody::key_name(int key) {
    if (key >= 0 && key < 30) return std::string("平水韵") + kGroups[key];
    if (key >= kShang && key < kNumGroups) return std::string("平水韵") + kZeGroups[key - kShang];
    if (key > kCilinPing && key <= kCilinPing + 14) return "词林正韵第" + std::to_string(key - kCilinPing) + "部";
    if (key > kCilinZe && key <= kCilinZe + 19) {
        // The 部 with the 仄 groups it merges: "词林正韵第18部(入声 物月曷黠屑叶)".
        const int bu = key - kCilinZe;
        std::string groups;
        for (int g = kShang; g < kNumGroups; ++g) {
            if (group_in_bu(g, bu)) groups += kZeGroups[g - kShang];
        }
        return "词林正韵第" + std::to_string(bu) + "部(" + (bu >= 15 ? "入声 " : "上去 ") + groups + ")";
    }
    if (key > 200 && key <= 214) return std::string("新韵") + kXinyun[key - 200];
    return "?";
}

}  // namespace lyra::art::poetry
