// `lyra story` as a user runs it: every stage written to -o DIR, --json result, a screenplay
// that an independent checker (Python regexes over the Fountain lines) accepts with bible names,
// regeneration from an edited outline, and bad flags.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

using nlohmann::json;

const std::string& random_model() {
    static const std::string path = random_llama(64, 2, 2, 256, "bytes");
    return path;
}

// Fountain checker in Python: scene headings, cues followed by dialogue, parentheticals only
// inside dialogue, transitions; prints the cues, or the first problem and exits 1.
const char* kChecker = R"PY(
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
i = 0
if lines and re.match(r"^[A-Za-z ]+: ", lines[0]):
    while i < len(lines) and lines[i]:
        i += 1
cues, heads = set(), 0
while i < len(lines):
    l = lines[i]
    if not l:
        i += 1; continue
    if i > 0 and lines[i-1]:
        sys.exit("no blank line before: " + l)
    if re.match(r"^(INT|EXT)\. [A-Z][A-Z0-9 ']* - (DAY|NIGHT)$", l):
        heads += 1
    elif re.match(r"^([A-Z ]+TO:|FADE OUT\.)$", l):
        pass
    elif re.match(r"^[A-Z][A-Z0-9 ]*$", l):
        cues.add(l); i += 1
        if i < len(lines) and re.match(r"^\([^()]+\)$", lines[i]): i += 1
        if i >= len(lines) or not lines[i]: sys.exit("cue without dialogue: " + l)
    elif l.startswith("("):
        sys.exit("stray parenthetical: " + l)
    i += 1
print(heads, " ".join(sorted(cues)))
)PY";

TEST(StoryCli, ScreenplayIsFountainWithBibleNames) {
    TempDir dir;
    const std::string out = (dir.path() / "sp").string();
    const RunResult r = run_lyra({"story", "-m", random_model(), "--threads", "1", "--form", "screenplay", "--acts", "2",
                                  "--length", "400", "--premise", "A lighthouse keeper and a thief.", "-o", out, "--json",
                                  "--seed", "3"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["form"], "story");
    for (const char* f : {"bible.json", "outline.json", "outline.md", "screenplay.fountain", "screenplay.html",
                          "scene-01.fountain"}) {
        EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(out) / f)) << f;
    }
    const std::string checker = (dir.path() / "check.py").string();
    std::ofstream(checker) << kChecker;
    const RunResult c = run_program(env_or_empty("LYRA_PYTHON").empty() ? "/usr/bin/python3" : env_or_empty("LYRA_PYTHON"),
                                    {checker, out + "/screenplay.fountain"});
    ASSERT_EQ(c.code, 0) << c.err << read_all(out + "/screenplay.fountain");
    EXPECT_EQ(c.out.substr(0, 2), "2 ");  // 400 words / 200 = 2 scenes, one heading each
    const json bible = json::parse(read_all(out + "/bible.json"));
    std::string names;
    for (const json& ch : bible["characters"]) {
        std::string n = ch["name"];
        for (char& x : n) x = static_cast<char>(std::toupper(static_cast<unsigned char>(x)));
        names += n + " ";
    }
    std::istringstream cues(c.out.substr(2));
    for (std::string cue; cues >> cue;) EXPECT_NE(names.find(cue + " "), std::string::npos) << cue << " not in " << names;
}

TEST(StoryCli, OutlineThenEditedRegeneration) {
    TempDir dir;
    const std::string out = (dir.path() / "o").string();
    RunResult r = run_lyra({"story", "-m", random_model(), "--threads", "1", "--form", "outline", "--acts", "3",
                            "--length", "600", "-o", out});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("## Act III"), std::string::npos);
    json outline = json::parse(read_all(out + "/outline.json"));
    ASSERT_EQ(outline["acts"].size(), 3u);
    outline["acts"][2]["scenes"][0]["title"] = "Homecoming";
    const std::string edited = (dir.path() / "edited.json").string();
    std::ofstream(edited) << outline.dump();
    const std::string out2 = (dir.path() / "s").string();
    r = run_lyra({"story", "-m", random_model(), "--threads", "1", "--from-outline", edited, "--length", "150", "-o", out2});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(read_all(out2 + "/story.md").find("### 3. Homecoming"), std::string::npos);
}

TEST(StoryCli, BadFlags) {
    RunResult r = run_lyra({"story", "-m", random_model(), "--form", "novel"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("form: unknown value 'novel'"), std::string::npos) << r.err;
    r = run_lyra({"story", "--length", "many"});
    EXPECT_EQ(r.code, 2);
    TempDir dir;
    r = run_lyra({"story", "-m", random_model(), "--from-outline", (dir.path() / "none.json").string(), "-o",
                  (dir.path() / "x").string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "x" / "story.md"));
}

}  // namespace
}  // namespace lyra::e2e
