// `lyra demo [-o DIR]`: the main job (DESIGN.md) — one work of every art form with the embedded
// models plus text continuations with the shipped model, an index.html page linking them all
// (studio/demo.h). Forms not built yet or without their embedded model are shown as such; the
// exit code is 1 only when a form that exists failed.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "studio/demo.h"

namespace lyra::cli {

namespace {
struct DemoFlags {
    studio::DemoOptions opt;
    bool no_gallery = false;
};
}  // namespace

void add_demo_command(CLI::App& app) {
    auto f = std::make_shared<DemoFlags>();
    auto* cmd = app.add_subcommand("demo", "Make a small gallery of every art form with the embedded models");
    cmd->add_option("-o,--output", f->opt.out_dir, "Output directory")->capture_default_str();
    cmd->add_option("-m,--model", f->opt.text_model, "Text model for the continuations (default: the shipped one)");
    cmd->add_option("--threads", f->opt.threads, "Threads (0 = all cores)")->capture_default_str()
        ->check(whole_between(0, 1024));
    cmd->add_flag("--no-gallery", f->no_gallery, "Do not record the works in the gallery");
    cmd->callback([f] {
        f->opt.record = !f->no_gallery;
        const studio::DemoReport r = studio::run_demo(f->opt);
        const std::string s = studio::format_demo_summary(r);
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
        if (!r.ok()) {
            throw_error(ErrorKind::InvalidArgument,
                        "demo: an art form failed; expected every built form to make its work; see {}",
                        r.index_path);
        }
    });
}

}  // namespace lyra::cli
