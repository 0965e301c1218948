// One playthrough (game.h): commands, the turn pipeline (rules -> narration -> constrained
// state update -> checks -> apply), undo/retry/history, branches (the turn tree) and
// save/restore.
#include "art/play/game.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "art/common/text.h"
#include "art/common/unicode.h"
#include "art/play/draft.h"
#include "art/play/saves.h"
#include "core/error.h"
#include "generate/constraint/constraint.h"
#include "generate/generator.h"
#include "generate/models_dir.h"

namespace lyra::art::play {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser: independent seeds per turn and stage
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t turn_seed(uint64_t game_seed, int turn, int attempt, int stage) {
    return mix(game_seed ^ mix(static_cast<uint64_t>(turn) * 1000003ull +
                               static_cast<uint64_t>(attempt) * 31ull + static_cast<uint64_t>(stage)));
}

std::string trim(std::string_view s) {
    const size_t a = s.find_first_not_of(" \t\r\n");
    if (a == std::string_view::npos) return {};
    const size_t b = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(a, b - a + 1));
}

// 1-6 digits: a turn or branch number (longer ones are refused before std::stoi can overflow)
bool is_number(const std::string& s) {
    return !s.empty() && s.size() <= 6 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_command_word(const std::string& w) {
    static const char* const kWords[] = {"look", "l", "inventory", "inv", "i", "undo", "retry",
                                         "save", "load", "history", "quit", "exit", "q", "help", "?",
                                         "saves", "branch", "branches", "switch"};
    return std::any_of(std::begin(kWords), std::end(kWords), [&](const char* k) { return w == k; });
}

}  // namespace

std::string default_model_file() {
    const std::string dir = gen::find_models_dir();
    if (!dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / kProseModelFile)) {
        return kProseModelFile;
    }
    return kFallbackModelFile;
}

std::string help_text() {
    return "Type an action in plain words: go north (or n, s, e, w, up, down), take lantern, "
           "drop key, use key, talk to ghost, or anything you want to try.\n"
           "Commands:\n"
           "  look             describe where you are\n"
           "  inventory (i)    what you carry, your health and goals\n"
           "  undo [n]         take back the last n turns (default 1)\n"
           "  retry            play the last turn again with a new narration\n"
           "  branch [n]       go back to turn n (default: one back); the later turns stay as a branch\n"
           "  branches         list the branches of this game\n"
           "  switch b         continue on branch b\n"
           "  save [slot]      save the game (slot 'quick' by default)\n"
           "  load [slot]      load a saved game\n"
           "  saves            list the save slots\n"
           "  history          the turns played so far\n"
           "  help             this text\n"
           "  quit             leave the game";
}

Game::Game(std::shared_ptr<const model::Model> model, core::ThreadPool& pool, GameOptions opt,
           World world)
    : model_(std::move(model)), pool_(&pool), opt_(std::move(opt)), world_(std::move(world)) {
    if (!model_) throw_error(ErrorKind::InvalidArgument, "play: no model; expected a loaded GGUF model");
    trie_ = std::make_shared<const gen::constraint::TokenTrie>(model_->tokenizer());
    prompter_.emplace(*model_, opt_.prompt_format);
    start_ = initial_state(world_);
    state_ = start_;
}

Game Game::create(std::shared_ptr<const model::Model> model, core::ThreadPool& pool, GameOptions opt) {
    World w;
    if (opt.world) {
        w = *opt.world;
    } else if (!opt.world_path.empty()) {
        w = load_world_file(opt.world_path);
    } else {
        w = default_world();
    }
    std::string premise = opt.premise;
    Game g(std::move(model), pool, std::move(opt), std::move(w));
    if (!premise.empty() && !g.opt_.world && g.opt_.world_path.empty()) g.draft_from_premise(premise);
    return g;
}

