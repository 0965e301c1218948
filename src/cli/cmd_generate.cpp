// `lyra generate`: being written (issue #2); registered so the command list is complete.
#include "cli/commands.h"
#include "core/error.h"

namespace lyra::cli {

void add_generate_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("generate", "(not yet available)");
    cmd->allow_extras();
    cmd->callback([] { throw_error(ErrorKind::Unsupported, "'lyra generate' is not implemented yet"); });
}

}  // namespace lyra::cli
