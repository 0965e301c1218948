// `lyra bench` and `lyra demo` as a user runs them.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

TEST(BenchCli, PrintsJsonWithSpeedsMemoryAndMachineFacts) {
    const std::vector<std::string> args = {"bench",        "-m",     shipped_model(),
                                           "--prompt-tokens", "16", "--gen-tokens",
                                           "8",            "--reps", "1",
                                           "--threads",    "1"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const auto j = nlohmann::json::parse(r.out);
    for (const char* key : {"model", "arch", "n_params", "weight_bytes", "threads", "kernel_isa",
                            "prompt_tokens", "gen_tokens", "reps", "prompt_tok_s", "decode_tok_s",
                            "peak_rss_bytes"}) {
        EXPECT_TRUE(j.contains(key)) << key << " missing in " << r.out;
    }
    EXPECT_EQ(j["threads"], 1);
    EXPECT_EQ(j["arch"], "llama");
    EXPECT_GT(j["n_params"].get<int64_t>(), 100'000);
    EXPECT_GT(j["weight_bytes"].get<int64_t>(), 1'000'000);  // 0.89 M params, mostly f16
    EXPECT_GT(j["prompt_tok_s"].get<double>(), 0.0);
    EXPECT_GT(j["decode_tok_s"].get<double>(), 0.0);
    EXPECT_GT(j["peak_rss_bytes"].get<int64_t>(), 0);
}

TEST(BenchCli, RejectsARunLongerThanTheContext) {
    const RunResult r = run_lyra({"bench", "-m", shipped_model(), "--prompt-tokens", "250",
                                  "--gen-tokens", "64"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
}

TEST(DemoCli, WritesAGalleryPageAndJson) {
    TempDir dir;
    setenv("LYRA_GALLERY", (dir.path() / "gallery.sqlite").c_str(), 1);
    const std::string out = (dir.path() / "gallery").string();
    const RunResult r = run_lyra({"demo", "-o", out});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const std::string html = read_all(out + "/index.html");
    EXPECT_NE(html.find("<!doctype html>"), std::string::npos);
    EXPECT_NE(html.find("ROMEO:"), std::string::npos);
    // The page warns about an untrained model exactly when the model card says so.
    const bool untrained =
        read_all(source_dir() + "/models/tiny-shakespeare-char.md").find("Status: random-initialised") !=
        std::string::npos;
    EXPECT_EQ(html.find("random-initialised") != std::string::npos, untrained);
    EXPECT_NE(html.find("</html>"), std::string::npos);
    for (char c : html) {  // an untrained model emits control bytes; HTML text must not
        const auto u = static_cast<unsigned char>(c);
        EXPECT_FALSE((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) << int(u);
    }
    const auto j = nlohmann::json::parse(read_all(out + "/demo.json"));
    std::vector<std::string> texts;
    for (const auto& w : j["works"]) {
        if (w["form"] != "text") continue;
        ASSERT_EQ(w["status"], "ok") << w.dump();
        EXPECT_FALSE(w["text"].get<std::string>().empty());
        EXPECT_TRUE(w["result"].contains("seed"));
        texts.push_back(w["text"]);
    }
    ASSERT_EQ(texts.size(), 4u);
    // Fixed seeds: a second run writes the same works.
    const std::string out2 = (dir.path() / "again").string();
    ASSERT_EQ(run_lyra({"demo", "-o", out2, "--no-gallery"}).code, 0);
    const auto j2 = nlohmann::json::parse(read_all(out2 + "/demo.json"));
    std::vector<std::string> texts2;
    for (const auto& w : j2["works"]) {
        if (w["form"] == "text") texts2.push_back(w["text"]);
    }
    EXPECT_EQ(texts, texts2);
    EXPECT_NE(r.out.find("index.html"), std::string::npos);
    unsetenv("LYRA_GALLERY");
}

TEST(DemoCli, FailureLeavesNoOutputDirectory) {
    TempDir dir;
    const std::string out = (dir.path() / "gallery").string();
    const RunResult r = run_lyra({"demo", "-o", out, "-m", "no-such-model.gguf", "--no-gallery"});
    EXPECT_EQ(r.code, 1);
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_TRUE(dir.empty());
}

}  // namespace
}  // namespace lyra::e2e