// The model drafts the whole world for the premise (draft.h), each piece a constrained JSON
// generation seeded from the game seed and the attempt, so the same premise and seed draft the
// same world; the draft is recorded for the save.
void Game::draft_from_premise(const std::string& premise) {
    const DraftGenerate gen = [this](const PromptParts& parts, const json& schema, int max_tokens, int attempt,
                                     int piece) {
        // a small model's context keeps a third for the prompt (the budget steers the piece short)
        const int reserve = std::min<int>(max_tokens, static_cast<int>(model_->hparams().n_ctx * 2 / 3));
        const std::string prompt = prompter_->build(parts, reserve);
        std::string raw;
        generate_text(prompt, reserve, turn_seed(opt_.seed, 0, attempt, 100 + piece), schema.dump(), &raw);
        return raw;
    };
    const Draft d = play::draft_world(premise, {.max_attempts = opt_.draft_attempts}, gen);
    world_ = d.world;
    start_ = initial_state(world_);
    set_tip(-1);
    draft_ = {{"premise", premise}, {"attempt", d.attempt}, {"rejected", d.rejected}};
}

Game Game::restore(std::shared_ptr<const model::Model> model, core::ThreadPool& pool,
                   const json& saved, GameOptions opt) {
    World w;
    uint64_t seed = 0;
    State start;
    std::vector<Turn> turns;
    int tip = -1;
    json draft = nullptr;
    auto turn_of = [](const json& t) {
        return Turn{.input = t.at("input").get<std::string>(), .narration = t.at("narration").get<std::string>(),
                    .update_raw = t.at("update").get<std::string>(), .attempt = t.at("attempt").get<int>(),
                    .state_after = State::from_json(t.at("state"))};
    };
    try {
        const int version = saved.at("version").get<int>();
        if (version != 1 && version != 2) {
            throw_error(ErrorKind::Unsupported, "saved game: version {}; expected 1 or 2", saved.at("version").dump());
        }
        seed = saved.at("seed").get<uint64_t>();
        // the format the game was played in (absent in saves from before chat prompts: plain)
        if (opt.prompt_format == "auto") opt.prompt_format = saved.value("prompt_format", std::string("plain"));
        // the shape only: the world was checked when the game began, and a playability check
        // added since must not lock the player out of the save
        w = world_from_json(saved.at("world"), "saved game", /*check_playable=*/false);
        start = State::from_json(saved.at("start"));
        if (version == 1) {  // one line of turns, from before branches
            for (const json& t : saved.at("history")) {
                turns.push_back(turn_of(t));
                turns.back().parent = static_cast<int>(turns.size()) - 2;
            }
            tip = static_cast<int>(turns.size()) - 1;
        } else {
            for (const json& t : saved.at("turns")) {
                turns.push_back(turn_of(t));
                turns.back().parent = t.at("parent").get<int>();
                turns.back().branch = t.at("branch").get<int>();
            }
            tip = saved.at("tip").get<int>();
            draft = saved.value("draft", json(nullptr));
        }
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "saved game: {}; expected the output of Game::save", e.what());
    }
    if (!w.locations.count(start.location)) throw_error(ErrorKind::Corrupt, "saved game: unknown location '{}'", start.location);
    for (size_t i = 0; i < turns.size(); ++i) {
        const Turn& t = turns[i];
        if (!w.locations.count(t.state_after.location)) {
            throw_error(ErrorKind::Corrupt, "saved game: unknown location '{}'", t.state_after.location);
        }
        // parents come first, so the links form a tree (no cycles)
        if (t.parent < -1 || t.parent >= static_cast<int>(i) || t.branch < 1) {
            throw_error(ErrorKind::Corrupt, "saved game: turn {} has parent {} and branch {}; expected a parent "
                        "in -1..{} and a branch >= 1", i, t.parent, t.branch, static_cast<int>(i) - 1);
        }
    }
    if (tip < -1 || tip >= static_cast<int>(turns.size())) {
        throw_error(ErrorKind::Corrupt, "saved game: tip {}; expected -1..{}", tip, static_cast<int>(turns.size()) - 1);
    }
    opt.seed = seed;
    opt.world = std::nullopt;
    Game g(std::move(model), pool, std::move(opt), std::move(w));
    g.start_ = start;
    g.turns_ = std::move(turns);
    g.draft_ = std::move(draft);
    g.set_tip(tip);
    return g;
}

