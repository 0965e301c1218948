// English names of emoji named in any language, from CLDR's annotation files (emoji_names.h).
#include "art/visual/emoji_names.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include "art/common/text.h"
#include "core/mmap.h"

namespace lyra::art::visual {

namespace {

namespace fs = std::filesystem;

std::string lower_ascii(std::string s) {
    for (char& c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
}

// The emoji without U+FE0F (emoji presentation), which CLDR leaves out of most of its keys and
// a typed "❤️" carries.
std::string without_fe0f(std::string_view s) {
    constexpr std::string_view kFe0f = "\xef\xb8\x8f";
    std::string out;
    for (size_t i = 0; i < s.size();) {
        if (s.substr(i, kFe0f.size()) == kFe0f) {
            i += kFe0f.size();
        } else {
            out += s[i++];
        }
    }
    return out;
}

std::string decode_entities(std::string_view s) {
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    std::string out;
    for (size_t i = 0; i < s.size();) {
        bool replaced = false;
        for (const auto& [name, c] : kEntities) {
            if (s.substr(i, name.size()) == name) {
                out += c;
                i += name.size();
                replaced = true;
                break;
            }
        }
        if (!replaced) out += s[i++];
    }
    return out;
}

// One `<annotation cp="X" [type="tts"]>a | b | c</annotation>` line.
struct Annotation {
    std::string cp;
    bool tts = false;
    std::vector<std::string> terms;
};

bool parse_annotation(std::string_view line, Annotation& a) {
    constexpr std::string_view kOpen = "<annotation cp=\"", kClose = "</annotation>";
    const size_t open = line.find(kOpen);
    if (open == std::string_view::npos) return false;
    const size_t cp_end = line.find('"', open + kOpen.size());
    const size_t text = line.find('>', open);
    const size_t close = line.find(kClose, open);
    if (cp_end == std::string_view::npos || text == std::string_view::npos || close == std::string_view::npos ||
        text > close) {
        return false;
    }
    a.cp = without_fe0f(decode_entities(line.substr(open + kOpen.size(), cp_end - open - kOpen.size())));
    a.tts = line.substr(cp_end, text - cp_end).find("type=\"tts\"") != std::string_view::npos;
    a.terms.clear();
    const std::string body = decode_entities(line.substr(text + 1, close - text - 1));
    size_t from = 0;
    while (from <= body.size()) {
        size_t bar = body.find('|', from);
        if (bar == std::string::npos) bar = body.size();
        std::string term = body.substr(from, bar - from);
        const size_t b = term.find_first_not_of(' '), e = term.find_last_not_of(' ');
        if (b != std::string::npos) a.terms.push_back(term.substr(b, e - b + 1));
        from = bar + 1;
    }
    return true;
}

// english_emoji_names without its cache: reads en.xml and every file holding the subject.
std::vector<std::string> look_up(std::string_view subject, const std::string& dir) {
    std::error_code ec;
    const fs::path en_path = fs::path(dir) / "en.xml";
    std::map<std::string, std::string> english;  // cp -> its English name
    {
        const std::string en = core::read_file(en_path.string());
        std::istringstream lines(en);
        Annotation a;
        for (std::string line; std::getline(lines, line);) {
            if (parse_annotation(line, a) && a.tts && !a.terms.empty()) english[a.cp] = a.terms.front();
        }
    }
    const size_t b = subject.find_first_not_of(" \t"), e = subject.find_last_not_of(" \t");
    if (b == std::string_view::npos) return {};
    const std::string want = lower_ascii(std::string(subject.substr(b, e - b + 1)));
    if (const auto it = english.find(without_fe0f(want)); it != english.end()) return {it->second};

    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".xml") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());  // the same order, so the same names, everywhere
    std::vector<std::string> by_name, by_keyword;
    const auto add = [&](std::vector<std::string>& to, const std::string& cp) {
        const auto it = english.find(cp);
        if (it != english.end() && std::find(to.begin(), to.end(), it->second) == to.end()) to.push_back(it->second);
    };
    const std::string needle = xml_escape(want);  // as the files write it
    Annotation a;
    for (const fs::path& file : files) {
        const std::string text = lower_ascii(core::read_file(file.string()));
        size_t done_to = 0;  // the end of the last line read: a term twice on a line is one match
        for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
            if (at < done_to) continue;
            const size_t line_begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
            size_t line_end = text.find('\n', at);
            if (line_end == std::string::npos) line_end = text.size();
            done_to = line_end;
            if (!parse_annotation(std::string_view(text).substr(line_begin, line_end - line_begin), a)) continue;
            if (std::find(a.terms.begin(), a.terms.end(), want) == a.terms.end()) continue;
            add(a.tts ? by_name : by_keyword, a.cp);
        }
    }
    return by_name.empty() ? by_keyword : by_name;
}

}  // namespace

std::vector<std::string> english_emoji_names(std::string_view subject, const std::string& dir) {
    // A lookup reads ~34 MB of annotations, and the same subjects come back (every seed of an
    // eval subject, a server's repeated requests): the answers are kept for the process, the
    // files being read-only package data. A directory without en.xml is not kept, so a package
    // installed later is found.
    static std::mutex mu;
    static std::map<std::string, std::vector<std::string>> answers;
    constexpr size_t kMaxAnswers = 4096;
    std::error_code ec;
    if (!fs::exists(fs::path(dir) / "en.xml", ec)) return {};
    const std::string key = dir + '\0' + std::string(subject);
    {
        std::lock_guard<std::mutex> lock(mu);
        if (const auto it = answers.find(key); it != answers.end()) return it->second;
    }
    std::vector<std::string> names = look_up(subject, dir);
    std::lock_guard<std::mutex> lock(mu);
    if (answers.size() >= kMaxAnswers) answers.clear();
    answers.emplace(key, names);
    return names;
}

}  // namespace lyra::art::visual
