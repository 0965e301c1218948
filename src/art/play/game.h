// The interactive story game (issue #8): a text adventure narrated by a language model whose
// world stays consistent. A Game owns one playthrough: the world (world.h), the current state,
// the full turn history (for undo, retry, history and replay) and the seed.
//
// One turn (Game::turn):
//   1. In-game commands (look, inventory, undo [n], retry, branch [n], branches, switch b,
//      save [slot], load [slot], history, help, quit) are handled by the engine; anything else
//      is a player action.
//   2. The rules (rules.h) parse the action ("go north", "take lantern", "use key", or free
//      text) and refuse impossible ones with an explanation (no walking through walls, no using
//      items you do not have); a refused action costs no model call and changes nothing.
//   3. The model narrates the action, prompted with the lore entries relevant to the state.
//      Prompts are plain continuations ("Player: ...\nNarrator:") or, for an instruct model,
//      rendered through its chat template with the narrator's or the bookkeeper's role as the
//      system message (GameOptions.prompt_format, art/common/prompt_format.h); in chat the
//      last turns are earlier user (action) / assistant (narration or update) messages.
//   4. The model writes the state update as JSON under a schema built for this action
//      (json_schema_to_gbnf + GrammarConstraint), so even random weights write valid JSON; the
//      update is parsed, validated by the rules and applied.
//   5. The rules suggest the next choices.
// Same world + same seed + same inputs => the same game (every model call is seeded from the
// game seed, the turn number and the retry count).
// The turns form a tree (docs/play.md "Branches"): `branch n` goes back to turn n and the next
// move starts a new branch, the abandoned line staying in the game (and its saves) as its own
// branch; `switch b` continues another branch. history() is the current line, root to tip.
//
// Not thread-safe: one Game per player. The Model and ThreadPool are shared and not owned.
// Saves go to SQLite (saves.h) through save()/restore() JSON, so the server can store them too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/prompt_format.h"
#include "art/play/rules.h"
#include "art/play/world.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace lyra::gen::constraint {
class TokenTrie;
}

namespace lyra::art::play {

using nlohmann::json;

// The default model file (models/<file>): the prose model once trained (recipes/prose-en.toml),
// until then the shipped Shakespeare model (docs/play.md).
inline constexpr const char* kProseModelFile = "prose-en.gguf";
inline constexpr const char* kFallbackModelFile = "tiny-shakespeare-char.gguf";
// models/prose-en.gguf when it exists, else models/tiny-shakespeare-char.gguf.
std::string default_model_file();

struct GameOptions {
    // Where the world comes from, first one set wins: world (parsed JSON), world_path (a
    // .toml/.json file), premise (the model drafts a whole world, draft.h), else the built-in
    // default world.
    std::optional<World> world = std::nullopt;
    std::string world_path = {};
    std::string premise = {};
    int draft_attempts = 8;  // premise: drafts tried (each with the next seed) before giving up
    uint64_t seed = 0;
    float temperature = 0.8f;
    int top_k = 40;
    float top_p = 0.95f;
    int narration_tokens = 160;  // cap on each narration (also bounded by the model context)
    std::string saves_path = {};  // SQLite file for save/load commands ("" = saving refused)
    // "auto" (chat when the model carries a recognised chat template), "plain" or "chat". A
    // restored game keeps the format it was saved with unless this says plain or chat.
    std::string prompt_format = "auto";
};

// What one call of Game::turn produced.
struct TurnResult {
    enum class Kind {
        Narrated,  // a player action was played: narration + state update applied
        Refused,   // the rules refused the action (refusal explains why); nothing changed
        Command,   // an in-game command (look, inventory, history, save, load, undo, help...)
        Quit,      // the player typed quit
    };
    Kind kind = Kind::Command;
    std::string text = {};       // what to show the player (narration, refusal or command output)
    std::string narration = {};  // the model's narration (Narrated only)
    json update = nullptr;       // the applied state update (Narrated only)
    std::string update_raw = {};  // the JSON text the model wrote (Narrated only)
    std::vector<std::string> choices = {};  // suggested next actions
    std::string narration_prompt = {};  // the prompts the model saw (Narrated, and a Refused
    std::string update_prompt = {};     // state update), in the game's prompt format
    bool game_over = false;  // health reached 0
    bool won = false;        // every goal done
};

// One played turn, as kept in the turn tree and in saves.
struct Turn {
    std::string input = {};
    std::string narration = {};
    std::string update_raw = {};
    int attempt = 0;        // 0, then +1 per retry
    State state_after = {};
    int parent = -1;        // the turn before it (index in Game::tree()), -1 = the start
    int branch = 1;         // the branch it was played on (1, 2, ... in order of creation)
};

class Game {
public:
    // Builds the world (see GameOptions) and the starting state. Throws lyra::Error for a bad
    // world file (with its location in the file) or an invalid premise.
    static Game create(std::shared_ptr<const model::Model> model, core::ThreadPool& pool,
                       GameOptions opt);
    // Restores a game from save() output (a loaded save); throws Error(Corrupt) naming what is
    // wrong.
    static Game restore(std::shared_ptr<const model::Model> model, core::ThreadPool& pool,
                        const json& saved, GameOptions opt);