json Game::save() const {
    json t = json::array();
    for (const Turn& x : turns_) {
        t.push_back({{"input", x.input}, {"narration", x.narration}, {"update", x.update_raw},
                     {"attempt", x.attempt}, {"state", x.state_after.to_json()}, {"parent", x.parent},
                     {"branch", x.branch}});
    }
    json j = {{"version", 2}, {"seed", opt_.seed}, {"prompt_format", prompt_format()}, {"world", world_.to_json()},
              {"start", start_.to_json()}, {"turns", t}, {"tip", tip_}};
    if (!draft_.is_null()) j["draft"] = draft_;
    return j;
}

// --- the turn tree ----------------------------------------------------------------------------

void Game::set_tip(int tip) {
    tip_ = tip;
    history_.clear();
    for (int n = tip; n >= 0; n = turns_[static_cast<size_t>(n)].parent) history_.push_back(turns_[static_cast<size_t>(n)]);
    std::reverse(history_.begin(), history_.end());
    state_ = history_.empty() ? start_ : history_.back().state_after;
}

bool Game::has_children(int node) const {
    return std::any_of(turns_.begin(), turns_.end(), [node](const Turn& t) { return t.parent == node; });
}

// A turn played where no other turn follows continues that line's branch; one played where
// the line goes on already (after `branch n`) starts a new branch. `branch_id` > 0 forces it
// (retry keeps the branch of the turn it replays).
void Game::add_turn(Turn t, int branch_id) {
    t.parent = tip_;
    if (branch_id > 0) {
        t.branch = branch_id;
    } else if (has_children(tip_) || (tip_ == -1 && !turns_.empty())) {
        t.branch = 0;
        for (const Turn& x : turns_) t.branch = std::max(t.branch, x.branch);
        t.branch += 1;
    } else {
        t.branch = tip_ == -1 ? 1 : turns_[static_cast<size_t>(tip_)].branch;
    }
    turns_.push_back(std::move(t));
    set_tip(static_cast<int>(turns_.size()) - 1);
}

// Removes `from` and then its ancestors up to (not including) `keep`, each only while no other
// turn follows it (turns other branches still need stay); tip_ is kept pointing at `keep`.
void Game::remove_leaves_above(int from, int keep) {
    std::vector<bool> gone(turns_.size(), false);
    for (int n = from; n >= 0 && n != keep;) {
        const bool needed = std::any_of(turns_.begin(), turns_.end(), [&](const Turn& t) {
            return t.parent == n && !gone[static_cast<size_t>(&t - turns_.data())];
        });
        if (needed) break;
        gone[static_cast<size_t>(n)] = true;
        n = turns_[static_cast<size_t>(n)].parent;
    }
    std::vector<int> index(turns_.size(), -1);
    std::vector<Turn> kept;
    for (size_t i = 0; i < turns_.size(); ++i) {
        if (gone[i]) continue;
        index[i] = static_cast<int>(kept.size());
        kept.push_back(turns_[i]);
    }
    for (Turn& t : kept) t.parent = t.parent < 0 ? -1 : index[static_cast<size_t>(t.parent)];
    turns_ = std::move(kept);
    set_tip(keep < 0 ? -1 : index[static_cast<size_t>(keep)]);
}

// The last turn of a branch: its turns form a chain, so the one played last.
int Game::tip_of(int branch_id) const {
    for (int i = static_cast<int>(turns_.size()) - 1; i >= 0; --i) {
        if (turns_[static_cast<size_t>(i)].branch == branch_id) return i;
    }
    return -1;
}

int Game::branch() const {
    if (tip_ >= 0) return turns_[static_cast<size_t>(tip_)].branch;
    return 1;
}

std::set<int> Game::branch_ids() const {
    std::set<int> ids = {1};  // branch 1 exists from the start, played or not
    if (!turns_.empty()) ids.clear();
    for (const Turn& t : turns_) ids.insert(t.branch);
    return ids;
}

int Game::branch_count() const { return static_cast<int>(branch_ids().size()); }

