// Saved games in one SQLite file (docs/play.md "Saves"): several named slots, each with the
// world (and the premise draft that made it), the seed, the starting state and the full turn
// tree (input, narration, state update, state after, parent turn and branch of every turn of
// every branch, and the turn the player is at). Each slot carries a SHA-256 of its content, so
// a damaged slot is reported as corrupted while the other slots still load. Files written
// before branches are migrated when opened; their slots load as the single line they were.
// One SaveStore per thread (it holds an open sqlite3 connection).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace lyra::art::play {

struct SlotInfo {
    std::string slot;
    int turns = 0;  // turns stored, every branch counted
    std::string saved_at;  // UTC, ISO 8601
};

class SaveStore {
public:
    // Opens (creating when absent) the saves file. Throws Error(Corrupt) when the file is not a
    // saves database, Error(Io) when it cannot be opened.
    explicit SaveStore(std::string path);
    ~SaveStore();
    SaveStore(const SaveStore&) = delete;
    SaveStore& operator=(const SaveStore&) = delete;

    // Writes Game::save() output (version 2) to `slot` (replacing it) in one transaction.
    void save(const std::string& slot, const nlohmann::json& game);
    // Reads a slot back. Throws Error(NotFound) for a missing slot (listing the slots there
    // are), Error(Corrupt) when the slot's content fails its checksum or does not parse.
    nlohmann::json load(const std::string& slot);
    std::vector<SlotInfo> list();
    const std::string& path() const { return path_; }

private:
    std::string path_;
    sqlite3* db_ = nullptr;
};

// A slot name: 1-40 of letters, digits, '_' and '-'. Throws Error(InvalidArgument) otherwise.
void check_slot_name(const std::string& slot);

}  // namespace lyra::art::play
