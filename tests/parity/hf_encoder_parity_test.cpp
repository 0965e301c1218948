// Encoder import parity (issue 10): tiny random BERT, RoBERTa and ALBERT directories
// (tests/unit/format/make_hf_fixture.py -> hf_encoder_fixture.py) are imported with import_hf,
// run by EncoderModel, and compared with tests/parity/hf_reference.py --encoder, a float64
// PyTorch forward written from HF's BertModel / RobertaModel / AlbertModel code (RoBERTa's
// positions counted from padding_idx + 1 over the full table, ALBERT's group choice
// int(i / (L / G)) and its embedding projection, RobertaLMHead's fixed erf GELU).
// Input: one unpadded sequence of 20 tokens ([CLS] 18 pieces [SEP]), token type 0, attention
// over all of them. Tolerances, relative to the largest reference value of each output: 1e-4
// for the last hidden states, the MLM logits, the mean-pooled embedding and the pooler (f32
// weights and activations against float64; observed max|diff| 3e-8 (embeddings) .. 3.8e-6
// (logits), i.e. rel 6e-8 .. 4e-7, printed per case). The tolerance still catches a wrong
// activation: RoBERTa's head with gelu_new instead of its fixed erf GELU is off by rel 2e-4.
// The pseudo-log-likelihood (18 masked copies run as one batch) must equal the reference's
// copy-by-copy sum within 1e-3 nats absolute (observed |diff| <= 8e-6 on sums of -100..-180).
// Each family brings its own tokenizer kind (BERT WordPiece, RoBERTa byte-level BPE, ALBERT
// Unigram), so [CLS]/[SEP]/[MASK] come through each kind's import.
// Padded batches: four sequences of 20, 3, 13 and 8 tokens through hidden_batch /
// mlm_logits_batch / embed_batch / pseudo_log_likelihood_batch against hf_reference.py
// --encoder-batch, which right-pads them with pad_token_id and runs one batch under HF's
// attention_mask (and the PLL's masked copies of all four as one padded batch too); the real
// rows of each sequence must match within the same 1e-4 relative tolerance (observed rel <=
// 6e-7) and each PLL within 1e-3 nats (observed |diff| <= 5e-6). A padding row that leaked into a
// real token's attention would be off by far more (rel 0.09 .. 1.8 in
// tests/unit/model/encoder_test.cpp's mutation).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "model/encoder.h"
#include "model/format/hf_import.h"
#include "model/tokenizer/vocab.h"

namespace fs = std::filesystem;

namespace {

struct EncoderCase {
    const char* name;
    const char* fixture_args;  // make_hf_fixture.py ARCH + options
};

std::vector<float> read_floats(const std::string& path, size_t n) {
    std::vector<float> v(n);
    std::ifstream f(path, std::ios::binary);
    f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!f.good()) ADD_FAILURE() << "short or missing reference output " << path;
    return v;
}

// max|a - b| / max|b|, printed with the output's name.
double compare(const char* case_name, const char* what, const std::vector<float>& got,
               const std::vector<float>& want) {
    double diff = 0.0, scale = 1e-30;
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        diff =
            std::max(diff, std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i])));
        scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    }
    std::printf("encoder parity %-16s %-8s max|diff| %.3e  max|ref| %.3e  rel %.3e  (tol 1e-04)\n",
                case_name, what, diff, scale, diff / scale);
    return diff / scale;
}

// An imported fixture: the tiny HF directory of a case, its GGUF and the commands that made them.
struct Imported {
    fs::path dir;
    std::string hf, gguf, make;
};

Imported import_case(const EncoderCase& c, const char* src, const char* py, const char* tag) {
    Imported im;
    im.dir =
        fs::temp_directory_path() / fmt::format("lyra_encparity_{}_{}_{}", c.name, tag, getpid());
    fs::create_directories(im.dir);
    im.hf = (im.dir / "hf").string();
    im.gguf = (im.dir / "m.gguf").string();
    const std::string args(c.fixture_args);
    const std::string arch = args.substr(0, args.find(' '));
    im.make = fmt::format("{} {}/tests/unit/format/make_hf_fixture.py {} {}{} > /dev/null", py, src,
                          arch, im.hf, args.substr(arch.size()));
    if (std::system(im.make.c_str()) != 0)
        ADD_FAILURE() << im.make;
    else
        lyra::model::import_hf(im.hf, im.gguf);
    return im;
}