std::string Game::list_branches() const {
    if (turns_.empty()) return "One branch, no turns played yet.";
    std::string s = "Branches (switch b to continue one):";
    for (int b : branch_ids()) {
        const int tip = tip_of(b);
        int first = tip, depth = 0;
        for (int n = tip; n >= 0; n = turns_[static_cast<size_t>(n)].parent) {
            ++depth;
            if (turns_[static_cast<size_t>(n)].branch == b) first = n;
        }
        const int parent = turns_[static_cast<size_t>(first)].parent;
        int fork_depth = 0;
        for (int n = parent; n >= 0; n = turns_[static_cast<size_t>(n)].parent) ++fork_depth;
        const Turn& last = turns_[static_cast<size_t>(tip)];
        const std::string from = parent < 0 ? std::string("from the start")
                                            : fmt::format("from branch {} after turn {}", turns_[static_cast<size_t>(parent)].branch, fork_depth);
        s += fmt::format("\n {} {}: {} turn{}, {}; last: {} -> {}", b == branch() ? '*' : ' ', b, depth,
                         depth == 1 ? "" : "s", from, last.input, world_.locations.at(last.state_after.location).name);
    }
    if (tip_ >= 0 && has_children(tip_)) {
        s += fmt::format("\nYou are at turn {} of branch {}; your next move starts a new branch.", history_.size(), branch());
    }
    return s;
}

std::string Game::intro() const {
    std::string s = world_.title + "\n" + world_.setting + "\n\n" + describe_location(world_, state_);
    if (!world_.goals.empty()) {
        s += "\nGoals:";
        for (const Goal& g : world_.goals) s += " " + g.description;
    }
    return s;
}

std::string Game::status_line() const {
    const Location& l = world_.locations.at(state_.location);
    std::string exits, inv;
    for (const auto& [d, e] : l.exits) exits += (exits.empty() ? "" : ", ") + d;
    for (const std::string& i : state_.inventory) inv += (inv.empty() ? "" : ", ") + i;
    return fmt::format("[{}] exits: {} | carrying: {} | health {}/{} | goals {}/{}", l.name,
                       exits.empty() ? "none" : exits, inv.empty() ? "nothing" : inv, state_.health,
                       world_.health, state_.goals_done.size(), world_.goals.size());
}

std::vector<std::string> Game::choices() const { return suggest_choices(world_, state_); }

std::string Game::generate_text(const std::string& prompt, int max_tokens, uint64_t seed,
                                const std::string& schema, std::string* raw) {
    gen::GenerateOptions o;
    const int64_t n_prompt = prompter_->count_tokens(prompt);
    o.max_tokens = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(max_tokens, model_->hparams().n_ctx - n_prompt)));
    o.temperature = opt_.temperature;
    o.top_k = opt_.top_k;
    o.top_p = opt_.top_p;
    o.seed = seed;
    o.threads = 0;
    std::unique_ptr<gen::constraint::GrammarConstraint> c;
    if (!schema.empty()) {
        c = gen::constraint::make_grammar_constraint(gen::constraint::json_schema_to_gbnf(schema), trie_,
                                                     {.max_tokens = o.max_tokens}, "state update schema");
        o.constraint = c.get();
    } else if (!prompter_->chat()) {
        o.stop = {"\nPlayer:", "\n\n", "\nState"};
    }
    prompter_->apply(o);  // chat: the template's BOS and special tokens, end-of-turn stops
    gen::Generator g(*model_, *pool_);
    const gen::GenerateResult r = g.run(prompt, o);
    std::string text = drop_invalid_utf8(r.candidates.empty() ? std::string() : r.candidates[0].text);
    if (raw != nullptr) *raw = text;
    return text;
}

