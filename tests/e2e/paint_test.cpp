// `lyra paint` as a user runs it, on a random-weight char model: under the drawing grammar every
// drawing of every mode parses and rsvg-convert renders it; artifacts are written all together;
// bad input gives one clear error and no files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace {

using lyra::e2e::read_all;
using lyra::e2e::repro;
using lyra::e2e::run_lyra;
using lyra::e2e::run_program;
using lyra::e2e::RunResult;
using lyra::e2e::TempDir;
namespace fs = std::filesystem;

class PaintCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        const fs::path chars = dir_->path() / "chars.txt";
        std::ofstream(chars) << "subject: canvas circle ellipse rect polygon polyline path g end f s w o none\n"
                                "MLHVCSQTAZ 0123456789 -#abcdef ghijklmnopqrstuvwxyz ,.\n";
        model_ = (dir_->path() / "rand.gguf").string();
        const RunResult r = run_lyra({"model", "init", "--arch", "llama", "--dim", "32", "--layers", "1", "--heads", "2",
                                      "--ctx", "512", "--tokenizer", "char:" + chars.string(), "-o", model_});
        ASSERT_EQ(r.code, 0) << r.err;
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    static TempDir* dir_;
    static std::string model_;
};

TempDir* PaintCli::dir_ = nullptr;
std::string PaintCli::model_;

bool have_rsvg() { return std::system("command -v rsvg-convert >/dev/null 2>&1") == 0; }

class PaintModes : public PaintCli, public ::testing::WithParamInterface<const char*> {};

