// The paint form's grammars, prompts, spec checks, critics and the svg-icons corpus builder
// (generation with a model is tested end to end in tests/e2e/paint_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "art/visual/corpus.h"
#include "art/visual/dsl.h"
#include "art/visual/paint.h"
#include "art/visual/raster.h"
#include "core/error.h"
#include "core/thread_pool.h"
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

// The guidance scale has one bound and one message (guidance_problem): a request's "guidance"
// (the server's and the studio page's way in) and paint_eval's option are refused in the same
// words, before any model is read; the CLI flag's message is checked in tests/e2e/paint_test.cpp.
TEST(Paint, GuidanceScaleHasOneBoundAndOneMessage) {
    for (double ok : {0.0, 2.5, 10.0}) EXPECT_EQ(guidance_problem(ok), "") << ok;
    const std::string range = "out of range; expected a number from 0 to 10 (0 = off), got ";
    EXPECT_EQ(guidance_problem(-1), range + "-1");
    EXPECT_EQ(guidance_problem(10.5), range + "10.5");
    EXPECT_EQ(guidance_problem(std::nan("")), range + "nan");
    EXPECT_EQ(guidance_problem(std::numeric_limits<double>::infinity(), "'inf'"), range + "'inf'");

    const auto error_of = [](const std::function<void()>& f) {
        try {
            f();
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string expected = "guidance: " + range + "11";
    EXPECT_EQ(error_of([] { check_guidance(11); }), expected);
    EXPECT_EQ(error_of([] { check_guidance(0); }), "no error");
    core::ThreadPool pool(1);
    ModelCache models;
    Context ctx{.pool = &pool, .models = &models};
    const auto paint_error = [&](const nlohmann::json& request) {
        return error_of([&] { paint(request, ctx); });
    };
    EXPECT_EQ(paint_error({{"guidance", 11}}), expected);
    EXPECT_EQ(paint_error({{"guidance", -0.5}}), "guidance: " + range + "-0.5");
    EXPECT_EQ(paint_error({{"guidance", "high"}}), "guidance: expected a number, got \"high\"");
    EvalOptions opt;
    opt.model = "no-such-model.gguf";
    opt.guidance = 11;
    EXPECT_EQ(error_of([&] { paint_eval(opt, ctx); }), expected);
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

// A small corpus in the builder's format: a big red disc called "red apple" among small, unlike
// drawings, so that a blank drawing's 5 nearest are all small ones.
constexpr std::string_view kMatchCorpus =
    "subject: red apple\ncanvas 128 128\ncircle 64 64 50 f red\n\n"
    "subject: blue fish\ncanvas 128 128\nrect 4 4 12 12 f blue\n\n"
    "subject: green leaf\ncanvas 128 128\nrect 110 110 10 10 f green\n\n"
    "subject: black dot\ncanvas 128 128\ncircle 20 100 6 f black\n\n"
    "subject: heart; love, like\ncanvas 128 128\npath M100 10 L120 10 L110 25 Z f pink\n\n"
    "subject: flag: Chad\ncanvas 128 128\nrect 60 2 8 8 f yellow\n\n"
    "subject: sun\ncanvas 128 128\ncircle 100 60 5 f orange\n\n"
    "subject: broken\nthis is not a drawing\n";

std::vector<std::string> neighbour_subjects(const ReferenceSet& ref, std::string_view dsl) {
    std::vector<std::string> out;
    for (size_t i : ref.nearest_k(render(parse_dsl(dsl), 32), 5)) out.push_back(ref.subject(i));
    return out;
}

TEST(SubjectMatch, ATrainingDrawingMatchesItsNameABlankOneDoesNot) {
    const auto ref = ReferenceSet::parse(kMatchCorpus, "test");
    ASSERT_EQ(ref->size(), 7u);  // the document that is no drawing is skipped
    EXPECT_EQ(ref->subject(0), "red apple");
    EXPECT_EQ(ref->subject(4), "heart; love, like");

    // The training drawing itself: its own name is the nearest.
    const auto apple = neighbour_subjects(*ref, "canvas 128 128\ncircle 64 64 50 f red\n");
    ASSERT_EQ(apple.size(), 5u);
    EXPECT_EQ(apple[0], "red apple");
    const SubjectMatch same = match_subject(apple, "red apple");
    EXPECT_TRUE(same.exact_top1);
    EXPECT_TRUE(same.exact_topk);
    EXPECT_TRUE(same.word_topk);
    // Another apple shares a content word only; "sun" is not the apple's name.
    const SubjectMatch green = match_subject(apple, "Green Apple");
    EXPECT_FALSE(green.exact_topk);
    EXPECT_TRUE(green.word_topk);
    EXPECT_FALSE(match_subject(apple, "sun").exact_top1);

    // A blank drawing lands among the small ones: no apple near it.
    const auto blank = neighbour_subjects(*ref, "canvas 128 128\ncircle 64 64 0 f red\n");
    ASSERT_EQ(blank.size(), 5u);
    const SubjectMatch none = match_subject(blank, "red apple");
    EXPECT_FALSE(none.exact_top1);
    EXPECT_FALSE(none.exact_topk);
    EXPECT_FALSE(none.word_topk);

    // An icon's tags are not its name: the heart triangle is "heart" for the match.
    const auto heart = neighbour_subjects(*ref, "canvas 128 128\npath M100 10 L120 10 L110 25 Z f pink\n");
    EXPECT_TRUE(match_subject(heart, "heart").exact_top1);
    EXPECT_FALSE(match_subject(heart, "love").word_topk);
}

// The subject critic: best-of-n prefers the candidate near the subject's own training drawings.
TEST(SubjectMatch, SubjectLikenessRewardsTheNamedDrawings) {
    const auto ref = ReferenceSet::parse(kMatchCorpus, "test");
    const std::string apple = "canvas 128 128\ncircle 64 64 50 f red\n";
    const Image img = render(parse_dsl(apple), 32);
    // (0 up to the resampling of a 32 px render to the 16 px thumbnails)
    EXPECT_NEAR(ref->nearest_named(img, "Red Apple").value(), 0.0, 0.005);
    EXPECT_NEAR(ref->nearest_named(img, "green apple").value(), 0.0, 0.005);  // shares "apple"
    EXPECT_GT(ref->nearest_named(img, "fish").value(), 0.05);
    EXPECT_FALSE(ref->nearest_named(img, "zebra").has_value());

    const PaintSpec spec{"subject", "red apple", "", ""};
    double at_apple = 0, elsewhere = 0, unnamed = 0;
    const auto s1 = paint_scores(apple, spec, ref.get(), -1.0, at_apple);
    const auto s2 = paint_scores("canvas 128 128\nrect 4 4 60 60 f blue\n", spec, ref.get(), -1.0, elsewhere);
    EXPECT_GT(s1["subject_likeness"].get<double>(), 0.98);
    EXPECT_LT(s2["subject_likeness"].get<double>(), 0.5);
    EXPECT_GT(at_apple, elsewhere);
    // no drawing of the subject in the corpus: no term
    const auto s3 = paint_scores(apple, PaintSpec{"subject", "zebra", "", ""}, ref.get(), -1.0, unnamed);
    EXPECT_FALSE(s3.contains("subject_likeness"));
    EXPECT_NEAR(at_apple - unnamed, s1["subject_likeness"].get<double>(), 1e-3);
}

TEST(SubjectMatch, ContentWordsAndEvalSubjects) {
    EXPECT_EQ(content_words("Man Getting Haircut: medium-dark skin tone"),
              (std::vector<std::string>{"man", "getting", "haircut"}));
    EXPECT_EQ(content_words("cat with wry smile"), (std::vector<std::string>{"cat", "wry", "smile"}));
    EXPECT_EQ(content_words("月亮 moon"), (std::vector<std::string>{"月亮", "moon"}));
    EXPECT_EQ(subject_name("heart; love, like"), "heart");
    const auto ref = ReferenceSet::parse(kMatchCorpus, "test");
    // Emoji names only (no tag list), spread over the corpus in order.
    EXPECT_EQ(match_subjects(*ref, 100),
              (std::vector<std::string>{"red apple", "blue fish", "green leaf", "black dot", "flag: Chad", "sun"}));
    EXPECT_EQ(match_subjects(*ref, 3), (std::vector<std::string>{"red apple", "green leaf", "flag: Chad"}));
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
