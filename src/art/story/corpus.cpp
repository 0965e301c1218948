// The "prose" corpus builder (corpus.h).
#include "art/story/corpus.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "art/common/art.h"
#include "art/common/data_paths.h"
#include "core/error.h"
#include "core/mmap.h"

namespace lyra::art::story {

namespace {

// Emits each blank-line-separated paragraph of `text`; `unwrap` joins its lines with spaces.
void paragraphs(const std::string& text, bool unwrap, size_t min_chars, size_t max_chars,
                const std::function<void(std::string)>& emit) {
    std::istringstream in(text);
    std::string line, para;
    auto flush = [&] {
        const size_t a = para.find_first_not_of(" \n");
        const size_t b = para.find_last_not_of(" \n");
        if (a != std::string::npos) {
            std::string p = para.substr(a, b - a + 1);
            if (p.size() >= min_chars && p.size() <= max_chars) emit(std::move(p));
        }
        para.clear();
    };
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) {
            flush();
            continue;
        }
        if (!para.empty()) para += unwrap ? ' ' : '\n';
        if (unwrap) {
            const size_t a = line.find_first_not_of(" \t");
            para += line.substr(a);
        } else {
            para += line;
        }
    }
    flush();
}

}  // namespace

void build_prose_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit) {
    check_keys(options, {"sources", "min_chars", "max_chars"}, "prose corpus");
    std::vector<std::string> sources = {"english-stories", "tinyshakespeare"};
    if (options.contains("sources")) {
        if (!options["sources"].is_array() || options["sources"].empty()) {
            throw_error(ErrorKind::InvalidArgument, "sources: expected a non-empty array of folder names, got {}",
                        options["sources"].dump());
        }
        sources.clear();
        for (const auto& s : options["sources"]) {
            if (!s.is_string()) throw_error(ErrorKind::InvalidArgument, "sources: expected folder names, got {}", s.dump());
            sources.push_back(s.get<std::string>());
        }
    }
    const size_t min_chars = static_cast<size_t>(get_int(options, "min_chars", 40, 1, 100000));
    const size_t max_chars = static_cast<size_t>(get_int(options, "max_chars", 3000, 1, 1000000));
    const std::filesystem::path root = shared_data_dir();
    for (const std::string& s : sources) {
        const std::filesystem::path dir = root / s;
        if (!std::filesystem::is_directory(dir)) {
            throw_error(ErrorKind::NotFound, "prose corpus: no folder '{}'; expected a folder of .txt files in {}", s,
                        root.string());
        }
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());  // a fixed order: the same corpus every time
        const bool play = s == "tinyshakespeare";
        for (const auto& f : files) paragraphs(core::read_file(f.string()), !play, min_chars, max_chars, emit);
    }
}

}  // namespace lyra::art::story
