// `lyra play`: the interactive story game in a terminal (art/play/game.h). Reads the player's
// lines from stdin one at a time (so scripted sessions work: `lyra play < moves.txt`), prints
// the narration wrapped to the terminal width (by display width: CJK text wraps between
// characters, art/common/unicode.h), a status line and the suggested choices, then
// the prompt "> ". --json prints one JSON object per turn instead (for tools and tests).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "art/common/unicode.h"
#include "art/play/game.h"
#include "art/play/saves.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/models_dir.h"
#include "generate/result_json.h"
#include "model/model.h"

namespace lyra::cli {

namespace {

struct PlayFlags {
    std::string world, premise, load, saves, model, prompt_format = "auto";
    uint64_t seed = 0;
    int threads = 0;
    float temperature = 0.8f;
    int width = 0;
    bool json = false;
    bool show_prompts = false;
};

void out(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

std::string default_saves_path() {
    if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x != '\0') {
        return std::string(x) + "/lyra/saves.db";
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        return std::string(h) + "/.local/share/lyra/saves.db";
    }
    return "lyra-saves.db";
}

const char* kind_name(art::play::TurnResult::Kind k) {
    switch (k) {
        case art::play::TurnResult::Kind::Narrated: return "narrated";
        case art::play::TurnResult::Kind::Refused: return "refused";
        case art::play::TurnResult::Kind::Command: return "command";
        case art::play::TurnResult::Kind::Quit: return "quit";
    }
    return "?";
}

void run_play(const PlayFlags& f) {
    namespace play = art::play;
    const std::string model_path = f.model.empty() ? gen::default_model_path(play::default_model_file()) : f.model;
    std::shared_ptr<const model::Model> model = model::Model::load(model_path);
    const int threads = f.threads > 0 ? f.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    core::ThreadPool pool(threads);

    play::GameOptions opt;
    opt.world_path = f.world;
    opt.premise = f.premise;
    opt.seed = f.seed;
    opt.temperature = f.temperature;
    opt.prompt_format = f.prompt_format;
    opt.saves_path = f.saves.empty() ? default_saves_path() : f.saves;
    std::filesystem::path dir = std::filesystem::path(opt.saves_path).parent_path();
    if (!dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
    }

    std::optional<play::Game> game;
    if (!f.load.empty()) {
        play::check_slot_name(f.load);
        if (!std::filesystem::exists(opt.saves_path)) {
            throw_error(ErrorKind::NotFound, "saves '{}': no such file; expected a saves file written by 'save' in lyra play", opt.saves_path);
        }
        play::SaveStore store(opt.saves_path);
        game.emplace(play::Game::restore(model, pool, store.load(f.load), opt));
    } else {
        game.emplace(play::Game::create(model, pool, opt));
    }

    const int width = f.width > 0 ? f.width : [] {
        const char* c = std::getenv("COLUMNS");
        const int w = c ? std::atoi(c) : 0;
        return w >= 20 ? std::min(w, 200) : 78;
    }();
    auto show_state = [&](const play::TurnResult* r) {
        if (f.json) {
            nlohmann::json j = {{"state", game->state().to_json()}, {"choices", game->choices()},
                                {"turns", game->history().size()}, {"branch", game->branch()},
                                {"branches", game->branch_count()}};
            if (r == nullptr && !game->draft().is_null()) j["draft"] = game->draft();
            if (r != nullptr) {
                j["kind"] = kind_name(r->kind);
                j["text"] = r->text;
                j["narration"] = r->narration;
                j["update"] = r->update;
                j["update_raw"] = r->update_raw;
                j["game_over"] = r->game_over;
                j["won"] = r->won;
            } else {
                j["kind"] = "intro";
                j["text"] = game->intro();
            }
            j["prompt_format"] = game->prompt_format();
            if (f.show_prompts && r != nullptr && !r->narration_prompt.empty()) {
                j["prompts"] = {{"narration", r->narration_prompt}, {"update", r->update_prompt}};
            }
            j["updates_written"] = game->updates_written();
            j["updates_valid"] = game->updates_valid();
            out(gen::dump_json(j) + "\n");
            return;
        }
        out("\n" + art::wrap_text(r == nullptr ? game->intro() : r->text, width));
        if (r != nullptr && r->kind == play::TurnResult::Kind::Quit) return;
        out(art::wrap_text(game->status_line(), width));
        const auto ch = game->choices();
        if (!ch.empty()) {
            std::string s = "Choices:";
            for (size_t i = 0; i < ch.size(); ++i) s += (i ? " | " : " ") + ch[i];
            out(art::wrap_text(s, width));
        }
        out("> ");
    };
    show_state(nullptr);
    std::string line;
    while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const play::TurnResult r = game->turn(line);
        show_state(&r);
        if (r.kind == play::TurnResult::Kind::Quit) return;
    }
    if (!f.json) out("\n");
}

}  // namespace

void add_play_command(CLI::App& app) {
    auto f = std::make_shared<PlayFlags>();
    CLI::App* cmd = app.add_subcommand("play", "play an interactive story narrated by the model (reads moves from stdin)");
    cmd->add_option("--world", f->world, "world file (.toml or .json; default: the built-in Lantern Keep)");
    cmd->add_option("--premise", f->premise, "a premise: the model drafts a whole world for it (checked like a world file)");
    cmd->add_option("--load", f->load, "resume the game saved in this slot");
    cmd->add_option("--saves", f->saves, "SQLite saves file (default: ~/.local/share/lyra/saves.db)");
    cmd->add_option("--seed", f->seed, "random seed (default 0): same world, seed and moves, same game");
    cmd->add_option("-m,--model", f->model, "GGUF model (default: models/prose-en.gguf, else models/tiny-shakespeare-char.gguf)");
    cmd->add_option("--threads", f->threads, "worker threads (default: all cores)");
    cmd->add_option("--temperature", f->temperature, "sampling temperature (0 = greedy)");
    cmd->add_option("--width", f->width, "wrap text at this many columns (default: $COLUMNS or 78)");
    cmd->add_flag("--json", f->json, "print one JSON object per turn (state, update, choices)");
    cmd->add_option("--prompt-format", f->prompt_format,
                     "auto (default: the model's chat template when it has a known one), plain or chat");
    cmd->add_flag("--show-prompts", f->show_prompts, "with --json: also print the prompts the model saw each turn");
    cmd->callback([f] { run_play(*f); });
}

}  // namespace lyra::cli
