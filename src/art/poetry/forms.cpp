#include "art/poetry/forms.h"

#include <sstream>

#include "art/poetry/gu.h"
#include "art/poetry/prosody.h"

namespace lyra::art::poetry {

namespace {

// The four line types of regulated verse (five-character core; a seven-character line puts
// the opposite two tones in front): A 仄仄平平仄, B 平平仄仄平, C 平平平仄仄, D 仄仄仄平平.
std::string core(char type) {
    switch (type) {
        case 'A': return "ZZPPZ";
        case 'B': return "PPZZP";
        case 'C': return "PPPZZ";
        default: return "ZZZPP";
    }
}

char flip(char t) { return t == 'P' ? 'Z' : 'P'; }

std::string full(const std::string& c, int length) {
    if (length == 5) return c;
    return std::string(2, flip(c[0])) + c;  // c[0] == c[1] in every core
}

// Every tone string a line of `type` may take: positions 1 and 3 (and 5 in seven-character
// lines) are free (一三五不论) except that a D line keeps its core 3rd 仄 (no 三平尾) and a B
// line may not have both core 1st and 3rd 仄 (孤平); a C line may also take the 特拗 form
// 平平仄平仄 (core 1st 平).
std::vector<std::string> expand(char type, int length) {
    const std::string base = full(core(type), length);
    const int off = length - 5;
    std::vector<int> free_pos = {0, 2};
    if (length == 7) free_pos = {0, 2, 4};
    std::vector<std::string> out;
    for (int mask = 0; mask < (1 << length); ++mask) {
        std::string s;
        for (int i = 0; i < length; ++i) s += (mask >> i) & 1 ? 'Z' : 'P';
        bool ok = true;
        for (int i = 0; i < length && ok; ++i) {
            bool is_free = false;
            for (int f : free_pos) is_free |= f == i;
            if (type == 'D' && i == off + 2) is_free = false;
            if (!is_free && s[static_cast<size_t>(i)] != base[static_cast<size_t>(i)]) ok = false;
        }
        if (ok && type == 'B' && s[static_cast<size_t>(off)] == 'Z' &&
            s[static_cast<size_t>(off + 2)] == 'Z')
            ok = false;
        bool tegao = false;
        if (!ok && type == 'C') {
            // 特拗: core 平平仄平仄 with the free positions before the core still free.
            std::string t = base;
            t.replace(static_cast<size_t>(off), 5, "PPZPZ");
            tegao = true;
            for (int i = 0; i < length; ++i) {
                bool is_free = (i == 0 && length == 7);
                if (!is_free && s[static_cast<size_t>(i)] != t[static_cast<size_t>(i)]) tegao = false;
            }
        }
        if (ok || tegao) out.push_back(s);
    }
    return out;
}

char dui(char t) { return t == 'A' ? 'B' : t == 'C' ? 'D' : t == 'B' ? 'D' : 'B'; }
char nian(char t) { return t == 'B' ? 'C' : 'A'; }

FormDef shi(std::string name, std::string title, int lines, int length) {
    FormDef f;
    f.name = std::move(name);
    f.title = std::move(title);
    f.description = f.title + ": " + std::to_string(lines) + " lines of " +
                    std::to_string(length) + " characters, 平声 rhyme on the even lines, 平仄 and 粘对 of regulated verse";
    for (char first : {'A', 'D', 'C', 'B'}) {
        FormVariant v;
        const std::string l1 = full(core(first), length);
        v.name = std::string(l1[1] == 'P' ? "平起" : "仄起") +
                 (first == 'B' || first == 'D' ? "首句入韵" : "首句不入韵");
        char t = first;
        for (int i = 0; i < lines; ++i) {
            if (i > 0) t = (i % 2 == 1) ? dui(t) : nian(t);
            LineDef l;
            l.length = length;
            l.patterns = expand(t, length);
            if (i % 2 == 1 || (i == 0 && (t == 'B' || t == 'D'))) l.rhyme = 'A';
            v.lines.push_back(std::move(l));
        }
        f.variants.push_back(std::move(v));
    }
    return f;
}

std::vector<std::string> expand_ci(const std::u32string& pat) {
    std::vector<std::string> out = {""};
    for (char32_t c : pat) {
        std::vector<std::string> next;
        for (const std::string& s : out) {
            if (c == U'平' || c == U'中') next.push_back(s + 'P');
            if (c == U'仄' || c == U'中') next.push_back(s + 'Z');
        }
        out = std::move(next);
    }
    return out;
}

FormDef ci(const std::string& name, const std::string& text) {
    FormDef f;
    f.name = "ci:" + name;
    f.title = "词·" + name;
    f.ci = true;
    FormVariant v;
    v.name = name;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("desc ", 0) == 0) {
            f.description = name + " (词): " + line.substr(5);
            continue;
        }
        size_t sp = line.find(' ');
        std::u32string pat = to_u32(line.substr(0, sp));
        std::string tag = sp == std::string::npos ? "-" : line.substr(sp + 1);
        LineDef l;
        l.length = static_cast<int>(pat.size());
        l.patterns = expand_ci(pat);
        if (!tag.empty() && tag[0] >= 'A' && tag[0] <= 'Z') l.rhyme = tag[0];
        l.repeats = tag.find('=') != std::string::npos;
        l.repeat_ok = l.repeats || tag.find('*') != std::string::npos;
        v.lines.push_back(std::move(l));
    }
    f.variants.push_back(std::move(v));
    return f;
}

}  // namespace

const std::vector<FormDef>& zh_forms() {
    static const std::vector<FormDef> forms = [] {
        std::vector<FormDef> v;
        v.push_back(shi("wujue", "五言绝句", 4, 5));
        v.push_back(shi("qijue", "七言绝句", 4, 7));
        v.push_back(shi("wulv", "五言律诗", 8, 5));
        v.push_back(shi("qilv", "七言律诗", 8, 7));
        v.push_back(make_gu_form("wugu", kGuDefaultLines, "any", kGuMaxLines));
        v.push_back(make_gu_form("qigu", kGuDefaultLines, "any", kGuMaxLines));
        v.push_back(make_gu_form("zayan", GuOptions{}, kGuMaxLines));
        for (const auto& [name, text] : ci_data()) v.push_back(ci(name, text));
        return v;
    }();
    return forms;
}

const FormDef* find_zh_form(std::string_view name) {
    for (const FormDef& f : zh_forms()) {
        if (f.name == name) return &f;
    }
    return nullptr;
}

}  // namespace lyra::art::poetry
