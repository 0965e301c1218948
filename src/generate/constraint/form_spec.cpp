// Form files (form_spec.h): JSON -> FormSpec, every defect named by its key path.
#include "generate/constraint/form_spec.h"

#include <memory>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mmap.h"

namespace lyra::gen::constraint {

namespace {

using nlohmann::json;

[[noreturn]] void bad(std::string_view where, const std::string& key, const std::string& what) {
    throw_error(ErrorKind::InvalidArgument, "{}: {}: {}", where, key, what);
}

std::u32string chars(const json& v, std::string_view where, const std::string& key) {
    if (!v.is_string()) bad(where, key, fmt::format("expected a string of characters, got {}", v.type_name()));
    std::vector<uint32_t> cps;
    if (!decode_utf8(v.get<std::string>(), cps)) bad(where, key, "not valid UTF-8; expected UTF-8 text");
    std::u32string out(cps.begin(), cps.end());
    if (out.empty()) bad(where, key, "empty; expected at least one character");
    return out;
}

void only_keys(const json& obj, std::initializer_list<const char*> known, std::string_view where,
               const std::string& path) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool ok = false;
        for (const char* k : known) ok = ok || it.key() == k;
        if (!ok) bad(where, path + it.key(), "unknown key");
    }
}

int position(const std::string& key, std::string_view where, const std::string& path) {
    size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(key, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != key.size() || key.empty())
        bad(where, path, fmt::format("'{}' is not a unit index; expected an integer (negative counts from the end)", key));
    return v;
}

bool is_letter(uint32_t cp) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7);
}

// "dictionary": {"word": count or [counts], ...} or a name the caller resolves.
std::shared_ptr<const SyllableDictionary> dictionary(const json& j, std::string_view where,
                                                     const DictionaryResolver& resolve) {
    if (!j.contains("dictionary")) bad(where, "dictionary", "missing; the syllable unit needs a pronouncing dictionary");
    const json& d = j["dictionary"];
    if (d.is_string()) {
        const std::string name = d.get<std::string>();
        auto dict = resolve ? resolve(name) : nullptr;
        if (!dict) bad(where, "dictionary", fmt::format("'{}' is not a dictionary this program knows; expected an object of word: syllables or \"cmu\"", name));
        return dict;
    }
    if (!d.is_object() || d.empty())
        bad(where, "dictionary", "expected a non-empty object of word: syllables (a count or an array of counts) or a name");
    std::vector<SyllableWord> words;
    for (auto it = d.begin(); it != d.end(); ++it) {
        const std::string key = "dictionary." + it.key();
        SyllableWord w{.text = it.key()};
        for (char& c : w.text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        const json counts = it.value().is_array() ? it.value() : json::array({it.value()});
        if (counts.empty()) bad(where, key, "expected a syllable count 1..63 or an array of them");
        for (const json& n : counts) {
            if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > kMaxLineSyllables)
                bad(where, key, fmt::format("{} is not a syllable count; expected an integer 1..{}", n.dump(), kMaxLineSyllables));
            w.counts |= SyllableMask{1} << n.get<int>();
        }
        words.push_back(std::move(w));
    }
    try {
        return std::make_shared<const SyllableDictionary>(std::move(words));
    } catch (const Error& e) {
        bad(where, "dictionary", e.what());
    }
}

}  // namespace

