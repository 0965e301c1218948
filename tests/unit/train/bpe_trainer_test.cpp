// The byte-level BPE trainer (train/bpe_trainer.h): hand-worked merges on a toy corpus, the
// documented tie-break, vocabulary size, special tokens, UTF-8 round trips with a trained
// vocabulary, agreement with a plain recount-everything reference trainer, tokenizer files, and
// the recipe keys [tokenizer] kind = "bpe:N" / file.
#include "train/bpe_trainer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mmap.h"
#include "model/tokenizer/pretokenize.h"
#include "model/tokenizer/tokenizer.h"
#include "train/data.h"
#include "train/recipe.h"

namespace fs = std::filesystem;
using namespace std::string_literals;
using lyra::Error;
using lyra::ErrorKind;
using lyra::model::TokenId;
using lyra::model::Tokenizer;
using lyra::model::TokenType;
using lyra::model::Vocab;
using lyra::train::BpeTrainer;
using lyra::train::BpeTrainOptions;

namespace {

std::string shared_text(size_t n_bytes) {
    const char* v = std::getenv("LYRA_SHARED_DIR");
    std::string text = lyra::core::read_file(std::string(v != nullptr ? v : "../shared") +
                                             "/data/tinyshakespeare/input.txt");
    text.resize(n_bytes);
    return text;
}

Vocab train(const std::string& text, BpeTrainOptions opt,
            lyra::train::BpeTrainStats* stats = nullptr) {
    BpeTrainer t(std::move(opt));
    t.add_text(text);
    Vocab v = t.train();
    if (stats != nullptr) *stats = t.stats();
    return v;
}

// Expects `f` to throw lyra::Error of `kind` whose message contains `needle`.
template <typename F>
void expect_error(F f, ErrorKind kind, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

// The reference: recount every pair of every word after each merge, pick the highest count,
// ties to the smallest (left id, right id), merge left to right. Slow and obviously right.
std::vector<std::string> reference_merges(const std::string& text, size_t n_merges,
                                          int64_t min_count) {
    lyra::model::PreTokenizer pre("gpt2");
    std::vector<std::string_view> chunks;
    for (size_t start = 0; start < text.size();) {  // documents end after a blank line
        size_t end = text.find("\n\n", start);
        end = end == std::string::npos ? text.size() : end + 2;
        pre.split(std::string_view(text).substr(start, end - start), chunks);
        start = end;
    }
    std::map<std::string, int64_t> counts;
    for (auto c : chunks) ++counts[std::string(c)];
    std::vector<std::pair<std::vector<int>, int64_t>> words;
    for (const auto& [w, c] : counts) {
        std::vector<int> ids;
        for (unsigned char b : w) ids.push_back(b);
        words.emplace_back(ids, c);
    }
    std::vector<std::string> pieces;
    for (int b = 0; b < 256; ++b)
        pieces.push_back(lyra::model::byte_level_char(static_cast<unsigned char>(b)));
    std::vector<std::string> merges;
    while (merges.size() < n_merges) {
        std::map<std::pair<int, int>, int64_t> pairs;  // ordered: first max is the smallest pair
        for (const auto& [ids, c] : words)
            for (size_t i = 0; i + 1 < ids.size(); ++i) pairs[{ids[i], ids[i + 1]}] += c;
        std::pair<int, int> best{-1, -1};
        int64_t best_count = 0;
        for (const auto& [p, c] : pairs)
            if (c > best_count) best = p, best_count = c;
        if (best_count < min_count) break;
        merges.push_back(pieces[best.first] + " " + pieces[best.second]);
        const std::string joined = pieces[best.first] + pieces[best.second];
        int z = static_cast<int>(std::find(pieces.begin(), pieces.end(), joined) - pieces.begin());
        if (z == static_cast<int>(pieces.size())) pieces.push_back(joined);
        for (auto& [ids, c] : words) {
            std::vector<int> out;
            for (size_t i = 0; i < ids.size();) {
                if (i + 1 < ids.size() && ids[i] == best.first && ids[i + 1] == best.second) {
                    out.push_back(z);
                    i += 2;
                } else {
                    out.push_back(ids[i++]);
                }
            }
            ids = out;
        }
    }
    return merges;
}

}  // namespace

// "aaabdaaabac" is one pre-tokenizer chunk (all letters). With min_pair_count 1:
//   pairs: aa 4, ab 2, bd 1, da 1, ba 1, ac 1          -> merge 1: a a   = "aa"     (id 256)
//   word: aa a b d aa a b a c; pairs: (aa,a) 2, (a,b) 2, rest 1
//     tie at 2: left ids 256 vs 97, the smaller wins     -> merge 2: a b   = "ab"     (id 257)
//   word: aa ab d aa ab a c; (aa,ab) 2                  -> merge 3: aa ab = "aaab"   (id 258)
//   word: aaab d aaab a c; all pairs 1: smallest left a -> merge 4: a c   = "ac"     (id 259)
//   word: aaab d aaab ac; smallest left d (100)         -> merge 5: d aaab = "daaab" (id 260)
//   word: aaab daaab ac; left 258 < 260                 -> merge 6: "aaabdaaab"      (id 261)
//   word: aaabdaaab ac                                  -> merge 7: the whole word   (id 262)
TEST(BpeTrainer, LearnsTheHandWorkedMergesOfAToyCorpus) {
    lyra::train::BpeTrainStats stats;
    Vocab v = train("aaabdaaabac", {.vocab_size = 263, .min_pair_count = 1}, &stats);
    const std::vector<std::string> want = {"a a",    "a b",        "aa ab",       "a c",
                                           "d aaab", "aaab daaab", "aaabdaaab ac"};
    EXPECT_EQ(v.merges, want);
    ASSERT_EQ(v.tokens.size(), 263u);
    EXPECT_EQ(v.tokens[256], "aa");
    EXPECT_EQ(v.tokens[258], "aaab");
    EXPECT_EQ(v.tokens[262], "aaabdaaabac");
    EXPECT_EQ(v.model, "gpt2");
    EXPECT_EQ(stats.n_merges, 7);
    EXPECT_EQ(stats.n_tokens, 1);
    EXPECT_FALSE(stats.ran_out_of_pairs);
    auto tok = Tokenizer::from_vocab(v);
    EXPECT_EQ(tok->encode("aaabdaaabac", false), std::vector<TokenId>{262});
}

TEST(BpeTrainer, VocabularyIsExactlyAsAskedOrSmallerWhenNoPairIsLeft) {
    // Three merges (ids 256..258), then the text encodes as aaab d aaab a c.
    Vocab v = train("aaabdaaabac", {.vocab_size = 259, .min_pair_count = 1});
    EXPECT_EQ(v.tokens.size(), 259u);
    auto tok = Tokenizer::from_vocab(v);
    EXPECT_EQ(tok->encode("aaabdaaabac", false), (std::vector<TokenId>{258, 'd', 258, 'a', 'c'}));

    // By default a pair must occur twice: only the first three merges qualify, so asking for
    // 300 ids gives 259, and the stats say why.
    lyra::train::BpeTrainStats stats;
    Vocab fewer = train("aaabdaaabac", {.vocab_size = 300}, &stats);
    EXPECT_EQ(fewer.tokens.size(), 259u);
    EXPECT_TRUE(stats.ran_out_of_pairs);

    // A larger real corpus fills the vocabulary exactly.
    Vocab full = train(shared_text(20000), {.vocab_size = 600});
    EXPECT_EQ(full.tokens.size(), 600u);
    EXPECT_EQ(full.merges.size(), 600u - 256u);
}

TEST(BpeTrainer, TiesGoToTheSmallerLeftIdThenTheSmallerRightIdWhateverTheInputOrder) {
    // "ba" and "ab" are chunks of their own (newlines split them): (b,a) and (a,b) both occur
    // once; 'a' (97) < 'b' (98), so (a,b) is merged first, in either input order.
    for (const char* text : {"ba\nab\n", "ab\nba\n"}) {
        Vocab v = train(text, {.vocab_size = 257, .min_pair_count = 1});
        EXPECT_EQ(v.merges, std::vector<std::string>{"a b"}) << text;
    }
    // Same counts on the left id: the smaller right id. (a,c) and (a,b) once each.
    Vocab v = train("ac\nab\n", {.vocab_size = 257, .min_pair_count = 1});
    EXPECT_EQ(v.merges, std::vector<std::string>{"a b"});
    // Files given in a different order give the same vocabulary.
    const std::string x = shared_text(8000), y = "Zebra zebras zigzag\n\n";
    BpeTrainer t1({.vocab_size = 400}), t2({.vocab_size = 400});
    t1.add_text(x);
    t1.add_text(y);
    t2.add_text(y);
    t2.add_text(x);
    EXPECT_EQ(t1.train().merges, t2.train().merges);
}

TEST(BpeTrainer, IncrementalCountsMatchARecountEverythingReference) {
    // Shakespeare plus runs that overlap themselves ("aaaa", "abab") exercise the pair updates
    // around neighbouring merges.
    const std::string text =
        shared_text(30000) + "\n\naaaa aaaaa abababab aaab ababa\n" + "xyxyxy xyxyx aaaaaaa\n";
    lyra::train::BpeTrainStats stats;
    Vocab v = train(text, {.vocab_size = 256 + 300, .min_pair_count = 2}, &stats);
    EXPECT_EQ(v.merges, reference_merges(text, 300, 2));
    // The trainer's own token count is what the trained tokenizer really produces.
    auto tok = Tokenizer::from_vocab(v);
    // (encode_documents: the blank-line split the trainer counts with, as training data is.)
    EXPECT_EQ(static_cast<int64_t>(lyra::train::encode_documents(*tok, text).size()),
              stats.n_tokens);
    EXPECT_GT(static_cast<double>(text.size()) / static_cast<double>(stats.n_tokens), 2.0);
}

TEST(BpeTrainer, DroppingRarePairsKeepsTheMergesExactOnCjkText) {
    // CJK lines are long distinct chunks with a long tail of rare pairs, the case the pruning
    // of pairs below min_pair_count is for; the merges must still be the reference's.
    std::string text;
    const char* lines[] = {"床前明月光\n", "疑是地上霜\n", "举头望明月\n", "低头思故乡\n",
                           "春眠不觉晓\n", "处处闻啼鸟\n", "夜来风雨声\n", "花落知多少\n"};
    for (int i = 0; i < 40; ++i) text += std::string(lines[i % 8]) + lines[(i * 3) % 8] + "🎶\n";
    for (int64_t min_count : {1, 3, 7}) {
        lyra::train::BpeTrainStats stats;
        Vocab v = train(text, {.vocab_size = 256 + 120, .min_pair_count = min_count}, &stats);
        EXPECT_EQ(v.merges, reference_merges(text, 120, min_count)) << min_count;
        auto tok = Tokenizer::from_vocab(v);
        EXPECT_EQ(static_cast<int64_t>(lyra::train::encode_documents(*tok, text).size()),
                  stats.n_tokens)
            << min_count;
    }
}

TEST(BpeTrainer, SpecialTokensAreSingleControlIdsAndNeverMerged) {
    std::string text;
    for (int i = 0; i < 50; ++i) text += "the end of one story<|endoftext|><pad>";
    Vocab v = train(text, {.vocab_size = 300, .special_tokens = {"<|endoftext|>", "<pad>"}});
    ASSERT_GE(v.tokens.size(), 258u);
    const auto eot = static_cast<TokenId>(v.tokens.size() - 2);
    EXPECT_EQ(v.tokens[eot], "<|endoftext|>");
    EXPECT_EQ(v.tokens[eot + 1], "<pad>");
    EXPECT_EQ(v.eos, eot);  // the first special token is EOS
    EXPECT_EQ(v.types[eot], TokenType::Control);
    for (TokenId i = 0; i < eot; ++i) {
        EXPECT_EQ(v.tokens[i].find("endoftext"), std::string::npos) << v.tokens[i];
        EXPECT_EQ(v.tokens[i].find("pad>"), std::string::npos) << v.tokens[i];
    }
    auto tok = Tokenizer::from_vocab(v);
    const auto ids = tok->encode("the end<|endoftext|>", false, /*parse_special=*/true);
    EXPECT_EQ(ids.back(), eot);
    EXPECT_TRUE(tok->is_eog(eot));
}

TEST(BpeTrainer, TrainedVocabularyRoundTripsArbitraryBytes) {
    auto tok = Tokenizer::from_vocab(train(shared_text(20000), {.vocab_size = 500}));
    const std::vector<std::string> samples = {
        "To be, or not to be: that is the question.",
        "静夜思 床前明月光，疑是地上霜。",
        "emoji 🎻🎶 and ZWJ 👩‍👩‍👧 sequences",
        "invalid \xFF\xFE bytes, a cut \xE4\xB8 sequence and a NUL \0 here"s,
        "\t\n\r  many   spaces\n\n\n",
        "",
    };
    for (const std::string& s : samples) EXPECT_EQ(tok->decode(tok->encode(s, false)), s) << s;
}

TEST(BpeTrainer, RejectsImpossibleOptionsAndAnEmptyCorpus) {
    expect_error([] { BpeTrainer t({.vocab_size = 255}); }, ErrorKind::InvalidArgument, "256");
    expect_error([] { BpeTrainer t({.vocab_size = 256, .special_tokens = {"<s>"}}); },
                 ErrorKind::InvalidArgument, "at least 256 byte tokens + 1 special");
    expect_error([] { BpeTrainer t({.vocab_size = 300, .special_tokens = {""}}); },
                 ErrorKind::InvalidArgument, "empty");
    expect_error(
        [] {
            BpeTrainer t({.vocab_size = 300, .special_tokens = {"<s>", "<s>"}});
        },
        ErrorKind::InvalidArgument, "given twice");
    expect_error([] { BpeTrainer t({.vocab_size = 300, .min_pair_count = 0}); },
                 ErrorKind::InvalidArgument, "min pair count");
    expect_error([] { BpeTrainer t({.vocab_size = 300, .pre = "klingon"}); },
                 ErrorKind::Unsupported, "klingon");
    expect_error(
        [] {
            BpeTrainer t({.vocab_size = 300});
            t.add_text("");
            t.train();
        },
        ErrorKind::InvalidArgument, "no text");
    // A special token that is also a byte piece would be two ids for one text.
    expect_error([] { train("abc abc", {.vocab_size = 300, .special_tokens = {"a"}}); },
                 ErrorKind::InvalidArgument, "special token 'a'");
}

TEST(BpeTrainer, TokenizerFileRoundTripsAndAMissingOneIsNotFound) {
    const fs::path dir = fs::temp_directory_path() / ("lyra_bpe_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto tok = Tokenizer::from_vocab(
        train(shared_text(10000), {.vocab_size = 350, .special_tokens = {"<|endoftext|>"}}));
    const std::string path = (dir / "tok.gguf").string();
    lyra::train::write_tokenizer_gguf(*tok, "tok", path);
    auto back = lyra::train::read_tokenizer_file(path);
    EXPECT_EQ(back->vocab().tokens, tok->vocab().tokens);
    EXPECT_EQ(back->vocab().merges, tok->vocab().merges);
    EXPECT_EQ(back->eos(), tok->eos());
    const std::string s = "Whither, my lord? 月光";
    EXPECT_EQ(back->encode(s, false), tok->encode(s, false));
    expect_error([&] { lyra::train::read_tokenizer_file((dir / "none.gguf").string()); },
                 ErrorKind::NotFound, "none.gguf");
    fs::remove_all(dir);
}

TEST(BpeTrainer, RecipeTokenizerKeysAreCheckedByName) {
    const std::string head =
        "output = 'x.gguf'\n[data]\nfiles = ['a.txt']\n"
        "[model]\nn_embd = 8\nn_layer = 1\nn_head = 1\n[tokenizer]\n";
    auto parse = [&](const std::string& tok) {
        return lyra::train::parse_recipe_string(head + tok, "r.toml");
    };
    auto r = parse("kind = 'bpe:1000'\nspecial = ['<|endoftext|>']\n");
    EXPECT_EQ(r.tokenizer, "bpe:1000");
    EXPECT_EQ(r.tokenizer_specials, std::vector<std::string>{"<|endoftext|>"});
    expect_error([&] { parse("kind = 'bpe:100'\n"); }, ErrorKind::InvalidArgument,
                 "tokenizer.kind: impossible vocabulary size");
    expect_error([&] { parse("kind = 'bpe:256'\nspecial = ['<s>']\n"); },
                 ErrorKind::InvalidArgument, "tokenizer.kind");
    expect_error([&] { parse("kind = 'bpe:lots'\n"); }, ErrorKind::InvalidArgument,
                 "tokenizer.kind");
    expect_error([&] { parse("kind = 'wordpiece:9'\n"); }, ErrorKind::InvalidArgument,
                 "tokenizer.kind");
    expect_error([&] { parse("kind = 'char:10'\nspecial = ['<s>']\n"); },
                 ErrorKind::InvalidArgument, "tokenizer.special");
    expect_error([&] { parse("file = 'no/such/tokenizer.gguf'\n"); }, ErrorKind::InvalidArgument,
                 "tokenizer.file: no such file");
    expect_error([&] { parse("file = 'r.toml'\nkind = 'bytes'\n"); }, ErrorKind::InvalidArgument,
                 "tokenizer.file");
    expect_error([&] { parse("vocab = 5\n"); }, ErrorKind::InvalidArgument,
                 "tokenizer.vocab: unknown key");
}
