// `lyra tokenize` as a user runs it, on a GGUF file holding only a character vocabulary
// (the command reads tokenizer.ggml.* keys and nothing else).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "model/format/gguf.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::model {
namespace {

struct CliResult {
    int code;
    std::string out;
};

CliResult run_lyra(const std::string& args) {
    const char* bin = std::getenv("LYRA_BIN");
    std::string cmd = std::string(bin) + " " + args + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CmdTokenize : public testing::Test {
protected:
    void SetUp() override {
        if (!std::getenv("LYRA_BIN")) GTEST_SKIP() << "LYRA_BIN is not set (run through ctest)";
        path_ = testing::TempDir() + "/lyra_cmd_tok_" + std::to_string(getpid()) + ".gguf";
        GgufWriter w;
        build_char_vocab("abca  b")->write_gguf(w);  // ' ' 259, a 260, b 261, c 262
        w.write(path_);
    }
    void TearDown() override {
        if (!path_.empty()) std::remove(path_.c_str());
    }
    std::string path_;
};

TEST_F(CmdTokenize, PrintsIdsOnly) {
    CliResult r = run_lyra("tokenize -m " + path_ + " -p 'cab a' --ids-only");
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "1 262 260 261 259 260\n");
    r = run_lyra("tokenize -m " + path_ + " -p 'ab' --ids-only --no-bos");
    EXPECT_EQ(r.out, "260 261\n");
}

TEST_F(CmdTokenize, PrintsIdsAndPieces) {
    const std::string text = path_ + ".txt";
    FILE* f = std::fopen(text.c_str(), "wb");
    std::fputs("a z\n", f);
    std::fclose(f);
    CliResult r = run_lyra("tokenize -m " + path_ + " -f " + text + " --no-bos");
    std::remove(text.c_str());
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out,
              "    260 -> 'a'\n"
              "    259 -> ' '\n"
              "    125 -> 'z'\n"  // 'z' is not in the corpus: byte token 3 + 0x7A
              "     13 -> '\\n'\n");
}

TEST_F(CmdTokenize, PrintsJson) {
    CliResult r = run_lyra("tokenize -m " + path_ + " -p 'ba' --json");
    ASSERT_EQ(r.code, 0);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["ids"], nlohmann::json::parse("[1, 261, 260]"));
    EXPECT_EQ(j["pieces"], nlohmann::json::parse(R"(["<s>", "b", "a"])"));
    EXPECT_EQ(j["kind"], "llama");
}

TEST_F(CmdTokenize, FailsCleanlyOnBadInput) {
    EXPECT_EQ(run_lyra("tokenize -m /nonexistent.gguf -p x").code, 1);
    EXPECT_EQ(run_lyra("tokenize -m " + path_).code, 2);  // no text given
    EXPECT_EQ(run_lyra("tokenize -p x").code, 2);         // no model given
}

}  // namespace
}  // namespace lyra::model