FormSpec form_spec_from_json(const json& j, std::string_view where, const DictionaryResolver& resolve) {
    if (!j.is_object()) bad(where, "$", fmt::format("expected an object, got {}", j.type_name()));
    only_keys(j, {"unit", "dictionary", "allowed", "classes", "rhyme_groups", "closed", "lines"}, where, "");
    FormSpec spec;
    if (j.contains("unit") && !j["unit"].is_string()) bad(where, "unit", "expected a string");
    const std::string unit = j.value("unit", "cjk");
    const bool syllable = unit == "syllable";
    if (!syllable && unit != "cjk" && unit != "char" && unit != "letter")
        bad(where, "unit", fmt::format("'{}' is not a unit; expected cjk, char, letter or syllable", unit));
    if (j.contains("dictionary") && !syllable) bad(where, "dictionary", "only the syllable unit takes a dictionary");
    if (syllable) {
        spec.syllables = dictionary(j, where, resolve);
    } else if (unit == "cjk") {
        spec.is_unit = is_cjk;
    } else if (unit == "char") {
        spec.is_unit = [](uint32_t cp) { return cp != ' ' && cp != '\n' && cp != '\t' && cp != 0x3000; };
    } else {
        spec.is_unit = is_letter;
    }
    if (j.contains("allowed")) {
        const std::u32string a = chars(j["allowed"], where, "allowed");
        auto set = std::make_shared<std::unordered_set<uint32_t>>(a.begin(), a.end());
        spec.allowed = [set](uint32_t cp) { return set->count(cp) > 0; };
    }
    // The unit and the allowed characters are all that is_unit and allowed read: forms from files
    // (or requests) that agree on them share their character answers (FormSpec::rules_id).
    spec.rules_id = "form file\x1f" + unit + "\x1f" + (j.contains("allowed") ? j["allowed"].dump() : std::string("*"));
    if (j.contains("classes")) {
        const json& c = j["classes"];
        if (!c.is_object()) bad(where, "classes", "expected an object of name: characters");
        for (auto it = c.begin(); it != c.end(); ++it) {
            const std::u32string members = chars(it.value(), where, "classes." + it.key());
            auto set = std::make_shared<std::unordered_set<uint32_t>>(members.begin(), members.end());
            spec.classes[it.key()] = [set](uint32_t cp) { return set->count(cp) > 0; };
        }
    }
    if (j.contains("rhyme_groups")) {
        const json& g = j["rhyme_groups"];
        if (!g.is_array()) bad(where, "rhyme_groups", "expected an array of strings (one group each)");
        if (g.size() > static_cast<size_t>(kMaxRhymeGroups))
            bad(where, "rhyme_groups", fmt::format("{} groups; expected at most {}", g.size(), kMaxRhymeGroups));
        for (size_t i = 0; i < g.size(); ++i) {
            for (char32_t cp : chars(g[i], where, fmt::format("rhyme_groups[{}]", i)))
                spec.rhyme_groups[static_cast<uint32_t>(cp)].push_back(static_cast<int>(i));
        }
    }
    if (j.contains("closed")) {
        if (!j["closed"].is_boolean()) bad(where, "closed", "expected true or false");
        spec.closed = j["closed"].get<bool>();
    } else {
        spec.closed = true;
    }
    if (!j.contains("lines") || !j["lines"].is_array() || j["lines"].empty())
        bad(where, "lines", "missing or empty; expected an array of lines");
    std::set<std::string> labels;
    for (size_t i = 0; i < j["lines"].size(); ++i) {
        const json& l = j["lines"][i];
        const std::string path = fmt::format("lines[{}]", i);
        if (!l.is_object()) bad(where, path, "expected an object");
        only_keys(l, {"units", "fixed", "classes", "rhyme"}, where, path + ".");
        FormLine line;
        if (syllable) {
            const json& u = l.contains("units") ? l["units"] : json();
            if (!u.is_number_integer() || u.get<int64_t>() < 1 || u.get<int64_t>() > kMaxLineSyllables)
                bad(where, path + ".units",
                    fmt::format("{}; expected a syllable count 1..{}", u.is_null() ? "missing" : u.dump(), kMaxLineSyllables));
            line.units = u.get<int>();
            for (const char* k : {"fixed", "classes", "rhyme"})
                if (l.contains(k)) bad(where, path + "." + k, "not with the syllable unit (it names character positions)");
        } else if (l.contains("units")) {
            if (!l["units"].is_number_integer() || l["units"].get<int64_t>() < 0 || l["units"].get<int64_t>() > 1000)
                bad(where, path + ".units", "expected an integer 0..1000 (0 = any)");
            line.units = l["units"].get<int>();
        }
        if (l.contains("fixed")) {
            if (!l["fixed"].is_object()) bad(where, path + ".fixed", "expected an object of index: character");
            for (auto it = l["fixed"].begin(); it != l["fixed"].end(); ++it) {
                const std::string key = path + ".fixed." + it.key();
                int at = position(it.key(), where, key);
                if (at < 0) {
                    if (line.units <= 0) bad(where, key, "counts from the end; expected a line with units");
                    at += line.units;
                }
                if (at < 0 || (line.units > 0 && at >= line.units))
                    bad(where, key, fmt::format("outside the line's {} units", line.units));
                const std::u32string c = chars(it.value(), where, key);
                if (c.size() != 1) bad(where, key, "expected one character");
                if (!spec.is_unit(static_cast<uint32_t>(c[0])))
                    bad(where, key, fmt::format("'{}' is not a {} unit", it.value().get<std::string>(), unit));
                line.fixed[at] = static_cast<uint32_t>(c[0]);
            }
        }
        if (l.contains("classes")) {
            if (!l["classes"].is_object()) bad(where, path + ".classes", "expected an object of index: class name");
            for (auto it = l["classes"].begin(); it != l["classes"].end(); ++it) {
                const std::string key = path + ".classes." + it.key();
                if (!it.value().is_string()) bad(where, key, "expected a class name");
                const std::string name = it.value().get<std::string>();
                if (!spec.classes.count(name)) bad(where, key, fmt::format("'{}' is not among classes", name));
                line.classes[position(it.key(), where, key)] = name;
            }
        }
        if (l.contains("rhyme")) {
            if (!l["rhyme"].is_string() || l["rhyme"].get<std::string>().empty())
                bad(where, path + ".rhyme", "expected a non-empty label");
            if (spec.rhyme_groups.empty()) bad(where, path + ".rhyme", "needs rhyme_groups");
            line.rhyme = l["rhyme"].get<std::string>();
            labels.insert(line.rhyme);
        }
        spec.lines.push_back(std::move(line));
    }
    if (labels.size() > static_cast<size_t>(kMaxRhymeLabels))
        bad(where, "lines", fmt::format("{} rhyme labels; expected at most {}", labels.size(), kMaxRhymeLabels));
    return spec;
}

FormSpec load_form_spec(const std::string& path, const DictionaryResolver& resolve) {
    const std::string text = core::read_file(path);
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw_error(ErrorKind::InvalidArgument, "{}: not valid JSON (byte {}); expected a form object", path, e.byte);
    }
    return form_spec_from_json(j, path, resolve);
}

}  // namespace lyra::gen::constraint
