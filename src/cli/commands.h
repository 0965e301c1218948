// The `lyra` subcommands. Each add_*_command() registers one subcommand (its flags and a
// callback that calls liblyra) on the root app; the callback throws lyra::Error on failure and
// main() turns that into one stderr line and the contract's exit code (DESIGN.md).
#pragma once

#include <CLI/CLI.hpp>

#include "core/dtype.h"

namespace lyra::cli {

// Range checks with plain messages ("out of range; expected at least 1, got 0"; "expected an
// integer, got 'abc'"): CLI11's own Range and PositiveNumber print the whole double range.
// Numbers (any real) and whole numbers (integers only) separately, so a count is not offered
// 1.5. validators.cpp.
CLI::Validator at_least(double lo);
CLI::Validator between(double lo, double hi);
CLI::Validator whole_at_least(int64_t lo);
CLI::Validator whole_between(int64_t lo, int64_t hi);

// --kv-type f32|f16|q8_0 into `out` (the KV cache's element type; docs/user-guide.md), for
// generate, serve and bench, read by model::parse_kv_type; anything else is a usage error (exit 2)
// with its message. Defined in cmd_generate.cpp.
void add_kv_type_option(CLI::App* cmd, core::DType& out);

void add_generate_command(CLI::App& app);  // cmd_generate.cpp
void add_bench_command(CLI::App& app);     // cmd_bench.cpp
void add_model_command(CLI::App& app);     // cmd_model.cpp: init, import, quantize, info
void add_encoder_commands(CLI::App& model);  // cmd_model_encoder.cpp: model fill, model embed
void add_tokenize_command(CLI::App& app);  // cmd_tokenize.cpp
void add_tokenizer_command(CLI::App& app); // cmd_tokenizer.cpp: tokenizer train
void add_demo_command(CLI::App& app);      // cmd_demo.cpp
void add_train_command(CLI::App& app);     // cmd_train.cpp
void add_play_command(CLI::App& app);      // cmd_play.cpp
void add_story_command(CLI::App& app);     // cmd_story.cpp
void add_paint_command(CLI::App& app);     // cmd_paint.cpp: paint, eval, roundtrip, normalize, render, grammar
void add_poem_command(CLI::App& app);      // cmd_poem.cpp: poem, --list-forms, --check, eval
void add_tune_command(CLI::App& app);      // cmd_tune.cpp: tune, eval
void add_serve_command(CLI::App& app);     // cmd_serve.cpp
void add_gallery_command(CLI::App& app);   // cmd_gallery.cpp: list, show [--rerun], export
void add_data_command(CLI::App& app);      // cmd_data.cpp: data prep

}  // namespace lyra::cli
