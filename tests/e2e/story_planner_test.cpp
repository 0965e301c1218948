// The story planner with a T5 (issue 10) as a user runs it: `lyra story --planner T5.gguf` and
// /v1/art/story with "planner". The T5 is a random-weight tiny model written by
// tests/unit/format/make_t5_fixture.py and imported with `lyra model import`; the story model is
// a random llama. What the story used is compared with direct calls of the T5 helpers
// (art/common/text_to_text.h) on the same model and input — the recaps of earlier scenes
// (recaps.json) with t5_summary of the scene files, the title with t5_title of the premise, the
// keywords with t5_keywords — and the title once more with `lyra generate` on the raw prompt. A
// file that is not an encoder-decoder is refused with one clear error and nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "art/common/text_to_text.h"
#include "cli_runner.h"
#include "core/thread_pool.h"
#include "fixtures/bert_dir.h"
#include "model/model.h"
#include "serve_process.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Args = std::vector<std::string>;

const char* kPremise = "the keeper of a lighthouse finds a letter from the sea";

std::string without_final_newline(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

class StoryPlanner : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        const fs::path hf = dir_->path() / "t5-hf";
        t5_ = (dir_->path() / "t5.gguf").string();
        if (!run_fixture_script("make_t5_fixture.py", {hf.string(), "--seed", "3"})) {
            setup_err_ = "make_t5_fixture.py failed";
            return;
        }
        const RunResult r = run_lyra({"model", "import", hf.string(), "-o", t5_});
        if (r.code != 0) setup_err_ = r.err;
        llama_ = random_llama(64, 2, 2, 256, "bytes");
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override {
        ASSERT_TRUE(setup_err_.empty()) << setup_err_;
        if (!t5_model_) t5_model_ = model::Model::load(t5_);
    }

    // The planner's direct answers, on one thread (kernels give the same result on any count).
    static std::string title(const std::string& brief) {
        core::ThreadPool pool(1);
        return art::t5_title(*t5_model_, brief, pool);
    }
    static std::string summary(const std::string& text) {
        core::ThreadPool pool(1);
        return art::t5_summary(*t5_model_, text, pool);
    }
    static std::vector<std::string> keywords(const std::string& brief) {
        core::ThreadPool pool(1);
        return art::t5_keywords(*t5_model_, brief, 5, pool);
    }

    static inline TempDir* dir_ = nullptr;
    static inline std::string t5_, llama_, setup_err_;
    static inline std::unique_ptr<model::Model> t5_model_;
};

