// The gallery (gallery.h): one SQLite table of works, JSON columns for the structured parts.
#include "studio/gallery.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "core/atomic_file.h"
#include "core/error.h"
#include "studio/html.h"

namespace lyra::studio {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// JSON text that never throws on invalid UTF-8 (an untrained model's text): bad bytes -> U+FFFD.
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string now_utc_iso() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// A statement that finalises itself.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql, const std::string& path) : db_(db), path_(path) {
        if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) fail("prepare");
    }
    ~Stmt() { sqlite3_finalize(st_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    void bind(int i, std::string_view s) {
        // An empty view may have a null data(): sqlite would bind NULL, not ''.
        sqlite3_bind_text(st_, i, s.empty() ? "" : s.data(), static_cast<int>(s.size()),
                          SQLITE_TRANSIENT);
    }
    void bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
    // True while there is a row.
    bool step() {
        const int rc = sqlite3_step(st_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail("step");
    }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
        return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(st_, col));
    }
    int64_t int64(int col) const { return sqlite3_column_int64(st_, col); }

    [[noreturn]] void fail(const char* what) const {
        const int rc = sqlite3_errcode(db_);
        const ErrorKind kind = rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? ErrorKind::Corrupt : ErrorKind::Io;
        throw_error(kind, "gallery '{}': {} failed: {}{}", path_, what, sqlite3_errmsg(db_),
                    kind == ErrorKind::Corrupt ? "; expected a Lyra gallery (SQLite); hint: set "
                                                 "LYRA_GALLERY to another file"
                                               : "");
    }

private:
    sqlite3* db_;
    const std::string& path_;
    sqlite3_stmt* st_ = nullptr;
};

void exec(sqlite3* db, const char* sql, const std::string& path) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        const std::string m = msg != nullptr ? msg : "unknown error";
        sqlite3_free(msg);
        const int rc = sqlite3_errcode(db);
        if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) {
            throw_error(ErrorKind::Corrupt,
                        "gallery '{}': not a SQLite database ({}); expected a Lyra gallery; hint: "
                        "set LYRA_GALLERY to another file",
                        path, m);
        }
        throw_error(ErrorKind::Io, "gallery '{}': {}", path, m);
    }
}

json parse_or(const std::string& s, json fallback) {
    json j = json::parse(s, nullptr, false);
    return j.is_discarded() ? fallback : j;
}

constexpr const char* kColumns =
    "id, created_at, source, form, text, files, model, model_sha256, seed, request, scores, "
    "candidates";

GalleryWork read_row(const Stmt& s) {
    GalleryWork w;
    w.id = s.int64(0);
    w.created_at = s.text(1);
    w.source = s.text(2);
    w.form = s.text(3);
    w.text = s.text(4);
    const json files = parse_or(s.text(5), json::object());
    for (const auto& [k, v] : files.items()) {
        if (v.is_string()) w.files[k] = v.get<std::string>();
    }
    w.model = s.text(6);
    w.model_sha256 = s.text(7);
    w.seed = static_cast<uint64_t>(s.int64(8));
    w.request = parse_or(s.text(9), json::object());
    w.scores = parse_or(s.text(10), json::object());
    w.candidates = parse_or(s.text(11), json::array());
    return w;
}

std::string absolute_or_same(const std::string& p) {
    if (p.empty()) return p;
    std::error_code ec;
    const fs::path a = fs::absolute(p, ec);
    return ec ? p : a.lexically_normal().string();
}

}  // namespace

json work_to_json(const GalleryWork& w) {
    return {{"id", w.id},       {"created_at", w.created_at}, {"source", w.source},
            {"form", w.form},   {"text", w.text},             {"files", w.files},
            {"model", w.model}, {"model_sha256", w.model_sha256}, {"seed", w.seed},
            {"request", w.request}, {"scores", w.scores},     {"candidates", w.candidates}};
}