// [CLS] n ordinary pieces (no special token) spread over the vocabulary by `stride` [SEP].
std::vector<int32_t> text_of(const lyra::model::EncoderModel& m, size_t n, size_t stride,
                             size_t offset) {
    std::vector<int32_t> pieces;
    for (int32_t id = 0; id < m.hparams().n_vocab; ++id)
        if (!m.tokenizer().is_control(id) && id != m.tokenizer().vocab().unk) pieces.push_back(id);
    std::vector<int32_t> tokens = {m.cls()};
    for (size_t i = 0; i < n; ++i) tokens.push_back(pieces[(i * stride + offset) % pieces.size()]);
    tokens.push_back(m.sep());
    return tokens;
}

// Each test starts from its case's fixture, imported and loaded; src_/py_ run the scripts.
class EncoderParity : public ::testing::TestWithParam<EncoderCase> {
protected:
    void SetUp() override {
        src_ = std::getenv("LYRA_SOURCE_DIR");
        py_ = std::getenv("LYRA_PYTHON");
        ASSERT_TRUE(src_ && py_) << "run through ctest (LYRA_SOURCE_DIR and LYRA_PYTHON unset)";
        const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        im_ = import_case(GetParam(), src_, py_, test.substr(0, test.find('/')).c_str());
        ASSERT_FALSE(HasFailure());
        m_ = lyra::model::EncoderModel::load(im_.gguf);
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(im_.dir);
    }

    const char *src_ = nullptr, *py_ = nullptr;
    Imported im_;
    std::unique_ptr<lyra::model::EncoderModel> m_;
};

TEST_P(EncoderParity, HiddenLogitsEmbeddingsAndPllMatchHfLayoutPyTorch) {
    const EncoderCase& c = GetParam();
    const char *src = src_, *py = py_;
    const Imported& im = im_;
    const auto& m = m_;
    const auto& hp = m->hparams();

    const std::vector<int32_t> tokens = text_of(*m, 18, 37, 11);
    const std::string out = (im.dir / "ref").string();
    std::string cmd =
        fmt::format("{} {}/tests/parity/hf_reference.py --encoder {} {}", py, src, im.hf, out);
    for (int32_t t : tokens) cmd += fmt::format(" {}", t);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const std::string repro =
        im.make + " && lyra model import " + im.hf + " -o " + im.gguf + " && " + cmd;
    lyra::core::ThreadPool pool(2);
    const size_t T = tokens.size(), C = static_cast<size_t>(hp.n_embd),
                 V = static_cast<size_t>(hp.n_vocab);
    EXPECT_LT(
        compare(c.name, "hidden", m->hidden(tokens, pool), read_floats(out + ".hidden", T * C)),
        1e-4)
        << repro;
    EXPECT_LT(compare(c.name, "embed", m->embed(tokens, pool), read_floats(out + ".embed", C)),
              1e-4)
        << repro;
    EXPECT_EQ(hp.has_pooler, fs::exists(out + ".pooled"));
    if (hp.has_pooler) {
        EXPECT_LT(
            compare(c.name, "pooler", m->pooled(tokens, pool), read_floats(out + ".pooled", C)),
            1e-4)
            << repro;
    }
    EXPECT_EQ(hp.has_mlm_head, fs::exists(out + ".logits"));
    if (hp.has_mlm_head) {
        EXPECT_LT(compare(c.name, "logits", m->mlm_logits(tokens, pool),
                          read_floats(out + ".logits", T * V)),
                  1e-4)
            << repro;
        std::ifstream f(out + ".pll");
        double want = 0.0;
        ASSERT_TRUE(f >> want) << "no reference PLL";
        const double got = m->pseudo_log_likelihood(tokens, pool);
        std::printf("encoder parity %-16s pll      %.6f vs %.6f  |diff| %.3e  (tol 1e-03)\n",
                    c.name, got, want, std::fabs(got - want));
        EXPECT_NEAR(got, want, 1e-3) << repro;
    }
}

