// `lyra gallery` as a user runs it: works recorded by `lyra demo` are listed, shown, re-run to
// the identical text, and exported as a static page; a broken gallery file only warns.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;

// One demo run shared by the tests: it fills a fresh gallery.
class GalleryCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        gallery_ = (dir_->path() / "g.sqlite").string();
        setenv("LYRA_GALLERY", gallery_.c_str(), 1);
        const RunResult r = run_lyra({"demo", "-o", (dir_->path() / "demo").string()});
        ASSERT_EQ(r.code, 0) << r.err << r.out;
    }
    static void TearDownTestSuite() {
        unsetenv("LYRA_GALLERY");
        delete dir_;
    }
    static inline TempDir* dir_ = nullptr;
    static inline std::string gallery_;
};

TEST_F(GalleryCli, ListShowsTheRecordedWorksNewestFirst) {
    const RunResult r = run_lyra({"gallery", "list", "--form", "text", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto works = nlohmann::json::parse(r.out)["works"];
    ASSERT_EQ(works.size(), 4u);
    EXPECT_GT(works[0]["id"].get<int64_t>(), works[3]["id"].get<int64_t>());
    for (const auto& w : works) {
        EXPECT_EQ(w["form"], "text");
        EXPECT_EQ(w["source"], "demo");
        EXPECT_EQ(w["model_sha256"].get<std::string>().size(), 64u);
        EXPECT_TRUE(w["request"].contains("prompt"));
        EXPECT_TRUE(w["request"].contains("temperature"));
        EXPECT_TRUE(w["scores"].contains("loglik_per_token"));
    }
    const RunResult plain = run_lyra({"gallery", "list", "--limit", "2"});
    ASSERT_EQ(plain.code, 0) << plain.err;
    EXPECT_EQ(std::count(plain.out.begin(), plain.out.end(), '\n'), 2) << plain.out;
}

TEST_F(GalleryCli, ShowAndRerunGiveTheIdenticalWork) {
    const auto works =
        nlohmann::json::parse(run_lyra({"gallery", "list", "--form", "text", "--json"}).out)["works"];
    ASSERT_GE(works.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {  // two reruns keep the test short; each loads the model
        const auto& w = works[i];
        const std::string id = std::to_string(w["id"].get<int64_t>());
        const RunResult show = run_lyra({"gallery", "show", id, "--json"});
        ASSERT_EQ(show.code, 0) << show.err;
        EXPECT_EQ(nlohmann::json::parse(show.out)["text"], w["text"]);
        const RunResult rerun = run_lyra({"gallery", "show", id, "--rerun", "--json"});
        ASSERT_EQ(rerun.code, 0) << rerun.err;
        const auto j = nlohmann::json::parse(rerun.out);
        EXPECT_TRUE(j["identical"].get<bool>());
        EXPECT_EQ(j["text"], w["text"]);
        EXPECT_NE(rerun.err.find("identical text"), std::string::npos) << rerun.err;
    }
    // Reruns are not recorded again.
    EXPECT_EQ(nlohmann::json::parse(run_lyra({"gallery", "list", "--form", "text", "--json"}).out)["works"].size(),
              works.size());
    const RunResult missing = run_lyra({"gallery", "show", "999999"});
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("no such work"), std::string::npos) << missing.err;
    EXPECT_EQ(run_lyra({"gallery", "show", "abc"}).code, 2);
}

TEST_F(GalleryCli, ExportWritesAStaticPageOfEveryWork) {
    const std::string out = (dir_->path() / "export").string();
    const RunResult r = run_lyra({"gallery", "export", "-o", out});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string html = read_all(out + "/index.html");
    EXPECT_NE(html.find("<!doctype html>"), std::string::npos);
    EXPECT_NE(html.find("ROMEO:"), std::string::npos);  // the request (settings) is on the page
    EXPECT_NE(html.find("loglik_per_token"), std::string::npos);  // and the scores
    EXPECT_NE(html.find("--rerun"), std::string::npos);
}

// A work id that is not a whole number from 1 gets one plain usage line (exit 2), not CLI11's
// "not in range 0.000000 to 1.79769e+308", and the gallery is not touched.
TEST_F(GalleryCli, ABadWorkIdIsOneClearUsageError) {
    const std::string before = read_all(gallery_);
    const std::pair<const char*, const char*> cases[] = {
        {"abc", "id: expected an integer, got 'abc'"},
        {"1.5", "id: expected an integer, got '1.5'"},
        {"0", "id: out of range; expected at least 1, got 0"},
        {"-3", "id: out of range; expected at least 1, got -3"},
    };
    for (const auto& [id, message] : cases) {
        const RunResult r = run_lyra({"gallery", "show", id});
        EXPECT_EQ(r.code, 2) << id;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_EQ(r.err.find("0.000000"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    EXPECT_EQ(read_all(gallery_), before);
}

TEST_F(GalleryCli, ABrokenGalleryWarnsButTheWorkIsKept) {
    const fs::path bad = dir_->path() / "junk.sqlite";
    std::ofstream(bad) << "not a database, not at all, really not a database file";
    setenv("LYRA_GALLERY", bad.c_str(), 1);
    const std::string out = (dir_->path() / "demo-broken").string();
    const RunResult r = run_lyra({"demo", "-o", out});
    setenv("LYRA_GALLERY", gallery_.c_str(), 1);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: the work was not recorded"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(out + "/index.html"));
    EXPECT_EQ(read_all(bad), "not a database, not at all, really not a database file");
    // Off: nothing recorded, no warning.
    setenv("LYRA_GALLERY", "off", 1);
    const RunResult off = run_lyra({"demo", "-o", (dir_->path() / "demo-off").string()});
    setenv("LYRA_GALLERY", gallery_.c_str(), 1);
    ASSERT_EQ(off.code, 0) << off.err;
    EXPECT_EQ(off.err.find("warning"), std::string::npos) << off.err;
}

}  // namespace
}  // namespace lyra::e2e
