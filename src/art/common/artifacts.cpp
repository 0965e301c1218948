// ArtifactSet (artifacts.h).
#include "art/common/artifacts.h"

#include <filesystem>
#include <system_error>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lyra::art {

namespace fs = std::filesystem;

ArtifactSet::ArtifactSet(std::string dir) : dir_(std::move(dir)) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec || !fs::is_directory(dir_)) {
        throw_error(ErrorKind::Io, "output directory '{}': cannot create it: {}", dir_,
                    ec ? ec.message() : "a file of that name exists");
    }
}

ArtifactSet::~ArtifactSet() {
    if (committed_) return;
    for (const Entry& e : entries_) {
        std::error_code ec;
        fs::remove(e.tmp, ec);
    }
}

std::string ArtifactSet::reserve(std::string_view kind, std::string_view name) {
    if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..") {
        throw_error(ErrorKind::InvalidArgument, "artifact name '{}': expected a plain file name", name);
    }
    Entry e{.kind = std::string(kind),
            .tmp = (fs::path(dir_) / (".lyra-tmp-" + std::string(name))).string(),
            .final_path = (fs::path(dir_) / std::string(name)).string()};
    entries_.push_back(e);
    return e.tmp;
}

std::string ArtifactSet::add(std::string_view kind, std::string_view name, std::string_view bytes) {
    const std::string tmp = reserve(kind, name);
    core::write_file_atomic(tmp, bytes);
    return entries_.back().final_path;
}

std::map<std::string, std::string> ArtifactSet::commit() {
    for (const Entry& e : entries_) {
        if (!fs::exists(e.tmp)) {
            throw_error(ErrorKind::Io, "artifact '{}': the renderer did not write it", e.final_path);
        }
    }
    std::map<std::string, std::string> files;
    for (const Entry& e : entries_) {
        std::error_code ec;
        fs::rename(e.tmp, e.final_path, ec);
        if (ec) throw_error(ErrorKind::Io, "artifact '{}': cannot rename into place: {}", e.final_path, ec.message());
        files[e.kind] = e.final_path;
    }
    committed_ = true;
    return files;
}

}  // namespace lyra::art