// The batch forms on a right-padded batch: HF's attention_mask must leave each real row as
// the sequence alone would have it, and Lyra's packed batch must give those rows.
TEST_P(EncoderParity, PaddedBatchMatchesHfAttentionMask) {
    const EncoderCase& c = GetParam();
    const char *src = src_, *py = py_;
    const Imported& im = im_;
    const auto& m = m_;
    const auto& hp = m->hparams();

    std::vector<std::vector<int32_t>> seqs;
    for (const size_t n : {18, 1, 11, 6})
        seqs.push_back(text_of(*m, n, 29 + seqs.size(), 5 * seqs.size()));
    const std::string out = (im.dir / "ref").string();
    std::string cmd = fmt::format("{} {}/tests/parity/hf_reference.py --encoder-batch {} {}", py,
                                  src, im.hf, out);
    size_t T_pad = 0;
    for (const auto& s : seqs) {
        T_pad = std::max(T_pad, s.size());
        cmd += ' ';
        for (size_t i = 0; i < s.size(); ++i) cmd += fmt::format("{}{}", i ? "," : "", s[i]);
    }
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const std::string repro =
        im.make + " && lyra model import " + im.hf + " -o " + im.gguf + " && " + cmd;

    // Row b of a padded [B, T_pad, width] reference, cut to sequence b's real tokens.
    const auto real_rows = [&](const std::vector<float>& padded, size_t b, size_t width) {
        const auto at = padded.begin() + static_cast<ptrdiff_t>(b * T_pad * width);
        return std::vector<float>(at, at + static_cast<ptrdiff_t>(seqs[b].size() * width));
    };
    lyra::core::ThreadPool pool(2);
    const size_t B = seqs.size(), C = static_cast<size_t>(hp.n_embd),
                 V = static_cast<size_t>(hp.n_vocab);
    const std::vector<float> ref_hidden = read_floats(out + ".hidden", B * T_pad * C);
    const std::vector<float> ref_embed = read_floats(out + ".embed", B * C);
    const auto hidden = m->hidden_batch(seqs, pool);
    const auto embeds = m->embed_batch(seqs, pool);
    for (size_t b = 0; b < B; ++b) {
        const std::string what = fmt::format("seq{}", b);
        EXPECT_LT(
            compare(c.name, ("hidden " + what).c_str(), hidden[b], real_rows(ref_hidden, b, C)),
            1e-4)
            << repro;
        const std::vector<float> e(ref_embed.begin() + static_cast<ptrdiff_t>(b * C),
                                   ref_embed.begin() + static_cast<ptrdiff_t>((b + 1) * C));
        EXPECT_LT(compare(c.name, ("embed " + what).c_str(), embeds[b], e), 1e-4) << repro;
    }
    EXPECT_EQ(hp.has_mlm_head, fs::exists(out + ".logits"));
    if (hp.has_mlm_head) {
        const std::vector<float> ref_logits = read_floats(out + ".logits", B * T_pad * V);
        const auto logits = m->mlm_logits_batch(seqs, pool);
        const std::vector<double> pll = m->pseudo_log_likelihood_batch(seqs, pool);
        std::ifstream f(out + ".pll");
        for (size_t b = 0; b < B; ++b) {
            EXPECT_LT(compare(c.name, fmt::format("logits seq{}", b).c_str(), logits[b],
                              real_rows(ref_logits, b, V)),
                      1e-4)
                << repro;
            double want = 0.0;
            ASSERT_TRUE(f >> want) << "no reference PLL for sequence " << b;
            std::printf("encoder parity %-16s pll seq%zu %.6f vs %.6f  |diff| %.3e  (tol 1e-03)\n",
                        c.name, b, pll[b], want, std::fabs(pll[b] - want));
            EXPECT_NEAR(pll[b], want, 1e-3) << repro;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Hf, EncoderParity,
    ::testing::Values(
        EncoderCase{"bert_mlm_pooler",
                    "bert --dim 32 --heads 4 --ffn 64 --layers 2 --ctx 40 --pooler"},
        EncoderCase{"bert_model_relu",
                    "bert --dim 32 --heads 2 --ffn 48 --layers 3 --ctx 24 --head none "
                    "--pooler --act relu --seed 1"},
        EncoderCase{"bert_untied_tanh",
                    "bert --dim 24 --heads 3 --ffn 40 --layers 2 --ctx 32 --untied "
                    "--act gelu_new --seed 2"},
        EncoderCase{"roberta_mlm",
                    "roberta --dim 32 --heads 4 --ffn 64 --layers 2 --ctx 30 --act gelu_new "
                    "--seed 3"},
        EncoderCase{"roberta_model",
                    "roberta --dim 32 --heads 4 --ffn 64 --layers 2 --ctx 30 --head none "
                    "--pooler --seed 4"},
        EncoderCase{"albert_shared",
                    "albert --dim 32 --heads 4 --ffn 64 --layers 3 --emb 16 --groups 1 "
                    "--ctx 40 --act gelu_new --pooler --seed 5"},
        EncoderCase{"albert_groups",
                    "albert --dim 32 --heads 4 --ffn 64 --layers 3 --emb 24 --groups 2 "
                    "--ctx 40 --act gelu --seed 6"}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
