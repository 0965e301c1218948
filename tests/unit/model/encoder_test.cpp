// EncoderModel (issue 10) on imported tiny HF encoders (make_hf_fixture.py, torch): the
// [CLS] ... [SEP] wrapping and mask handling of tokenize(), the batched pseudo-log-likelihood
// against masking each position in turn through mlm_logits (several batches), the embedding's
// definition, and the errors for bad input and for the wrong kind of model. Numeric parity
// with PyTorch is tests/parity/hf_encoder_parity_test.cpp's job.
#include "model/encoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/format/hf_import.h"
#include "model/model.h"
#include "model/tokenizer/vocab.h"
#include "model_test_util.h"

namespace lyra::model {
namespace {

using testing::TempDir;

std::string imported(const TempDir& dir, const std::string& arch, const std::string& opts) {
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const char* py = std::getenv("LYRA_PYTHON");
    EXPECT_TRUE(src && py) << "run through ctest";
    if (!src || !py) return {};
    const std::string hf = dir.file(arch), out = dir.file(arch + ".gguf");
    const std::string make = std::string(py) + " " + src +
                             "/tests/unit/format/make_hf_fixture.py " + arch + " " + hf +
                             " --dim 16 --heads 2 --ffn 32 --layers 2 " + opts + " > /dev/null";
    EXPECT_EQ(std::system(make.c_str()), 0) << make;
    import_hf(hf, out);
    return out;
}

ErrorKind kind_of(const std::function<void()>& f, std::string* what = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (what) *what = e.what();
        return e.kind();
    }
    return ErrorKind::Usage;  // "no error"
}

TEST(Encoder, TokenizeWrapsInClsSepAndKeepsTheMaskToken) {
    TempDir dir;
    for (const std::string arch : {"bert", "roberta", "albert"}) {  // WordPiece, byte BPE, Unigram
        const auto m = EncoderModel::load(imported(dir, arch, "--ctx 64"));
        const std::string mask = m->tokenizer().token_text(m->mask());
        EXPECT_EQ(mask, arch == "roberta" ? "<mask>" : "[MASK]");
        const auto ids = m->tokenize("the cat " + mask + " sat");
        ASSERT_GE(ids.size(), 4u);
        EXPECT_EQ(ids.front(), m->cls());
        EXPECT_EQ(ids.back(), m->sep());
        EXPECT_EQ(std::count(ids.begin(), ids.end(), m->mask()), 1);
        // The space before the mask goes with it (lstrip): same ids as without the space.
        EXPECT_EQ(ids, m->tokenize("the cat" + mask + " sat")) << arch;
        const auto plain = m->tokenize("the cat sat");
        EXPECT_EQ(m->tokenizer().decode(plain), "the cat sat");
    }
}

// 40 tokens: 38 scored positions in batches of 512 / 40 = 12 copies (4 batches, the last short).
TEST(Encoder, PseudoLogLikelihoodIsTheSumOverMaskedCopiesInEveryBatch) {
    TempDir dir;
    const auto m = EncoderModel::load(imported(dir, "bert", "--ctx 64 --seed 7"));
    std::vector<TokenId> pieces;  // the WordPiece vocabulary's ordinary pieces
    for (TokenId id = 0; id < m->hparams().n_vocab; ++id)
        if (!m->tokenizer().is_control(id) && id != m->tokenizer().vocab().unk)
            pieces.push_back(id);
    std::vector<TokenId> tokens = {m->cls()};
    for (size_t i = 0; i < 38; ++i) tokens.push_back(pieces[(i * 53 + 7) % pieces.size()]);
    tokens.push_back(m->sep());
    core::ThreadPool pool(2);
    double want = 0.0;
    const auto V = static_cast<size_t>(m->hparams().n_vocab);
    for (size_t t = 1; t + 1 < tokens.size(); ++t) {
        std::vector<TokenId> masked = tokens;
        masked[t] = m->mask();
        const std::vector<float> logits = m->mlm_logits(masked, pool);
        const float* row = logits.data() + t * V;
        double z = 0.0;
        for (size_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v]));
        want += static_cast<double>(row[tokens[t]]) - std::log(z);
    }
    EXPECT_NEAR(m->pseudo_log_likelihood(tokens, pool), want, 1e-3);
    // Only [CLS] and [SEP]: nothing to score.
    EXPECT_EQ(m->pseudo_log_likelihood(std::vector<TokenId>{m->cls(), m->sep()}, pool), 0.0);
}

