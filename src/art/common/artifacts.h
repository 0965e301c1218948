// ArtifactSet: writes a work's files into its output directory all-or-nothing. Each file is
// written under a temporary name; commit() renames them all into place. If the set dies without
// commit() (a renderer failed half-way), every temporary file is removed and nothing of the work
// is left behind — the "no partial output files" rule for multi-file results.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lyra::art {

class ArtifactSet {
public:
    // Creates `dir` (and its parents) if needed; throws Error(Io) if it cannot.
    explicit ArtifactSet(std::string dir);
    ~ArtifactSet();
    ArtifactSet(const ArtifactSet&) = delete;
    ArtifactSet& operator=(const ArtifactSet&) = delete;

    // Writes `bytes` as `name` (a plain file name, no '/'), recorded under `kind` ("abc",
    // "mid"...). Returns the final path the file will have after commit().
    std::string add(std::string_view kind, std::string_view name, std::string_view bytes);
    // For files another program writes (abcm2ps, a renderer): a temporary path in the same
    // directory to write to; it becomes `name` at commit(). Throws Error(Io) at commit() if the
    // program did not create it.
    std::string reserve(std::string_view kind, std::string_view name);
    // Renames every file into place; returns kind -> final path.
    std::map<std::string, std::string> commit();

    const std::string& dir() const { return dir_; }

private:
    struct Entry {
        std::string kind, tmp, final_path;
    };
    std::string dir_;
    std::vector<Entry> entries_;
    bool committed_ = false;
};

}  // namespace lyra::art
