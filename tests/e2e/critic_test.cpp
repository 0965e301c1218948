// Encoder critics and revision by infilling (issue 10) as a user runs them: a random-weight BERT
// masked LM (tests/fixtures/bert_dir.h, WordPiece vocabulary of CJK characters and English words)
// is imported with `lyra model import` and given to the art commands as --critic.
//   - every candidate of `lyra poem` gets critic_fluency / critic_relevance (with a theme) /
//     critic_novelty (with --critic-corpus), within their ranges;
//   - `lyra poem --revise FILE --line N --pos P` proposes replacements of that character (word)
//     only, and every proposal keeps the poem fully valid (checked again here with check_poem);
//   - bad input (no critic, a decoder as critic, a position outside the poem) fails cleanly.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "art/poetry/poem.h"
#include "art/poetry/prosody.h"
#include "cli_runner.h"
#include "serve_process.h"
#include "fixtures/bert_dir.h"

namespace lyra::e2e {
namespace {

using json = nlohmann::json;

const char* kPoem = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n";
const char* kHaiku = "The old quiet pond\na frog jumps into the pond:\nthe sound of water.\n";

std::vector<std::string> critic_words() {
    std::vector<std::string> words;
    for (char32_t c = 0x4E00; c < 0x6000; ++c) words.push_back(art::poetry::to_utf8(c));
    for (char32_t c : art::poetry::to_u32("白日依山尽黄河入海流欲穷千里目更上一层楼"))
        words.push_back(art::poetry::to_utf8(c));
    for (const char* w : {"the", "old", "and", "quiet", "pond", "a", "frog", "jumps", "into", "sound", "of",
                          "water", "gentle", "silent", "golden", "morning", "river", "yellow", "happy",
                          "distant", "hollow", "open", "frozen", "lonely", "bitter", "tender", "little",
                          "ancient", "empty", "shallow", "sleepy", "peaceful", "misty", "silver", "dark",
                          "still", "cold", "green", "deep", "small", "blue", "stone", "moon", "night"})
        words.push_back(w);
    return words;
}

class Critic : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        test::write_bert_dir(dir_->path() / "hf", critic_words());
        model_ = (dir_->path() / "bert.gguf").string();
        const RunResult r = run_lyra({"model", "import", (dir_->path() / "hf").string(), "-o", model_});
        import_ok_ = r.code == 0;
        import_err_ = r.err;
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(import_ok_) << import_err_; }

    static std::string write(const std::string& name, const std::string& text) {
        const auto p = dir_->path() / name;
        std::ofstream(p) << text;
        return p.string();
    }

    static inline TempDir* dir_ = nullptr;
    static inline std::string model_, import_err_;
    static inline bool import_ok_ = false;
};

