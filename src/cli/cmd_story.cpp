// `lyra story`: stories and screenplays, planned then written (art/story/story.h). The flags
// become the story request; the shared art plumbing runs it and prints the result.
#include <memory>
#include <string>

#include "art/story/story.h"
#include "cli/art_cli.h"
#include "cli/commands.h"

namespace lyra::cli {

namespace {

struct StoryFlags {
    ArtCliState st;
    std::string premise, form, genre, pov, from_outline, planner, prompt_format;
    std::optional<int> length, acts;
};

}  // namespace

void add_story_command(CLI::App& app) {
    auto f = std::make_shared<StoryFlags>();
    CLI::App* cmd = app.add_subcommand("story", "write a story or screenplay: premise -> bible -> outline -> scenes");
    cmd->add_option("--premise", f->premise, "what the story is about");
    cmd->add_option("--form", f->form, "short (prose, default), screenplay (Fountain + HTML) or outline");
    cmd->add_option("--length", f->length, "length in words (50-20000, default 600)");
    cmd->add_option("--genre", f->genre, "genre (default: literary)");
    cmd->add_option("--pov", f->pov, "point of view: first or third (default)");
    cmd->add_option("--acts", f->acts, "number of acts (1-5, default 3)");
    cmd->add_option("--from-outline", f->from_outline, "regenerate from an (edited) outline.json");
    cmd->add_option("--planner", f->planner,
                    "t5 GGUF that recaps earlier scenes (summarize:), titles the work and picks the "
                    "premise's keywords");
    cmd->add_option("--prompt-format", f->prompt_format,
                    "auto (default: the model's chat template when it has a known one), plain or chat");
    add_common_art_flags(cmd, f->st);
    cmd->callback([f] {
        auto& r = f->st.request;
        if (!f->premise.empty()) r["premise"] = f->premise;
        if (!f->form.empty()) r["form"] = f->form;
        if (!f->genre.empty()) r["genre"] = f->genre;
        if (!f->pov.empty()) r["pov"] = f->pov;
        if (!f->from_outline.empty()) r["from_outline"] = f->from_outline;
        if (!f->planner.empty()) r["planner"] = f->planner;
        if (!f->prompt_format.empty()) r["prompt_format"] = f->prompt_format;
        if (f->length) r["length"] = *f->length;
        if (f->acts) r["acts"] = *f->acts;
        run_art_command("story", art::story::run_story, f->st);
    });
}

}  // namespace lyra::cli
