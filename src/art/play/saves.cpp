// Saved games in SQLite (saves.h). Tables:
//   slots(slot PRIMARY KEY, saved_at, seed, world, start, n_turns, checksum, prompt_format,
//         tip, draft)
//   turns(slot, idx, input, narration, update_json, attempt, state, parent, branch)
//         PRIMARY KEY(slot, idx)
// checksum = sha256 over the slot's canonical JSON (Game::save() output). Columns added later
// are added to an older file when it is opened, NULL in the rows it already holds:
// prompt_format (NULL: no format recorded), then tip, draft, parent and branch for the turn
// tree (a slot whose tip is NULL was saved as one line, version 1, and loads as it was saved).
#include "art/play/saves.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/error.h"
#include "core/sha256.h"

namespace lyra::art::play {

using nlohmann::json;

namespace {

class Stmt {
public:
    Stmt(sqlite3* db, const char* sql, const std::string& path) {
        if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) {
            throw_error(ErrorKind::Corrupt, "saves '{}': {}; expected a Lyra saves database", path,
                        sqlite3_errmsg(db));
        }
    }
    ~Stmt() { sqlite3_finalize(st_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    void text(int i, const std::string& s) { sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
    void integer(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
    int step() { return sqlite3_step(st_); }
    std::string col_text(int i) {
        const unsigned char* p = sqlite3_column_text(st_, i);
        return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p),
                                                          static_cast<size_t>(sqlite3_column_bytes(st_, i)));
    }
    int64_t col_int(int i) { return sqlite3_column_int64(st_, i); }
    sqlite3_stmt* raw() { return st_; }

private:
    sqlite3_stmt* st_ = nullptr;
};

void exec(sqlite3* db, const char* sql, const std::string& path) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw_error(ErrorKind::Corrupt, "saves '{}': {}; expected a Lyra saves database", path, msg);
    }
}

// Adds `column` to `table` unless the file has it already (a file from an older Lyra).
void add_column(sqlite3* db, const char* table, const char* column, const char* type, const std::string& path) {
    {
        Stmt cols(db, fmt::format("SELECT name FROM pragma_table_info('{}')", table).c_str(), path);
        while (cols.step() == SQLITE_ROW) {
            if (cols.col_text(0) == column) return;
        }
    }
    exec(db, fmt::format("ALTER TABLE {} ADD COLUMN {} {}", table, column, type).c_str(), path);
}

std::string now_utc() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

void check_slot_name(const std::string& slot) {
    bool ok = !slot.empty() && slot.size() <= 40;
    for (char c : slot) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') ok = false;
    }
    if (!ok) {
        throw_error(ErrorKind::InvalidArgument,
                    "save slot: bad name '{}'; expected 1-40 letters, digits, '_' or '-'", slot);
    }
}

