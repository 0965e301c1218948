// `lyra demo`: being written (issue #2); registered so the command list is complete.
#include "cli/commands.h"
#include "core/error.h"

namespace lyra::cli {

void add_demo_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("demo", "(not yet available)");
    cmd->allow_extras();
    cmd->callback([] { throw_error(ErrorKind::Unsupported, "'lyra demo' is not implemented yet"); });
}

}  // namespace lyra::cli