TurnResult Game::turn(std::string_view input_view) {
    const std::string input = trim(input_view);
    if (auto bad = gen::find_invalid_utf8(input)) {
        return {.kind = TurnResult::Kind::Refused,
                .text = fmt::format("That line is not valid UTF-8 (byte {}); type it again.", *bad),
                .choices = choices()};
    }
    // commands are read from the NFKC form, so full-width letters and digits and the
    // ideographic space count as ASCII ("ＬＯＯＫ", "ｕｎｄｏ　２"), and the command word is
    // case-folded ("LOOK"); the slot name keeps the case typed
    std::istringstream in(nfkc_text(input));
    std::string cmd, arg;
    in >> cmd >> arg;
    std::string rest;
    std::getline(in, rest);
    cmd = fold_text(cmd);
    bool slash = false;
    if (!cmd.empty() && (cmd[0] == '/' || cmd[0] == ':')) {
        cmd = cmd.substr(1);
        slash = true;
    }
    auto command = [&](std::string text) {
        return TurnResult{.kind = TurnResult::Kind::Command, .text = std::move(text), .choices = choices(),
                          .game_over = state_.health <= 0, .won = all_goals_done(world_, state_)};
    };
    if (input.empty()) return command("Type an action, or help.");
    const bool single = trim(rest).empty();
    if (single && is_command_word(cmd)) {
        if (cmd == "help" || cmd == "?") return command(help_text());
        if (cmd == "quit" || cmd == "exit" || cmd == "q") {
            return {.kind = TurnResult::Kind::Quit, .text = "Farewell.", .choices = {}};
        }
        if (arg.empty() && (cmd == "look" || cmd == "l")) return command(describe_location(world_, state_));
        if (arg.empty() && (cmd == "inventory" || cmd == "inv" || cmd == "i")) {
            std::string s = "You carry: ";
            if (state_.inventory.empty()) s += "nothing";
            for (size_t k = 0; k < state_.inventory.size(); ++k) {
                s += (k ? ", " : "") + world_.items.at(state_.inventory[k]).name;
            }
            s += fmt::format(". Health {}/{}.", state_.health, world_.health);
            for (const Goal& g : world_.goals) {
                const bool done = std::find(state_.goals_done.begin(), state_.goals_done.end(), g.id) != state_.goals_done.end();
                s += fmt::format("\n  [{}] {}", done ? "x" : " ", g.description);
            }
            return command(s);
        }
        if (cmd == "undo") {
            int n = 1;
            if (!arg.empty()) {
                try {
                    n = std::stoi(arg);
                } catch (const std::exception&) {
                    n = -1;
                }
                if (n < 1) return command(fmt::format("undo: expected a number of turns >= 1, got '{}'", arg));
            }
            return command_undo(n);
        }
        if (cmd == "retry" && arg.empty()) return command_retry();
        if (cmd == "branch") return command_branch(arg);
        if (cmd == "branches" && arg.empty()) return command(list_branches());
        // "switch 2" picks a branch; "switch lever" is an action
        if (cmd == "switch" && !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return command_switch(is_number(arg) ? std::stoi(arg) : -1);
        }
        if (cmd == "save") return command_save(arg.empty() ? "quick" : arg);
        if (cmd == "load") return command_load(arg.empty() ? "quick" : arg);
        if (cmd == "saves" && arg.empty()) {
            if (opt_.saves_path.empty()) return command("No saves file is set.");
            SaveStore store(opt_.saves_path);
            std::string s = "Save slots in " + opt_.saves_path + ":";
            const auto slots = store.list();
            if (slots.empty()) s += " none yet.";
            for (const SlotInfo& si : slots) s += fmt::format("\n  {} ({} turns, {})", si.slot, si.turns, si.saved_at);
            return command(s);
        }
        if (cmd == "history" && arg.empty()) {
            if (history_.empty()) return command("No turns played yet.");
            std::string s = branch_count() > 1 ? fmt::format("Branch {} (branches lists the others):\n", branch()) : "";
            for (size_t k = 0; k < history_.size(); ++k) {
                s += fmt::format("{}{}. {} -> {}", k ? "\n" : "", k + 1, history_[k].input,
                                 world_.locations.at(history_[k].state_after.location).name);
            }
            return command(s);
        }
    }
    // "/anything" and a single word that is no action are unknown commands: show the help
    if (slash || (single && arg.empty() && parse_action(world_, state_, input).verb == Verb::Free)) {
        return command(fmt::format("Unknown command '{}'.\n{}", slash ? cmd : input, help_text()));
    }
    return play_action(input, 0);
}

