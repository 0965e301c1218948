// examples/minimal_generate (the onboarding token loop) runs on the shipped model and prints
// exactly what `lyra generate --temperature 0` prints after the prompt.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

// The examples are built next to the tests: <build>/examples/minimal_generate, and
// LYRA_BIN is <build>/bin/lyra.
std::string example_bin() {
    return (std::filesystem::path(lyra_bin()).parent_path().parent_path() / "examples" /
            "minimal_generate")
        .string();
}

TEST(MinimalGenerateExample, MatchesGreedyLyraGenerate) {
    const std::string bin = example_bin();
    ASSERT_TRUE(std::filesystem::exists(bin)) << bin << " not built (cmake --build builds it)";
    const std::string prompt = "ROMEO:\n";
    const RunResult ex = run_program(bin, {shipped_model(), prompt, "48"});
    ASSERT_EQ(ex.code, 0) << ex.err;
    const RunResult cli = run_lyra({"generate", "-m", shipped_model(), "-p", prompt,
                                    "--temperature", "0", "--max-tokens", "48", "--no-stream",
                                    "--threads", "1"});
    ASSERT_EQ(cli.code, 0) << cli.err;
    EXPECT_EQ(ex.out, prompt + cli.out);
    EXPECT_GT(ex.out.size(), prompt.size() + 1);
}

TEST(MinimalGenerateExample, MissingModelIsOneLineAndExitOne) {
    const RunResult ex = run_program(example_bin(), {"no-such-model.gguf"});
    EXPECT_EQ(ex.code, 1);
    EXPECT_EQ(std::count(ex.err.begin(), ex.err.end(), '\n'), 1) << ex.err;
}

}  // namespace
}  // namespace lyra::e2e
