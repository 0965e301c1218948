// `lyra tokenizer train` as a user runs it: a BPE vocabulary learned from tinyshakespeare, read
// back by `lyra tokenize`, used by a recipe (file = ..., and kind = "bpe:N") that trains a few
// steps, and the model run by `lyra generate`; a character vocabulary; bad input.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "core/mmap.h"

namespace fs = std::filesystem;

namespace lyra::e2e {
namespace {

using Args = std::vector<std::string>;

std::string shakespeare() {
    std::string dir = env_or_empty("LYRA_SHARED_DIR");
    return (dir.empty() ? source_dir() + "/../shared" : dir) + "/data/tinyshakespeare/input.txt";
}

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

// A recipe for a tiny model trained a few steps on `corpus` with the given [tokenizer] lines.
std::string tiny_recipe(const std::string& out, const std::string& tokenizer_lines) {
    return "output = \"" + out + "\"\n[data]\nfiles = [\"corpus.txt\"]\n[tokenizer]\n" +
           tokenizer_lines +
           "[model]\nn_embd = 16\nn_layer = 1\nn_head = 2\nn_ff = 32\n"
           "[train]\nbatch = 2\ncontext = 16\nsteps = 5\nwarmup = 1\neval_interval = 0\n"
           "eval_iters = 1\nlog_interval = 1\n[sample]\ntokens = 4\n";
}

TEST(TokenizerTrainCli, BpeVocabularyTrainsAModelThatGenerates) {
    TempDir d;
    const std::string tok = (d.path() / "tok.gguf").string();
    // The file right after --special stays a file: each --special takes one token.
    const Args args = {"tokenizer", "train",     "--vocab",       "512",        "-o",
                       tok,         "--special", "<|endoftext|>", shakespeare()};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\n" << repro(args);
    EXPECT_NE(r.out.find("512 tokens (256 bytes + 255 merges + 1 special)"), std::string::npos)
        << r.out;
    // Compression: the report's input bytes per token; 1.96 measured with these 255 merges (a
    // byte vocabulary would give 1.0).
    const size_t at = r.out.find("compression: ");
    ASSERT_NE(at, std::string::npos) << r.out;
    EXPECT_GT(std::stod(r.out.substr(at + 13)), 1.8) << r.out;

    // `lyra tokenize` reads the file: " the" is one merged token, the special token one id
    // (the last).
    const RunResult t = run_lyra(
        {"tokenize", "-m", tok, "-p", " the<|endoftext|>", "--parse-special", "--ids-only"});
    ASSERT_EQ(t.code, 0) << t.err;
    std::istringstream ids(t.out);
    int a = -1, b = -1, extra = -1;
    ids >> a >> b >> extra;
    EXPECT_GE(a, 256) << t.out;
    EXPECT_EQ(b, 511) << t.out;
    EXPECT_EQ(extra, -1) << t.out;

    // A recipe uses that file; a few steps, then `lyra generate` runs the model.
    std::string text = read_all(shakespeare());
    text.resize(60000);
    write(d.path() / "corpus.txt", text);
    write(d.path() / "a.toml", tiny_recipe("a.gguf", "file = \"tok.gguf\"\n"));
    const RunResult tr = run_lyra({"train", "a.toml", "--threads", "1"}, d.path().string());
    ASSERT_EQ(tr.code, 0) << tr.err;
    EXPECT_NE(tr.err.find("vocab 512"), std::string::npos) << tr.err;
    const Args gen = {"generate",  "-m",     (d.path() / "a.gguf").string(),
                      "-p",        "ROMEO:", "--max-tokens",
                      "8",         "--seed", "1",
                      "--threads", "1"};
    const RunResult g = run_lyra(gen);
    ASSERT_EQ(g.code, 0) << g.err << "\n" << repro(gen);
    EXPECT_FALSE(g.out.empty());

    // kind = "bpe:N" learns the vocabulary from the recipe's training split at train time.
    write(d.path() / "b.toml", tiny_recipe("b.gguf", "kind = \"bpe:300\"\n"));
    const RunResult tb = run_lyra({"train", "b.toml", "--threads", "1"}, d.path().string());
    ASSERT_EQ(tb.code, 0) << tb.err;
    EXPECT_NE(tb.err.find("vocab 300"), std::string::npos) << tb.err;
    EXPECT_NE(read_all(d.path() / "b.md").find("bpe:300 (300 tokens)"), std::string::npos);
    const RunResult gb = run_lyra({"generate", "-m", (d.path() / "b.gguf").string(), "-p",
                                   "KING:", "--max-tokens", "8", "--seed", "1", "--threads", "1"});
    EXPECT_EQ(gb.code, 0) << gb.err;
}

TEST(TokenizerTrainCli, CharVocabularyKeepsTheMostFrequentCharacters) {
    TempDir d;
    const std::string tok = (d.path() / "chars.gguf").string();
    const RunResult r = run_lyra(
        {"tokenizer", "train", "--kind", "char", "--vocab", "20", "-o", tok, shakespeare()});
    ASSERT_EQ(r.code, 0) << r.err;
    // <unk> <s> </s> + 256 bytes + 20 characters (the space is among the most frequent).
    EXPECT_NE(r.out.find("279 tokens"), std::string::npos) << r.out;
    const RunResult t = run_lyra({"tokenize", "-m", tok, "-p", "ee", "--ids-only", "--no-bos"});
    ASSERT_EQ(t.code, 0) << t.err;
    std::istringstream ids(t.out);
    int a = -1, b = -1;
    ids >> a >> b;
    EXPECT_EQ(a, b);
    EXPECT_GE(a, 259) << "'e' should be a character piece, not byte fallback: " << t.out;
}

TEST(TokenizerTrainCli, BadInputGivesOneErrorLineAndWritesNothing) {
    TempDir d;
    write(d.path() / "empty.txt", "");
    write(d.path() / "some.txt", "some text, some more text\n");
    struct Case {
        Args args;
        int code;
        std::string needle;
    };
    const std::string out = (d.path() / "out.gguf").string();
    const Case cases[] = {
        {{"--vocab", "300", (d.path() / "empty.txt").string()}, 1, "no text"},
        {{"--kind", "char", "--vocab", "10", (d.path() / "empty.txt").string()}, 1, "no text"},
        {{"--vocab", "256", "--special", "<s>", (d.path() / "some.txt").string()},
         1,
         "at least 256 byte tokens + 1 special"},
        {{"--vocab", "300", (d.path() / "some.txt").string(), (d.path() / "missing.txt").string()},
         1,
         "missing.txt': no such file"},
        {{"--kind", "char", "--vocab", "10", "--special", "<s>", (d.path() / "some.txt").string()},
         2,
         "--special applies to --kind bpe"},
        {{"--kind", "wordpiece", "--vocab", "300", (d.path() / "some.txt").string()}, 2, "kind"},
    };
    for (const Case& c : cases) {
        Args args = {"tokenizer", "train", "-o", out};
        args.insert(args.end(), c.args.begin(), c.args.end());
        const RunResult r = run_lyra(args);
        EXPECT_EQ(r.code, c.code) << repro(args) << "\n" << r.err;
        EXPECT_NE(r.err.find(c.needle), std::string::npos) << repro(args) << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(out)) << repro(args);
    }
}

TEST(TokenizerExportCli, WritesATokenizerDirectoryOrOneClearError) {
    TempDir d;
    const std::string model = (fs::path(env_or_empty("LYRA_SOURCE_DIR")) / "models/prose-en.gguf").string();
    const std::string out = (d.path() / "hf").string();
    const RunResult r = run_lyra({"tokenizer", "export", "-m", model, "-o", out});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("llama"), std::string::npos) << r.out;
    // `lyra model import` reads tokenizer.json and tokenizer_config.json back: both are there,
    // and the config names the vocabulary's specials.
    ASSERT_TRUE(fs::exists(fs::path(out) / "tokenizer.json"));
    const std::string config = core::read_file((fs::path(out) / "tokenizer_config.json").string());
    EXPECT_NE(config.find("\"eos_token\": \"</s>\""), std::string::npos) << config;

    write(d.path() / "file", "x");
    const struct {
        Args args;
        std::string needle;
    } cases[] = {
        {{"-m", (d.path() / "missing.gguf").string(), "-o", (d.path() / "a").string()}, "missing.gguf"},
        {{"-m", model, "-o", (d.path() / "file").string()}, "is a file; expected a directory"},
    };
    for (const auto& c : cases) {
        Args args = {"tokenizer", "export"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        const RunResult e = run_lyra(args);
        EXPECT_EQ(e.code, 1) << repro(args);
        EXPECT_NE(e.err.find(c.needle), std::string::npos) << repro(args) << "\n" << e.err;
        EXPECT_EQ(std::count(e.err.begin(), e.err.end(), '\n'), 1) << e.err;
    }
    EXPECT_FALSE(fs::exists(d.path() / "a"));
}

}  // namespace
}  // namespace lyra::e2e
