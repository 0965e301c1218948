// The gallery: record/list/get round trip, schema checks, concurrent writers, export page,
// recording failures that only warn.
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "studio/gallery.h"

namespace lyra::studio {
namespace {

namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        std::string t = (fs::temp_directory_path() / "lyra-gallery-XXXXXX").string();
        EXPECT_NE(mkdtemp(t.data()), nullptr);
        path_ = t;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

art::ArtResult sample_work(const std::string& form, uint64_t seed, const std::string& text) {
    art::ArtResult r;
    r.form = form;
    r.text = text;
    r.seed = seed;
    r.model = "/models/x.gguf";
    r.model_sha256 = std::string(64, 'a');
    r.scores = {{"rhyme", 1.0}, {"tone", 0.5}};
    r.request = {{"form", "jueju"}, {"seed", seed}, {"temperature", 0.8}, {"theme", "moon"}};
    r.candidates = {{.text = text, .scores = r.scores, .score = 1.5},
                    {.text = "other", .scores = {{"rhyme", 0.0}}, .score = 0.1}};
    return r;
}

TEST(Gallery, RecordsEveryFieldAndReadsItBack) {
    TempDir d;
    Gallery g((d.path() / "sub" / "g.sqlite").string());  // the directory is created
    const art::ArtResult w = sample_work("poem", 42, "床前明月光\n疑是地上霜");
    const int64_t id = g.record(w, "cli");
    EXPECT_GT(id, 0);
    const auto got = g.get(id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->form, "poem");
    EXPECT_EQ(got->text, w.text);
    EXPECT_EQ(got->seed, 42u);
    EXPECT_EQ(got->source, "cli");
    EXPECT_EQ(got->model_sha256, w.model_sha256);
    EXPECT_EQ(got->request, w.request);
    EXPECT_EQ(got->scores, w.scores);
    ASSERT_EQ(got->candidates.size(), 2u);
    EXPECT_EQ(got->candidates[1]["text"], "other");
    EXPECT_EQ(got->created_at.size(), 20u);  // 2026-11-28T23:10:34Z
    EXPECT_FALSE(g.get(id + 100));
    const auto j = work_to_json(*got);
    for (const char* k : {"id", "created_at", "source", "form", "text", "files", "model",
                          "model_sha256", "seed", "request", "scores", "candidates"}) {
        EXPECT_TRUE(j.contains(k)) << k;
    }
}

TEST(Gallery, KeepsInvalidUtf8TextByteForByte) {
    TempDir d;
    Gallery g((d.path() / "g.sqlite").string());
    const std::string bytes = std::string("ab\xff\xfe") + '\0' + "cd";
    const int64_t id = g.record(sample_work("tune", 1, bytes), "cli");
    EXPECT_EQ(g.get(id)->text, bytes);
}

TEST(Gallery, ListsNewestFirstFiltersByFormAndPages) {
    TempDir d;
    Gallery g((d.path() / "g.sqlite").string());
    for (int i = 0; i < 5; ++i) g.record(sample_work(i % 2 == 0 ? "poem" : "tune", i, "w"), "cli");
    const auto all = g.list({});
    ASSERT_EQ(all.size(), 5u);
    EXPECT_GT(all[0].id, all[4].id);
    EXPECT_EQ(g.list({.form = "poem"}).size(), 3u);
    EXPECT_EQ(g.count("tune"), 2);
    const auto page = g.list({.form = "", .limit = 2, .before_id = all[1].id});
    ASSERT_EQ(page.size(), 2u);
    EXPECT_EQ(page[0].id, all[2].id);
    EXPECT_THROW(g.list({.form = "", .limit = 0}), Error);
}

TEST(Gallery, StoresArtifactPathsAbsolute) {
    TempDir d;
    Gallery g((d.path() / "g.sqlite").string());
    art::ArtResult w = sample_work("paint", 3, "<svg/>");
    w.files["svg"] = "relative/x.svg";
    const auto got = g.get(g.record(w, "cli"));
    EXPECT_TRUE(fs::path(got->files.at("svg")).is_absolute());
}

TEST(Gallery, ConcurrentWritersFromSeveralConnectionsLoseNothing) {
    TempDir d;
    const std::string path = (d.path() / "g.sqlite").string();
    { Gallery init(path); }
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&path, t] {
            Gallery g(path);  // each thread its own connection, like separate processes
            for (int i = 0; i < 25; ++i) g.record(sample_work("poem", t * 100 + i, "x"), "server");
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(Gallery(path).count(), 100);
}

TEST(Gallery, RefusesFilesThatAreNotAGallery) {
    TempDir d;
    const fs::path junk = d.path() / "junk.sqlite";
    std::ofstream(junk) << "this is not sqlite at all, just some text that is long enough";
    try {
        Gallery g(junk.string());
        FAIL() << "opened junk";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
    }
    // A SQLite file with someone else's tables.
    const fs::path other = d.path() / "other.sqlite";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(other.string().c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    EXPECT_THROW(Gallery(other.string()), Error);
    // A gallery from a newer Lyra.
    const fs::path newer = d.path() / "newer.sqlite";
    { Gallery g(newer.string()); }
    ASSERT_EQ(sqlite3_open(newer.string().c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    try {
        Gallery g(newer.string());
        FAIL() << "opened a newer schema";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << e.what();
    }
}

TEST(Gallery, RecordInGalleryWarnsButNeverThrows) {
    TempDir d;
    art::ArtResult w = sample_work("poem", 1, "x");
    // A directory where the file should be: cannot open.
    fs::create_directories(d.path() / "dir.sqlite");
    EXPECT_EQ(record_in_gallery(w, "cli", (d.path() / "dir.sqlite").string()), -1);
    EXPECT_EQ(w.gallery_id, -1);
    EXPECT_EQ(w.text, "x");
    const int64_t id = record_in_gallery(w, "cli", (d.path() / "ok.sqlite").string());
    EXPECT_GT(id, 0);
    EXPECT_EQ(w.gallery_id, id);
}

TEST(Gallery, DefaultPathFollowsTheEnvironment) {
    const char* old = std::getenv("LYRA_GALLERY");
    const std::string saved = old ? old : "";
    setenv("LYRA_GALLERY", "off", 1);
    EXPECT_FALSE(default_gallery_path());
    setenv("LYRA_GALLERY", "/x/y.sqlite", 1);
    EXPECT_EQ(default_gallery_path(), "/x/y.sqlite");
    unsetenv("LYRA_GALLERY");
    const auto p = default_gallery_path();
    ASSERT_TRUE(p);
    EXPECT_NE(p->find("lyra/gallery.sqlite"), std::string::npos);
    if (old) setenv("LYRA_GALLERY", saved.c_str(), 1);
}

TEST(Gallery, ExportWritesAPageAndCopiesArtifacts) {
    TempDir d;
    Gallery g((d.path() / "g.sqlite").string());
    const fs::path svg = d.path() / "art.svg";
    std::ofstream(svg) << "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    art::ArtResult w = sample_work("paint", 9, "a <b> & c");
    w.files["svg"] = svg.string();
    w.files["png"] = (d.path() / "gone.png").string();
    const int64_t id = g.record(w, "cli");
    g.record(sample_work("poem", 10, "moon"), "demo");
    const fs::path out = d.path() / "export";
    EXPECT_EQ(export_gallery_html(g, out.string()), 2);
    const std::string html = read_all(out / "index.html");
    EXPECT_NE(html.find("a &lt;b&gt; &amp; c"), std::string::npos);
    EXPECT_NE(html.find("moon"), std::string::npos);
    EXPECT_NE(html.find("theme"), std::string::npos);  // the settings
    EXPECT_NE(html.find("rhyme"), std::string::npos);  // the scores
    EXPECT_NE(html.find("(missing)"), std::string::npos);
    EXPECT_TRUE(fs::exists(out / "files" / std::to_string(id) / "art.svg"));
    EXPECT_NE(html.find("files/" + std::to_string(id) + "/art.svg"), std::string::npos);
}

}  // namespace
}  // namespace lyra::studio
