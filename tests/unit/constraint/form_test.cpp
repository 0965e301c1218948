// FormConstraint (form.h): line lengths in CJK characters, acrostics, predicates and dead ends,
// checked on sampled generations from a random-weight model with a character vocabulary.
#include "generate/constraint/form.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "unit/constraint/constraint_test_util.h"

namespace lyra::gen::constraint {
namespace {

std::vector<std::u32string> split_lines(const std::string& s) {
    std::vector<std::u32string> out(1);
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
        i += len;
        if (cp == '\n') out.emplace_back();
        else out.back() += static_cast<char32_t>(cp);
    }
    return out;
}

const char* kPoems = "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。床前明月光，疑是地上霜。"
                     "举头望明月，低头思故乡。夏日长\n秋风起\n冬雪白\n";

class FormGeneration : public ::testing::Test {
protected:
    void SetUp() override {
        tok_ = model::build_char_vocab(std::string(kPoems) + testing::mixed_corpus());
        model_ = testing::tiny_model(dir_, *tok_, 0.3f, 21);
    }
    // Runs n sampled generations under `form` and returns their texts.
    std::vector<std::string> run(FormConstraint& form, int n, int max_tokens = 90) {
        std::vector<std::string> out;
        core::ThreadPool pool(1);
        Generator gen(*model_, pool);
        for (int i = 0; i < n; ++i) {
            form.reset();
            const auto r = gen.run("诗", {.max_tokens = max_tokens, .temperature = 1.0f, .top_k = 0, .top_p = 1.0f,
                                         .min_p = 0.0f, .seed = static_cast<uint64_t>(i), .threads = 1,
                                         .constraint = &form});
            EXPECT_NE(form.status(), ConstraintStatus::DeadEnd) << r.candidates[0].text;
            EXPECT_EQ(r.candidates[0].finish, FinishReason::Eos) << r.candidates[0].text;
            out.push_back(r.candidates[0].text);
        }
        return out;
    }
    testing::TempDir dir_;
    std::unique_ptr<model::Tokenizer> tok_;
    std::unique_ptr<model::Model> model_;
};

bool is_cjk(char32_t c) { return c >= 0x4E00 && c <= 0x9FFF; }

TEST_F(FormGeneration, LinesHoldExactlyTheirCjkCount) {
    FormSpec spec;
    spec.lines = {{.units = 5}, {.units = 5}, {.units = 7}, {.units = 5}};
    spec.allowed = [](uint32_t cp) { return cp >= 0x4E00 && cp <= 0x9FFF; };
    FormConstraint form(spec, *tok_);
    for (const auto& text : run(form, 40)) {
        const auto lines = split_lines(text);
        ASSERT_EQ(lines.size(), 4u) << text;
        const size_t want[] = {5, 5, 7, 5};
        for (size_t l = 0; l < 4; ++l) {
            EXPECT_EQ(lines[l].size(), want[l]) << text;
            for (char32_t c : lines[l]) EXPECT_TRUE(is_cjk(c)) << text;
        }
    }
}

TEST_F(FormGeneration, PunctuationIsFreeButUnitsAreCounted) {
    FormSpec spec;
    spec.lines = {{.units = 5}, {.units = 5}};
    spec.allowed = [](uint32_t cp) { return (cp >= 0x4E00 && cp <= 0x9FFF) || cp == 0xFF0C || cp == 0x3002; };
    FormConstraint form(spec, *tok_);
    for (const auto& text : run(form, 20, 120)) {
        const auto lines = split_lines(text);
        ASSERT_EQ(lines.size(), 2u) << text;
        for (const auto& l : lines) {
            size_t units = 0;
            for (char32_t c : l) units += is_cjk(c);
            EXPECT_EQ(units, 5u) << text;
        }
    }
}

TEST_F(FormGeneration, AcrosticFixesTheFirstCharacters) {
    FormSpec spec = acrostic_form(U"春夏秋冬", 5);
    spec.allowed = [](uint32_t cp) { return cp >= 0x4E00 && cp <= 0x9FFF; };
    FormConstraint form(spec, *tok_);
    for (const auto& text : run(form, 20)) {
        const auto lines = split_lines(text);
        ASSERT_EQ(lines.size(), 4u) << text;
        EXPECT_EQ(lines[0].substr(0, 1), U"春");
        EXPECT_EQ(lines[1].substr(0, 1), U"夏");
        EXPECT_EQ(lines[2].substr(0, 1), U"秋");
        EXPECT_EQ(lines[3].substr(0, 1), U"冬");
        for (const auto& l : lines) EXPECT_EQ(l.size(), 5u) << text;
    }
}

TEST_F(FormGeneration, PredicateRulesTextOut) {
    FormSpec spec;
    spec.lines = {{.units = 5}, {.units = 5}};
    spec.allowed = [](uint32_t cp) { return cp >= 0x4E00 && cp <= 0x9FFF; };
    // No character may repeat within the poem.
    spec.predicate = [](std::string_view text) {
        const auto lines = split_lines(std::string(text));
        std::u32string all;
        for (const auto& l : lines) all += l;
        for (size_t i = 0; i < all.size(); ++i)
            if (all.find(all[i], i + 1) != std::u32string::npos) return false;
        return true;
    };
    FormConstraint form(spec, *tok_);
    for (const auto& text : run(form, 20)) {
        std::u32string all;
        for (const auto& l : split_lines(text)) all += l;
        ASSERT_EQ(all.size(), 10u) << text;
        for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all.find(all[i], i + 1), std::u32string::npos) << text;
    }
}

TEST(FormConstraint, ReportsADeadEnd) {
    const auto tok = testing::piece_vocab({"a", "b", "\n"}, false);
    FormSpec spec = acrostic_form(U"山", 2);  // no token can write 山
    spec.allowed = [](uint32_t cp) { return cp >= 0x4E00 && cp <= 0x9FFF; };
    FormConstraint form(spec, *tok);
    std::vector<float> logits(static_cast<size_t>(tok->n_vocab()), 1.0f);
    CandidateSet cs;
    cs.reset(logits);
    form.apply(cs);
    EXPECT_EQ(form.status(), ConstraintStatus::DeadEnd);
    for (const auto& c : cs.items) {
        EXPECT_EQ(c.logit != -std::numeric_limits<float>::infinity(), tok->is_eog(c.id)) << c.id;
    }
}

}  // namespace
}  // namespace lyra::gen::constraint
