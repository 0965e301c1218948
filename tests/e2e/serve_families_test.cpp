// The server's batching scheduler with the families that do not decode like a plain decoder
// (issue 10): a Transformer-XL request goes on past the model's context by sliding its memory,
// exactly as `lyra generate` (gen::Generator) does, while another sequence slides at other
// steps in the same batch; a T5 request runs its encoder once (Model::prefill) and decodes. In
// both, greedy text through the server equals `lyra generate` on the same model and prompt.
// The models are random-weight tiny Hugging Face directories written by
// tests/unit/format/make_{transfo_xl,t5}_fixture.py and imported with `lyra model import`.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "serve_process.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Args = std::vector<std::string>;

// Imports a fixture directory written by `script` with `opts` as DIR/<name>.gguf.
void make_model(const fs::path& dir, const std::string& name, const std::string& script,
                const Args& opts) {
    const fs::path hf = dir / (name + "-hf");
    Args args = {hf.string()};
    args.insert(args.end(), opts.begin(), opts.end());
    ASSERT_TRUE(run_fixture_script(script, args)) << script;
    const Args import = {"model", "import", hf.string(), "-o", (dir / (name + ".gguf")).string()};
    const RunResult r = run_lyra(import);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(import);
    fs::remove_all(hf);  // only GGUF files in the served directory
}

// `lyra generate` greedy: the text and the number of tokens.
std::pair<std::string, size_t> generate(const std::string& model, const std::string& prompt,
                                        int max_tokens) {
    const Args args = {"generate",
                       "-m",
                       model,
                       "-p",
                       prompt,
                       "--max-tokens",
                       std::to_string(max_tokens),
                       "--temperature",
                       "0",
                       "--threads",
                       "1",
                       "--json"};
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const json j = json::parse(r.out);
    return {j["text"].get<std::string>(), j["tokens"].size()};
}

// POST /v1/completions with every prompt at once (one sequence each, batched together), greedy;
// checks each choice against `lyra generate` and returns the response.
json expect_like_generate(const ServeProcess& s, const fs::path& dir, const std::string& name,
                          const std::vector<std::string>& prompts, int max_tokens) {
    const json body = {
        {"model", name}, {"prompt", prompts}, {"max_tokens", max_tokens}, {"temperature", 0}};
    const Http h = post(s, "/v1/completions", body.dump());
    EXPECT_EQ(h.status, 200) << h.body;
    const json j = h.j();
    EXPECT_EQ(j["choices"].size(), prompts.size()) << h.body;
    for (const json& c : j["choices"]) {
        const size_t i = c["index"].get<size_t>();
        if (i >= prompts.size()) continue;
        const auto [text, n_tokens] =
            generate((dir / (name + ".gguf")).string(), prompts[i], max_tokens);
        EXPECT_EQ(c["text"], text) << name << " prompt '" << prompts[i] << "'";
        EXPECT_GE(n_tokens, 1u);
    }
    return j;
}

TEST(ServeFamilies, TransfoXlSlidesPastItsContextInABatchAsGenerateDoes) {
    TempDir dir;
    // Context = mem_len 12 + tgt_len 20 = 32 positions; 80 new tokens need the cache to slide,
    // and the two prompts' lengths make the sequences slide at different steps.
    make_model(dir.path(), "xl", "make_transfo_xl_fixture.py",
               {"--mem-len", "12", "--tgt-len", "20", "--seed", "7"});
    ServeProcess s({}, "", dir.path());
    ASSERT_TRUE(s.ok());
    const std::vector<std::string> prompts = {"hello there", "a b c d e f g h i j k"};
    const json j = expect_like_generate(s, dir.path(), "xl", prompts, 80);
    for (const json& c : j["choices"]) EXPECT_EQ(c["finish_reason"], "length") << c.dump();
    EXPECT_EQ(j["usage"]["completion_tokens"], 160) << j.dump();
}

TEST(ServeFamilies, T5DecodesInTheSchedulerAsGenerateDoes) {
    TempDir dir;
    make_model(dir.path(), "t5", "make_t5_fixture.py",
               {"--feed-forward-proj", "gated-gelu", "--no-tie"});
    ServeProcess s({}, "", dir.path());
    ASSERT_TRUE(s.ok());
    const json j = expect_like_generate(s, dir.path(), "t5", {"hello a b", "the ba ab hello"}, 16);
    for (const json& c : j["choices"])
        EXPECT_FALSE(c["text"].get<std::string>().empty()) << c.dump();
}

}  // namespace
}  // namespace lyra::e2e
