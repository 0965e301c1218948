// The "svg-icons" corpus builder (corpus.h).
#include "art/visual/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "art/common/data_paths.h"
#include "art/visual/dsl.h"
#include "art/visual/svg_import.h"
#include "core/error.h"

namespace lyra::art::visual {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(ErrorKind::NotFound, "svg-icons: cannot open '{}'", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// One line of subject text: no newlines, single spaces.
std::string one_line(std::string s) {
    for (char& c : s) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    return s;
}

bool emit_drawing(const std::string& subject, const std::string& path, size_t max_bytes,
                  const std::function<void(std::string)>& emit) {
    try {
        const std::string dsl = to_dsl(normalize_svg(read_file(path)).drawing);
        if (dsl.size() > max_bytes || dsl.find('\n') == dsl.size() - 1) return false;  // too long / empty
        std::string doc = "subject: " + one_line(subject) + "\n" + dsl;
        while (!doc.empty() && doc.back() == '\n') doc.pop_back();
        emit(std::move(doc));
        return true;
    } catch (const Error&) {
        return false;  // a file the normalizer refuses is left out
    }
}

}  // namespace

std::map<std::string, std::string> emoji_names(const std::string& emoji_test_path) {
    std::map<std::string, std::string> out;
    std::istringstream in(read_file(emoji_test_path));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const size_t semi = line.find(';');
        const size_t hash = line.find('#');
        if (semi == std::string::npos || hash == std::string::npos || hash < semi) continue;
        std::istringstream cps(line.substr(0, semi));
        std::string cp, key, key_nofe;
        while (cps >> cp) {
            std::transform(cp.begin(), cp.end(), cp.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            key += (key.empty() ? "" : "-") + cp;
            if (cp != "fe0f") key_nofe += (key_nofe.empty() ? "" : "-") + cp;
        }
        // "# 🍎 E0.6 red apple": the name follows the version
        std::string rest = line.substr(hash + 1);
        const size_t e = rest.find(" E");
        if (e == std::string::npos) continue;
        const size_t sp = rest.find(' ', e + 2);
        if (sp == std::string::npos) continue;
        const std::string name = rest.substr(sp + 1);
        out.emplace(key, name);
        out.emplace(key_nofe, name);
    }
    return out;
}

void build_svg_icons_corpus(const json& options, const std::function<void(std::string)>& emit) {
    if (!options.is_object()) {
        throw_error(ErrorKind::InvalidArgument, "svg-icons: options must be a table; expected an object, got {}", options.type_name());
    }
    std::vector<std::string> sources = {"twemoji", "tabler"};
    size_t max_bytes = 1500, limit = 0;
    for (const auto& [k, v] : options.items()) {
        if (k == "sources") {
            if (!v.is_array()) throw_error(ErrorKind::InvalidArgument, "svg-icons: sources; expected an array of \"twemoji\"/\"tabler\", got {}", v.dump());
            sources.clear();
            for (const auto& s : v) {
                if (!s.is_string() || (s != "twemoji" && s != "tabler")) {
                    throw_error(ErrorKind::InvalidArgument, "svg-icons: unknown source; expected \"twemoji\" or \"tabler\", got {}", s.dump());
                }
                sources.push_back(s.get<std::string>());
            }
        } else if (k == "max_dsl_bytes" || k == "limit") {
            if (!v.is_number_integer() || v.get<int64_t>() < 0) {
                throw_error(ErrorKind::InvalidArgument, "svg-icons: {}; expected a non-negative integer, got {}", k, v.dump());
            }
            (k == "limit" ? limit : max_bytes) = v.get<size_t>();
        } else if (k != "builder" && k != "output") {
            throw_error(ErrorKind::InvalidArgument, "svg-icons: unknown option; expected sources, max_dsl_bytes or limit, got '{}'", k);
        }
    }
    size_t n = 0;
    auto counted = [&](std::string doc) {
        ++n;
        emit(std::move(doc));
    };
    for (const std::string& src : sources) {
        if (limit > 0 && n >= limit) break;
        if (src == "twemoji") {
            const auto names = emoji_names(system_file("/usr/share/unicode/emoji/emoji-test.txt", "unicode-data"));
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(npm_package_dir("@twemoji/svg"))) {
                if (e.path().extension() == ".svg") files.push_back(e.path());
            }
            std::sort(files.begin(), files.end());
            for (const fs::path& p : files) {
                if (limit > 0 && n >= limit) break;
                auto it = names.find(p.stem().string());
                if (it == names.end()) continue;  // no name: nothing to condition on
                emit_drawing(it->second, p.string(), max_bytes, counted);
            }
        } else {
            const fs::path dir = npm_package_dir("@tabler/icons");
            const json meta = json::parse(read_file((dir / "icons.json").string()), nullptr, false);
            if (!meta.is_object()) throw_error(ErrorKind::Corrupt, "svg-icons: {}: not a JSON object", (dir / "icons.json").string());
            for (const auto& [name, info] : meta.items()) {
                if (limit > 0 && n >= limit) break;
                std::string subject = name;
                std::replace(subject.begin(), subject.end(), '-', ' ');
                if (info.is_object() && info.contains("tags") && info["tags"].is_array()) {
                    std::string tags;
                    for (const auto& t : info["tags"]) {
                        if (t.is_string()) tags += (tags.empty() ? "" : ", ") + t.get<std::string>();
                    }
                    if (!tags.empty()) subject += "; " + tags;
                }
                for (const char* style : {"outline", "filled"}) {
                    const fs::path p = dir / "icons" / style / (name + ".svg");
                    std::error_code ec;
                    if (!fs::exists(p, ec)) continue;
                    emit_drawing(std::string(style) == "filled" ? subject + "; filled" : subject, p.string(), max_bytes, counted);
                }
            }
        }
    }
}

}  // namespace lyra::art::visual
