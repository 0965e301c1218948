// Writing English poems under VerseConstraint with random-weight character models: every
// candidate must keep its form (the constraints, not the model, guarantee it), bad requests get
// one clear error, and the corpus builder emits documents in the prompt format.
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "art/poetry/en/en_poem.h"
#include "art/poetry/en/forms.h"
#include "art/poetry/en/verse_constraint.h"
#include "core/error.h"
#include "model/init.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::art::poetry::en {
namespace {

namespace fs = std::filesystem;

class RandomVerseModel : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("lyra_poetry_en_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        // The character vocabulary `lyra model init --tokenizer char:FILE` builds from a text
        // with every letter, the verse punctuation and a few other characters.
        const std::string text =
            "form: sonnet\ntitle: The Quick Brown Fox\nThe quick brown fox jumps over the lazy dog; "
            "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG! Isn't it? Yes: 0123456789 (x) - \"y\"\n";
        auto tok = model::build_char_vocab(text);
        for (uint64_t seed : {1u, 2u}) {
            model::InitOptions o;
            o.n_embd = 64;
            o.n_layer = 2;
            o.n_head = 2;
            o.n_ctx = 1100;
            o.seed = seed;
            o.init_std = seed == 1 ? 0.02f : 1.0f;  // near-uniform, and strongly opinionated
            model::init_model(o, *tok, (dir_ / ("m" + std::to_string(seed) + ".gguf")).string());
        }
        pool_ = new core::ThreadPool(1);
        models_ = new ModelCache();
    }
    static void TearDownTestSuite() {
        delete pool_;
        delete models_;
        fs::remove_all(dir_);
    }
    static std::string model_path(int seed) { return (dir_ / ("m" + std::to_string(seed) + ".gguf")).string(); }
    static Context ctx() {
        Context c;
        c.pool = pool_;
        c.models = models_;
        return c;
    }
    // Writes n candidates and checks every one of them.
    static void expect_valid(const nlohmann::json& request) {
        for (int seed : {1, 2}) {
            nlohmann::json req = request;
            req["model"] = model_path(seed);
            req["n"] = 3;
            req["seed"] = 40 + seed;
            Context c = ctx();
            const ArtResult r = write_poem(req, c);
            ASSERT_EQ(r.candidates.size(), 3u);
            const std::string acrostic = req.value("acrostic", std::string());
            for (const Candidate& cand : r.candidates) {
                const auto faults = check_poem(req.at("form").get<std::string>(), cand.text, acrostic);
                std::string msgs;
                for (const Fault& f : faults) msgs += f.message + "\n";
                EXPECT_TRUE(faults.empty()) << req.dump() << "\n" << cand.text << "\n" << msgs;
                EXPECT_EQ(cand.scores.at("compliant").get<double>(), 1.0);
            }
            EXPECT_EQ(r.text, r.candidates.front().text);
            EXPECT_EQ(r.form, "poem");
            EXPECT_EQ(r.request.at("form"), req.at("form"));
            EXPECT_FALSE(r.model_sha256.empty());
        }
    }
    static fs::path dir_;
    static core::ThreadPool* pool_;
    static ModelCache* models_;
};
fs::path RandomVerseModel::dir_;
core::ThreadPool* RandomVerseModel::pool_ = nullptr;
ModelCache* RandomVerseModel::models_ = nullptr;

TEST_F(RandomVerseModel, HaikuAlwaysKeepsForm) { expect_valid({{"form", "haiku"}, {"theme", "autumn"}}); }
TEST_F(RandomVerseModel, LimerickAlwaysKeepsForm) { expect_valid({{"form", "limerick"}, {"title", "A Cat"}}); }
TEST_F(RandomVerseModel, SonnetAlwaysKeepsForm) { expect_valid({{"form", "sonnet"}, {"theme", "the sea"}}); }
TEST_F(RandomVerseModel, AcrosticAlwaysKeepsForm) {
    expect_valid({{"form", "acrostic"}, {"acrostic", "MOON"}});
    expect_valid({{"form", "haiku"}, {"acrostic", "SEA"}});
    expect_valid({{"form", "limerick"}, {"acrostic", "QUIZZ"}});
    expect_valid({{"form", "sonnet"}, {"acrostic", "WILLIAMSHAKESP"}});
}

TEST_F(RandomVerseModel, SameSeedSamePoem) {
    const nlohmann::json req = {{"form", "haiku"}, {"model", model_path(2)}, {"seed", 9}};
    Context c = ctx();
    EXPECT_EQ(write_poem(req, c).text, write_poem(req, c).text);
}

