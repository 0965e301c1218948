// Data preparation (data_prep.h): builder -> clean -> de-duplicate -> atomic write + report.
#include "studio/data_prep.h"

#include <glob.h>
#include <utf8proc.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "studio/registry.h"

namespace lyra::studio {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// TOML value -> JSON (the [prep] options).
json toml_to_json(const toml::node& n) {
    if (const auto* s = n.as_string()) return s->get();
    if (const auto* i = n.as_integer()) return i->get();
    if (const auto* f = n.as_floating_point()) return f->get();
    if (const auto* b = n.as_boolean()) return b->get();
    if (const auto* a = n.as_array()) {
        json out = json::array();
        for (const auto& e : *a) out.push_back(toml_to_json(e));
        return out;
    }
    if (const auto* t = n.as_table()) {
        json out = json::object();
        for (const auto& [k, v] : *t) out[std::string(k.str())] = toml_to_json(v);
        return out;
    }
    if (const auto* d = n.as_date()) {
        const toml::date v = d->get();
        return fmt::format("{:04}-{:02}-{:02}", v.year, v.month, v.day);
    }
    throw_error(ErrorKind::Unsupported, "prep: times are not supported as builder options");
}

// Valid UTF-8 with no overlong forms or surrogates (utf8proc's decoder checks both).
bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
    utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
    while (left > 0) {
        utf8proc_int32_t cp = 0;
        const utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
        if (n <= 0 || cp < 0) return false;
        p += n;
        left -= n;
    }
    return true;
}

std::string nfc(const std::string& s) {
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                            static_cast<utf8proc_ssize_t>(s.size()), &out,
                                            static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n < 0) return s;  // cannot happen for valid UTF-8; keep the text rather than lose it
    std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    std::free(out);
    return r;
}

bool is_blank(std::string_view line) {
    return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

// Splits UTF-8 text into code points (as strings).
template <typename Fn>
void for_each_char(std::string_view s, Fn fn) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        fn(s.substr(i, len));
        i += len;
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(ErrorKind::Io, "corpus file '{}': cannot read", path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

std::optional<PrepSpec> read_prep_spec(const std::string& recipe_path) {
    std::error_code ec;
    if (!fs::is_regular_file(recipe_path, ec)) {
        throw_error(ErrorKind::NotFound, "recipe '{}': no such file; expected a TOML recipe (recipes/*.toml)",
                    recipe_path);
    }
    toml::table root;
    try {
        root = toml::parse_file(recipe_path);
    } catch (const toml::parse_error& e) {
        throw_error(ErrorKind::Corrupt, "recipe '{}': line {}: {}", recipe_path,
                    e.source().begin.line, std::string(e.description()));
    }
    const toml::node* prep = root.get("prep");
    if (prep == nullptr) return std::nullopt;
    if (!prep->is_table()) {
        throw_error(ErrorKind::InvalidArgument, "recipe '{}': prep: expected a table", recipe_path);
    }
    PrepSpec spec;
    spec.recipe = recipe_path;
    for (const auto& [k, v] : *prep->as_table()) {
        const std::string key(k.str());
        if (key == "builder" || key == "output") {
            if (!v.is_string() || v.as_string()->get().empty()) {
                throw_error(ErrorKind::InvalidArgument,
                            "recipe '{}': prep.{}: expected a non-empty string", recipe_path, key);
            }
            (key == "builder" ? spec.builder : spec.output) = v.as_string()->get();
        } else {
            spec.options[key] = toml_to_json(v);
        }
    }
    if (spec.builder.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "recipe '{}': prep.builder: missing; expected a corpus builder name", recipe_path);
    }
    if (spec.output.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "recipe '{}': prep.output: missing; expected the corpus file to write "
                    "(\"build/data/<name>.txt\")",
                    recipe_path);
    }
    return spec;
}

bool clean_document(const std::string& raw, std::vector<std::string>& out) {
    if (!valid_utf8(raw)) return false;
    const std::string text = nfc(raw);
    // Line by line: CRLF/CR -> LF, trailing whitespace cut; blank lines end a paragraph.
    std::string para;
    auto flush = [&] {
        if (!para.empty()) out.push_back(std::move(para));
        para.clear();
    };
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + start, end - start);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t' ||
                                 line.back() == '\f' || line.back() == '\v')) {
            line.remove_suffix(1);
        }
        if (is_blank(line)) {
            flush();
        } else {
            if (!para.empty()) para += '\n';
            para += line;
        }
        start = end + 1;
    }
    flush();
    return true;
}

