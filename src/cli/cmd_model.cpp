// `lyra model`: being written (issue #2); registered so the command list is complete.
#include "cli/commands.h"
#include "core/error.h"

namespace lyra::cli {

void add_model_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("model", "(not yet available)");
    cmd->allow_extras();
    cmd->callback([] { throw_error(ErrorKind::Unsupported, "'lyra model' is not implemented yet"); });
}

}  // namespace lyra::cli