SaveStore::SaveStore(std::string path) : path_(std::move(path)) {
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw_error(ErrorKind::Io, "saves '{}': cannot open: {}", path_, msg);
    }
    sqlite3_busy_timeout(db_, 2000);
    try {
        exec(db_,
             "CREATE TABLE IF NOT EXISTS slots(slot TEXT PRIMARY KEY, saved_at TEXT, seed TEXT,"
             " world TEXT, start TEXT, n_turns INTEGER, checksum TEXT);"
             "CREATE TABLE IF NOT EXISTS turns(slot TEXT, idx INTEGER, input TEXT, narration TEXT,"
             " update_json TEXT, attempt INTEGER, state TEXT, PRIMARY KEY(slot, idx));",
             path_);
        add_column(db_, "slots", "prompt_format", "TEXT", path_);
        add_column(db_, "slots", "tip", "INTEGER", path_);
        add_column(db_, "slots", "draft", "TEXT", path_);
        add_column(db_, "turns", "parent", "INTEGER", path_);
        add_column(db_, "turns", "branch", "INTEGER", path_);
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

SaveStore::~SaveStore() { sqlite3_close(db_); }

void SaveStore::save(const std::string& slot, const json& game) {
    check_slot_name(slot);
    const json& turns = game.at("turns");
    exec(db_, "BEGIN IMMEDIATE", path_);
    try {
        {
            Stmt del(db_, "DELETE FROM turns WHERE slot = ?", path_);
            del.text(1, slot);
            del.step();
        }
        Stmt ins(db_, "INSERT OR REPLACE INTO slots(slot, saved_at, seed, world, start, n_turns, checksum, "
                      "prompt_format, tip, draft) VALUES(?,?,?,?,?,?,?,?,?,?)", path_);
        ins.text(1, slot);
        ins.text(2, now_utc());
        ins.text(3, std::to_string(game.at("seed").get<uint64_t>()));
        ins.text(4, game.at("world").dump());
        ins.text(5, game.at("start").dump());
        ins.integer(6, static_cast<int64_t>(turns.size()));
        ins.text(7, core::sha256_hex(game.dump()));
        if (game.contains("prompt_format")) ins.text(8, game.at("prompt_format").get<std::string>());
        ins.integer(9, game.at("tip").get<int64_t>());
        if (game.contains("draft")) ins.text(10, game.at("draft").dump());
        if (ins.step() != SQLITE_DONE) throw_error(ErrorKind::Io, "saves '{}': {}", path_, sqlite3_errmsg(db_));
        for (size_t i = 0; i < turns.size(); ++i) {
            const json& t = turns[i];
            Stmt ti(db_, "INSERT INTO turns(slot, idx, input, narration, update_json, attempt, state, parent, branch) "
                         "VALUES(?,?,?,?,?,?,?,?,?)", path_);
            ti.text(1, slot);
            ti.integer(2, static_cast<int64_t>(i));
            ti.text(3, t.at("input").get<std::string>());
            ti.text(4, t.at("narration").get<std::string>());
            ti.text(5, t.at("update").get<std::string>());
            ti.integer(6, t.at("attempt").get<int64_t>());
            ti.text(7, t.at("state").dump());
            ti.integer(8, t.at("parent").get<int64_t>());
            ti.integer(9, t.at("branch").get<int64_t>());
            if (ti.step() != SQLITE_DONE) throw_error(ErrorKind::Io, "saves '{}': {}", path_, sqlite3_errmsg(db_));
        }
        exec(db_, "COMMIT", path_);
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

// Rebuilds the JSON the slot was saved from, so its checksum can be compared: version 2 (the
// turn tree) when the slot has a tip, else version 1 (one line, saved before branches).
json SaveStore::load(const std::string& slot) {
    check_slot_name(slot);
    Stmt q(db_, "SELECT seed, world, start, n_turns, checksum, prompt_format, tip, draft FROM slots WHERE slot = ?", path_);
    q.text(1, slot);
    if (q.step() != SQLITE_ROW) {
        std::string names;
        for (const SlotInfo& s : list()) names += (names.empty() ? "" : ", ") + s.slot;
        throw_error(ErrorKind::NotFound, "save slot '{}': not found in '{}'; expected one of: {}", slot,
                    path_, names.empty() ? "(no saves yet)" : names);
    }
    json game;
    const std::string checksum = q.col_text(4);
    const int64_t n_turns = q.col_int(3);
    const bool tree = sqlite3_column_type(q.raw(), 6) != SQLITE_NULL;
    const char* list_key = tree ? "turns" : "history";
    try {
        game["version"] = tree ? 2 : 1;
        game["seed"] = std::stoull(q.col_text(0));
        if (sqlite3_column_type(q.raw(), 5) != SQLITE_NULL) game["prompt_format"] = q.col_text(5);
        game["world"] = json::parse(q.col_text(1));
        game["start"] = json::parse(q.col_text(2));
        if (tree) game["tip"] = q.col_int(6);
        if (sqlite3_column_type(q.raw(), 7) != SQLITE_NULL) game["draft"] = json::parse(q.col_text(7));
        game[list_key] = json::array();
        Stmt t(db_, "SELECT idx, input, narration, update_json, attempt, state, parent, branch FROM turns "
                    "WHERE slot = ? ORDER BY idx", path_);
        t.text(1, slot);
        while (t.step() == SQLITE_ROW) {
            json turn = {{"input", t.col_text(1)}, {"narration", t.col_text(2)}, {"update", t.col_text(3)},
                         {"attempt", t.col_int(4)}, {"state", json::parse(t.col_text(5))}};
            if (tree) {
                turn["parent"] = t.col_int(6);
                turn["branch"] = t.col_int(7);
            }
            game[list_key].push_back(std::move(turn));
        }
    } catch (const std::exception& e) {
        throw_error(ErrorKind::Corrupt, "save slot '{}' in '{}': corrupted ({}); other slots are not affected",
                    slot, path_, e.what());
    }
    if (static_cast<int64_t>(game[list_key].size()) != n_turns || core::sha256_hex(game.dump()) != checksum) {
        throw_error(ErrorKind::Corrupt,
                    "save slot '{}' in '{}': corrupted (checksum mismatch: the stored turns differ from "
                    "what was saved); other slots are not affected",
                    slot, path_);
    }
    return game;
}

std::vector<SlotInfo> SaveStore::list() {
    std::vector<SlotInfo> out;
    Stmt q(db_, "SELECT slot, n_turns, saved_at FROM slots ORDER BY slot", path_);
    while (q.step() == SQLITE_ROW) {
        out.push_back({q.col_text(0), static_cast<int>(q.col_int(1)), q.col_text(2)});
    }
    return out;
}

}  // namespace lyra::art::play
