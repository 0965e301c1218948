// `lyra data prep RECIPE`: runs the corpus builder named in the recipe's [prep] table, cleans and
// de-duplicates its documents, writes the corpus atomically and a JSON report beside it
// (studio/data_prep.h). The summary goes to stdout; --json prints the report instead.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "generate/result_json.h"
#include "studio/data_prep.h"

namespace lyra::cli {

namespace {
struct DataFlags {
    std::string recipe;
    bool json = false;
};
}  // namespace

void add_data_command(CLI::App& app) {
    auto f = std::make_shared<DataFlags>();
    auto* cmd = app.add_subcommand("data", "Prepare training corpora");
    cmd->require_subcommand(1);
    auto* prep = cmd->add_subcommand(
        "prep", "Build a recipe's corpus from its [prep] table: clean, de-duplicate, report");
    prep->add_option("recipe", f->recipe, "Recipe file (recipes/*.toml) with a [prep] table")->required();
    prep->add_flag("--json", f->json, "Print the report as JSON");
    prep->callback([f] {
        const auto spec = studio::read_prep_spec(f->recipe);
        if (!spec) {
            throw_error(ErrorKind::InvalidArgument,
                        "recipe '{}': no [prep] table; expected [prep] with builder = \"<name>\" and "
                        "output = \"build/data/<name>.txt\"",
                        f->recipe);
        }
        const studio::PrepReport r = studio::run_data_prep(*spec);
        const std::string out = f->json ? gen::dump_json(studio::report_to_json(r)) + "\n"
                                        : studio::format_prep_summary(r);
        std::fwrite(out.data(), 1, out.size(), stdout);
    });
}

}  // namespace lyra::cli
