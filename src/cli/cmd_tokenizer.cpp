// `lyra tokenizer train [--kind bpe|char] --vocab N [--special TOK]... [--min-count C]
// [-o OUT.gguf] FILES...`: learns a tokenizer from text files and writes it as a GGUF holding
// only tokenizer.ggml.* metadata (train/bpe_trainer.h), which `lyra tokenize -m` and a recipe's
// `[tokenizer] file` read back. Prints a short report: input bytes, words, merges, time and
// compression (input bytes per token).
// `lyra tokenizer export -m FILE.gguf -o DIR`: the tokenizer of a model or tokenizer GGUF as a
// Hugging Face tokenizer directory (DIR/tokenizer.json + DIR/tokenizer_config.json).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/mmap.h"
#include "core/atomic_file.h"
#include "model/format/gguf.h"
#include "model/tokenizer/char_vocab.h"
#include "model/tokenizer/tokenizer_json.h"
#include "model/tokenizer/tokenizer.h"
#include "train/bpe_trainer.h"

namespace lyra::cli {
namespace {

struct TokenizerTrainOptions {
    std::string kind = "bpe";
    int64_t vocab = 0;
    std::vector<std::string> specials;
    int64_t min_count = 2;
    std::string output = "tokenizer.gguf";
    std::vector<std::string> files;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Every name is checked before any work starts.
void check_inputs(const std::vector<std::string>& files) {
    for (const std::string& f : files)
        if (!std::filesystem::is_regular_file(f))
            throw_error(ErrorKind::NotFound, "input '{}': no such file; expected a text file", f);
}

void train_bpe(const TokenizerTrainOptions& o) {
    const auto t0 = Clock::now();
    train::BpeTrainer trainer(
        {.vocab_size = o.vocab, .special_tokens = o.specials, .min_pair_count = o.min_count});
    check_inputs(o.files);
    for (const std::string& f : o.files) trainer.add_text(core::read_file(f));  // one at a time
    const double t_count = seconds_since(t0);
    model::Vocab vocab = trainer.train();
    const double t_all = seconds_since(t0);
    const auto tok = model::Tokenizer::from_vocab(std::move(vocab));
    train::write_tokenizer_gguf(*tok, std::filesystem::path(o.output).stem().string(), o.output);

    const train::BpeTrainStats& s = trainer.stats();
    const double mb = static_cast<double>(s.n_bytes) / 1e6;
    std::printf("wrote %s: bpe, %d tokens (256 bytes + %lld merges + %zu special)\n",
                o.output.c_str(), tok->n_vocab(), static_cast<long long>(s.n_merges),
                o.specials.size());
    if (s.ran_out_of_pairs)
        std::printf("note: stopped below --vocab %lld: no pair occurs %lld or more times\n",
                    static_cast<long long>(o.vocab), static_cast<long long>(o.min_count));
    std::printf("input: %.2f MB in %zu files, %lld words (%lld distinct), %lld special tokens\n",
                mb, o.files.size(), static_cast<long long>(s.n_words),
                static_cast<long long>(s.n_unique_words), static_cast<long long>(s.n_specials));
    std::printf("time: %.2f s (count %.2f s, merge %.2f s), %.2f MB/s\n", t_all, t_count,
                t_all - t_count, t_all > 0 ? mb / t_all : 0.0);
    std::printf("compression: %.3f bytes/token on the input\n",
                static_cast<double>(s.n_bytes) / static_cast<double>(s.n_tokens + s.n_specials));
}

void train_char(const TokenizerTrainOptions& o) {
    const auto t0 = Clock::now();
    check_inputs(o.files);
    std::string text;
    for (const std::string& f : o.files) text += core::read_file(f);
    if (text.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "tokenizer training: the corpus has no text; expected at least one non-empty "
                    "file");
    const auto tok = model::build_char_vocab(text, static_cast<size_t>(o.vocab));
    const size_t n_tokens = tok->encode(text, false, false).size();
    const double secs = seconds_since(t0);
    train::write_tokenizer_gguf(*tok, std::filesystem::path(o.output).stem().string(), o.output);
    std::printf("wrote %s: char, %d tokens (<unk> <s> </s> + 256 bytes + %d characters)\n",
                o.output.c_str(), tok->n_vocab(), tok->n_vocab() - 259);
    std::printf("input: %.2f MB in %zu files\n", static_cast<double>(text.size()) / 1e6,
                o.files.size());
    std::printf("time: %.2f s\n", secs);
    std::printf("compression: %.3f bytes/token on the input\n",
                static_cast<double>(text.size()) / static_cast<double>(n_tokens));
}

void export_hf(const std::string& model_path, const std::string& out_dir) {
    const auto gguf = model::GgufFile::open(model_path);
    const auto tok = model::Tokenizer::from_gguf(*gguf);
    const model::HfTokenizerFiles files = model::export_tokenizer_json(*tok);
    namespace fs = std::filesystem;
    if (fs::exists(out_dir) && !fs::is_directory(out_dir))
        throw_error(ErrorKind::InvalidArgument, "tokenizer export: '{}' is a file; expected a directory", out_dir);
    fs::create_directories(out_dir);
    // Each file is written whole or not at all; the config last, so a directory with a
    // tokenizer_config.json is complete.
    core::write_file_atomic((fs::path(out_dir) / "tokenizer.json").string(), files.tokenizer_json);
    core::write_file_atomic((fs::path(out_dir) / "tokenizer_config.json").string(), files.tokenizer_config_json);
    std::printf("wrote %s/tokenizer.json and tokenizer_config.json: %s, %d tokens\n", out_dir.c_str(),
                tok->kind().c_str(), tok->n_vocab());
}

}  // namespace

void add_tokenizer_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("tokenizer", "Tokenizer tools: train, export");
    cmd->require_subcommand(1);
    auto o = std::make_shared<TokenizerTrainOptions>();
    auto* train = cmd->add_subcommand(
        "train", "Learn a byte-level BPE or character vocabulary from text files");
    train->add_option("--kind", o->kind, "bpe (byte-level BPE) or char (most frequent characters)")
        ->check(CLI::IsMember({"bpe", "char"}));
    train
        ->add_option("--vocab", o->vocab,
                     "bpe: total vocabulary size (256 bytes + merges + specials); char: number "
                     "of characters kept (0 = all)")
        ->required()
        ->check(whole_between(int64_t{0}, int64_t{1} << 30));
    train->add_option("--special", o->specials,
                      "bpe: a special (control) token, e.g. <|endoftext|>; the first is EOS")
        ->allow_extra_args(false);  // one token per --special, so FILES after it stay files
    train
        ->add_option("--min-count", o->min_count,
                     "bpe: merge only pairs seen at least this many times")
        ->check(whole_between(int64_t{1}, int64_t{1} << 40));
    train->add_option("-o,--output", o->output, "Output GGUF (tokenizer metadata only)");
    train->add_option("files", o->files, "Text files to learn from")->required();
    auto ex = std::make_shared<std::pair<std::string, std::string>>();
    auto* exp = cmd->add_subcommand(
        "export", "Write a model's tokenizer as a Hugging Face tokenizer.json + tokenizer_config.json");
    exp->add_option("-m,--model", ex->first, "Model or tokenizer GGUF")->required();
    exp->add_option("-o,--output", ex->second, "Output directory")->required();
    exp->callback([ex] { export_hf(ex->first, ex->second); });
    train->callback([o] {
        if (o->kind == "char") {
            if (!o->specials.empty())
                throw_error(ErrorKind::Usage,
                            "tokenizer train: --special applies to --kind bpe; a character "
                            "vocabulary has <s> and </s> already");
            train_char(*o);
        } else {
            train_bpe(*o);
        }
    });
}

}  // namespace lyra::cli