TEST_F(StoryPlanner, RecapsTitleAndKeywordsAreTheT5s) {
    TempDir tmp;
    const fs::path out = tmp.path() / "story";
    // 600 words in one act: three scenes, so scenes 1 and 2 are recapped for the later ones.
    const Args args = {"story",  "-m",     llama_, "--planner", t5_,          "--premise",
                       kPremise, "--acts", "1",    "--length",  "600",        "--threads",
                       "1",      "--seed", "3",    "-o",        out.string(), "--json"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const json j = json::parse(r.out);

    // The title: T5's, everywhere the work shows one.
    const std::string t = title(kPremise);
    ASSERT_FALSE(t.empty()) << "the fixture's T5 should answer something for the title";
    EXPECT_EQ(j["title"], t);
    const json outline = json::parse(read_all(out / "outline.json"));
    EXPECT_EQ(outline["title"], t);
    EXPECT_EQ(read_all(out / "story.md").rfind("# " + t + "\n", 0), 0u)
        << read_all(out / "story.md");
    // ... and the helper runs the model as `lyra generate` does on the raw prompt.
    const Args gen = {"generate",
                      "-m",
                      t5_,
                      "-p",
                      std::string(art::kTitlePrefix) + kPremise,
                      "--max-tokens",
                      "16",
                      "--temperature",
                      "0",
                      "--threads",
                      "1",
                      "--json"};
    const RunResult g = run_lyra(gen);
    ASSERT_EQ(g.code, 0) << g.err << "\nrepro: " << repro(gen);
    EXPECT_EQ(art::clean_title(json::parse(g.out)["text"].get<std::string>()), t);

    // The recaps: T5's abstractive summary of each earlier scene's prose.
    ASSERT_TRUE(fs::exists(out / "recaps.json"));
    const json recaps = json::parse(read_all(out / "recaps.json"));
    ASSERT_EQ(recaps.size(), 2u) << recaps.dump();
    int non_empty = 0;
    for (size_t k = 0; k < recaps.size(); ++k) {
        EXPECT_EQ(recaps[k]["scene"], k + 1);
        EXPECT_EQ(recaps[k]["by"], "t5");
        const std::string scene = read_all(out / ("scene-0" + std::to_string(k + 1) + ".txt"));
        const std::string want = summary(without_final_newline(scene));
        EXPECT_EQ(recaps[k]["recap"], want) << "scene " << k + 1 << ": " << scene;
        const std::string got = recaps[k]["recap"];
        EXPECT_EQ(got.find('\n'), std::string::npos) << got;
        non_empty += got.empty() ? 0 : 1;
    }
    EXPECT_GE(non_empty, 1) << recaps.dump();

    // The keywords: T5's answer, kept only where they are words of the premise.
    ASSERT_TRUE(outline.contains("keywords")) << outline.dump();
    EXPECT_EQ(outline["keywords"], json(keywords(kPremise)));
    for (const json& w : outline["keywords"]) {
        EXPECT_NE(std::string(kPremise).find(w.get<std::string>()), std::string::npos) << w;
    }
}

// The title reaches the screenplay's title page and HTML; an edited outline.json keeps its own.
TEST_F(StoryPlanner, TitleGoesIntoTheScreenplayAndAnEditedOutlineKeepsItsOwn) {
    TempDir tmp;
    const fs::path plan = tmp.path() / "plan", play = tmp.path() / "play",
                   edited = tmp.path() / "edited";
    RunResult r = run_lyra({"story", "-m", llama_, "--planner", t5_, "--premise", kPremise,
                            "--form", "outline", "--acts", "1", "--length", "200", "--threads", "1",
                            "-o", plan.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    json outline = json::parse(read_all(plan / "outline.json"));
    const std::string t = title(kPremise);
    EXPECT_EQ(outline["title"], t);

    r = run_lyra({"story", "-m", llama_, "--planner", t5_, "--from-outline",
                  (plan / "outline.json").string(), "--form", "screenplay", "--length", "100",
                  "--threads", "1", "-o", play.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(read_all(play / "screenplay.fountain").rfind("Title: " + t + "\n", 0), 0u)
        << read_all(play / "screenplay.fountain");
    EXPECT_NE(read_all(play / "screenplay.html").find("<title>" + t + "</title>"),
              std::string::npos);

    outline["title"] = "Homecoming Night";
    const fs::path file = tmp.path() / "outline.json";
    std::ofstream(file) << outline.dump();
    r = run_lyra({"story", "-m", llama_, "--planner", t5_, "--from-outline", file.string(),
                  "--length", "100", "--threads", "1", "-o", edited.string(), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["title"], "Homecoming Night");
    EXPECT_EQ(read_all(edited / "story.md").rfind("# Homecoming Night\n", 0), 0u);
}

// An encoder, a decoder or no file as planner: exit 1, one stderr line saying what is needed, and
// no output directory.
TEST_F(StoryPlanner, AFileThatIsNotAnEncoderDecoderIsOneClearError) {
    TempDir tmp;
    test::write_bert_dir(tmp.path() / "bert-hf", {"the", "sea", "letter"});
    const std::string bert = (tmp.path() / "bert.gguf").string();
    const RunResult imp =
        run_lyra({"model", "import", (tmp.path() / "bert-hf").string(), "-o", bert});
    ASSERT_EQ(imp.code, 0) << imp.err;
    struct Case {
        std::string planner;
        std::vector<std::string> says;
    };
    const std::vector<Case> cases = {
        {bert,
         {"planner: ", "'bert' is an encoder-only model",
          "expected a text-to-text encoder-decoder model (t5)"}},
        {llama_,
         {"planner: ", "'llama' is a decoder-only model",
          "expected a text-to-text encoder-decoder model (t5)"}},
        {(tmp.path() / "none.gguf").string(), {"planner: ", "none.gguf"}},
    };
    for (const Case& c : cases) {
        const fs::path out = tmp.path() / "out";
        const Args args = {"story", "-m",        llama_, "--planner", c.planner,   "--length",
                           "100",   "--threads", "1",    "-o",        out.string()};
        const RunResult r = run_lyra(args);
        EXPECT_EQ(r.code, 1) << r.err << "\nrepro: " << repro(args);
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        for (const std::string& part : c.says)
            EXPECT_NE(r.err.find(part), std::string::npos) << part << " in " << r.err;
        EXPECT_FALSE(fs::exists(out)) << c.planner;
    }
}

// /v1/art/story with "planner": a model the server serves, by name, like "critic".
TEST_F(StoryPlanner, PlannerThroughTheApi) {
    TempDir served;
    fs::create_symlink(t5_, served.path() / "t5-planner.gguf");
    fs::create_symlink(llama_, served.path() / "story-llama.gguf");
    ServeProcess s({}, "", served.path());
    ASSERT_TRUE(s.ok());
    json body = {{"model", "story-llama"},
                 {"planner", "t5-planner"},
                 {"premise", kPremise},
                 {"form", "outline"},
                 {"acts", 1},
                 {"length", 200},
                 {"threads", 1}};
    Http h = post(s, "/v1/art/story", body.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    const json j = h.j();
    EXPECT_EQ(j["title"], title(kPremise)) << h.body;
    ASSERT_TRUE(j.contains("files") && j["files"].contains("outline")) << h.body;
    const Http o = get(s, j["files"]["outline"].get<std::string>());
    ASSERT_EQ(o.status, 200) << o.body;
    EXPECT_EQ(o.j()["title"], title(kPremise));
    EXPECT_EQ(o.j()["keywords"], json(keywords(kPremise)));

    body["planner"] = t5_;  // a path on the server's disk, not a served name
    h = post(s, "/v1/art/story", body.dump());
    EXPECT_EQ(h.status, 404) << h.body;
    body["planner"] = "story-llama";  // served, but a decoder
    h = post(s, "/v1/art/story", body.dump());
    EXPECT_EQ(h.status, 400) << h.body;
    EXPECT_NE(h.body.find("decoder-only"), std::string::npos) << h.body;
    body["planner"] = 3;
    h = post(s, "/v1/art/story", body.dump());
    EXPECT_EQ(h.status, 400) << h.body;
    EXPECT_EQ(h.j()["error"]["param"], "planner") << h.body;
}

}  // namespace
}  // namespace lyra::e2e
