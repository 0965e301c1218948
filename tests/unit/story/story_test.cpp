// Stories (art/story) with a random-weight model: the stages are kept on disk, the outline has
// the requested acts, the screenplay parses as Fountain by an independent checker written here,
// bible names are used consistently, and an edited outline regenerates the story.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "art/story/corpus.h"
#include "art/story/screenplay.h"
#include "art/story/story.h"
#include "core/error.h"
#include "core/mmap.h"
#include "generate/constraint/grammar.h"
#include "model/init.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::art::story {
namespace {

namespace fs = std::filesystem;

const fs::path g_dir = [] {
    const fs::path d = fs::temp_directory_path() / ("lyra-story-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}();

struct Cleanup {
    ~Cleanup() {
        std::error_code ec;
        fs::remove_all(g_dir, ec);
    }
} cleanup;

const std::string& random_model() {
    static const std::string path = [] {
        const std::string p = (g_dir / "random.gguf").string();
        model::InitOptions o;
        o.n_embd = 64;
        o.n_layer = 2;
        o.n_head = 2;
        o.n_ctx = 256;
        o.seed = 9;
        model::init_model(o, *model::build_byte_vocab(), p);
        return p;
    }();
    return path;
}

ArtResult run(json request, const std::string& out) {
    static core::ThreadPool pool(1);
    static ModelCache models;
    request["model"] = random_model();
    if (!request.contains("seed")) request["seed"] = 4;
    Context ctx{.pool = &pool, .models = &models, .out_dir = out};
    return run_story(request, ctx);
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// An independent Fountain checker (https://fountain.io/syntax): classifies every line and
// returns the problems. Elements are separated by blank lines; a scene heading starts with
// INT./EXT. and ends with "- DAY"/"- NIGHT"; a character cue is a line in capitals followed
// directly by dialogue (optionally a parenthetical first); a transition is in capitals ending
// with "TO:" (or FADE OUT.); anything else is action. `cues` collects the character names.
std::vector<std::string> check_fountain(const std::string& text, std::set<std::string>& cues, int& headings) {
    std::vector<std::string> problems;
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    size_t i = 0;
    // title page: "Key: value" lines up to the first blank line
    const std::regex title_kv(R"(^[A-Za-z ]+: .*$)");
    if (!lines.empty() && std::regex_match(lines[0], title_kv)) {
        while (i < lines.size() && !lines[i].empty()) {
            if (!std::regex_match(lines[i], title_kv)) problems.push_back("title page line: " + lines[i]);
            ++i;
        }
    }
    const std::regex heading(R"(^(INT|EXT)\. [A-Z][A-Z0-9 ']* - (DAY|NIGHT)$)");
    const std::regex cue(R"(^[A-Z][A-Z0-9 ]*$)");
    const std::regex paren(R"(^\([^()]+\)$)");
    const std::regex transition(R"(^([A-Z ]+TO:|FADE OUT\.)$)");
    bool need_blank = false;
    for (; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        if (l.empty()) {
            need_blank = false;
            continue;
        }
        if (need_blank) problems.push_back("no blank line before: " + l);
        if (std::regex_match(l, heading)) {
            ++headings;
        } else if (std::regex_match(l, transition)) {
        } else if (std::regex_match(l, cue)) {
            cues.insert(l);
            size_t k = i + 1;
            if (k < lines.size() && std::regex_match(lines[k], paren)) ++k;
            if (k >= lines.size() || lines[k].empty()) {
                problems.push_back("cue without dialogue: " + l);
            } else {
                i = k;  // the dialogue line
            }
        } else if (l.front() == '(') {
            problems.push_back("parenthetical outside dialogue: " + l);
        } else {
            // action: a sentence that is not all capitals
            if (std::regex_match(l, cue)) problems.push_back("action in capitals: " + l);
        }
        need_blank = true;
    }
    return problems;
}

TEST(StoryFountainChecker, RejectsBrokenScreenplays) {
    std::set<std::string> cues;
    int headings = 0;
    EXPECT_TRUE(check_fountain("INT. HALL - DAY\n\nShe waits.\n\nANNA\n(softly)\nHello there.\n\nCUT TO:\n", cues, headings).empty());
    EXPECT_EQ(headings, 1);
    EXPECT_EQ(cues, std::set<std::string>{"ANNA"});
    EXPECT_FALSE(check_fountain("INT. HALL - DAY\n\nANNA\n\nHello.\n", cues, headings).empty());
    EXPECT_FALSE(check_fountain("INT. HALL - DAY\nShe waits.\n", cues, headings).empty());
    EXPECT_FALSE(check_fountain("INT. HALL - DAY\n\n(softly)\n", cues, headings).empty());
}

TEST(StoryFountainChecker, ShippedExampleGrammarIsTheGeneratedOne) {
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const std::string text = core::read_file(std::string(src ? src : ".") + "/grammars/screenplay.gbnf");
    EXPECT_NO_THROW(gen::constraint::compile_gbnf(text, "screenplay.gbnf"));
    const std::string g = scene_gbnf(scene_heading("Lighthouse", true, true), {"Mara", "Tobin"}, false, 2, 8);
    EXPECT_NE(text.find(g), std::string::npos);
}

TEST(Story, OutlineHasTheRequestedActsAndStagesAreKept) {
    const fs::path out = g_dir / "outline4";
    const ArtResult r = run({{"form", "outline"}, {"acts", 4}, {"length", 1000}, {"premise", "A clockmaker's last clock."}},
                            out.string());
    const json outline = json::parse(core::read_file((out / "outline.json").string()));
    ASSERT_EQ(outline["acts"].size(), 4u);
    std::set<std::string> names;
    for (const json& c : outline["bible"]["characters"]) names.insert(c["name"].get<std::string>());
    EXPECT_EQ(names.size(), 3u);  // distinct names
    for (const json& act : outline["acts"]) {
        EXPECT_GE(act["scenes"].size(), 1u);
        for (const json& s : act["scenes"]) {
            for (const json& n : s["characters"]) EXPECT_TRUE(names.count(n.get<std::string>())) << n;
        }
    }
    EXPECT_EQ(r.scores["acts"], 4);
    EXPECT_EQ(r.scores["scenes"], 5);  // 1000 words / 200 per scene
    EXPECT_TRUE(fs::exists(out / "bible.json"));
    EXPECT_TRUE(fs::exists(out / "outline.md"));
    EXPECT_NE(r.text.find("## Act IV"), std::string::npos);
    EXPECT_EQ(json::parse(core::read_file((out / "bible.json").string())), outline["bible"]);
}

TEST(Story, ScreenplayParsesAsFountainWithBibleNames) {
    const fs::path out = g_dir / "screenplay";
    const ArtResult r = run({{"form", "screenplay"}, {"acts", 3}, {"length", 600}, {"premise", "Two sisters inherit a lighthouse."}},
                            out.string());
    const std::string fountain = core::read_file((out / "screenplay.fountain").string());
    std::set<std::string> cues;
    int headings = 0;
    const auto problems = check_fountain(fountain, cues, headings);
    EXPECT_TRUE(problems.empty()) << problems.front() << "\n" << fountain;
    EXPECT_EQ(headings, 3);
    const json bible = json::parse(core::read_file((out / "bible.json").string()));
    std::set<std::string> names;
    for (const json& c : bible["characters"]) names.insert(upper(c["name"].get<std::string>()));
    for (const std::string& c : cues) EXPECT_TRUE(names.count(c)) << c << " is not in the bible";
    EXPECT_NE(fountain.find("FADE OUT."), std::string::npos);
    const std::string html = core::read_file((out / "screenplay.html").string());
    EXPECT_NE(html.find("class=\"heading\">INT."), std::string::npos);
    EXPECT_TRUE(fs::exists(out / "scene-03.fountain"));
    EXPECT_EQ(r.files.count("fountain"), 1u);
}

TEST(Story, ShortStoryFromAnEditedOutline) {
    const fs::path first = g_dir / "short1";
    run({{"form", "short"}, {"acts", 2}, {"length", 240}, {"premise", "A fox learns to read."}}, first.string());
    const std::string story = core::read_file((first / "story.md").string());
    EXPECT_NE(story.find("## Act II"), std::string::npos);
    // the user renames a scene and regenerates from the outline
    json outline = json::parse(core::read_file((first / "outline.json").string()));
    outline["acts"][0]["scenes"][0]["title"] = "The first lesson";
    const std::string edited = (g_dir / "edited.json").string();
    std::ofstream(edited) << outline.dump(2);
    const fs::path second = g_dir / "short2";
    const ArtResult r = run({{"form", "short"}, {"length", 240}, {"from_outline", edited}}, second.string());
    EXPECT_NE(core::read_file((second / "story.md").string()).find("### 1. The first lesson"), std::string::npos);
    EXPECT_EQ(json::parse(core::read_file((second / "bible.json").string())), outline["bible"]);
    EXPECT_GT(r.scores["words"].get<int>(), 100);
    // a name not in the bible is refused with the place in the outline
    outline["acts"][1]["scenes"][0]["characters"] = {"Nobody"};
    std::ofstream(edited) << outline.dump(2);
    try {
        run({{"from_outline", edited}}, "");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/acts/1/scenes/0/characters: 'Nobody' is not in the bible"), std::string::npos)
            << e.what();
    }
}

TEST(Story, BadRequestsAndAnyScript) {
    EXPECT_THROW(run({{"form", "novel"}}, ""), Error);
    EXPECT_THROW(run({{"length", 5}}, ""), Error);
    EXPECT_THROW(run({{"colour", "red"}}, ""), Error);
    EXPECT_THROW(run({{"premise", std::string("\xc3", 1)}}, ""), Error);
    const ArtResult r = run({{"form", "outline"}, {"acts", 1}, {"length", 200}, {"premise", "ꆈꌠꁱꂷ 𒀭𒂗𒆠 ⵜⴰⵎⴰⵣⵉⵖⵜ"}}, "");
    EXPECT_EQ(r.scores["acts"], 1);
}

TEST(StoryCorpus, ProseParagraphsFromStoriesAndPlays) {
    size_t n = 0, bytes = 0, speeches = 0, unwrapped = 0;
    build_prose_corpus(json::object(), [&](std::string doc) {
        ++n;
        bytes += doc.size() + 2;
        EXPECT_EQ(doc.find("\n\n"), std::string::npos);
        EXPECT_GE(doc.size(), 40u);
        if (doc.find(":\n") != std::string::npos) ++speeches;
        if (doc.find('\n') == std::string::npos) ++unwrapped;
    });
    EXPECT_GT(n, 5000u);
    EXPECT_GT(bytes, 1500000u);  // ~1 MB of stories + ~1 MB of Shakespeare
    EXPECT_GT(speeches, 1000u);
    EXPECT_GT(unwrapped, 2500u);
    EXPECT_THROW(build_prose_corpus({{"sources", {"no-such-folder"}}}, [](std::string) {}), Error);
    EXPECT_THROW(build_prose_corpus({{"colour", 1}}, [](std::string) {}), Error);
}

}  // namespace
}  // namespace lyra::art::story
