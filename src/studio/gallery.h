// The gallery: every finished work (from the CLI or the server) recorded in one SQLite file with
// everything needed to see it again and to make it again — art form, text, artifact paths, the
// model file and its sha256, the full request (every option and the seed, defaults filled in),
// the critics' scores and the time. `lyra gallery list|show|export` and GET /v1/gallery read it;
// `lyra gallery show ID --rerun` runs the stored request through the same form.
//
// The file: $LYRA_GALLERY, else $XDG_DATA_HOME/lyra/gallery.sqlite, else
// ~/.local/share/lyra/gallery.sqlite; LYRA_GALLERY=off turns recording off. The schema is
// versioned (PRAGMA user_version); a file written by a newer Lyra is refused, not altered.
// Several processes may write at once (WAL journal, 5 s busy timeout); one Gallery object is
// thread-safe (calls are serialised by its own mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"

struct sqlite3;

namespace lyra::studio {

// One recorded work.
struct GalleryWork {
    int64_t id = -1;
    std::string created_at;  // UTC, ISO 8601 ("2026-11-28T23:10:34Z")
    std::string source;      // who recorded it: "cli", "server", "demo"
    std::string form;        // "poem", "tune", "paint", "story", "play"
    std::string text;
    std::map<std::string, std::string> files;  // artifact kind -> path as written
    std::string model;                         // GGUF path ("" when the form used none)
    std::string model_sha256;
    uint64_t seed = 0;
    nlohmann::json request = nlohmann::json::object();  // the full request: reruns the work
    nlohmann::json scores = nlohmann::json::object();
    nlohmann::json candidates = nlohmann::json::array();  // [{"text","scores"}], best first
};

// {"id","created_at","source","form","text","files","model","model_sha256","seed","request",
//  "scores","candidates"} — the shape of `lyra gallery show --json` and GET /v1/gallery/{id}.
nlohmann::json work_to_json(const GalleryWork& w);

struct GalleryQuery {
    std::string form;       // "" = every form
    int64_t limit = 50;     // 1..1000
    int64_t before_id = 0;  // > 0: only works with id < before_id (paging, newest first)
};

class Gallery {
public:
    // Opens (creating the file, its directory and the schema if needed). Throws Error(Io) when
    // the file cannot be opened or created, Error(Corrupt) when it is not a Lyra gallery,
    // Error(Unsupported) when its schema is newer than this Lyra's.
    explicit Gallery(std::string path);
    ~Gallery();
    Gallery(const Gallery&) = delete;
    Gallery& operator=(const Gallery&) = delete;

    const std::string& path() const { return path_; }

    // Records a finished work; returns its id. `source` is "cli", "server" or "demo".
    int64_t record(const art::ArtResult& work, std::string_view source);
    // Newest first.
    std::vector<GalleryWork> list(const GalleryQuery& q) const;
    std::optional<GalleryWork> get(int64_t id) const;
    int64_t count(std::string_view form = {}) const;

    static constexpr int kSchemaVersion = 1;

private:
    std::string path_;
    sqlite3* db_ = nullptr;
    mutable std::mutex mu_;
};

// The gallery file to use: $LYRA_GALLERY (nullopt when it is "off"), else the XDG default above.
std::optional<std::string> default_gallery_path();

// Records `work` in the default gallery (or `path` when given) and sets work.gallery_id. Never
// throws: a failure (unwritable file, locked too long, disk full) prints one warning on stderr and
// leaves work.gallery_id = -1 — the work itself is never lost because the gallery failed.
// Returns the id or -1. Disabled (returns -1 silently) when default_gallery_path() is nullopt.
int64_t record_in_gallery(art::ArtResult& work, std::string_view source,
                          std::optional<std::string> path = std::nullopt);

// Writes a static HTML page of every work (newest first) with its settings and scores to
// out_dir/index.html; each work's artifacts are copied into out_dir/files/<id>/ and linked
// (missing artifacts are listed as missing). Returns the number of works written. Written
// atomically (the page last); throws Error(Io).
int64_t export_gallery_html(const Gallery& g, const std::string& out_dir);

}  // namespace lyra::studio
