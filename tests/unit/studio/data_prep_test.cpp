// Data prep: cleaning rules, the "text" builder, and the whole run on small files.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "studio/data_prep.h"
#include "studio/registry.h"

namespace lyra::studio {
namespace {

namespace fs = std::filesystem;

class Tmp {
public:
    Tmp() {
        std::string t = (fs::temp_directory_path() / "lyra-prep-XXXXXX").string();
        EXPECT_NE(mkdtemp(t.data()), nullptr);
        p_ = t;
    }
    ~Tmp() {
        std::error_code ec;
        fs::remove_all(p_, ec);
    }
    fs::path operator/(const std::string& s) const { return p_ / s; }

private:
    fs::path p_;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(CleanDocument, NormalisesLineEndsAndTrailingSpaceAndSplitsAtBlankLines) {
    std::vector<std::string> out;
    ASSERT_TRUE(clean_document("\n  \nline one  \r\nline two\t\n \t \npara two\r\n\n", out));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], "line one\nline two");
    EXPECT_EQ(out[1], "para two");
}

TEST(CleanDocument, RefusesInvalidUtf8AndComposesToNfc) {
    std::vector<std::string> out;
    EXPECT_FALSE(clean_document("bad \xff byte", out));
    EXPECT_FALSE(clean_document("overlong \xc0\xaf", out));
    EXPECT_FALSE(clean_document("surrogate \xed\xa0\x80", out));
    EXPECT_TRUE(out.empty());
    ASSERT_TRUE(clean_document("e\xcc\x81", out));  // e + combining acute -> é
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], "\xc3\xa9");
    out.clear();
    ASSERT_TRUE(clean_document("   \n\t\n", out));
    EXPECT_TRUE(out.empty());
}

TEST(TextBuilder, IsRegisteredAndReadsFilesFoldersAndGlobs) {
    ASSERT_NE(find_corpus_builder("text"), nullptr);
    Tmp d;
    fs::create_directories(d / "dir/sub");
    std::ofstream(d / "a.txt") << "one\n\ntwo\nlines\n";
    std::ofstream(d / "dir/sub/b.md") << "three";
    std::vector<std::string> docs;
    build_text_corpus({{"files", {(d / "*.txt").string(), (d / "dir").string()}}},
                      [&](std::string s) { docs.push_back(std::move(s)); });
    ASSERT_EQ(docs.size(), 3u);
    EXPECT_EQ(docs[0], "one\n");
    EXPECT_EQ(docs[1], "two\nlines\n");
    EXPECT_EQ(docs[2], "three\n");
    EXPECT_THROW(build_text_corpus({{"files", (d / "nothing*.txt").string()}}, [](std::string) {}), Error);
    EXPECT_THROW(build_text_corpus({{"files", 3}}, [](std::string) {}), Error);
    EXPECT_THROW(build_text_corpus({{"file", "x"}}, [](std::string) {}), Error);
    EXPECT_THROW(build_text_corpus(nlohmann::json::object(), [](std::string) {}), Error);
}

TEST(DataPrep, WritesACleanDedupedCorpusAndAReport) {
    Tmp d;
    std::ofstream(d / "in.txt") << "alpha beta\n\ngamma\n\nalpha beta  \n\n\xff bad\n\n中文 诗\n";
    const PrepSpec spec{.recipe = "r.toml", .builder = "text", .output = (d / "out/c.txt").string(),
                        .options = {{"files", (d / "in.txt").string()}}};
    const PrepReport r = run_data_prep(spec);
    EXPECT_EQ(r.emitted, 5);
    EXPECT_EQ(r.docs, 3);
    EXPECT_EQ(r.duplicates_removed, 1);
    EXPECT_EQ(r.invalid_utf8, 1);
    EXPECT_EQ(slurp(d / "out/c.txt"), "alpha beta\n\ngamma\n\n中文 诗\n");
    EXPECT_EQ(r.characters, 10 + 5 + 4);
    EXPECT_EQ(r.bytes, 10 + 5 + 10);
    EXPECT_EQ(r.min_chars, 4);
    EXPECT_EQ(r.max_chars, 10);
    const auto j = nlohmann::json::parse(slurp(d / "out/c.txt.report.json"));
    EXPECT_EQ(j["docs"], 3);
    EXPECT_EQ(j["duplicates_removed"], 1);
    EXPECT_EQ(j["length_histogram"][0]["docs"], 3);
    EXPECT_NE(format_prep_summary(r).find("duplicates removed 1"), std::string::npos);
}

TEST(DataPrep, EmptyCorpusOrUnknownBuilderWritesNothing) {
    Tmp d;
    std::ofstream(d / "blank.txt") << "\n   \n\n";
    PrepSpec spec{.recipe = "r.toml", .builder = "text", .output = (d / "c.txt").string(),
                  .options = {{"files", (d / "blank.txt").string()}}};
    try {
        run_data_prep(spec);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("empty corpus"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(d / "c.txt"));
    EXPECT_FALSE(fs::exists(d / "c.txt.report.json"));
    spec.builder = "no-such-builder";
    try {
        run_data_prep(spec);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown corpus builder"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("text"), std::string::npos) << e.what();
    }
}

TEST(PrepSpec, ReadsThePrepTableAndRefusesBadOnes) {
    Tmp d;
    std::ofstream(d / "r.toml") << "output = \"m.gguf\"\n[prep]\nbuilder = \"text\"\n"
                                   "output = \"build/data/x.txt\"\nfiles = [\"a\", \"b\"]\nmin_chars = 3\n";
    const auto s = read_prep_spec((d / "r.toml").string());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->builder, "text");
    EXPECT_EQ(s->output, "build/data/x.txt");
    EXPECT_EQ(s->options, (nlohmann::json{{"files", {"a", "b"}}, {"min_chars", 3}}));
    std::ofstream(d / "none.toml") << "output = \"m.gguf\"\n";
    EXPECT_FALSE(read_prep_spec((d / "none.toml").string()));
    std::ofstream(d / "nob.toml") << "[prep]\noutput = \"x\"\n";
    EXPECT_THROW(read_prep_spec((d / "nob.toml").string()), Error);
    std::ofstream(d / "bad.toml") << "[prep\n";
    EXPECT_THROW(read_prep_spec((d / "bad.toml").string()), Error);
    EXPECT_THROW(read_prep_spec((d / "missing.toml").string()), Error);
}

}  // namespace
}  // namespace lyra::studio