json report_to_json(const PrepReport& r) {
    json hist = json::array();
    for (const auto& [bound, count] : r.length_histogram) hist.push_back({{"max_chars", bound}, {"docs", count}});
    json top = json::array();
    for (const auto& [c, n] : r.top_chars) top.push_back({{"char", c}, {"count", n}});
    return {{"builder", r.builder},
            {"output", r.output},
            {"emitted", r.emitted},
            {"docs", r.docs},
            {"bytes", r.bytes},
            {"characters", r.characters},
            {"distinct_chars", r.distinct_chars},
            {"duplicates_removed", r.duplicates_removed},
            {"invalid_utf8_dropped", r.invalid_utf8},
            {"empty_dropped", r.empty_dropped},
            {"split_added", r.split_added},
            {"min_chars", r.min_chars},
            {"max_chars", r.max_chars},
            {"mean_chars", r.mean_chars},
            {"length_histogram", hist},
            {"top_chars", top},
            {"seconds", r.seconds}};
}

std::string format_prep_summary(const PrepReport& r) {
    std::string s = fmt::format(
        "data prep ({}): {} documents, {} bytes, {} characters ({} distinct) -> {}\n"
        "  emitted {}, duplicates removed {}, invalid UTF-8 dropped {}, empty dropped {}, "
        "split at blank lines +{}\n"
        "  length (chars): min {}, mean {:.1f}, max {}\n",
        r.builder, r.docs, r.bytes, r.characters, r.distinct_chars, r.output, r.emitted,
        r.duplicates_removed, r.invalid_utf8, r.empty_dropped, r.split_added, r.min_chars,
        r.mean_chars, r.max_chars);
    int64_t peak = 1;
    for (const auto& [b, n] : r.length_histogram) peak = std::max(peak, n);
    for (const auto& [b, n] : r.length_histogram) {
        const int width = static_cast<int>(40 * n / peak);
        s += fmt::format("  <= {:>7} {:>8} {}\n", b, n, std::string(static_cast<size_t>(width), '#'));
    }
    s += fmt::format("  report: {}\n", r.report_path);
    return s;
}

PrepReport run_data_prep(const PrepSpec& spec) {
    const auto t0 = std::chrono::steady_clock::now();
    const CorpusBuilderInfo* b = find_corpus_builder(spec.builder);
    if (b == nullptr) {
        std::string names;
        for (const auto& c : corpus_builders()) names += (names.empty() ? "" : ", ") + c.name;
        throw_error(ErrorKind::InvalidArgument,
                    "recipe '{}': prep.builder: unknown corpus builder; expected one of {}, got \"{}\"",
                    spec.recipe, names, spec.builder);
    }
    PrepReport r;
    r.builder = spec.builder;
    r.output = spec.output;
    r.report_path = spec.output + ".report.json";

    // 1. Build and clean in memory (nothing is written until the corpus is known to be good).
    std::vector<std::string> docs;
    std::unordered_set<std::string> seen;
    std::vector<std::string> pieces;
    b->build(spec.options, [&](std::string raw) {
        ++r.emitted;
        pieces.clear();
        if (!clean_document(raw, pieces)) {
            ++r.invalid_utf8;
            return;
        }
        if (pieces.empty()) {
            ++r.empty_dropped;
            return;
        }
        r.split_added += static_cast<int64_t>(pieces.size()) - 1;
        for (std::string& p : pieces) {
            if (!seen.insert(p).second) {
                ++r.duplicates_removed;
                continue;
            }
            docs.push_back(std::move(p));
        }
    });
    if (docs.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "recipe '{}': builder \"{}\" produced an empty corpus; expected at least one "
                    "document, got {} emitted ({} invalid UTF-8, {} empty, {} duplicates); hint: "
                    "check the [prep] sources",
                    spec.recipe, spec.builder, r.emitted, r.invalid_utf8, r.empty_dropped,
                    r.duplicates_removed);
    }

    // 2. Statistics.
    std::unordered_map<std::string, int64_t> freq;
    std::vector<int64_t> lengths;
    lengths.reserve(docs.size());
    for (const std::string& d : docs) {
        int64_t n = 0;
        for_each_char(d, [&](std::string_view c) {
            ++n;
            ++freq[std::string(c)];
        });
        lengths.push_back(n);
        r.bytes += static_cast<int64_t>(d.size());
        r.characters += n;
    }
    r.docs = static_cast<int64_t>(docs.size());
    r.distinct_chars = static_cast<int64_t>(freq.size());
    r.min_chars = *std::min_element(lengths.begin(), lengths.end());
    r.max_chars = *std::max_element(lengths.begin(), lengths.end());
    r.mean_chars = static_cast<double>(r.characters) / static_cast<double>(r.docs);
    std::map<int64_t, int64_t> buckets;  // upper bound -> count; powers of two from 16
    for (int64_t n : lengths) {
        int64_t bound = 16;
        while (bound < n) bound *= 2;
        ++buckets[bound];
    }
    for (const auto& [bound, count] : buckets) r.length_histogram.emplace_back(bound, count);
    std::vector<std::pair<std::string, int64_t>> chars(freq.begin(), freq.end());
    std::sort(chars.begin(), chars.end(), [](const auto& a, const auto& x) {
        return a.second != x.second ? a.second > x.second : a.first < x.first;
    });
    if (chars.size() > 20) chars.resize(20);
    r.top_chars = std::move(chars);

    // 3. Write the corpus, then the report, each atomically.
    std::error_code ec;
    const fs::path parent = fs::path(spec.output).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) {
        throw_error(ErrorKind::Io, "prep.output '{}': cannot create its directory: {}", spec.output,
                    ec.message());
    }
    {
        core::AtomicFile f(spec.output);
        for (size_t i = 0; i < docs.size(); ++i) {
            if (i > 0) f.write("\n\n");
            f.write(docs[i]);
        }
        f.write("\n");
        f.commit();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    core::write_file_atomic(r.report_path, report_to_json(r).dump(2) + "\n");
    return r;
}