TurnResult Game::play_action(const std::string& input, int attempt, int branch_id) {
    const Action a = parse_action(world_, state_, input);
    if (auto why = refuse(world_, state_, a)) {
        return {.kind = TurnResult::Kind::Refused, .text = *why, .choices = choices(),
                .game_over = state_.health <= 0, .won = all_goals_done(world_, state_)};
    }
    const int turn_no = state_.turn + 1;

    // 1. narration, prompted with the world, the lore relevant now and the last turns
    std::vector<std::string> head;
    head.push_back(world_.title + ". " + world_.setting + "\n");
    for (const std::string& l : relevant_lore(world_, state_, input)) head.push_back("Lore: " + l + "\n");
    // the last turns: plain prompts carry them as context lines; chat prompts as the earlier
    // messages (the player's action as the user's, the narration or update as the assistant's)
    const size_t recent = std::min<size_t>(history_.size(), 3);
    std::vector<std::pair<std::string, std::string>> told, kept;
    for (size_t k = history_.size() - recent; k < history_.size(); ++k) {
        const Turn& t = history_[k];
        if (prompter_->chat()) {
            told.emplace_back("Player: " + t.input + "\nNarrate what happens.", t.narration);
            kept.emplace_back("Player: " + t.input + "\nNarrator: " + t.narration + "\nWrite the state update.", t.update_raw);
        } else {
            head.push_back("Player: " + t.input + "\nNarrator: " + t.narration + "\n");
        }
    }
    std::string inv;
    for (const std::string& i : state_.inventory) inv += (inv.empty() ? "" : ", ") + world_.items.at(i).name;
    head.push_back("Location: " + describe_location(world_, state_) + " Carrying: " +
                   (inv.empty() ? "nothing" : inv) + fmt::format(". Health {}.\n", state_.health));
    const int n_ctx = static_cast<int>(model_->hparams().n_ctx);
    const int narr_tokens = std::max(8, std::min(opt_.narration_tokens, n_ctx / 3));
    const std::string tail = "Player: " + input + "\nNarrator:";
    const PromptParts narrate{
        .system = "You are the narrator of a text adventure. The player says what they do; you tell what "
                  "happens in two or three sentences, in the second person and the present tense. Keep to the "
                  "world as described: never move the player, give them things or end the game yourself.",
        .head = head, .tail = tail,
        .ask = "Player: " + input + "\nNarrate what happens.", .exchanges = told,
        .head_before_exchanges = head.size() - 1};  // title and lore, as plain drops them before the turns
    const std::string prompt = prompter_->build(narrate, narr_tokens);
    const std::string narration = trim(generate_text(prompt, narr_tokens, turn_seed(opt_.seed, turn_no, attempt, 0), "", nullptr));

    // 2. the state update, under the schema the rules allow for this action
    const json schema = update_schema(world_, state_, a);
    // room for the shortest valid update (the forced values plus the punctuation) and some slack
    json shortest = {{"loc", schema["properties"]["loc"]["enum"][0]}, {"take", json::array()},
                     {"drop", json::array()}, {"set", json::array()}, {"hp", -9}};
    for (const char* k : {"take", "drop", "set"}) {
        if (schema["properties"][k].contains("items") && schema["properties"][k]["items"].contains("enum")) {
            shortest[k] = schema["properties"][k]["items"]["enum"];
        }
    }
    const int update_reserve = static_cast<int>(shortest.dump().size()) + 24;
    const PromptParts bookkeep{
        .system = "You keep the state of a text adventure. Given the player's action and its narration, write "
                  "the state update as one JSON object: loc (the id of the player's location after the action), "
                  "take and drop (the ids of the items taken and dropped), set (the ids of the flags the action "
                  "sets) and hp (the change in health, 0 or less).",
        .head = head, .tail = tail + " " + narration + "\nState update: ",
        .ask = "Player: " + input + "\nNarrator: " + narration + "\nWrite the state update.", .exchanges = kept,
        .head_before_exchanges = head.size() - 1};
    const std::string update_prompt = prompter_->build(bookkeep, update_reserve);
    std::string raw;
    generate_text(update_prompt, update_reserve, turn_seed(opt_.seed, turn_no, attempt, 1), schema.dump(), &raw);
    ++updates_written_;
    json update;
    std::optional<std::string> invalid;
    try {
        update = json::parse(raw);
        invalid = check_update(world_, state_, a, update);
    } catch (const json::parse_error& e) {
        invalid = fmt::format("not JSON ({})", e.what());
    }
    if (invalid) {
        return {.kind = TurnResult::Kind::Refused,
                .text = fmt::format("The narrator's state update broke the rules ({}): {}; nothing changed, try again.", *invalid, raw),
                .update_raw = raw, .choices = choices(), .narration_prompt = prompt, .update_prompt = update_prompt};
    }
    ++updates_valid_;

    // 3. apply, and tell what the rules made of it
    const State before = state_;
    state_ = apply_update(world_, state_, update);
    add_turn({.input = input, .narration = narration, .update_raw = raw, .attempt = attempt, .state_after = state_},
             branch_id);
    std::string facts;
    // (appended piece by piece: GCC 12 warns falsely on "lit" + std::string chains)
    const auto add_fact = [&facts](const std::string& f) {
        if (!facts.empty()) facts += ' ';
        facts += f;
    };
    if (state_.location != before.location) facts += describe_location(world_, state_);
    for (const json& x : update["take"]) add_fact(fmt::format("Taken: {}.", world_.items.at(x.get<std::string>()).name));
    if (a.verb == Verb::Drop) add_fact(fmt::format("Dropped: {}.", world_.items.at(a.object).name));
    for (const json& x : update["set"]) {
        for (const Use& u : world_.uses) {
            if (u.sets == x.get<std::string>() && u.item == a.object) add_fact(u.text);
        }
    }
    if (state_.health < before.health) add_fact(fmt::format("You lose {} health.", before.health - state_.health));
    for (const std::string& g : state_.goals_done) {
        if (std::find(before.goals_done.begin(), before.goals_done.end(), g) == before.goals_done.end()) {
            for (const Goal& goal : world_.goals) {
                if (goal.id == g) add_fact("Goal done: " + goal.description);
            }
        }
    }
    TurnResult r{.kind = TurnResult::Kind::Narrated, .narration = narration, .update = update,
                 .update_raw = raw, .choices = choices(), .narration_prompt = prompt,
                 .update_prompt = update_prompt, .game_over = state_.health <= 0,
                 .won = all_goals_done(world_, state_)};
    r.text = narration.empty() ? facts : (facts.empty() ? narration : narration + "\n" + facts);
    if (r.game_over) r.text += "\nYou have fallen. The game is over (undo, load or quit).";
    if (r.won) r.text += "\nEvery goal is done: you have won!";
    return r;
}

