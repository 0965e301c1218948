// `lyra`: parses flags and hands off to liblyra. The one place CLI errors are caught:
// exit 2 for usage errors, 1 for any other failure, always with one line on stderr.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
    CLI::App app{"Lyra: a local engine for LLM-driven art", "lyra"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "lyra 0.1.0");
    lyra::cli::add_generate_command(app);
    lyra::cli::add_bench_command(app);
    lyra::cli::add_model_command(app);
    lyra::cli::add_tokenize_command(app);
    lyra::cli::add_tokenizer_command(app);
    lyra::cli::add_demo_command(app);
    lyra::cli::add_train_command(app);
    lyra::cli::add_play_command(app);
    lyra::cli::add_story_command(app);
    lyra::cli::add_paint_command(app);
    lyra::cli::add_poem_command(app);
    lyra::cli::add_tune_command(app);
    lyra::cli::add_serve_command(app);
    lyra::cli::add_gallery_command(app);
    lyra::cli::add_data_command(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "lyra: %s; run 'lyra --help' for usage\n", e.what());
        return 2;
    } catch (const lyra::Error& e) {
        std::fprintf(stderr, "lyra: %s\n", e.what());
        return e.kind() == lyra::ErrorKind::Usage ? 2 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lyra: %s\n", e.what());
        return 1;
    }
    return 0;
}
