// FormConstraint (form.h): line lengths in CJK characters, acrostics, predicates and dead ends,
// checked on sampled generations from a random-weight model with a character vocabulary.
#include "generate/constraint/form.h"
#include "generate/constraint/form_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "unit/constraint/constraint_test_util.h"
#include "unit/constraint/syllable_walk_check.h"

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
        return testing::sample_under(*model_, form, n, max_tokens, "诗");
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

// Tone classes by position and rhyme labels: every generation is checked by a separate reading
// of the text (the CJK units of each line), not by the constraint's own state.
TEST_F(FormGeneration, ClassesAndRhymesHoldOnEveryLine) {
    const std::u32string flat = U"春眠晓处闻啼夜来风花知多前明光疑霜头望低思乡";
    const std::vector<std::u32string> groups = {U"眠光霜乡", U"晓鸟少", U"花来声"};
    FormSpec spec;
    spec.allowed = [](uint32_t cp) { return cp >= 0x4E00 && cp <= 0x9FFF; };
    spec.classes["flat"] = [flat](uint32_t cp) { return flat.find(static_cast<char32_t>(cp)) != std::u32string::npos; };
    for (size_t g = 0; g < groups.size(); ++g)
        for (char32_t c : groups[g]) spec.rhyme_groups[static_cast<uint32_t>(c)].push_back(static_cast<int>(g));
    spec.rhyme_groups[U'光'].push_back(2);  // a character in two groups
    spec.lines = {{.units = 4, .classes = {{1, "flat"}}},
                  {.units = 4, .classes = {{-2, "flat"}}, .rhyme = "A"},
                  {.units = 3, .rhyme = "B"},
                  {.units = 4, .rhyme = "A"},
                  {.units = 3, .rhyme = "B"}};
    spec.closed = true;
    FormConstraint form(spec, *tok_);
    auto group_set = [&](char32_t c) {
        std::vector<int> out;
        for (size_t g = 0; g < groups.size(); ++g)
            if (groups[g].find(c) != std::u32string::npos || (c == U'光' && g == 2)) out.push_back(static_cast<int>(g));
        return out;
    };
    auto share = [&](char32_t a, char32_t b) {
        for (int x : group_set(a))
            for (int y : group_set(b))
                if (x == y) return true;
        return false;
    };
    for (const auto& text : run(form, 20)) {
        const auto lines = split_lines(text);
        ASSERT_EQ(lines.size(), 5u) << text;
        const std::vector<size_t> lengths = {4, 4, 3, 4, 3};
        for (size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(lines[i].size(), lengths[i]) << text;
        EXPECT_NE(flat.find(lines[0][1]), std::u32string::npos) << text;
        EXPECT_NE(flat.find(lines[1][2]), std::u32string::npos) << text;
        EXPECT_TRUE(share(lines[1].back(), lines[3].back())) << text;
        EXPECT_TRUE(share(lines[2].back(), lines[4].back())) << text;
        EXPECT_FALSE(group_set(lines[1].back()).empty()) << text;
    }
}

TEST(FormConstraint, BadRulesAreRefusedByName) {
    const auto tok = testing::piece_vocab({"a", "b", "\n"}, false);
    auto refused = [&](FormSpec spec, const std::string& says) {
        try {
            FormConstraint form(std::move(spec), *tok);
            ADD_FAILURE() << "no error; expected: " << says;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    };
    FormSpec unknown;
    unknown.lines = {{.units = 3, .classes = {{0, "ping"}}}};
    refused(unknown, "names the class 'ping'");
    FormSpec no_units;
    no_units.rhyme_groups[U'a'] = {0};
    no_units.lines = {{.units = 0, .rhyme = "A"}};
    refused(no_units, "rhymes ('A') but has no unit count");
    FormSpec far;
    far.classes["x"] = [](uint32_t) { return true; };
    far.lines = {{.units = 2, .classes = {{-3, "x"}}}};
    refused(far, "at unit -3");
    FormSpec group;
    group.rhyme_groups[U'a'] = {kMaxRhymeGroups};
    refused(group, "out of range");
}

TEST(FormSpecJson, ReadsEveryKeyAndNamesTheBadOne) {
    const auto spec = form_spec_from_json(nlohmann::json::parse(R"({
        "unit": "char", "allowed": "abc\n", "classes": {"v": "a"}, "rhyme_groups": ["ab", "c"],
        "closed": false,
        "lines": [{"units": 2, "fixed": {"-1": "b"}, "classes": {"0": "v"}, "rhyme": "A"}, {"units": 2, "rhyme": "A"}]})"),
                                          "f.json");
    ASSERT_EQ(spec.lines.size(), 2u);
    EXPECT_EQ(spec.lines[0].fixed.at(1), U'b');
    EXPECT_EQ(spec.lines[0].classes.at(0), "v");
    EXPECT_EQ(spec.lines[1].rhyme, "A");
    EXPECT_FALSE(spec.closed);
    EXPECT_EQ(spec.rhyme_groups.at(U'c'), std::vector<int>{1});
    EXPECT_TRUE(spec.is_unit(U'x'));
    EXPECT_FALSE(spec.allowed(U'x'));
    const std::pair<const char*, const char*> cases[] = {
        {R"({"lines": []})", "f.json: lines: missing or empty"},
        {R"({"lines": [{"units": 5}], "shape": 1})", "f.json: shape: unknown key"},
        {R"({"lines": [{"units": -1}]})", "f.json: lines[0].units"},
        {R"({"lines": [{"units": 5, "fixed": {"x": "春"}}]})", "lines[0].fixed.x: 'x' is not a unit index"},
        {R"({"lines": [{"units": 5, "fixed": {"5": "春"}}]})", "lines[0].fixed.5: outside the line's 5 units"},
        {R"({"lines": [{"units": 5, "fixed": {"0": "a"}}]})", "lines[0].fixed.0: 'a' is not a cjk unit"},
        {R"({"lines": [{"units": 5, "rhyme": "A"}]})", "lines[0].rhyme: needs rhyme_groups"},
        {R"({"unit": "syllables", "lines": [{"units": 5}]})", "unit: 'syllables' is not a unit; expected cjk, char, letter or syllable"},
        {R"({"classes": {"p": ""}, "lines": [{"units": 5}]})", "classes.p: empty"},
        {R"({"lines": [{"units": 5, "classes": {"1": "p"}}]})", "lines[0].classes.1: 'p' is not among classes"},
    };
    for (const auto& [text, says] : cases) {
        try {
            form_spec_from_json(nlohmann::json::parse(text), "f.json");
            ADD_FAILURE() << text;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
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

// Forms with the same rules_id share what `allowed` says about the characters a lead byte can
// start: the first constraint scans (hundreds of thousands of calls for the 4-byte leads of a
// letters-only form), a second with the same name asks almost nothing and gives the same masks
// at every step, and one with another name scans again.
TEST(FormConstraint, SameRulesIdSharesTheLeadByteAnswers) {
    const auto tok = testing::piece_vocab({"a", "b", "ab", " ", "\n", "\xC3\xA9", "a\xC3\xA9"}, true);
    auto calls = std::make_shared<int64_t>(0);
    const auto make = [&](const std::string& id) {
        FormSpec spec{.lines = {{.units = 3}, {.units = 2}},
                      .is_unit = [](uint32_t cp) { return cp == 'a' || cp == 'b'; },
                      .allowed = [calls](uint32_t cp) {
                          ++*calls;
                          return cp == 'a' || cp == 'b' || cp == ' ';
                      },
                      .rules_id = id};
        return std::make_unique<FormConstraint>(std::move(spec), *tok);
    };
    // The masks of a fixed walk (always the lowest allowed token past the byte tokens when there
    // is one), and the calls to `allowed` they took.
    const auto walk = [&](FormConstraint& f) {
        std::vector<std::vector<TokenId>> masks;
        const std::vector<float> logits(static_cast<size_t>(tok->n_vocab()), 0.0f);
        const int64_t before = *calls;
        for (int step = 0; step < 8 && f.status() == ConstraintStatus::Active; ++step) {
            CandidateSet cs;
            cs.reset(logits);
            f.apply(cs);
            std::vector<TokenId> yes;
            for (const auto& c : cs.items)
                if (c.logit == 0.0f) yes.push_back(c.id);
            masks.push_back(yes);
            if (yes.empty() || tok->is_eog(yes.back())) break;
            f.accept(yes.back());
        }
        return std::pair{masks, *calls - before};
    };
    const std::string id = "form_test shared " + std::to_string(reinterpret_cast<uintptr_t>(calls.get()));
    auto first = make(id);
    const auto [masks_first, calls_first] = walk(*first);
    auto second = make(id);
    const auto [masks_second, calls_second] = walk(*second);
    auto other = make(id + " other");
    const auto [masks_other, calls_other] = walk(*other);
    auto unnamed = make("");
    const auto [masks_unnamed, calls_unnamed] = walk(*unnamed);
    EXPECT_GT(calls_first, 500000);  // the 4-byte leads' ranges, scanned once
    EXPECT_LT(calls_second, 1000);   // the answers were there
    EXPECT_GT(calls_other, 500000);
    EXPECT_GT(calls_unnamed, 500000);
    EXPECT_GT(masks_first.size(), 3u);
    EXPECT_EQ(masks_second, masks_first);
    EXPECT_EQ(masks_other, masks_first);
    EXPECT_EQ(masks_unnamed, masks_first);
    // The per-token tables too: shared under the same name only.
    EXPECT_EQ(second->token_tables_id(), first->token_tables_id());
    EXPECT_NE(other->token_tables_id(), first->token_tables_id());
    EXPECT_NE(unnamed->token_tables_id(), first->token_tables_id());
}

// The per-token tables are keyed on the vocabulary (the tokenizer's fingerprint), not on the
// tokenizer object: a model loaded twice shares them, while a vocabulary with one piece spelled
// otherwise makes its own.
TEST(FormConstraint, TokenTablesAreSharedByVocabularyNotByTokenizerObject) {
    const std::vector<std::string> pieces = {"a", "b", "ab", " ", "\n"};
    const auto tok = testing::piece_vocab(pieces);
    const auto same = model::Tokenizer::from_vocab(tok->vocab());
    model::Vocab respelled = tok->vocab();
    respelled.tokens.back() = std::string("ba");
    const auto other = model::Tokenizer::from_vocab(respelled);
    ASSERT_EQ(same->vocab_fingerprint(), tok->vocab_fingerprint());
    ASSERT_NE(other->vocab_fingerprint(), tok->vocab_fingerprint());
    const FormSpec spec{.lines = {{.units = 2}},
                        .is_unit = [](uint32_t cp) { return cp == 'a' || cp == 'b'; },
                        .rules_id = "form_test tables by vocabulary"};
    const FormConstraint first(spec, *tok);
    const FormConstraint second(spec, *same);
    const FormConstraint elsewhere(spec, *other);
    EXPECT_EQ(second.token_tables_id(), first.token_tables_id());
    EXPECT_NE(elsewhere.token_tables_id(), first.token_tables_id());
}

// The mask's fast paths (a unit count per token, a single character's test at a checked
// position, whole characters stepped at once) against the byte walk that defines them, over a
// vocabulary of single characters, two- and three-character words, words with punctuation and
// line breaks inside, Latin pieces and the 256 byte tokens; forms with fixed characters, tone
// classes, rhymes, an allowed set, a predicate, open and closed, lines with and without counts.
TEST(FormConstraint, MaskEqualsTheByteWalkOverManyStates) {
    const std::u32string chars = U"床前明月光疑是地上霜举头望低思故乡春眠不觉晓处闻啼鸟";
    std::vector<std::string> pieces = {"\n", "，", "。", "，\n", "。\n", "ab", " the", "x", "光。\n", "霜，", "\n举", "月\n"};
    auto utf8 = [](std::u32string_view s) {
        std::string out;
        for (char32_t c : s) {
            const auto cp = static_cast<uint32_t>(c);  // all below U+10000 here
            if (cp < 0x80) out += static_cast<char>(cp);
            else {
                out += static_cast<char>(0xE0 | (cp >> 12));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            }
        }
        return out;
    };
    core::Rng rng(5);
    for (size_t i = 0; i < chars.size(); ++i) {
        pieces.push_back(utf8(chars.substr(i, 1)));
        for (int len : {2, 3}) {
            std::u32string w;
            for (int k = 0; k < len; ++k) w += chars[static_cast<size_t>(rng.uniform() * static_cast<float>(chars.size())) % chars.size()];
            pieces.push_back(utf8(w));
        }
    }
    std::sort(pieces.begin(), pieces.end());
    pieces.erase(std::unique(pieces.begin(), pieces.end()), pieces.end());
    const auto tok = testing::piece_vocab(pieces, true);

    const std::u32string flat = U"床前明光疑霜头低思乡眠闻啼";
    auto cjk_or_stop = [](uint32_t cp) { return (cp >= 0x4E00 && cp <= 0x9FFF) || cp == U'，' || cp == U'。'; };
    uint64_t seed = 1;
    int64_t allowed = 0;
    for (int variant = 0; variant < 6; ++variant) {
        for (bool closed : {false, true}) {
            FormSpec spec;
            spec.classes["flat"] = [flat](uint32_t cp) { return flat.find(static_cast<char32_t>(cp)) != std::u32string::npos; };
            for (char32_t c : std::u32string(U"光霜乡")) spec.rhyme_groups[static_cast<uint32_t>(c)] = {0};
            for (char32_t c : std::u32string(U"晓鸟")) spec.rhyme_groups[static_cast<uint32_t>(c)] = {1};
            spec.rhyme_groups[U'月'] = {0, 1};
            spec.lines = {{.units = 5, .fixed = {{0, U'床'}}, .classes = {{1, "flat"}}},
                          {.units = 5, .classes = {{-2, "flat"}}, .rhyme = "A"},
                          {.units = 3, .fixed = {{2, U'月'}}},
                          {.units = 4, .rhyme = "A"}};
            if (variant == 1) spec.allowed = cjk_or_stop;
            if (variant == 2) spec.predicate = [](std::string_view text) { return text.size() < 40; };
            if (variant == 3) spec.lines = {{.units = 4}, {.units = 0}, {.units = 2}};
            if (variant == 4) spec.lines.clear();
            if (variant == 5) spec = acrostic_form(U"明月", 3);
            spec.closed = closed && variant != 3 && variant != 4;
            FormConstraint form(std::move(spec), *tok);
            const auto n = testing::check_against_walk(form, *tok, 10, 40, seed++);
            EXPECT_EQ(n.mismatches, 0) << "variant " << variant << (closed ? " closed" : "");
            EXPECT_GT(n.states, 40) << "variant " << variant;
            allowed += n.allowed;
        }
    }
    EXPECT_GT(allowed, 5000);  // not masks that allow next to nothing
}

// Half a character is judged by what it can still become (can_complete), and that answer is kept
// per (bytes so far, room in the line). A constraint that has met states in some order must judge
// every token as a fresh one replayed to the same state does: here lines of 2 CJK units with
// letters allowed too, so a lead byte of CJK fits only while the line has room, a Latin-1 or
// 4-byte lead never, and the byte tokens come up with and without room.
TEST(FormConstraint, VerdictsDoNotDependOnWhatWasAskedBefore) {
    const auto tok = testing::piece_vocab({"\n", " ", "a", "bc", "中", "文", "中文", "é"}, true);
    auto make = [&] {
        FormSpec spec{.lines = {{.units = 2}, {.units = 2}, {.units = 2}},
                      .allowed = [](uint32_t cp) { return cp == ' ' || (cp >= 'a' && cp <= 'z') || (cp >= 0x4E00 && cp <= 0x9FFF); }};
        return FormConstraint(std::move(spec), *tok);
    };
    FormConstraint seasoned = make();
    core::Rng rng(9);
    std::vector<TokenId> path;
    int compared = 0;
    for (int walk = 0; walk < 12; ++walk) {
        seasoned.reset();
        path.clear();
        for (int step = 0; step < 16; ++step) {
            FormConstraint fresh = make();
            for (TokenId id : path) fresh.accept(id);
            std::vector<TokenId> allowed;
            for (TokenId id = 0; id < tok->n_vocab(); ++id) {
                const bool a = seasoned.fits_by_walk(id), b = fresh.fits_by_walk(id);
                ASSERT_EQ(a, b) << "token '" << tok->token_to_bytes(id) << "' after '" << seasoned.text() << "'";
                if (a && !tok->is_eog(id)) allowed.push_back(id);
                ++compared;
            }
            if (allowed.empty()) break;
            const TokenId next = allowed[rng.next_u64() % allowed.size()];
            seasoned.accept(next);
            path.push_back(next);
        }
    }
    EXPECT_GT(compared, 12 * 4 * tok->n_vocab());
}

}  // namespace
}  // namespace lyra::gen::constraint