// Undo takes turns back: they are removed (unless another branch goes on from them, which
// keeps them there). `branch n` is the way back that keeps them.
TurnResult Game::command_undo(int n) {
    if (history_.empty()) return {.kind = TurnResult::Kind::Command, .text = "Nothing to undo.", .choices = choices()};
    n = std::min<int>(n, static_cast<int>(history_.size()));
    int target = tip_;
    for (int k = 0; k < n; ++k) target = turns_[static_cast<size_t>(target)].parent;
    remove_leaves_above(tip_, target);
    return {.kind = TurnResult::Kind::Command,
            .text = fmt::format("Undid {} turn{}. {}", n, n == 1 ? "" : "s", describe_location(world_, state_)),
            .choices = choices()};
}

// Plays the last turn of the line again from the state before it. The new turn replaces the
// old one, which stays only if a branch goes on from it; a failed retry changes nothing.
TurnResult Game::command_retry() {
    if (history_.empty()) return {.kind = TurnResult::Kind::Command, .text = "Nothing to retry.", .choices = choices()};
    const int old = tip_;
    const Turn last = turns_[static_cast<size_t>(old)];
    const bool replaced = !has_children(old);
    set_tip(last.parent);
    TurnResult r = play_action(last.input, last.attempt + 1, replaced ? last.branch : 0);
    if (r.kind != TurnResult::Kind::Narrated) {
        set_tip(old);
    } else if (replaced) {
        remove_leaves_above(old, tip_);
    }
    return r;
}