Gallery::Gallery(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    const fs::path parent = fs::path(path_).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) {
        throw_error(ErrorKind::Io, "gallery '{}': cannot create its directory: {}", path_,
                    ec.message());
    }
    const int rc = sqlite3_open_v2(path_.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw_error(ErrorKind::Io, "gallery '{}': cannot open: {}; hint: set LYRA_GALLERY to a "
                    "writable file or to 'off'", path_, msg);
    }
    try {
        sqlite3_busy_timeout(db_, 5000);
        exec(db_, "PRAGMA journal_mode=WAL", path_);
        // Create or check the schema under a write lock, so two processes opening a new file at
        // once do not both create it.
        exec(db_, "BEGIN IMMEDIATE", path_);
        try {
            Stmt v(db_, "PRAGMA user_version", path_);
            v.step();
            const int64_t version = v.int64(0);
            Stmt t(db_, "SELECT count(*) FROM sqlite_master WHERE type='table'", path_);
            t.step();
            const int64_t tables = t.int64(0);
            if (version > kSchemaVersion) {
                throw_error(ErrorKind::Unsupported,
                            "gallery '{}': schema version {} is newer than this Lyra's; expected "
                            "<= {}, got {}; hint: use a newer lyra or another LYRA_GALLERY",
                            path_, version, kSchemaVersion, version);
            }
            if (version == 0 && tables > 0) {
                throw_error(ErrorKind::Corrupt,
                            "gallery '{}': a SQLite file that is not a Lyra gallery; expected "
                            "schema version {}, got 0 with {} foreign tables; hint: set "
                            "LYRA_GALLERY to another file",
                            path_, kSchemaVersion, tables);
            }
            if (version == 0) {
                exec(db_,
                     "CREATE TABLE works ("
                     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                     " created_at TEXT NOT NULL, source TEXT NOT NULL, form TEXT NOT NULL,"
                     " text TEXT NOT NULL, files TEXT NOT NULL, model TEXT NOT NULL,"
                     " model_sha256 TEXT NOT NULL, seed INTEGER NOT NULL, request TEXT NOT NULL,"
                     " scores TEXT NOT NULL, candidates TEXT NOT NULL);"
                     "CREATE INDEX works_by_form ON works(form, id);"
                     "PRAGMA user_version = 1;",
                     path_);
            }
            exec(db_, "COMMIT", path_);
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

Gallery::~Gallery() { sqlite3_close(db_); }

int64_t Gallery::record(const art::ArtResult& r, std::string_view source) {
    json files = json::object();
    for (const auto& [kind, p] : r.files) files[kind] = absolute_or_same(p);
    // A relative model path in the request is made absolute, so --rerun works from any directory.
    json request = r.request;
    if (request.is_object() && request.contains("model") && request["model"].is_string()) {
        const std::string m = request["model"].get<std::string>();
        std::error_code ec;
        if (!m.empty() && fs::exists(m, ec)) request["model"] = absolute_or_same(m);
    }
    json cands = json::array();
    for (const art::Candidate& c : r.candidates) {
        cands.push_back({{"text", c.text}, {"scores", c.scores}, {"score", c.score}});
    }
    std::lock_guard lock(mu_);
    Stmt s(db_,
           "INSERT INTO works (created_at, source, form, text, files, model, model_sha256, seed,"
           " request, scores, candidates) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
           path_);
    s.bind(1, now_utc_iso());
    s.bind(2, source);
    s.bind(3, r.form);
    s.bind(4, r.text);  // the exact bytes, so --rerun can compare byte for byte
    s.bind(5, dump(files));
    s.bind(6, absolute_or_same(r.model));
    s.bind(7, r.model_sha256);
    s.bind(8, static_cast<int64_t>(r.seed));
    s.bind(9, dump(request));
    s.bind(10, dump(r.scores));
    s.bind(11, dump(cands));
    s.step();
    return sqlite3_last_insert_rowid(db_);
}

std::vector<GalleryWork> Gallery::list(const GalleryQuery& q) const {
    if (q.limit < 1 || q.limit > 1000) {
        throw_error(ErrorKind::InvalidArgument, "gallery limit: out of range; expected 1..1000, got {}",
                    q.limit);
    }
    const std::string sql = std::string("SELECT ") + kColumns +
                            " FROM works WHERE (?1 = '' OR form = ?1) AND (?2 <= 0 OR id < ?2)"
                            " ORDER BY id DESC LIMIT ?3";
    std::lock_guard lock(mu_);
    Stmt s(db_, sql.c_str(), path_);
    s.bind(1, q.form);
    s.bind(2, q.before_id);
    s.bind(3, q.limit);
    std::vector<GalleryWork> out;
    while (s.step()) out.push_back(read_row(s));
    return out;
}

std::optional<GalleryWork> Gallery::get(int64_t id) const {
    const std::string sql = std::string("SELECT ") + kColumns + " FROM works WHERE id = ?1";
    std::lock_guard lock(mu_);
    Stmt s(db_, sql.c_str(), path_);
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_row(s);
}

int64_t Gallery::count(std::string_view form) const {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT count(*) FROM works WHERE (?1 = '' OR form = ?1)", path_);
    s.bind(1, form);
    s.step();
    return s.int64(0);
}

std::optional<std::string> default_gallery_path() {
    if (const char* g = std::getenv("LYRA_GALLERY"); g != nullptr && *g != '\0') {
        if (std::string_view(g) == "off") return std::nullopt;
        return std::string(g);
    }
    if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x == '/') {
        return std::string(x) + "/lyra/gallery.sqlite";
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        return std::string(h) + "/.local/share/lyra/gallery.sqlite";
    }
    return std::string(".lyra-gallery.sqlite");
}

int64_t record_in_gallery(art::ArtResult& work, std::string_view source,
                          std::optional<std::string> path) {
    if (!path) path = default_gallery_path();
    if (!path) return -1;
    try {
        Gallery g(*path);
        work.gallery_id = g.record(work, source);
        return work.gallery_id;
    } catch (const std::exception& e) {
        std::fprintf(stderr,
                     "lyra: warning: the work was not recorded in the gallery: %s (set "
                     "LYRA_GALLERY=off or pass --no-gallery to skip recording)\n",
                     e.what());
        work.gallery_id = -1;
        return -1;
    }
}

// ------------------------------------------------------------------------------------------
// Export: a static page.

namespace {

std::string scores_table(const json& scores) {
    if (!scores.is_object() || scores.empty()) return "<p class=\"meta\">no scores</p>\n";
    std::string h = "<table class=\"scores\">";
    for (const auto& [k, v] : scores.items()) {
        h += "<tr><td>" + html_escape(k) + "</td><td>" + html_escape(dump(v)) + "</td></tr>";
    }
    return h + "</table>\n";
}

}  // namespace

int64_t export_gallery_html(const Gallery& g, const std::string& out_dir) {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) throw_error(ErrorKind::Io, "export directory '{}': cannot create: {}", out_dir, ec.message());

    std::string body;
    int64_t n = 0;
    int64_t before = 0;
    for (;;) {
        const auto page = g.list({.form = "", .limit = 1000, .before_id = before});
        if (page.empty()) break;
        for (const GalleryWork& w : page) {
            ++n;
            before = w.id;
            body += "<section id=\"work-" + std::to_string(w.id) + "\">\n<h2>#" +
                    std::to_string(w.id) + " · " + html_escape(w.form) + "</h2>\n";
            body += "<p class=\"meta\">" + html_escape(w.created_at) + " · " + html_escape(w.source) +
                    " · seed " + std::to_string(w.seed) + " · model " + html_escape(w.model) +
                    (w.model_sha256.empty() ? "" : " (sha256 " + html_escape(w.model_sha256.substr(0, 16)) + "…)") +
                    "</p>\n";
            body += "<pre>" + html_escape(w.text) + "</pre>\n";
            if (!w.files.empty()) {
                body += "<ul>\n";
                const fs::path dir = fs::path(out_dir) / "files" / std::to_string(w.id);
                for (const auto& [kind, src] : w.files) {
                    const std::string name = fs::path(src).filename().string();
                    const std::string rel = "files/" + std::to_string(w.id) + "/" + name;
                    std::error_code cec;
                    if (!fs::is_regular_file(src, cec)) {
                        body += "<li class=\"missing\">" + html_escape(kind) + ": " + html_escape(src) +
                                " (missing)</li>\n";
                        continue;
                    }
                    fs::create_directories(dir, cec);
                    if (!cec) {
                        fs::copy_file(src, dir / name, fs::copy_options::overwrite_existing, cec);
                    }
                    if (cec) {
                        throw_error(ErrorKind::Io, "export: cannot copy '{}' to '{}': {}", src,
                                    (dir / name).string(), cec.message());
                    }
                    body += "<li><a href=\"" + html_escape(rel) + "\">" + html_escape(kind) + ": " +
                            html_escape(name) + "</a></li>\n";
                    if (kind == "svg" || kind == "png") {
                        body += "<li><img class=\"art\" alt=\"" + html_escape(kind) + "\" src=\"" +
                                html_escape(rel) + "\"></li>\n";
                    }
                }
                body += "</ul>\n";
            }
            body += "<h3>Scores</h3>\n" + scores_table(w.scores);
            body += "<details><summary>Settings (the full request)</summary><pre>" +
                    html_escape(w.request.dump(2, ' ', false, json::error_handler_t::replace)) +
                    "</pre></details>\n";
            body += "<p class=\"meta\">Make it again: <code>lyra gallery show " +
                    std::to_string(w.id) + " --rerun</code></p>\n</section>\n";
        }
    }
    std::string h = html_page_head("Lyra gallery");
    h += "<h1>Lyra gallery</h1>\n<p class=\"meta\">" + std::to_string(n) + " works from " +
         html_escape(g.path()) + ", exported " + now_utc_iso() + "</p>\n" + body +
         "</body>\n</html>\n";
    core::write_file_atomic((fs::path(out_dir) / "index.html").string(), h);
    return n;
}

}  // namespace lyra::studio