TEST_F(Critic, EveryCandidateGetsTheEncoderFigures) {
    const std::string corpus = write("corpus.txt", std::string(kPoem) + "\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n");
    const RunResult r = run_lyra({"poem", "--form", "wujue", "--theme", "山", "-n", "3", "--seed", "5",
                                  "--critic", model_, "--critic-corpus", corpus, "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    ASSERT_EQ(j["candidates"].size(), 3u);
    for (const json& c : j["candidates"]) {
        const json& s = c["scores"];
        ASSERT_TRUE(s.contains("critic_fluency")) << s.dump();
        EXPECT_LE(s["critic_fluency"].get<double>(), 0.0);
        EXPECT_TRUE(std::isfinite(s["critic_fluency"].get<double>()));
        EXPECT_GE(s["critic_relevance"].get<double>(), -1.0 - 1e-6);
        EXPECT_LE(s["critic_relevance"].get<double>(), 1.0 + 1e-6);
        EXPECT_GE(s["critic_novelty"].get<double>(), -1e-6);
        EXPECT_LE(s["critic_novelty"].get<double>(), 2.0 + 1e-6);
    }
    EXPECT_EQ(j["scores"], j["candidates"][0]["scores"]);
}

TEST_F(Critic, RevisionKeepsAChinesePoemValid) {
    const std::string file = write("poem.txt", kPoem);
    const RunResult r = run_lyra({"poem", "--revise", file, "--form", "wujue", "--line", "1", "--pos", "7",
                                  "--critic", model_, "-n", "5", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    ASSERT_GE(j["candidates"].size(), 1u);
    ASSERT_LE(j["candidates"].size(), 5u);
    const std::u32string before = art::poetry::to_u32(kPoem);
    for (const json& c : j["candidates"]) {
        const std::string text = c["text"].get<std::string>();
        EXPECT_TRUE(art::poetry::check_poem("wujue", text).empty()) << text;
        // Only 河 (line 1, char 7; index 7 counting the comma) changed.
        const std::u32string after = art::poetry::to_u32(text);
        ASSERT_EQ(after.size(), before.size()) << text;
        size_t diffs = 0;
        for (size_t i = 0; i < after.size(); ++i) diffs += after[i] != before[i];
        EXPECT_EQ(diffs, 1u) << text;
        EXPECT_EQ(after[7], art::poetry::to_u32(c["scores"]["replacement"].get<std::string>())[0]);
        EXPECT_EQ(c["scores"]["original"], "河");
    }
}

TEST_F(Critic, RevisionKeepsAHaikuValid) {
    const std::string file = write("haiku.txt", kHaiku);
    const RunResult r = run_lyra({"poem", "--revise", file, "--form", "haiku", "--line", "1", "--pos", "3",
                                  "--critic", model_, "-n", "4", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    ASSERT_GE(j["candidates"].size(), 1u);
    for (const json& c : j["candidates"]) {
        const std::string text = c["text"].get<std::string>();
        EXPECT_TRUE(art::poetry::check_poem("haiku", text).empty()) << text;
        EXPECT_EQ(c["scores"]["original"], "quiet");
        EXPECT_NE(text.find("The old " + c["scores"]["replacement"].get<std::string>() + " pond"),
                  std::string::npos)
            << text;
    }
}

TEST_F(Critic, BadInputFailsCleanly) {
    const std::string file = write("poem2.txt", kPoem);
    RunResult r = run_lyra({"poem", "--revise", file, "--form", "wujue", "--line", "2", "--pos", "2"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("critic"), std::string::npos) << r.err;
    r = run_lyra({"poem", "--revise", file, "--form", "wujue", "--line", "9", "--pos", "2", "--critic", model_});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("line"), std::string::npos) << r.err;
    r = run_lyra({"poem", "--revise", file, "--form", "wujue", "--line", "1", "--pos", "11", "--critic", model_});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("pos"), std::string::npos) << r.err;
    r = run_lyra({"poem", "--revise", file, "--form", "wujue", "--critic", model_});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("--line"), std::string::npos) << r.err;
    // A decoder is not a critic.
    r = run_lyra({"poem", "--form", "wujue", "--critic", shipped_model()});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("encoder"), std::string::npos) << r.err;
    // A corpus without a critic.
    r = run_lyra({"poem", "--form", "wujue", "--critic-corpus", file});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("critic_corpus"), std::string::npos) << r.err;
}

// The story planner with an encoder: earlier scenes are recapped by their most central sentence
// and the premise's keywords are picked (outline.json); the story itself gets the figures.
TEST_F(Critic, StoryPlannerUsesTheEncoder) {
    TempDir out;
    const RunResult r = run_lyra({"story", "--premise", "a quiet night by the river under the moon",
                                  "--length", "300", "--acts", "2", "--threads", "1", "--critic", model_,
                                  "-o", out.path().string(), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_TRUE(j["scores"].contains("critic_fluency")) << j["scores"].dump();
    EXPECT_TRUE(j["scores"].contains("critic_relevance")) << j["scores"].dump();
    const json outline = json::parse(read_all(out.path() / "outline.json"));
    ASSERT_TRUE(outline.contains("keywords")) << outline.dump();
    const std::vector<std::string> kw = outline["keywords"].get<std::vector<std::string>>();
    EXPECT_GE(kw.size(), 1u);
    EXPECT_LE(kw.size(), 5u);
    for (const std::string& w : kw) {
        EXPECT_NE(std::string("a quiet night by the river under the moon").find(w), std::string::npos) << w;
        EXPECT_GE(w.size(), 3u) << w;
    }
}

// The same revision through the API: the critic is a model the server serves, by name; a path
// or a corpus file on the server's disk is refused.
TEST_F(Critic, RevisionThroughTheApi) {
    TempDir served;
    std::filesystem::create_symlink(model_, served.path() / "bert-critic.gguf");
    ServeProcess s({}, "", served.path());
    ASSERT_TRUE(s.ok());
    auto post = [&](const json& body) {
        return run_program("/usr/bin/curl", {"-s", "-w", "\n%{http_code}", "-X", "POST", "-H",
                                             "Content-Type: application/json", "--data-binary", body.dump(),
                                             s.base() + "/v1/art/poem"});
    };
    json body = {{"form", "wujue"}, {"revise", kPoem}, {"line", 1}, {"pos", 7}, {"critic", "bert-critic"}, {"n", 3}};
    RunResult r = post(body);
    ASSERT_EQ(r.code, 0) << r.err;
    const size_t nl = r.out.rfind('\n');
    ASSERT_EQ(r.out.substr(nl + 1), "200") << r.out;
    const json j = json::parse(r.out.substr(0, nl));
    ASSERT_GE(j["candidates"].size(), 1u);
    for (const json& c : j["candidates"])
        EXPECT_TRUE(art::poetry::check_poem("wujue", c["text"].get<std::string>()).empty()) << c.dump();
    body["critic"] = model_;  // a path, not a served name
    r = post(body);
    EXPECT_NE(r.out.substr(r.out.rfind('\n') + 1), "200") << r.out;
    body["critic"] = "bert-critic";
    body["critic_corpus"] = "/etc/hostname";
    r = post(body);
    EXPECT_EQ(r.out.substr(r.out.rfind('\n') + 1), "400") << r.out;
    EXPECT_NE(r.out.find("critic_corpus"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lyra::e2e
