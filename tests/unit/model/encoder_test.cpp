// EncoderModel (issue 10) on imported tiny HF encoders (make_hf_fixture.py, torch): the
// [CLS] ... [SEP] wrapping and mask handling of tokenize(), the batched pseudo-log-likelihood
// against masking each position in turn through mlm_logits (several batches), the embedding's
// definition, the batch forms against the single-sequence methods, and the errors for bad input
// and for the wrong kind of model. Numeric parity with PyTorch (padded batches included) is
// tests/parity/hf_encoder_parity_test.cpp's job.
#include "model/encoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/format/hf_import.h"
#include "model/model.h"
#include "model/quantize.h"
#include "model/tokenizer/vocab.h"
#include "model_test_util.h"

namespace lyra::model {
namespace {

using testing::TempDir;

std::string imported(const TempDir& dir, const std::string& arch, const std::string& opts,
                     std::optional<core::DType> type = std::nullopt) {
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const char* py = std::getenv("LYRA_PYTHON");
    EXPECT_TRUE(src && py) << "run through ctest";
    if (!src || !py) return {};
    const std::string hf = dir.file(arch), out = dir.file(arch + ".gguf");
    const std::string make = std::string(py) + " " + src +
                             "/tests/unit/format/make_hf_fixture.py " + arch + " " + hf +
                             " --dim 16 --heads 2 --ffn 32 --layers 2 " + opts + " > /dev/null";
    EXPECT_EQ(std::system(make.c_str()), 0) << make;
    import_hf(hf, out, type);
    return out;
}

// [CLS] n ordinary pieces [SEP], the pieces spread over the vocabulary by `seed`.
std::vector<TokenId> text_of(const EncoderModel& m, size_t n, size_t seed) {
    std::vector<TokenId> pieces;  // the vocabulary's ordinary pieces
    for (TokenId id = 0; id < m.hparams().n_vocab; ++id)
        if (!m.tokenizer().is_control(id) && id != m.tokenizer().vocab().unk) pieces.push_back(id);
    std::vector<TokenId> tokens = {m.cls()};
    for (size_t i = 0; i < n; ++i)
        tokens.push_back(pieces[(i * 53 + seed * 31 + 7) % pieces.size()]);
    tokens.push_back(m.sep());
    return tokens;
}

// max|a - b| / max|b|; infinite when the sizes differ.
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double diff = 0.0, scale = 1e-30;
    for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    return diff / scale;
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

// The batch forms against the single-sequence methods, for each family: five texts of 1..63
// tokens (one of 1, one longer than the 40-row forwards of the second pass, which then runs
// alone). Within a forward every step but attention is per row and attention is per sequence,
// so a sequence's result can differ from its own forward only where the F32 matmul takes a
// different kernel (the GEMM from 32 rows on, the dot kernels below): float rounding, rel 1e-5
// of the largest value at most (observed <= 7e-7; 63 of the 90 comparisons exact). Attention
// across the whole packed batch instead (a leak between sequences) gave rel 0.09 .. 1.8 here.
// PLL sums agree within 1e-3 nats (observed <= 6e-6 on sums of -40 .. -125).
TEST(Encoder, BatchesOfDifferentLengthsMatchOneByOneForEveryFamily) {
    TempDir dir;
    core::ThreadPool pool(2);
    for (const std::string arch : {"bert", "roberta", "albert"}) {
        const auto m = EncoderModel::load(imported(
            dir, arch,
            "--ctx 64 --seed 11" + std::string(arch == "albert" ? " --emb 8 --groups 2" : "")));
        std::vector<std::vector<TokenId>> texts;
        for (const size_t n : {20, 0, 61, 7, 33}) texts.push_back(text_of(*m, n, texts.size()));
        texts[1] = {m->cls()};  // a sequence of one token
        for (const int64_t max_rows : {int64_t{0}, int64_t{40}}) {
            SCOPED_TRACE(arch + " max_rows " + std::to_string(max_rows));
            const auto hidden = m->hidden_batch(texts, pool, max_rows);
            const auto logits = m->mlm_logits_batch(texts, pool, max_rows);
            const auto embeds = m->embed_batch(texts, pool, max_rows);
            ASSERT_EQ(hidden.size(), texts.size());
            ASSERT_EQ(logits.size(), texts.size());
            ASSERT_EQ(embeds.size(), texts.size());
            for (size_t i = 0; i < texts.size(); ++i) {
                EXPECT_LT(rel_diff(hidden[i], m->hidden(texts[i], pool)), 1e-5) << "text " << i;
                EXPECT_LT(rel_diff(logits[i], m->mlm_logits(texts[i], pool)), 1e-5) << "text " << i;
                EXPECT_LT(rel_diff(embeds[i], m->embed(texts[i], pool)), 1e-5) << "text " << i;
            }
        }
        // PLL: default forwards, forwards of 100 rows (copies of different texts side by side,
        // a 63-token copy alone) and of 1 row (every copy alone: one forward per position).
        std::vector<double> single;
        for (const auto& t : texts) single.push_back(m->pseudo_log_likelihood(t, pool));
        EXPECT_EQ(single[1], 0.0);  // [CLS] alone: nothing scored
        for (const int64_t max_rows : {int64_t{0}, int64_t{100}, int64_t{1}}) {
            const std::vector<double> batch = m->pseudo_log_likelihood_batch(texts, pool, max_rows);
            ASSERT_EQ(batch.size(), texts.size());
            for (size_t i = 0; i < texts.size(); ++i)
                EXPECT_NEAR(batch[i], single[i], 1e-3)
                    << arch << " text " << i << " max_rows " << max_rows;
        }
        EXPECT_TRUE(m->pseudo_log_likelihood_batch({}, pool).empty());
    }
}

// Where both forwards take the same kernels the batch is exact, bit for bit: F32 and F16
// sequences that are each >= 32 tokens (every forward on the GEMM), F32 batches of < 32 rows in
// all (every forward on the dot kernels), and Q8_0 weights at any length (dot kernels
// throughout).
TEST(Encoder, BatchIsBitIdenticalWhereTheKernelsAgree) {
    TempDir dir;
    core::ThreadPool pool(2);
    const auto check = [&](const EncoderModel& m, const std::vector<size_t>& pieces) {
        std::vector<std::vector<TokenId>> texts;
        for (const size_t n : pieces) texts.push_back(text_of(m, n, texts.size()));
        const auto hidden = m.hidden_batch(texts, pool);
        const auto logits = m.mlm_logits_batch(texts, pool);
        for (size_t i = 0; i < texts.size(); ++i) {
            EXPECT_EQ(hidden[i], m.hidden(texts[i], pool)) << "text " << i;
            EXPECT_EQ(logits[i], m.mlm_logits(texts[i], pool)) << "text " << i;
        }
    };
    const auto f32 = EncoderModel::load(imported(dir, "bert", "--ctx 64 --seed 3"));
    check(*f32, {31, 46, 62});  // 33, 48, 64 tokens
    check(*f32, {3, 10, 7});    // 5 + 12 + 9 = 26 rows
    const auto f16 =
        EncoderModel::load(imported(dir, "roberta", "--ctx 64 --seed 4", core::DType::F16));
    check(*f16, {30, 40});
    // Q8_0 takes rows of 32: a width-32 model, every matrix quantized.
    const std::string f32_file =
        imported(dir, "albert", "--ctx 64 --seed 5 --dim 32 --ffn 64 --emb 32");
    const std::string q8_file = dir.file("albert_q8.gguf");
    quantize_file(f32_file, q8_file, core::DType::Q8_0);
    const auto q8 = EncoderModel::load(q8_file);
    ASSERT_EQ(q8->gguf().find_tensor("blk.0.attn_q.weight")->tensor.dtype, core::DType::Q8_0);
    check(*q8, {20, 1, 45, 9});
}

// The pooler over a batch: each sequence's [CLS] row through one dense product, equal to
// pooled() one by one (1e-5: the batch's product may take the GEMM where a single row takes the
// dot kernels), with forwards split by max_rows too; a model without a pooler says so.
TEST(Encoder, PooledBatchMatchesPooledOneByOne) {
    TempDir dir;
    core::ThreadPool pool(2);
    for (const std::string arch : {"bert", "albert"}) {
        const auto m = EncoderModel::load(imported(
            dir, arch,
            "--ctx 64 --seed 21 --pooler" + std::string(arch == "albert" ? " --emb 8" : "")));
        ASSERT_TRUE(m->hparams().has_pooler);
        std::vector<std::vector<TokenId>> texts;
        for (const size_t n : {5, 0, 40, 12, 61, 3, 9, 25, 1, 17, 30, 2, 8, 44, 6, 11, 19, 4, 22,
                               13, 7, 15, 33, 10, 28, 14, 16, 18, 20, 24, 26, 27, 29, 31})
            texts.push_back(text_of(*m, n, texts.size()));  // 34 sequences: the GEMM's row count
        for (const int64_t max_rows : {int64_t{0}, int64_t{50}}) {
            SCOPED_TRACE(arch + " max_rows " + std::to_string(max_rows));
            const auto pooled = m->pooled_batch(texts, pool, max_rows);
            ASSERT_EQ(pooled.size(), texts.size());
            for (size_t i = 0; i < texts.size(); ++i) {
                ASSERT_EQ(pooled[i].size(), static_cast<size_t>(m->hparams().n_embd));
                EXPECT_LT(rel_diff(pooled[i], m->pooled(texts[i], pool)), 1e-5) << "text " << i;
            }
        }
        EXPECT_TRUE(m->pooled_batch({}, pool).empty());
    }
    const auto bare = EncoderModel::load(imported(dir, "roberta", "--ctx 16 --seed 2"));
    ASSERT_FALSE(bare->hparams().has_pooler);
    std::string what;
    const std::vector<std::vector<TokenId>> one = {{bare->cls(), bare->sep()}};
    EXPECT_EQ(kind_of([&] { bare->pooled_batch(one, pool); }, &what), ErrorKind::Unsupported);
    EXPECT_NE(what.find("has no pooler"), std::string::npos) << what;
}

TEST(Encoder, BatchErrorsNameTheSequence) {
    TempDir dir;
    const auto m = EncoderModel::load(imported(dir, "bert", "--ctx 8 --head none"));
    core::ThreadPool pool(1);
    std::string what;
    const std::vector<std::vector<TokenId>> texts = {{m->cls(), m->sep()}, {m->cls(), 9999}};
    EXPECT_EQ(kind_of([&] { m->hidden_batch(texts, pool); }, &what), ErrorKind::InvalidArgument);
    EXPECT_NE(what.find("batch sequence 1 of 2: encoder: token id 9999 at index 1"),
              std::string::npos)
        << what;
    const std::vector<std::vector<TokenId>> empty = {{m->cls()}, {}};
    EXPECT_EQ(kind_of([&] { m->embed_batch(empty, pool); }, &what), ErrorKind::InvalidArgument);
    EXPECT_NE(what.find("batch sequence 1 of 2"), std::string::npos) << what;
    EXPECT_EQ(kind_of([&] { m->mlm_logits_batch(texts, pool); }, &what), ErrorKind::Unsupported);
    EXPECT_EQ(kind_of([&] { m->pseudo_log_likelihood_batch(texts, pool); }),
              ErrorKind::InvalidArgument);
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