TEST_P(PaintModes, RandomWeightsStillDrawValidRenderableDrawings) {
    if (!have_rsvg()) GTEST_SKIP() << "rsvg-convert (librsvg2-bin) not installed";
    const std::vector<std::string> args = {"paint", "eval", "-m", model_, "--mode", GetParam(), "--count", "3",
                                           "--length", "320", "--threads", "1", "--json"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const auto j = nlohmann::json::parse(r.out);
    const auto& m = j["modes"][GetParam()];
    EXPECT_EQ(m["drawings"], 3);
    EXPECT_EQ(m["parsed"].get<double>(), 1.0) << m.dump();
    EXPECT_EQ(m["rendered_by_rsvg"].get<double>(), 1.0) << m.dump();
    EXPECT_EQ(j["length"], 320);
    EXPECT_GT(m["mean_tokens"].get<double>(), 10.0) << m.dump();  // at least a canvas line
    EXPECT_LE(m["mean_tokens"].get<double>(), 320.0) << m.dump();
    EXPECT_GE(m["ended"].get<double>(), 0.0) << m.dump();
    EXPECT_LE(m["ended"].get<double>(), 1.0) << m.dump();
}

// Classifier-free guidance (--guidance) in every mode: the grammar's mask applies to the guided
// logits, so a random model still draws only valid, renderable drawings inside the budget.
TEST_P(PaintModes, GuidedRandomWeightsStillDrawValidRenderableDrawings) {
    if (!have_rsvg()) GTEST_SKIP() << "rsvg-convert (librsvg2-bin) not installed";
    const std::vector<std::string> args = {"paint", "eval", "-m", model_, "--mode", GetParam(), "--count", "3",
                                           "--length", "320", "--threads", "1", "--guidance", "3", "--json"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["guidance"], 3.0);
    const auto& m = j["modes"][GetParam()];
    EXPECT_EQ(m["parsed"].get<double>(), 1.0) << m.dump();
    EXPECT_EQ(m["rendered_by_rsvg"].get<double>(), 1.0) << m.dump();
    EXPECT_LE(m["mean_tokens"].get<double>(), 320.0) << m.dump();
}

INSTANTIATE_TEST_SUITE_P(EveryMode, PaintModes,
                         ::testing::Values("subject", "mondrian", "kandinsky", "albers", "malevich", "riley", "free"));

// With a reference corpus, the subject mode also draws the corpus's own emoji names and reports
// how often the nearest references carry the name, next to the chance level.
TEST_F(PaintCli, EvalReportsSubjectMatchAgainstTheReference) {
    if (!have_rsvg()) GTEST_SKIP() << "rsvg-convert (librsvg2-bin) not installed";
    const fs::path corpus = dir_->path() / "corpus.txt";
    std::ofstream(corpus) << "subject: red apple\ncanvas 128 128\ncircle 64 64 50 f red\n\n"
                             "subject: blue fish\ncanvas 128 128\nrect 4 4 12 12 f blue\n\n"
                             "subject: heart; love\ncanvas 128 128\ncircle 20 100 6 f pink\n\n"
                             "subject: sun\ncanvas 128 128\ncircle 100 60 5 f orange\n";
    const std::vector<std::string> args = {"paint", "eval", "-m", model_, "--mode", "subject", "--count", "4",
                                           "--length", "200", "--threads", "1", "--reference", corpus.string(),
                                           "--match-candidates", "2", "--json"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const auto sm = nlohmann::json::parse(r.out)["modes"]["subject"]["subject_match"];
    EXPECT_EQ(sm["subjects"], 3) << sm.dump();  // the three emoji names; the icon has tags
    EXPECT_EQ(sm["candidates"], 2) << sm.dump();
    for (const char* key : {"name_nearest", "name_in_nearest_5", "word_in_nearest_5", "random_name_nearest",
                            "random_name_in_nearest_5", "random_word_in_nearest_5", "novelty"}) {
        ASSERT_TRUE(sm[key].is_number()) << key << " " << sm.dump();
        EXPECT_GE(sm[key].get<double>(), 0.0) << key;
        EXPECT_LE(sm[key].get<double>(), 1.0) << key;
    }
    // 4 references, 5 neighbours: every name is among them, for the subject and any other name
    EXPECT_EQ(sm["name_in_nearest_5"].get<double>(), 1.0) << sm.dump();
    EXPECT_EQ(sm["random_name_in_nearest_5"].get<double>(), 1.0) << sm.dump();
    const RunResult bad = run_lyra({"paint", "eval", "-m", model_, "--mode", "subject", "--match-candidates", "0"});
    EXPECT_NE(bad.code, 0);
}

// Every whole-number and fraction flag of eval and roundtrip refuses a value outside its range
// before any work, with the range in the message (exit 2, a usage error).
TEST_F(PaintCli, EvalAndRoundtripFlagsOutOfRangeAreUsageErrors) {
    struct Case {
        std::vector<std::string> args;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {{"paint", "eval", "-m", model_, "--length", "10"}, "--length: out of range; expected 64 to 4096, got 10"},
        {{"paint", "eval", "-m", model_, "--length", "-5"}, "--length: out of range"},
        {{"paint", "eval", "-m", model_, "--threads", "-1"}, "--threads: out of range; expected 0 to 1024, got -1"},
        {{"paint", "eval", "-m", model_, "--threads", "two"}, "--threads: expected an integer, got 'two'"},
        {{"paint", "roundtrip", "--limit", "-3"}, "--limit: out of range; expected at least 0, got -3"},
        {{"paint", "roundtrip", "--threshold", "1.5"}, "--threshold: out of range; expected 0 to 1, got 1.5"},
        {{"paint", "roundtrip", "--threshold", "nan"}, "--threshold: out of range; expected 0 to 1, got nan"},
    };
    for (const Case& c : cases) {
        const RunResult r = run_lyra(c.args);
        EXPECT_EQ(r.code, 2) << repro(c.args) << "\n" << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << repro(c.args) << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

TEST_F(PaintCli, WritesDrawingPngAndContactSheet) {
    TempDir out;
    const fs::path dir = out.path() / "work";
    const std::vector<std::string> args = {"paint", "-m", model_, "--subject", "🍎 苹果 яблоко تفاحة", "-n", "2",
                                           "--size", "64", "--length", "160", "--threads", "1", "-o", dir.string(), "--json"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["form"], "paint");
    EXPECT_EQ(j["candidates"].size(), 2u);
    EXPECT_EQ(j["scores"]["renders"], 1);
    for (const char* name : {"drawing.svg", "drawing.png", "contact.png", "drawing.paint"}) {
        EXPECT_TRUE(fs::exists(dir / name)) << name;
    }
    EXPECT_EQ(read_all(dir / "drawing.png").substr(1, 3), "PNG");
    if (have_rsvg()) {
        const RunResult rs = run_program("/usr/bin/rsvg-convert", {(dir / "drawing.svg").string(), "-o", (out.path() / "x.png").string()});
        EXPECT_EQ(rs.code, 0) << rs.err;
    }
    // render and normalize read back what paint wrote
    const RunResult rd = run_lyra({"paint", "render", (dir / "drawing.paint").string(), "-o", (out.path() / "r.png").string(), "--size", "32"});
    EXPECT_EQ(rd.code, 0) << rd.err;
    const RunResult nz = run_lyra({"paint", "normalize", (dir / "drawing.svg").string()});
    EXPECT_EQ(nz.code, 0) << nz.err;
    EXPECT_EQ(nz.out.rfind("canvas 128 128", 0), 0u) << nz.out;
}

// --guidance 0 is today's decoding exactly; a guided drawing is the same for the same seed, and
// each candidate parses and renders. Bad scales are usage errors (exit 2) with one line.
TEST_F(PaintCli, GuidanceIsDeterministicAndZeroIsPlainDecoding) {
    const auto texts = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args = {"paint", "-m", model_, "--subject", "red apple", "-n", "2", "--seed", "5",
                                         "--length", "200", "--threads", "1", "--no-gallery", "--json"};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult r = run_lyra(args);
        EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
        std::vector<std::string> out;
        const auto j = nlohmann::json::parse(r.out);
        for (const auto& c : j["candidates"]) {
            EXPECT_EQ(c["scores"]["renders"], 1) << c.dump();
            out.push_back(c["text"].get<std::string>());
        }
        return out;
    };
    const auto plain = texts({});
    ASSERT_EQ(plain.size(), 2u);
    EXPECT_EQ(texts({"--guidance", "0"}), plain);
    const auto guided = texts({"--guidance", "3"});
    ASSERT_EQ(guided.size(), 2u);
    EXPECT_EQ(texts({"--guidance", "3"}), guided);
    EXPECT_NE(guided, plain);

    TempDir out;
    const fs::path dir = out.path() / "work";
    for (const char* bad : {"-1", "nan", "inf", "11", "much"}) {
        const RunResult r = run_lyra({"paint", "-m", model_, "--subject", "x", "--guidance", bad, "-o", dir.string()});
        EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
        EXPECT_NE(r.err.find("--guidance: out of range; expected a number from 0 to 10"), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(dir)) << bad;
    }
    const RunResult ev = run_lyra({"paint", "eval", "-m", model_, "--mode", "albers", "--guidance", "nan"});
    EXPECT_EQ(ev.code, 2) << ev.err;
    EXPECT_NE(ev.err.find("--guidance: out of range"), std::string::npos) << ev.err;
}

// Guided drawing (--guide, --keep): a random-weight model continuing a corpus drawing of the
// subject, or a drawing the user gives, still writes only valid, renderable drawings; the kept
// shapes come first and the result says what it was guided by; bad guides are one clear error.
TEST_F(PaintCli, GuidedDrawingsStartFromTheGuideAndStayValid) {
    if (!have_rsvg()) GTEST_SKIP() << "rsvg-convert (librsvg2-bin) not installed";
    TempDir out;
    const fs::path corpus = out.path() / "corpus.txt";
    std::ofstream(corpus) << "subject: red apple\ncanvas 128 128\ncircle 64 70 50 f red\n"
                             "path M64 20 C70 10 80 8 90 10 Z f green\nrect 62 4 4 18 f #662113\n\n"
                             "subject: blue fish\ncanvas 120 120\ng f none s black w 10\npath M10 60 L110 60\n"
                             "path M60 10 L60 110\npath M20 20 L100 100\nend\n";
    // eval: the fixed subjects cycle "red apple", "smiling face", "house with a tree", "blue fish"
    const std::vector<std::string> eval = {"paint", "eval", "-m", model_, "--mode", "subject", "--count", "4",
                                           "--length", "200", "--threads", "1", "--reference", corpus.string(),
                                           "--guide", "auto", "--json"};
    RunResult r = run_lyra(eval);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(eval);
    const auto m = nlohmann::json::parse(r.out)["modes"]["subject"];
    EXPECT_EQ(m["guided"].get<double>(), 0.5) << m.dump();
    EXPECT_EQ(m["parsed"].get<double>(), 1.0) << m.dump();
    EXPECT_EQ(m["rendered_by_rsvg"].get<double>(), 1.0) << m.dump();
    // the subject match never starts from the subject's own drawing: "red apple" and "blue fish"
    // name nothing else in this corpus, so none is guided
    EXPECT_EQ(m["subject_match"]["guided"].get<double>(), 0.0) << m.dump();

    const auto paint = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args = {"paint", "-m", model_, "-n", "2", "--seed", "3", "--length", "200",
                                         "--threads", "1", "--reference", corpus.string(), "--no-gallery", "--json"};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult res = run_lyra(args);
        EXPECT_EQ(res.code, 0) << res.err << "\nrepro: " << repro(args);
        return res.code == 0 ? nlohmann::json::parse(res.out) : nlohmann::json::object();
    };
    // auto: the corpus's red apple, half its shapes (the disc) kept, then the model's rest
    const auto apple = paint({"--subject", "red apple"});
    ASSERT_EQ(apple["candidates"].size(), 2u);
    for (const auto& c : apple["candidates"]) {
        EXPECT_EQ(c["scores"]["guide"], "corpus: red apple") << c.dump();
        EXPECT_EQ(c["scores"]["guide_shapes"], 3) << c.dump();
        EXPECT_EQ(c["scores"]["guide_shapes_kept"], 1) << c.dump();
        EXPECT_EQ(c["scores"]["renders"], 1) << c.dump();
        EXPECT_EQ(c["text"].get<std::string>().rfind("canvas 128 128\ncircle 64 70 50 f red\n", 0), 0u) << c.dump();
    }
    EXPECT_EQ(paint({"--subject", "red apple"})["candidates"], apple["candidates"]);  // same seed, same drawings
    // none, or a subject no corpus name and no language names: the model alone
    for (const std::vector<std::string>& extra : {std::vector<std::string>{"--subject", "red apple", "--guide", "none"},
                                                   std::vector<std::string>{"--subject", "qzxv wug"}}) {
        const auto j = paint(extra);
        ASSERT_EQ(j["candidates"].size(), 2u) << extra[1];
        for (const auto& c : j["candidates"]) EXPECT_FALSE(c["scores"].contains("guide")) << c.dump();
    }
    // a subject in another language: CLDR's annotations (Debian unicode-cldr-core) name its emoji
    if (fs::exists("/usr/share/unicode/cldr/common/annotations/zh.xml")) {
        for (const auto& c : paint({"--subject", "苹果"})["candidates"]) {
            EXPECT_EQ(c["scores"]["guide"], "corpus: red apple (CLDR: 苹果)") << c.dump();
        }
    }
    // a drawing the user gives, as SVG: no subject needed; --keep 0.9 keeps 3 of its 4 shapes
    const fs::path svg = out.path() / "mine.svg";
    std::ofstream(svg) << "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 128 128'><circle cx='64' cy='64' r='40' "
                          "fill='#0000ff'/><rect x='10' y='10' width='20' height='20'/><rect x='90' y='10' width='20' "
                          "height='20'/><circle cx='64' cy='110' r='8' fill='#00ff00'/></svg>";
    const auto mine = paint({"--guide", svg.string(), "--keep", "0.9"});
    ASSERT_EQ(mine["candidates"].size(), 2u);
    for (const auto& c : mine["candidates"]) {
        EXPECT_EQ(c["scores"]["guide"], "given drawing") << c.dump();
        EXPECT_EQ(c["scores"]["guide_shapes_kept"], 3) << c.dump();
        EXPECT_EQ(c["text"].get<std::string>().rfind("canvas 128 128\ncircle 64 64 40 f #0000ff\nrect 10 10 20 20\n", 0), 0u)
            << c.dump();
    }

    const fs::path dir = out.path() / "work";
    struct Bad {
        std::vector<std::string> args;
        int code;
        std::string expect;
    };
    const fs::path broken = out.path() / "broken.svg";
    std::ofstream(broken) << "<svg viewBox='0 0 10 10'><path d='M0 0";
    const std::vector<Bad> bad = {
        {{"--subject", "x", "--guide", broken.string()}, 1, "guide: svg: not well-formed XML"},
        {{"--subject", "x", "--guide", (out.path() / "absent.svg").string()}, 1, "cannot open"},
        {{"--style", "mondrian", "--guide", svg.string()}, 1, "guide: only subject drawings follow a guide"},
        {{"--subject", "x", "--keep", "0.95"}, 2, "--keep: out of range; expected 0.1 to 0.9, got 0.95"},
        {{"--subject", "x", "--keep", "nan"}, 2, "--keep: out of range"},
    };
    for (const Bad& b : bad) {
        std::vector<std::string> args = {"paint", "-m", model_, "--length", "200", "--threads", "1", "-o", dir.string()};
        args.insert(args.end(), b.args.begin(), b.args.end());
        r = run_lyra(args);
        EXPECT_EQ(r.code, b.code) << repro(args) << "\n" << r.err;
        EXPECT_NE(r.err.find(b.expect), std::string::npos) << repro(args) << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(fs::exists(dir)) << repro(args);
    }
    r = run_lyra({"paint", "eval", "-m", model_, "--mode", "subject", "--guide", "sometimes"});
    EXPECT_EQ(r.code, 2) << r.err;
}

TEST_F(PaintCli, BadInputGivesOneClearErrorAndNoFiles) {
    TempDir out;
    const fs::path dir = out.path() / "work";
    RunResult r = run_lyra({"paint", "-m", model_, "--style", "picasso", "-o", dir.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("style: unknown; expected one of mondrian"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "drawing.svg"));
    r = run_lyra({"paint", "-m", model_, "--palette", "red,mauve"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("palette: unknown colour"), std::string::npos) << r.err;
    r = run_lyra({"paint", "-m", model_, "--style", "riley", "--length", "100"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("paint: no room for a riley drawing"), std::string::npos) << r.err;
    r = run_lyra({"paint", "-m", model_, "--subject", "bad \xff utf8"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("subject: invalid UTF-8"), std::string::npos) << r.err;
    // A BPE vocabulary learned without a special token has no end-of-text: a drawing could not
    // end where its grammar does (it used to fill the rest with token 0, NUL bytes).
    const fs::path text = out.path() / "corpus.txt";
    std::ofstream(text) << "subject: red apple\ncanvas 128 128\ncircle 64 64 40 f red\n";
    const std::string tok = (out.path() / "bpe.gguf").string(), no_eos = (out.path() / "no-eos.gguf").string();
    r = run_lyra({"tokenizer", "train", "--kind", "bpe", "--vocab", "300", "-o", tok, text.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run_lyra({"model", "init", "--arch", "llama", "--dim", "32", "--layers", "1", "--heads", "2", "--ctx", "512",
                  "--tokenizer", tok, "-o", no_eos});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run_lyra({"paint", "-m", no_eos, "--subject", "red apple", "-o", dir.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("paint: the model's vocabulary has no end-of-text token"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "drawing.svg"));

    const fs::path bad = out.path() / "bad.svg";
    std::ofstream(bad) << "<svg viewBox='0 0 10 10'><path d='M0 0 L1e999 NaN'";
    r = run_lyra({"paint", "normalize", bad.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("svg: not well-formed XML"), std::string::npos) << r.err;
    const fs::path huge = out.path() / "huge.svg";
    std::ofstream(huge) << "<svg viewBox='0 0 10 10'><path d='M0 0 L1e300 -1e300 L NaN 3 Z'/><circle r='inf'/></svg>";
    r = run_lyra({"paint", "normalize", huge.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "canvas 120 120\npath M0 0 L255 -128\n");
    const fs::path dsl = out.path() / "bad.paint";
    std::ofstream(dsl) << "canvas 128 128\ncircle 1 2 three\n";
    r = run_lyra({"paint", "render", dsl.string(), "-o", (out.path() / "x.png").string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("paint dsl: line 2, column 12: radius is not an integer"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out.path() / "x.png"));
}

}  // namespace
