// `lyra train`: being written (issue #3); registered so the command list is complete.
#include "cli/commands.h"
#include "core/error.h"

namespace lyra::cli {

void add_train_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("train", "(not yet available)");
    cmd->allow_extras();
    cmd->callback([] { throw_error(ErrorKind::Unsupported, "'lyra train' is not implemented yet"); });
}

}  // namespace lyra::cli
