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
// 词林正韵's 19 部 merge the 平水韵 groups by final; its 平声 half, per 平水韵 group (元 and 灰
// and 佳 split in 词林正韵; the majority side is taken).
const int kCilin[] = {1, 1, 2, 3, 3, 4, 4, 3, 5, 3, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9,
                      10, 2, 11, 11, 11, 12, 13, 14, 14, 14};
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
    if (name == "xinyun") return RhymeBook::Xinyun;
    throw_error(ErrorKind::InvalidArgument,
                "rhyme: unknown rhyme book; expected pingshui (平水韵) or xinyun (中华新韵), got '{}'",
                name);
}

const char* rhyme_book_name(RhymeBook b) { return b == RhymeBook::Pingshui ? "pingshui" : "xinyun"; }

const std::vector<std::string>& pingshui_groups() {
    static const std::vector<std::string> g(std::begin(kGroups), std::end(kGroups));
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
    for (const char* chunk : kCharsTsv) {
        std::istringstream in(chunk);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::vector<std::string> f = split(line, '\t');
            if (f.size() != 5) continue;
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
    return b == RhymeBook::Pingshui ? i->tone_pingshui : i->tone_xinyun;
}

std::vector<int> Prosody::rhyme_keys(char32_t c, RhymeBook b, uint8_t tone, bool ci) const {
    std::vector<int> keys;
    const CharInfo* i = find(c);
    if (i == nullptr) return keys;
    if (b == RhymeBook::Pingshui && tone == kPing) {
        if ((i->tone_pingshui & kPing) == 0) return keys;
        for (int g : i->pingshui) {
            int k = ci ? 100 + kCilin[g] : g;
            if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
        }
        return keys;
    }
    // 中华新韵, and 仄 rhymes under 平水韵 (whose 仄声 groups the table does not hold): the
    // modern final's group.
    if (b == RhymeBook::Pingshui && (i->tone_pingshui & kZe) == 0) return keys;
    const std::vector<int>& gs = tone == kPing ? i->xinyun_ping : i->xinyun_ze;
    for (int g : gs) {
        int k = 200 + g;
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    if (b == RhymeBook::Pingshui && keys.empty() && !i->xinyun_ping.empty()) {
        // 入声 characters read 平 today (e.g. 白): rhyme by their modern final.
        for (int g : i->xinyun_ping) keys.push_back(200 + g);
    }
    return keys;
}

bool Prosody::neighbours(int a, int b) {
    return a >= 0 && a < 30 && b >= 0 && b < 30 && kCilin[a] == kCilin[b];
}

std::string Prosody::key_name(int key) {
    if (key >= 0 && key < 30) return std::string("平水韵") + kGroups[key];
    if (key >= 100 && key < 200) return "词林正韵第" + std::to_string(key - 100) + "部";
    if (key > 200 && key <= 214) return std::string("新韵") + kXinyun[key - 200];
    return "?";
}

}  // namespace lyra::art::poetry