TEST_F(RandomVerseModel, EvalReportsFullCompliance) {
    Context c = ctx();
    const nlohmann::json j = eval_form("limerick", 4, model_path(2), c);
    EXPECT_EQ(j.at("full_compliance").get<double>(), 1.0);
    EXPECT_EQ(j.at("syllable_accuracy").get<double>(), 1.0);
    EXPECT_EQ(j.at("rhyme_accuracy").get<double>(), 1.0);
    EXPECT_GT(j.at("distinct_2").get<double>(), 0.0);
    EXPECT_LT(j.at("loglik_per_char").get<double>(), 0.0);
}

void expect_error(const nlohmann::json& req, Context& c, const std::string& text) {
    try {
        write_poem(req, c);
        FAIL() << "no error for " << req.dump();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
}

TEST_F(RandomVerseModel, BadRequestsGiveOneClearError) {
    Context c = ctx();
    const std::string m = model_path(1);
    expect_error({{"form", "villanelle"}, {"model", m}}, c, "form: unknown English form; expected haiku, limerick, sonnet or acrostic, got 'villanelle'");
    expect_error({{"form", "haiku"}, {"model", m}, {"acrostic", "ABCD"}}, c, "acrostic: a haiku has 3 lines; expected 3 letters, got 4 ('ABCD')");
    expect_error({{"form", "acrostic"}, {"model", m}}, c, "acrostic: the acrostic form needs its letters");
    expect_error({{"form", "acrostic"}, {"model", m}, {"acrostic", "A-B"}}, c, "acrostic: only the letters A-Z");
    expect_error({{"form", "haiku"}, {"model", m}, {"theme", "  "}}, c, "theme: empty; expected a keyword, a title or a first line");
    expect_error({{"form", "haiku"}, {"model", m}, {"title", ""}}, c, "title: empty");
    expect_error({{"form", "haiku"}, {"model", m}, {"meter", "x"}}, c, "poem request: unknown option 'meter'");
    expect_error({{"form", "haiku"}, {"model", (dir_ / "absent.gguf").string()}}, c, "absent.gguf");
}

TEST(VerseConstraint, RefusesVocabulariesThatCannotSpell) {
    auto tok = model::build_char_vocab("abc");  // byte fallback covers every letter: accepted
    EXPECT_NO_THROW(VerseConstraint(resolve_form("haiku", ""), "", Lexicon::standard(), *tok));
}

TEST(Lexicon, TrieSubtreesAreRangesWithSyllableMasks) {
    Lexicon lex({{"day", 1, "EY", "1"}, {"away", 2, "EY", "01"}, {"dawn", 1, "AO N", "1"}, {"daylight", 2, "EY L AY T", "12"}});
    ASSERT_EQ(lex.words().size(), 4u);
    const int d = lex.child(0, 'd');
    const int da = lex.child(d, 'a');
    ASSERT_GE(da, 0);
    const auto& n = lex.nodes()[static_cast<size_t>(da)];
    EXPECT_EQ(n.hi - n.lo, 3);            // dawn, day, daylight
    EXPECT_EQ(n.mask, (1u << 1) | (1u << 2));
    EXPECT_EQ(lex.child(da, 'x'), -1);
    EXPECT_EQ(lex.rhymes("EY")->size(), 2u);
    EXPECT_EQ(lex.find("daylight"), 3);
}

TEST(Corpus, EnglishVerseDocumentsInPromptFormat) {
    std::vector<std::string> docs;
    build_corpus({{"max_lines", 14}}, [&](std::string d) { docs.push_back(std::move(d)); });
    ASSERT_GT(docs.size(), 1000u);
    int sonnets = 0;
    for (const std::string& d : docs) {
        ASSERT_EQ(d.rfind("form: ", 0), 0u) << d;
        ASSERT_EQ(d.find("\n\n"), std::string::npos) << d;
        if (d.rfind("form: sonnet\n", 0) == 0) ++sonnets;
    }
    EXPECT_GE(sonnets, 150);
    EXPECT_EQ(docs.front().rfind(make_prompt("blank verse", "").substr(0, 6), 0), 0u);
    EXPECT_THROW(build_corpus({{"max_lines", 0}}, [](std::string) {}), Error);
}

}  // namespace
}  // namespace lyra::art::poetry::en
