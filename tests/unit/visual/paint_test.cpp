// The paint form's grammars, prompts, spec checks, critics and the svg-icons corpus builder
// (generation with a model is tested end to end in tests/e2e/paint_test.cpp).
#include <gtest/gtest.h>

#include "art/visual/corpus.h"
#include "art/visual/dsl.h"
#include "art/visual/paint.h"
#include "core/error.h"
#include "generate/constraint/grammar.h"
#include "generate/constraint/matcher.h"

namespace lyra::art::visual {
namespace {

TEST(Paint, EveryModeHasAGrammarThatCompiles) {
    std::vector<std::string> modes = style_names();
    modes.push_back("subject");
    for (const std::string& m : modes) {
        for (const std::string& mood : {std::string(), std::string("calm"), std::string("energetic")}) {
            const std::string g = paint_grammar(PaintSpec{m, "", "", mood});
            EXPECT_NO_THROW(gen::constraint::compile_gbnf(g, m)) << m << "\n" << g;
        }
    }
    const std::string custom = paint_grammar(PaintSpec{"kandinsky", "", "red,#0a0B0c", ""});
    EXPECT_NE(custom.find("\"red\" | \"#0a0b0c\""), std::string::npos) << custom;
}

// The subject grammar speaks the corpus's DSL: every drawing the svg-icons builder writes (both
// sources, drawings up to 1400 bytes: every twemoji drawing that long and the
// first 4000 tabler ones) is a sentence of it, so the model is never pushed off what it learned.
// (The free grammar, with its small grid and short paths, takes only a few dozen of the simplest.)
TEST(Paint, SubjectGrammarAcceptsTheCorpusDrawings) {
    auto grammar = std::make_shared<const gen::constraint::Grammar>(
        gen::constraint::compile_gbnf(paint_grammar(PaintSpec{"subject", "x", "", ""}), "subject"));
    gen::constraint::GrammarMatcher subject(grammar);
    auto styles = std::make_shared<const gen::constraint::Grammar>(
        gen::constraint::compile_gbnf(paint_grammar(PaintSpec{"free", "", "", ""}), "free"));
    gen::constraint::GrammarMatcher free(styles);
    const auto accepts = [](gen::constraint::GrammarMatcher& m, std::string_view text) {
        const gen::constraint::StateId s = m.next(m.start(), text);
        return s != gen::constraint::kDead && m.is_accepting(s);
    };
    for (const char* source : {"twemoji", "tabler"}) {
        std::vector<std::string> docs;
        build_svg_icons_corpus({{"sources", {source}}, {"limit", 4000}, {"max_dsl_bytes", 1400}},
                               [&](std::string d) { docs.push_back(std::move(d)); });
        ASSERT_GE(docs.size(), 100u) << source;
        int rejected = 0, free_accepted = 0;
        for (const std::string& d : docs) {
            const std::string drawing = d.substr(d.find('\n') + 1) + "\n";
            if (!accepts(subject, drawing)) {
                ++rejected;
                gen::constraint::StateId st = subject.start();
                size_t at = 0;
                while (at < drawing.size() && (st = subject.next(st, static_cast<uint8_t>(drawing[at]))) != gen::constraint::kDead) ++at;
                ADD_FAILURE() << source << ": the subject grammar refuses byte " << at << " ('"
                              << drawing.substr(at > 40 ? at - 40 : 0, std::min<size_t>(at, 40)) << "' then '"
                              << drawing.substr(at, 20) << "')";
            }
            free_accepted += accepts(free, drawing) ? 1 : 0;
        }
        std::printf("%s: %zu drawings, subject grammar refuses %d, palette grammar accepts %d\n", source,
                    docs.size(), rejected, free_accepted);
    }
}

// Albers' squares each differ in colour from what they lie on (the canvas, then the square
// around them); a single-colour palette has nothing to set against itself and keeps one colour.
TEST(Paint, AlbersSquaresDifferFromTheirGround) {
    auto compiled = [](const PaintSpec& spec) {
        return std::make_shared<const gen::constraint::Grammar>(gen::constraint::compile_gbnf(paint_grammar(spec), "albers"));
    };
    gen::constraint::GrammarMatcher m(compiled(PaintSpec{"albers", "", "primary", ""}));
    const auto accepts = [&](std::string_view text) {
        const gen::constraint::StateId st = m.next(m.start(), text);
        return st != gen::constraint::kDead && m.is_accepting(st);
    };
    EXPECT_TRUE(accepts("canvas 128 128 red\nrect 16 20 96 96 f blue\nrect 32 40 64 64 f red\n"));
    EXPECT_TRUE(accepts("canvas 128 128 white\nrect 16 24 96 96 f black\nrect 32 44 64 64 f white\nrect 48 60 32 32 f yellow\n"));
    EXPECT_FALSE(accepts("canvas 128 128 white\nrect 16 20 96 96 f white\nrect 32 40 64 64 f red\n"));
    EXPECT_FALSE(accepts("canvas 128 128 red\nrect 16 20 96 96 f blue\nrect 32 40 64 64 f blue\n"));
    EXPECT_FALSE(accepts("canvas 128 128 red\nrect 16 20 96 96 f blue\nrect 32 40 64 64 f red\nrect 48 56 32 32 f red\n"));
    EXPECT_FALSE(accepts("canvas 128 128 red\nrect 16 20 96 96 f green\nrect 32 40 64 64 f red\n"));  // not in primary
    gen::constraint::GrammarMatcher one(compiled(PaintSpec{"albers", "", "red", ""}));
    const gen::constraint::StateId st = one.next(one.start(), "canvas 128 128 red\nrect 16 20 96 96 f red\nrect 32 40 64 64 f red\n");
    EXPECT_TRUE(st != gen::constraint::kDead && one.is_accepting(st));
}

TEST(Paint, BadSpecsAreRefused) {
    auto msg = [](const PaintSpec& s) {
        try {
            check_spec(s);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(msg({"picasso", "", "", ""}),
              "style: unknown; expected one of mondrian, kandinsky, albers, malevich, riley, free, got 'picasso'");
    EXPECT_EQ(msg({"free", "", "", "angry"}), "mood: unknown; expected one of bright, calm, dark, energetic, melancholy, got 'angry'");
    EXPECT_NE(msg({"free", "", "red,mauve", ""}).find("palette: unknown colour"), std::string::npos);
    EXPECT_NE(msg({"free", "", ",", ""}).find("palette: empty"), std::string::npos);
    EXPECT_EQ(msg({"free", "", "pastel", "calm"}), "no error");
}

TEST(Paint, PromptsInAnyScript) {
    EXPECT_EQ(paint_prompt({"subject", "red apple", "", ""}), "subject: red apple\n");
    EXPECT_EQ(paint_prompt({"subject", "苹果\nand\tmore", "", "calm"}), "subject: 苹果 and more, calm\n");
    EXPECT_EQ(paint_prompt({"mondrian", "", "", ""}), "subject: abstract grid of primary colours, after Mondrian\n");
    EXPECT_THROW(paint_prompt({"subject", "bad \xff utf8", "", ""}), Error);
    const std::string long_subject(300, 'a');
    EXPECT_EQ(paint_prompt({"subject", long_subject, "", ""}).size(), std::string("subject: \n").size() + 200);
}

TEST(Paint, CriticsScoreDrawings) {
    double total_good = 0, total_blank = 0, total_bad = 0;
    const PaintSpec spec{"free", "", "", ""};
    const auto good = paint_scores("canvas 128 128 white\ncircle 64 64 40 f red\nrect 10 10 30 30 f blue\n", spec, nullptr, -2.0, total_good);
    const auto blank = paint_scores("canvas 128 128 white\ncircle 64 64 0 f red\n", spec, nullptr, -2.0, total_blank);
    const auto bad = paint_scores("canvas 128 128\nstar\n", spec, nullptr, -2.0, total_bad);
    EXPECT_EQ(good["renders"], 1);
    EXPECT_EQ(good["not_blank"], 1);
    EXPECT_EQ(good["shapes"], 2);
    EXPECT_EQ(good["shapes_in_range"], 1);
    EXPECT_EQ(blank["not_blank"], 0);
    EXPECT_EQ(bad["renders"], 0);
    EXPECT_GT(total_good, total_blank);
    EXPECT_GT(total_blank, total_bad);
}

TEST(SvgIconsCorpus, EmojiNamesJoinByCodePoints) {
    const auto names = emoji_names("/usr/share/unicode/emoji/emoji-test.txt");
    EXPECT_EQ(names.at("1f34e"), "red apple");
    EXPECT_EQ(names.at("2764"), "red heart");  // listed as 2764 FE0F; twemoji drops the FE0F
}

TEST(SvgIconsCorpus, DocumentsAreSubjectThenDrawing) {
    for (const char* source : {"twemoji", "tabler"}) {
        std::vector<std::string> docs;
        build_svg_icons_corpus({{"sources", {source}}, {"limit", 6}}, [&](std::string d) { docs.push_back(std::move(d)); });
        ASSERT_EQ(docs.size(), 6u) << source;
        for (const std::string& d : docs) {
            ASSERT_EQ(d.rfind("subject: ", 0), 0u) << d;
            EXPECT_EQ(d.find("\n\n"), std::string::npos) << d;
            const size_t nl = d.find('\n');
            EXPECT_NO_THROW(parse_dsl(d.substr(nl + 1))) << d;
        }
    }
    EXPECT_THROW(build_svg_icons_corpus({{"sources", {"openmoji"}}}, [](std::string) {}), Error);
    EXPECT_THROW(build_svg_icons_corpus({{"bogus", 1}}, [](std::string) {}), Error);
}

}  // namespace
}  // namespace lyra::art::visual
