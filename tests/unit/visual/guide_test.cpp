// Guided drawing (art/visual/guide.h): where a guide may be cut, which cut a share keeps, which
// corpus drawings a subject names, the grammar of the rest, and the kept shapes kept in sight.
// (A model writing the rest is tested end to end in tests/e2e/paint_test.cpp.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "art/visual/corpus.h"
#include "art/visual/dsl.h"
#include "art/visual/emoji_names.h"
#include "art/visual/guide.h"
#include "art/visual/paint.h"
#include "core/error.h"
#include "generate/constraint/grammar.h"
#include "generate/constraint/matcher.h"

namespace lyra::art::visual {
namespace {

constexpr const char* kDrawing =
    "canvas 120 120\n"
    "circle 60 60 50 f #ffcc4d\n"
    "g f none s black w 10\n"
    "path M10 10 L20 20\n"
    "path M30 30 L40 40\n"
    "path M50 50 L60 60\n"
    "end\n"
    "rect 10 90 20 20 f red\n";

TEST(Guide, CutsFallBetweenItemsAndBetweenAFlatGroupsMembers) {
    const Guide g = make_guide(parse_dsl(kDrawing), "test");
    EXPECT_EQ(g.source, "test");
    EXPECT_EQ(g.shapes, 5u);
    // the canvas alone; the circle; the group open after 1 and 2 members; the group; the rect
    ASSERT_EQ(g.cuts.size(), 6u);
    const size_t shapes[] = {0, 1, 2, 3, 4, 5};
    const size_t items_after[] = {3, 2, 1, 1, 1, 0};
    for (size_t i = 0; i < g.cuts.size(); ++i) {
        const GuideCut& c = g.cuts[i];
        EXPECT_EQ(c.shapes, shapes[i]) << i;
        EXPECT_EQ(c.items_after, items_after[i]) << i;
        // every cut is the start of the whole drawing's text, ended at a line
        EXPECT_EQ(std::string(kDrawing).rfind(c.prefix, 0), 0u) << i << ": " << c.prefix;
        EXPECT_EQ(c.prefix.back(), '\n');
    }
    EXPECT_EQ(g.cuts[0].prefix, "canvas 120 120\n");
    EXPECT_TRUE(g.cuts[2].open_group);
    EXPECT_EQ(g.cuts[2].group_shapes, 1u);
    EXPECT_EQ(g.cuts[2].group_shapes_after, 2u);
    EXPECT_EQ(g.cuts[3].group_shapes_after, 1u);
    EXPECT_FALSE(g.cuts[4].open_group);
    EXPECT_EQ(g.cuts[4].items, 2u);
    EXPECT_EQ(g.cuts[4].prefix.substr(g.cuts[4].prefix.size() - 4), "end\n");
}

TEST(Guide, PickCutKeepsOneShapeAtLeastAndLeavesOneForTheModel) {
    const Guide g = make_guide(parse_dsl(kDrawing), "test");
    EXPECT_EQ(g.cuts[pick_cut(g, 0.1)].shapes, 1u);
    EXPECT_EQ(g.cuts[pick_cut(g, 0.5)].shapes, 2u);  // 2.5 wanted: the tie keeps the shorter cut
    EXPECT_EQ(g.cuts[pick_cut(g, 0.6)].shapes, 3u);
    EXPECT_EQ(g.cuts[pick_cut(g, 0.9)].shapes, 4u);  // never all five
    const Guide one = make_guide(parse_dsl("canvas 128 128\ncircle 1 2 3\n"), "one");
    EXPECT_EQ(pick_cut(one, 0.5), 1u);  // a single shape is kept whole; the model adds to it
}

// Every cut of a corpus drawing is continued by the grammar of its rest: the guide's own rest is
// a sentence of it, so the model is never held off the drawing it was given.
TEST(Guide, TheRestGrammarOfEveryCutAcceptsTheGuidesOwnRest) {
    const PaintSpec spec{"subject", "x", "", ""};
    size_t checked = 0;
    for (const char* source : {"twemoji", "tabler"}) {
        std::vector<std::string> docs;
        build_svg_icons_corpus({{"sources", {source}}, {"limit", 60}, {"max_dsl_bytes", 1400}},
                               [&](std::string d) { docs.push_back(std::move(d)); });
        ASSERT_GE(docs.size(), 30u) << source;
        for (const std::string& d : docs) {
            const std::string whole = to_dsl(parse_dsl(d.substr(d.find('\n') + 1)));
            const Guide g = make_guide(parse_dsl(whole), "corpus");
            for (const GuideCut& cut : g.cuts) {
                if (cut.shapes == g.shapes) continue;  // nothing left to write
                auto grammar = std::make_shared<const gen::constraint::Grammar>(
                    gen::constraint::compile_gbnf(paint_grammar(spec, cut), "guided"));
                gen::constraint::GrammarMatcher m(grammar);
                const std::string rest = whole.substr(cut.prefix.size());
                const gen::constraint::StateId st = m.next(m.start(), rest);
                EXPECT_TRUE(st != gen::constraint::kDead && m.is_accepting(st))
                    << source << " cut after " << cut.shapes << " shapes refuses:\n" << rest;
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 100u);
}

TEST(Guide, TheRestGrammarBoundsTheRestByTheGuidesBuild) {
    const Guide g = make_guide(parse_dsl(kDrawing), "test");
    EXPECT_EQ(guide_root(g.cuts[1], 32, 24), "root ::= item{1,3}\n");  // 2 items after, and half again
    EXPECT_EQ(guide_root(g.cuts[2], 32, 24), "root ::= (shape \"\\n\"){0,3} \"end\\n\" item{0,2}\n");
    EXPECT_EQ(guide_root(g.cuts[0], 2, 24), "root ::= item{1,2}\n");  // the grammar's own bound holds
    EXPECT_EQ(guide_root(g.cuts[5], 32, 24), "root ::= item{1,1}\n");  // at least one
}

ReferenceSet corpus_of(const std::string& text) { return *ReferenceSet::parse(text, "test"); }

TEST(Guide, NamedDrawingsPreferTheNameThenSharedWordsThenTags) {
    const ReferenceSet ref = corpus_of(
        "subject: red apple\ncanvas 128 128\ncircle 64 64 50 f red\n\n"
        "subject: green apple\ncanvas 128 128\ncircle 64 64 50 f green\n\n"
        "subject: apple; fruit, food\ncanvas 120 120\ncircle 60 60 40\n\n"
        "subject: apple pie\ncanvas 128 128\nrect 10 10 100 50 f orange\n\n"
        "subject: basket; fruit, shop\ncanvas 120 120\nrect 10 10 90 90\n\n"
        "subject: Red Apple\ncanvas 128 128\ncircle 60 60 10\n");
    EXPECT_EQ(named_drawings(ref, "red apple"), (std::vector<size_t>{0, 5}));  // the name, any case
    EXPECT_EQ(named_drawings(ref, "RED APPLE; tags"), (std::vector<size_t>{0, 5}));
    // without its own name: the most shared words, then the fewest other words ("apple")
    EXPECT_EQ(named_drawings(ref, "red apple", true), (std::vector<size_t>{2}));
    EXPECT_EQ(named_drawings(ref, "apple"), (std::vector<size_t>{2}));
    EXPECT_EQ(named_drawings(ref, "fruit"), (std::vector<size_t>{2, 4}));  // tags only
    EXPECT_TRUE(named_drawings(ref, "苹果").empty());
    EXPECT_TRUE(named_drawings(ref, "").empty());
    // the seed picks among the tier; the guide is that drawing
    const auto a = corpus_guide(ref, "fruit", 0), b = corpus_guide(ref, "fruit", 1);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->source, "corpus: apple; fruit, food");
    EXPECT_EQ(b->source, "corpus: basket; fruit, shop");
    EXPECT_EQ(a->cuts.back().prefix, "canvas 120 120\ncircle 60 60 40\n");
    EXPECT_FALSE(corpus_guide(ref, "qzxv wug", 0));  // named in no language
}

TEST(Guide, WrittenShapesThatHideTheKeptOnesAreLeftOut) {
    const Guide g = make_guide(parse_dsl("canvas 128 128\ncircle 64 64 40 f red\ncircle 64 64 4 f black\n"), "t");
    const GuideCut& cut = g.cuts[1];  // the red disc kept
    // a backdrop over everything is left out; an eye on the disc and a leaf beside it stay
    const GuidedDrawing d = keep_guide_in_sight(cut, "rect 0 0 128 128 f blue\ncircle 50 50 5 f black\n"
                                                     "ellipse 100 10 10 5 f green\n");
    EXPECT_EQ(d.dropped, 1u);
    EXPECT_EQ(d.text, "canvas 128 128\ncircle 64 64 40 f red\ncircle 50 50 5 f black\nellipse 100 10 10 5 f green\n");
    // inside an open group too: the group's own members are checked, then what follows it
    const Guide icon = make_guide(parse_dsl("canvas 120 120\ng f none s black w 10\npath M10 60 L110 60\n"
                                            "path M60 10 L60 110\nend\n"),
                                  "icon");
    ASSERT_TRUE(icon.cuts[1].open_group);
    const GuidedDrawing i = keep_guide_in_sight(icon.cuts[1], "path M60 10 L60 110\nend\nrect 0 0 120 120\n");
    EXPECT_EQ(i.dropped, 1u);
    EXPECT_EQ(i.text, "canvas 120 120\ng f none s black w 10\npath M10 60 L110 60\npath M60 10 L60 110\nend\n");
    EXPECT_THROW(keep_guide_in_sight(cut, "circle 1 2\n"), Error);
}

TEST(Guide, AGivenDrawingIsSvgOrDslAndAnythingElseIsOneClearError) {
    const Guide svg = guide_from_text(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 36 36'><circle cx='18' cy='18' r='10' fill='#f00'/>"
        "<rect x='2' y='2' width='4' height='4'/></svg>");
    EXPECT_EQ(svg.source, "given drawing");
    EXPECT_EQ(svg.shapes, 2u);
    EXPECT_EQ(guide_from_text("canvas 128 128\ncircle 1 2 3\n").shapes, 1u);
    const auto message = [](std::string_view text) {
        try {
            guide_from_text(text);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message("<svg viewBox='0 0 10 10'><path d='M0 0").rfind("guide: svg: not well-formed XML", 0), 0u)
        << message("<svg viewBox='0 0 10 10'><path d='M0 0");
    EXPECT_EQ(message("canvas 128 128\ncircle 1 2 three\n").rfind("guide: paint dsl: line 2", 0), 0u);
    EXPECT_EQ(message("canvas 128 128\n"), "guide: the drawing has no shapes; expected an SVG or paint DSL drawing with at least one");
    EXPECT_EQ(message("<svg viewBox='0 0 10 10'></svg>").rfind("guide: the drawing has no shapes", 0), 0u);
}

// A CLDR annotations directory of three languages, written by the test.
class EmojiNames : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("lyra-cldr-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "en.xml") << "<ldml><annotations>\n"
                                          "\t\t<annotation cp=\"🍎\">apple | fruit | red</annotation>\n"
                                          "\t\t<annotation cp=\"🍎\" type=\"tts\">red apple</annotation>\n"
                                          "\t\t<annotation cp=\"🍏\">apple | fruit | green</annotation>\n"
                                          "\t\t<annotation cp=\"🍏\" type=\"tts\">green apple</annotation>\n"
                                          "\t\t<annotation cp=\"❤\" type=\"tts\">red heart</annotation>\n"
                                          "\t\t<annotation cp=\"🧀\" type=\"tts\">cheese &amp; wedge</annotation>\n"
                                          "</annotations></ldml>\n";
        std::ofstream(dir_ / "zh.xml") << "\t\t<annotation cp=\"🍎\">水果 | 红 | 红苹果 | 苹果</annotation>\n"
                                          "\t\t<annotation cp=\"🍎\" type=\"tts\">红苹果</annotation>\n"
                                          "\t\t<annotation cp=\"🍏\">苹果 | 青苹果 | 水果</annotation>\n"
                                          "\t\t<annotation cp=\"🍏\" type=\"tts\">青苹果</annotation>\n";
        std::ofstream(dir_ / "ja.xml") << "\t\t<annotation cp=\"🍏\" type=\"tts\">Green Ringo</annotation>\n"
                                          "\t\t<annotation cp=\"🧀\">チーズ &amp; くさび</annotation>\n";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::vector<std::string> names(std::string_view subject) const { return english_emoji_names(subject, dir_.string()); }
    std::filesystem::path dir_;
};

TEST_F(EmojiNames, ANameInAnyLanguageGivesTheEmojisEnglishNames) {
    EXPECT_EQ(names("苹果"), (std::vector<std::string>{"red apple", "green apple"}));  // a keyword of both
    EXPECT_EQ(names("红苹果"), (std::vector<std::string>{"red apple"}));  // a name before keywords
    EXPECT_EQ(names("  青苹果 "), (std::vector<std::string>{"green apple"}));
    EXPECT_EQ(names("GREEN RINGO"), (std::vector<std::string>{"green apple"}));  // ASCII in either case
    EXPECT_EQ(names("🍎"), (std::vector<std::string>{"red apple"}));  // the emoji itself
    EXPECT_EQ(names("❤\xef\xb8\x8f"), (std::vector<std::string>{"red heart"}));  // typed with U+FE0F
    EXPECT_EQ(names("チーズ & くさび"), (std::vector<std::string>{"cheese & wedge"}));  // entities decoded
    EXPECT_TRUE(names("苹").empty());  // terms compare whole
    EXPECT_TRUE(names("").empty());
    EXPECT_TRUE(english_emoji_names("苹果", (dir_ / "absent").string()).empty());
}

// With Debian's unicode-cldr-core (scripts/setup.sh installs it), a subject in Chinese or
// Japanese finds the corpus's drawing of the emoji it names, and the guide says how.
TEST(EmojiNamesCldr, SubjectsInOtherLanguagesFindTheirCorpusDrawings) {
    if (!std::filesystem::exists(std::string(kCldrAnnotationsDir) + "/zh.xml")) {
        GTEST_SKIP() << "Debian unicode-cldr-core is not installed";
    }
    const std::vector<std::string> apple = english_emoji_names("苹果");
    EXPECT_NE(std::find(apple.begin(), apple.end(), "red apple"), apple.end());
    const std::vector<std::string> camera = english_emoji_names("カメラ");
    EXPECT_NE(std::find(camera.begin(), camera.end(), "camera"), camera.end());
    const ReferenceSet ref = corpus_of("subject: red apple\ncanvas 128 128\ncircle 64 64 50 f red\n\n"
                                       "subject: camera\ncanvas 128 128\nrect 10 30 108 70 f gray\n");
    const auto guide = corpus_guide(ref, "苹果", 0);
    ASSERT_TRUE(guide);
    EXPECT_EQ(guide->source, "corpus: red apple (CLDR: 苹果)");
    EXPECT_FALSE(corpus_guide(ref, "ничего такого", 0));
}

}  // namespace
}  // namespace lyra::art::visual
