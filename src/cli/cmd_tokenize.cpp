// `lyra tokenize`: being written (issue #2); registered so the command list is complete.
#include "cli/commands.h"
#include "core/error.h"

namespace lyra::cli {

void add_tokenize_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("tokenize", "(not yet available)");
    cmd->allow_extras();
    cmd->callback([] { throw_error(ErrorKind::Unsupported, "'lyra tokenize' is not implemented yet"); });
}

}  // namespace lyra::cli