TEST(Encoder, EmbeddingIsTheNormalisedMeanOfTheHiddenStates) {
    TempDir dir;
    const auto m = EncoderModel::load(imported(dir, "albert", "--ctx 32 --groups 2 --emb 8"));
    core::ThreadPool pool(1);
    const auto ids = m->tokenize("hello there");
    const auto h = m->hidden(ids, pool);
    const auto e = m->embed(ids, pool);
    const auto C = static_cast<size_t>(m->hparams().n_embd);
    std::vector<double> mean(C, 0.0);
    for (size_t t = 0; t < ids.size(); ++t)
        for (size_t c = 0; c < C; ++c)
            mean[c] += static_cast<double>(h[t * C + c]) / static_cast<double>(ids.size());
    double norm = 0.0;
    for (double v : mean) norm += v * v;
    norm = std::sqrt(norm);
    for (size_t c = 0; c < C; ++c) EXPECT_NEAR(e[c], mean[c] / norm, 1e-6);
}

TEST(Encoder, BadTokensAndMissingHeadsAreClearErrors) {
    TempDir dir;
    const auto m = EncoderModel::load(imported(dir, "bert", "--ctx 8 --head none"));
    core::ThreadPool pool(1);
    std::string what;
    EXPECT_EQ(kind_of([&] { m->hidden(std::vector<TokenId>{}, pool); }),
              ErrorKind::InvalidArgument);
    EXPECT_EQ(kind_of([&] { m->hidden(std::vector<TokenId>(9, 5), pool); }, &what),
              ErrorKind::InvalidArgument);
    EXPECT_NE(what.find("9 tokens do not fit the 8 positions"), std::string::npos) << what;
    EXPECT_EQ(kind_of(
                  [&] {
                      m->hidden(std::vector<TokenId>{m->cls(), 9999}, pool);
                  },
                  &what),
              ErrorKind::InvalidArgument);
    EXPECT_NE(what.find("token id 9999 at index 1"), std::string::npos) << what;
    EXPECT_EQ(kind_of([&] { m->mlm_logits(std::vector<TokenId>{m->cls()}, pool); }, &what),
              ErrorKind::Unsupported);
    EXPECT_NE(what.find("no masked-LM head"), std::string::npos) << what;
    EXPECT_EQ(kind_of([&] { m->pooled(std::vector<TokenId>{m->cls()}, pool); }, &what),
              ErrorKind::Unsupported);
    EXPECT_NE(what.find("has no pooler"), std::string::npos) << what;
}

TEST(Encoder, EachLoaderRefusesTheOtherKindOfModelByName) {
    TempDir dir;
    const std::string enc = imported(dir, "roberta", "--ctx 16");
    std::string what;
    EXPECT_EQ(kind_of([&] { Model::load(enc); }, &what), ErrorKind::Unsupported);
    EXPECT_NE(what.find("'roberta' is an encoder"), std::string::npos) << what;
    EXPECT_NE(what.find(enc), std::string::npos) << what;
    const std::string dec = testing::write_small_model(dir, testing::small_options(Arch::Gpt2));
    EXPECT_EQ(kind_of([&] { EncoderModel::load(dec); }, &what), ErrorKind::Unsupported);
    EXPECT_NE(what.find("architecture 'gpt2' is not an encoder"), std::string::npos) << what;
}

}  // namespace
}  // namespace lyra::model