TurnResult Game::command_branch(const std::string& arg) {
    auto say = [this](std::string text) {
        return TurnResult{.kind = TurnResult::Kind::Command, .text = std::move(text), .choices = choices(),
                          .game_over = state_.health <= 0, .won = all_goals_done(world_, state_)};
    };
    const int len = static_cast<int>(history_.size());
    if (len == 0) return say("No turns played yet: nothing to branch from.");
    int n = len - 1;
    if (!arg.empty()) {
        if (!is_number(arg)) return say(fmt::format("branch: expected a turn number 0-{}, got '{}'", len - 1, arg));
        n = std::stoi(arg);
    }
    if (n == len) return say(fmt::format("branch: you are at turn {} already; expected 0-{} (0 = the start)", n, len - 1));
    if (n > len) {
        return say(fmt::format("branch: turn {} is beyond this line's {} turn{}; expected 0-{} (0 = the start)", n, len,
                               len == 1 ? "" : "s", len - 1));
    }
    const int left = branch();
    set_tip(n == 0 ? -1 : [&] {
        int node = tip_;
        for (int k = len; k > n; --k) node = turns_[static_cast<size_t>(node)].parent;
        return node;
    }());
    return say(fmt::format("Back at turn {}; turns {}-{} stay on branch {} (switch {} returns there), your next move "
                           "starts a new branch. {}",
                           n, n + 1, len, left, left, describe_location(world_, state_)));
}

TurnResult Game::command_switch(int branch_id) {
    const int tip = branch_id > 0 ? tip_of(branch_id) : -1;
    if (tip < 0 && !(branch_id == 1 && turns_.empty())) {
        std::string ids;
        for (int b : branch_ids()) ids += (ids.empty() ? "" : ", ") + std::to_string(b);
        return {.kind = TurnResult::Kind::Command,
                .text = fmt::format("switch: no branch {}; expected one of: {} (type branches)",
                                    branch_id < 0 ? std::string("that large") : std::to_string(branch_id), ids),
                .choices = choices(), .game_over = state_.health <= 0, .won = all_goals_done(world_, state_)};
    }
    set_tip(tip);
    return {.kind = TurnResult::Kind::Command,
            .text = fmt::format("On branch {}, turn {}. {}", branch_id, history_.size(), describe_location(world_, state_)),
            .choices = choices(), .game_over = state_.health <= 0, .won = all_goals_done(world_, state_)};
}

TurnResult Game::command_save(const std::string& slot) {
    if (opt_.saves_path.empty()) {
        return {.kind = TurnResult::Kind::Command, .text = "Saving is off: no saves file (--saves FILE).", .choices = choices()};
    }
    try {
        check_slot_name(slot);
        SaveStore store(opt_.saves_path);
        store.save(slot, save());
    } catch (const Error& e) {
        return {.kind = TurnResult::Kind::Command, .text = fmt::format("Could not save: {}", e.what()), .choices = choices()};
    }
    return {.kind = TurnResult::Kind::Command,
            .text = fmt::format("Saved to slot '{}' ({} turns).", slot, history_.size()), .choices = choices()};
}

TurnResult Game::command_load(const std::string& slot) {
    if (opt_.saves_path.empty()) {
        return {.kind = TurnResult::Kind::Command, .text = "Loading is off: no saves file (--saves FILE).", .choices = choices()};
    }
    try {
        check_slot_name(slot);
        SaveStore store(opt_.saves_path);
        Game g = Game::restore(model_, *pool_, store.load(slot), opt_);
        *this = std::move(g);
    } catch (const Error& e) {
        return {.kind = TurnResult::Kind::Command, .text = fmt::format("Could not load: {}", e.what()), .choices = choices()};
    }
    return {.kind = TurnResult::Kind::Command,
            .text = fmt::format("Loaded slot '{}' ({} turns). {}", slot, history_.size(), describe_location(world_, state_)),
            .choices = choices()};
}

}  // namespace lyra::art::play
