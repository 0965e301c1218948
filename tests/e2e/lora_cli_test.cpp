// LoRA through the command line (issue #3): `lyra train` a tiny base, `lyra train` an adapter on
// it ([model] base + [lora]), `lyra model info` describes the adapter, and `lyra generate
// -m BASE --lora ADAPTER` samples exactly what the model baked by `lyra model merge` samples.
// Bad adapters and a remote model with --lora are one clear error.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;
using Args = std::vector<std::string>;

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text;
}

RunResult must_run(const Args& args) {
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    return r;
}

class LoraCli : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string shared = env_or_empty("LYRA_SHARED_DIR");
        if (shared.empty()) GTEST_SKIP() << "LYRA_SHARED_DIR is not set";
        const fs::path d = dir_.path();
        base_ = (d / "base.gguf").string();
        adapter_ = (d / "jigs-lora.gguf").string();
        write_file(d / "base.toml",
                   "output = \"" + base_ + "\"\nseed = 7\nwork_dir = \"" + (d / "w1").string() + "\"\n"
                   "[data]\nfiles = [\"" + shared + "/data/tinyshakespeare/input.txt\"]\n"
                   "[tokenizer]\nkind = \"char:0\"\n"
                   "[model]\narch = \"llama\"\nn_embd = 32\nn_layer = 2\nn_head = 4\nn_head_kv = 2\n"
                   "[train]\nbatch = 4\ncontext = 32\nsteps = 20\nlr = 5e-3\nwarmup = 2\n"
                   "eval_interval = 0\neval_iters = 2\nthreads = 1\n[sample]\ntokens = 8\n");
        write_file(d / "lora.toml",
                   "output = \"" + adapter_ + "\"\nseed = 3\nwork_dir = \"" + (d / "w2").string() + "\"\n"
                   "[data]\nfiles = [\"" + shared + "/data/nottingham-abc/jigs.abc\"]\n"
                   "[model]\nbase = \"" + base_ + "\"\n"
                   "[lora]\nrank = 4\nalpha = 8\ndropout = 0.0\ntargets = [\"attn_q\", \"attn_v\", \"ffn_up\"]\n"
                   "[train]\nbatch = 4\ncontext = 32\nsteps = 20\nlr = 1e-2\nwarmup = 2\n"
                   "eval_interval = 0\neval_iters = 2\nthreads = 1\n[sample]\ntokens = 8\n");
        must_run({"train", (d / "base.toml").string()});
        must_run({"train", (d / "lora.toml").string()});
    }
    TempDir dir_;
    std::string base_, adapter_;
};

TEST_F(LoraCli, AdapterIsDescribedAndGenerateWithLoraEqualsTheMergedModel) {
    const RunResult info = must_run({"model", "info", adapter_, "--json"});
    const auto j = nlohmann::json::parse(info.out);
    EXPECT_EQ(j["type"], "adapter");
    EXPECT_EQ(j["adapter_type"], "lora");
    EXPECT_EQ(j["rank"], 4);
    EXPECT_EQ(j["alpha"], 8.0);
    EXPECT_EQ(j["targets"]["attn_q"], 2);
    EXPECT_EQ(j["targets"]["ffn_up"], 2);
    EXPECT_FALSE(j["targets"].contains("attn_k"));
    EXPECT_NE(must_run({"model", "info", adapter_}).out.find("lora for llama, rank 4"), std::string::npos);

    const std::string merged = (dir_.path() / "merged.gguf").string();
    must_run({"model", "merge", base_, adapter_, "-o", merged});
    // Sampled at temperature 1 with one seed: any change in the distribution shows in the text,
    // and --lora (merged at load) is bit for bit the merged file, so those two agree exactly.
    const Args gen = {"-p", "X:1\nT:", "--temperature", "1", "--top-k", "0", "--top-p", "1",
                      "--min-p", "0", "--seed", "11", "--max-tokens", "60", "--threads", "1"};
    Args with_lora = {"generate", "-m", base_, "--lora", adapter_};
    with_lora.insert(with_lora.end(), gen.begin(), gen.end());
    Args with_merged = {"generate", "-m", merged};
    with_merged.insert(with_merged.end(), gen.begin(), gen.end());
    Args base_only = {"generate", "-m", base_};
    base_only.insert(base_only.end(), gen.begin(), gen.end());
    const std::string a = must_run(with_lora).out, b = must_run(with_merged).out;
    EXPECT_EQ(a, b);
    EXPECT_NE(a, must_run(base_only).out) << "the adapter changed nothing";
}

TEST_F(LoraCli, BadAdaptersAreOneClearError) {
    // The base itself is not an adapter; a missing file; an adapter with a remote model.
    for (const Args& args : {Args{"model", "merge", base_, base_, "-o", (dir_.path() / "x.gguf").string()},
                             Args{"generate", "-m", base_, "--lora", (dir_.path() / "none.gguf").string(), "-p", "A"},
                             Args{"generate", "-m", "openai:m@http://127.0.0.1:1", "--lora", adapter_, "-p", "A"}}) {
        const RunResult r = run_lyra(args);
        EXPECT_EQ(r.code, 1) << r.err << "\nrepro: " << repro(args);
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_FALSE(fs::exists(dir_.path() / "x.gguf"));
}

}  // namespace
}  // namespace lyra::e2e