// ------------------------------------------------------------------------------------------
// The generic "text" builder.

void build_text_corpus(const json& options, const std::function<void(std::string)>& emit) {
    for (const auto& [k, v] : options.items()) {
        if (k != "files" && k != "min_chars") {
            throw_error(ErrorKind::InvalidArgument,
                        "prep.{}: unknown key for the \"text\" builder; expected files or min_chars", k);
        }
    }
    std::vector<std::string> patterns;
    if (!options.contains("files")) {
        throw_error(ErrorKind::InvalidArgument,
                    "prep.files: missing; expected a file, folder or glob (or a list of them)");
    }
    const json& files = options["files"];
    if (files.is_string()) {
        patterns.push_back(files.get<std::string>());
    } else if (files.is_array() && !files.empty()) {
        for (const auto& f : files) {
            if (!f.is_string()) {
                throw_error(ErrorKind::InvalidArgument, "prep.files: expected strings, got {}", f.dump());
            }
            patterns.push_back(f.get<std::string>());
        }
    } else {
        throw_error(ErrorKind::InvalidArgument,
                    "prep.files: expected a string or a non-empty list of strings, got {}", files.dump());
    }
    int64_t min_chars = 1;
    if (options.contains("min_chars")) {
        if (!options["min_chars"].is_number_integer() || options["min_chars"].get<int64_t>() < 1) {
            throw_error(ErrorKind::InvalidArgument, "prep.min_chars: expected an integer >= 1, got {}",
                        options["min_chars"].dump());
        }
        min_chars = options["min_chars"].get<int64_t>();
    }

    // Expand every pattern first, so a missing source fails before anything is read.
    std::vector<std::string> paths;
    for (const std::string& pat : patterns) {
        std::error_code ec;
        if (fs::is_directory(pat, ec)) {
            std::vector<std::string> in_dir;
            for (const auto& e : fs::recursive_directory_iterator(pat, ec)) {
                if (e.is_regular_file()) in_dir.push_back(e.path().string());
            }
            std::sort(in_dir.begin(), in_dir.end());
            if (in_dir.empty()) {
                throw_error(ErrorKind::NotFound, "prep.files: folder '{}' has no files", pat);
            }
            paths.insert(paths.end(), in_dir.begin(), in_dir.end());
            continue;
        }
        glob_t g{};
        const int rc = ::glob(pat.c_str(), 0, nullptr, &g);
        std::vector<std::string> found;
        if (rc == 0) {
            for (size_t i = 0; i < g.gl_pathc; ++i) {
                if (fs::is_regular_file(g.gl_pathv[i], ec)) found.emplace_back(g.gl_pathv[i]);
            }
        }
        globfree(&g);
        if (found.empty()) {
            throw_error(ErrorKind::NotFound,
                        "prep.files: '{}' matches no file; expected an existing file, folder or glob "
                        "(relative to the working directory)",
                        pat);
        }
        paths.insert(paths.end(), found.begin(), found.end());
    }
    for (const std::string& p : paths) {
        const std::string text = read_file(p);
        // Paragraphs at blank lines; cleaning (clean_document) happens in run_data_prep, so a
        // file with bad bytes only loses the paragraphs that hold them.
        std::string para;
        std::istringstream in(text);
        std::string line;
        auto flush = [&] {
            int64_t chars = 0;
            for (char c : para) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
            if (chars >= min_chars) emit(para);
            para.clear();
        };
        while (std::getline(in, line)) {
            if (is_blank(line)) {
                flush();
            } else {
                para += line;
                para += '\n';
            }
        }
        flush();
    }
}

}  // namespace lyra::studio