    // Plays one line of player input (a command or an action); see the file comment.
    TurnResult turn(std::string_view input);

    // The opening text: title, setting and the first location.
    std::string intro() const;
    // The status line shown after each turn: "[Hall] exits: north, south | carrying: key | health 9".
    std::string status_line() const;
    const World& world() const { return world_; }
    const State& state() const { return state_; }
    // The current line: the turns from the start to where the player is.
    const std::vector<Turn>& history() const { return history_; }
    // Every turn of every branch, in the order played; Turn.parent links them.
    const std::vector<Turn>& tree() const { return turns_; }
    // The branch the player is on (the branch of the last turn of the current line; 1 at the
    // start), and how many branches the game has.
    int branch() const;
    int branch_count() const;
    // The premise and the draft attempt that made the world ({"premise","attempt","rejected"}),
    // or null when the world was not drafted.
    const json& draft() const { return draft_; }
    uint64_t seed() const { return opt_.seed; }
    // "plain" or "chat", as resolved for the model.
    const char* prompt_format() const { return prompter_->name(); }
    std::vector<std::string> choices() const;
    // Counts of state updates the model wrote and how many parsed and validated.
    int64_t updates_written() const { return updates_written_; }
    int64_t updates_valid() const { return updates_valid_; }

    // The whole game as JSON: {"version": 2, "world", "seed", "prompt_format", "start", "draft"
    // (when drafted), "turns": [{..., "parent", "branch"}], "tip"}. restore() also reads version
    // 1 (a single line: "history" instead of "turns" and "tip").
    json save() const;

private:
    Game(std::shared_ptr<const model::Model> model, core::ThreadPool& pool, GameOptions opt,
         World world);
    void draft_from_premise(const std::string& premise);
    TurnResult play_action(const std::string& input, int attempt, int branch_id = 0);
    void set_tip(int tip);
    void add_turn(Turn t, int branch_id);
    void remove_leaves_above(int from, int keep);
    bool has_children(int node) const;
    int tip_of(int branch_id) const;
    std::set<int> branch_ids() const;
    TurnResult command_branch(const std::string& arg);
    TurnResult command_switch(int branch_id);
    std::string list_branches() const;
    TurnResult command_save(const std::string& slot);
    TurnResult command_load(const std::string& slot);
    TurnResult command_undo(int n);
    TurnResult command_retry();
    std::string generate_text(const std::string& prompt, int max_tokens, uint64_t seed,
                              const std::string& schema, std::string* raw);

    std::shared_ptr<const model::Model> model_;
    std::shared_ptr<const gen::constraint::TokenTrie> trie_;
    std::optional<Prompter> prompter_;  // set by the constructor
    core::ThreadPool* pool_;
    GameOptions opt_;
    World world_;
    State start_;
    State state_;
    std::vector<Turn> turns_;    // the tree, in the order played
    int tip_ = -1;               // the current turn (index in turns_), -1 = the start
    std::vector<Turn> history_;  // the line from the start to tip_ (kept in step by set_tip)
    json draft_ = nullptr;
    int64_t updates_written_ = 0;
    int64_t updates_valid_ = 0;
};

// The in-game help text (also the answer to an unknown command).
std::string help_text();

}  // namespace lyra::art::play
