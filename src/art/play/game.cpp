// One playthrough (game.h): commands, the turn pipeline (rules -> narration -> constrained
// state update -> checks -> apply), undo/retry/history and save/restore.
#include "art/play/game.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "art/common/text.h"
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

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_command_word(const std::string& w) {
    static const char* const kWords[] = {"look", "l", "inventory", "inv", "i", "undo", "retry",
                                         "save", "load", "history", "quit", "exit", "q", "help", "?",
                                         "saves"};
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
    if (!premise.empty() && !g.opt_.world && g.opt_.world_path.empty()) g.draft_world(premise);
    return g;
}

// The model drafts the world's names for the premise, each under a grammar (capitalised
// words), over the built-in map; the result is checked like any world file.
void Game::draft_world(const std::string& premise) {
    if (auto bad = gen::find_invalid_utf8(premise)) {
        throw_error(ErrorKind::InvalidArgument, "premise: invalid UTF-8 at byte {}; expected UTF-8 text", *bad);
    }
    if (trim(premise).empty() || premise.size() > 2000) {
        throw_error(ErrorKind::InvalidArgument, "premise: expected 1-2000 bytes of text, got {}", premise.size());
    }
    const std::string name_schema =
        R"({"type":"string","pattern":"[A-Z][a-z]{2,10}( [A-Z][a-z]{2,10}){0,2}"})";
    int stage = 100;
    auto draft = [&](const std::string& what) {
        const PromptParts parts{
            .system = "You name the title, places and characters of a text adventure for its premise. "
                      "Answer with one name of one to three capitalised words, as a JSON string, and nothing else.",
            .head = {"Premise: " + premise + "\n"}, .tail = what + ": ",
            .ask = "Name the game's " + lower(what) + "."};
        const std::string prompt = prompter_->build(parts, 48);
        std::string raw;
        generate_text(prompt, 48, turn_seed(opt_.seed, 0, 0, stage++), name_schema, &raw);
        try {
            return json::parse(raw).get<std::string>();
        } catch (const std::exception&) {
            throw_error(ErrorKind::InvalidArgument, "premise: the model's draft of the {} did not parse: {}", what, raw);
        }
    };
    World w = world_;
    w.setting = trim(premise);
    w.title = "The " + draft("Title");
    for (auto& [id, l] : w.locations) l.name = draft("Place");
    for (auto& [id, c] : w.characters) c.name = draft("Character");
    world_ = world_from_json(w.to_json(), "drafted world");  // the same checks as a world file
    start_ = initial_state(world_);
    state_ = start_;
}

Game Game::restore(std::shared_ptr<const model::Model> model, core::ThreadPool& pool,
                   const json& saved, GameOptions opt) {
    World w;
    uint64_t seed = 0;
    State start;
    std::vector<Turn> history;
    try {
        if (saved.at("version").get<int>() != 1) {
            throw_error(ErrorKind::Unsupported, "saved game: version {}; expected 1", saved.at("version").dump());
        }
        seed = saved.at("seed").get<uint64_t>();
        // the format the game was played in (absent in saves from before chat prompts: plain)
        if (opt.prompt_format == "auto") opt.prompt_format = saved.value("prompt_format", std::string("plain"));
        w = world_from_json(saved.at("world"), "saved game");
        start = State::from_json(saved.at("start"));
        for (const json& t : saved.at("history")) {
            history.push_back({.input = t.at("input").get<std::string>(),
                               .narration = t.at("narration").get<std::string>(),
                               .update_raw = t.at("update").get<std::string>(),
                               .attempt = t.at("attempt").get<int>(),
                               .state_after = State::from_json(t.at("state"))});
        }
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "saved game: {}; expected the output of Game::save", e.what());
    }
    for (const State* s : {&start}) {
        if (!w.locations.count(s->location)) throw_error(ErrorKind::Corrupt, "saved game: unknown location '{}'", s->location);
    }
    for (const Turn& t : history) {
        if (!w.locations.count(t.state_after.location)) {
            throw_error(ErrorKind::Corrupt, "saved game: unknown location '{}'", t.state_after.location);
        }
    }
    opt.seed = seed;
    opt.world = std::nullopt;
    Game g(std::move(model), pool, std::move(opt), std::move(w));
    g.start_ = start;
    g.history_ = std::move(history);
    g.state_ = g.history_.empty() ? g.start_ : g.history_.back().state_after;
    return g;
}

json Game::save() const {
    json h = json::array();
    for (const Turn& t : history_) {
        h.push_back({{"input", t.input}, {"narration", t.narration}, {"update", t.update_raw},
                     {"attempt", t.attempt}, {"state", t.state_after.to_json()}});
    }
    return {{"version", 1}, {"seed", opt_.seed}, {"prompt_format", prompt_format()}, {"world", world_.to_json()},
            {"start", start_.to_json()}, {"history", h}};
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
    std::istringstream in(input);
    std::string cmd, arg;
    in >> cmd >> arg;
    std::string rest;
    std::getline(in, rest);
    cmd = lower(cmd);
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
            std::string s;
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

TurnResult Game::play_action(const std::string& input, int attempt) {
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
    const size_t recent = std::min<size_t>(history_.size(), 3);
    for (size_t k = history_.size() - recent; k < history_.size(); ++k) {
        head.push_back("Player: " + history_[k].input + "\nNarrator: " + history_[k].narration + "\n");
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
        .ask = "Player: " + input + "\nNarrate what happens."};
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
        .ask = "Player: " + input + "\nNarrator: " + narration + "\nWrite the state update."};
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
    history_.push_back({.input = input, .narration = narration, .update_raw = raw, .attempt = attempt,
                        .state_after = state_});
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

TurnResult Game::command_undo(int n) {
    if (history_.empty()) return {.kind = TurnResult::Kind::Command, .text = "Nothing to undo.", .choices = choices()};
    n = std::min<int>(n, static_cast<int>(history_.size()));
    history_.resize(history_.size() - static_cast<size_t>(n));
    state_ = history_.empty() ? start_ : history_.back().state_after;
    return {.kind = TurnResult::Kind::Command,
            .text = fmt::format("Undid {} turn{}. {}", n, n == 1 ? "" : "s", describe_location(world_, state_)),
            .choices = choices()};
}

TurnResult Game::command_retry() {
    if (history_.empty()) return {.kind = TurnResult::Kind::Command, .text = "Nothing to retry.", .choices = choices()};
    const Turn last = history_.back();
    history_.pop_back();
    state_ = history_.empty() ? start_ : history_.back().state_after;
    TurnResult r = play_action(last.input, last.attempt + 1);
    if (r.kind != TurnResult::Kind::Narrated) {  // keep the old turn when the retry fails
        history_.push_back(last);
        state_ = last.state_after;
    }
    return r;
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
