// The encoder critic's part in ranking (art/common/critic.h), on a random-weight BERT imported
// from tests/fixtures/bert_dir.h: the figures apply_encoder_critic records are judge_batch()'s
// (each equal to judge() of that text alone up to float rounding), the
// weighted total moves the ranking exactly by critic_weight * (fluency + 2 relevance + novelty),
// weight 0 changes nothing, and the corpus reader refuses an empty file.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include "art/common/critic.h"
#include "core/error.h"
#include "fixtures/bert_dir.h"
#include "model/format/hf_import.h"

namespace lyra::art {
namespace {

namespace fs = std::filesystem;

class EncoderCritic : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("lyra_critic_" + std::to_string(getpid()));
        test::write_bert_dir(dir_ / "hf", {"moon", "river", "night", "stone", "quiet", "water",
                                           "the", "a", "over", "bright", "cold", "song"});
        model_ = (dir_ / "bert.gguf").string();
        model::import_hf((dir_ / "hf").string(), model_, std::nullopt);
    }
    static void TearDownTestSuite() { fs::remove_all(dir_); }

    static inline fs::path dir_;
    static inline std::string model_;
};

TEST_F(EncoderCritic, FiguresAndWeightedTotalDecideTheOrder) {
    core::ThreadPool pool(1);
    ModelCache models;
    Context ctx{.pool = &pool, .models = &models};
    const auto enc = models.encoder(model_);
    const std::vector<std::string> texts = {"the moon over the river", "cold stone song",
                                            "a quiet water night", "bright bright bright"};
    const CriticReference ref = critic_reference(*enc, "night river", {}, pool);
    const std::vector<CriticFigures> figures = judge_batch(*enc, texts, ref, pool);
    ASSERT_EQ(figures.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {  // the batch changes nothing but rounding
        const CriticFigures alone = judge(*enc, texts[i], ref, pool);
        EXPECT_NEAR(figures[i].fluency, alone.fluency, 1e-5) << texts[i];
        EXPECT_NEAR(figures[i].relevance, alone.relevance, 1e-6) << texts[i];
        EXPECT_TRUE(figures[i].has_relevance);
    }
    for (const double weight : {0.0, 1.0, 50.0}) {
        ArtResult r;
        for (const std::string& t : texts) r.candidates.push_back({.text = t, .scores = json::object(), .score = 1.0});
        CommonOptions o;
        o.critic = model_;
        o.critic_weight = weight;
        apply_encoder_critic(r, o, "night river", ctx);
        for (size_t i = 0; i < texts.size(); ++i) {
            const CriticFigures& f = figures[i];
            const json& s = r.candidates[i].scores;
            EXPECT_DOUBLE_EQ(s["critic_fluency"].get<double>(), f.fluency);
            EXPECT_DOUBLE_EQ(s["critic_relevance"].get<double>(), f.relevance);
            EXPECT_FALSE(s.contains("critic_novelty"));
            EXPECT_DOUBLE_EQ(r.candidates[i].score, 1.0 + weight * (f.fluency + 2.0 * f.relevance));
            EXPECT_LT(f.fluency, 0.0);
        }
    }
    // Without a critic nothing is added.
    ArtResult r;
    r.candidates.push_back({.text = "moon", .scores = json::object(), .score = 2.0});
    apply_encoder_critic(r, CommonOptions{}, "night", ctx);
    EXPECT_EQ(r.candidates[0].score, 2.0);
    EXPECT_TRUE(r.candidates[0].scores.empty());
}

TEST_F(EncoderCritic, NoveltyIsDistanceToTheNearestCorpusWork) {
    core::ThreadPool pool(1);
    ModelCache models;
    const auto enc = models.encoder(model_);
    const fs::path corpus = dir_ / "corpus.txt";
    std::ofstream(corpus) << "the moon over the river\n\ncold stone song\n\n\n";
    const auto works = corpus_embeddings(*enc, corpus.string(), 256, pool);
    ASSERT_EQ(works.size(), 2u);
    // A work of the corpus is not novel at all; another text is.
    const CriticReference ref = critic_reference(*enc, "", works, pool);
    EXPECT_NEAR(judge(*enc, "the moon over the river", ref, pool).novelty, 0.0, 1e-5);
    EXPECT_GT(judge(*enc, "bright bright water", ref, pool).novelty, 1e-4);
    EXPECT_FALSE(judge(*enc, "bright bright water", ref, pool).has_relevance);
    std::ofstream(dir_ / "empty.txt") << "\n\n";
    EXPECT_THROW(corpus_embeddings(*enc, (dir_ / "empty.txt").string(), 256, pool), Error);
    EXPECT_THROW(corpus_embeddings(*enc, (dir_ / "missing.txt").string(), 256, pool), Error);
}

}  // namespace
}  // namespace lyra::art
