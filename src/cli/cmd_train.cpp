// `lyra train RECIPE [--resume] [--threads N] [--stop-after S] [--profile]`: trains a model from a TOML recipe (see
// docs/training.md). Progress, eval loss and perplexity go to stderr; the final GGUF, loss
// curve (CSV + SVG) and model card are written beside the recipe's output path.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "studio/data_prep.h"
#include "train/recipe.h"
#include "train/trainer.h"

namespace lyra::cli {

namespace {
struct TrainCliOptions {
    std::string recipe;
    bool resume = false;
    int threads = 0;
    int64_t stop_after = 0;
    bool profile = false;
};
}  // namespace

void add_train_command(CLI::App& app) {
    auto opt = std::make_shared<TrainCliOptions>();
    auto* cmd = app.add_subcommand("train", "Train a model from a TOML recipe (recipes/*.toml)");
    cmd->add_option("recipe", opt->recipe, "Recipe file")->required();
    cmd->add_flag("--resume", opt->resume, "Continue from the recipe's last checkpoint");
    cmd->add_option("--threads,-t", opt->threads, "Threads (0 = recipe's setting, else all cores)")
        ->check(whole_between(0, 1024));
    cmd->add_option("--stop-after", opt->stop_after,
                    "Stop after this many total steps, as if interrupted (for tests)")
        ->check(whole_between(int64_t{0}, int64_t{1} << 40));
    cmd->add_flag("--profile", opt->profile,
                  "Time each step's phases and print where the time went (pool or one thread)");
    cmd->callback([opt] {
        // A recipe with a [prep] table builds its corpus first when it is not there yet.
        if (const auto prep = studio::read_prep_spec(opt->recipe);
            prep && !std::filesystem::exists(prep->output)) {
            std::fputs(studio::format_prep_summary(studio::run_data_prep(*prep)).c_str(), stderr);
        }
        train::Recipe recipe = train::parse_recipe_file(opt->recipe);
        train::TrainOptions topt;
        topt.threads = opt->threads;
        topt.resume = opt->resume;
        topt.stop_after = opt->stop_after;
        topt.profile = opt->profile;
        train::Trainer trainer(std::move(recipe), topt);
        const train::TrainReport rep = trainer.run();
        if (rep.finished) {
            std::printf("%s\n", rep.model_path.c_str());
        } else {
            std::printf("stopped at step %lld\n", static_cast<long long>(rep.steps_done));
        }
    });
}

}  // namespace lyra::cli
