// GBNF parsing, compile-time checks and the byte-level matcher (grammar.h, matcher.h).
#include "generate/constraint/grammar.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "generate/constraint/matcher.h"

namespace lyra::gen::constraint {
namespace {

// True if the whole of `text` is a sentence of the grammar.
bool matches(const std::string& gbnf, const std::string& text) {
    GrammarMatcher m(std::make_shared<const Grammar>(compile_gbnf(gbnf, "test")));
    const StateId s = m.next(m.start(), text);
    return s != kDead && m.is_accepting(s);
}

// True if `text` can be continued into a sentence (a live prefix).
bool is_prefix(const std::string& gbnf, const std::string& text) {
    GrammarMatcher m(std::make_shared<const Grammar>(compile_gbnf(gbnf, "test")));
    return m.next(m.start(), text) != kDead;
}

std::string compile_error(const std::string& gbnf) {
    try {
        compile_gbnf(gbnf, "g.gbnf");
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
        return e.what();
    }
    return "(compiled)";
}

TEST(GbnfParser, AcceptsTheUsualForms) {
    const std::vector<std::string> ok = {
        "root ::= \"a\"",
        "root ::= \"a\" | \"b\" | \"\"",
        "root ::= ( \"a\" | \"b\" )* \"c\"+ \"d\"?",
        "root ::= [a-z0-9_] [^\\n\"] .",
        "root ::= x{3} x{2,} x{1,4} x{0,1}\nx ::= \"x\"",
        "# comment\nroot ::= item (\",\" item)* # trailing\nitem ::= [0-9]+",
        "root ::=\n  \"{\" ws\n  ( \"a\"\n  | \"b\" )\n  \"}\"\nws ::= [ \\t\\n]*",
        "root ::= \"\\x41\\u00e9\\U0001F600\\\\\\\"\\t\"",
        "root ::= \"日本\" [一-龥]",
        "root-rule_2 ::= \"a\"\nroot ::= root-rule_2",
    };
    for (const auto& g : ok) {
        EXPECT_NO_THROW(compile_gbnf(g, "t")) << g;
    }
}

struct BadGrammar {
    std::string text;
    std::string expect;  // a substring of the error, line and column included
};

TEST(GbnfParser, ReportsErrorsWithLineAndColumn) {
    const std::vector<BadGrammar> bad = {
        {"root ::= \"abc", "line 1, column 10: unterminated string literal"},
        {"root ::= [a-z", "line 1, column 10: unterminated character class"},
        {"root ::= a\n", "line 1, column 10: rule 'a' is used but never defined"},
        {"root\n::= \"x\"", "line 1, column 5: expected '::=' after the rule name 'root'"},
        {"a ::= \"x\"", "no 'root' rule"},
        {"root ::= \"x\"\nroot ::= \"y\"", "line 2, column 1: rule 'root' is defined twice"},
        {"root ::= (\"a\" | \"b\"", "line 1, column 10: unclosed '('"},
        {"root ::= \"a\" )", "line 1, column 14: unexpected ')'"},
        {"root ::= * \"a\"", "line 1, column 10: expected an item before the repetition '*'"},
        {"root ::= \"a\"{3,1}", "line 1, column 16: repetition bounds are backwards"},
        {"root ::= \"a\"{2", "line 1, column 15: expected '}' to close the repetition"},
        {"root ::= \"\\q\"", "line 1, column 11: unknown escape '\\q'"},
        {"root ::= [z-a]", "line 1, column 13: character range is backwards"},
        {"root ::= \"\\uD800\"", "line 1, column 11: character U+D800 is not a Unicode scalar value"},
        {"root ::= \"a\" @", "line 1, column 14: expected a rule body item"},
        {"\n\nroot ::= \"a\"\n  x ::= \"b\" ;", "line 4, column 13: expected a rule body item"},
        {"root ::= \"a\"{100000}", "line 1, column 14: repetition count too large"},
        {"root ::= \"ab\"{9000}{9000}", "the grammar is too large after expanding repetitions"},
    };
    for (const auto& b : bad) {
        const std::string err = compile_error(b.text);
        EXPECT_NE(err.find("grammar 'g.gbnf': "), std::string::npos) << err;
        EXPECT_NE(err.find(b.expect), std::string::npos) << "grammar:\n" << b.text << "\nerror: " << err;
    }
}

TEST(GbnfParser, RejectsGrammarsThatMatchNothing) {
    const std::string err = compile_error("root ::= a\na ::= a \"x\"");
    EXPECT_NE(err.find("line 2, column 1: rule 'a' can never finish"), std::string::npos) << err;
    EXPECT_NE(compile_error("root ::= [^\\x00-\\U0010FFFF]").find("rule 'root' can never finish"),
              std::string::npos);
}

TEST(GbnfParser, RejectsLeftRecursion) {
    const std::string err = compile_error("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]");
    EXPECT_NE(err.find("line 2, column 1: rule 'expr' is left-recursive (expr -> expr)"), std::string::npos) << err;
    const std::string indirect = compile_error("root ::= a\na ::= b \"x\" | \"y\"\nb ::= c? a\nc ::= \"c\"");
    EXPECT_NE(indirect.find("left-recursive"), std::string::npos) << indirect;
    EXPECT_NE(compile_error("root ::= (\"a\"?)*").find("left-recursive"), std::string::npos);
}

TEST(GrammarMatcher, MatchesLiteralsClassesAndRepetition) {
    const std::string g = "root ::= \"ab\" [0-9]+ (\"x\" | \"yz\")? \"!\"{2,3}";
    EXPECT_TRUE(matches(g, "ab0!!"));
    EXPECT_TRUE(matches(g, "ab123yz!!!"));
    EXPECT_FALSE(matches(g, "ab!!"));
    EXPECT_FALSE(matches(g, "ab1!"));
    EXPECT_FALSE(matches(g, "ab1!!!!"));
    EXPECT_FALSE(matches(g, "ab1y!!"));
    EXPECT_TRUE(is_prefix(g, "ab1y"));
    EXPECT_FALSE(is_prefix(g, "ac"));
}

// An optional group that can match nothing, nested 80 deep by its repetition: the expansion
// reaches the same (element, return) pair along ~3^80 paths, and the matcher enters each pair
// once (fuzz_grammar found it running out of memory on the regex `toke(!||){0,80}\d`).
TEST(GrammarMatcher, NestedEmptyRepetitionsExpandEachStackOnce) {
    const std::string g = "root ::= \"toke\" (\"!\" | \"\" | \"\"){0,80} [0-9]";
    EXPECT_TRUE(matches(g, "toke7"));
    EXPECT_TRUE(matches(g, "toke" + std::string(80, '!') + "7"));
    EXPECT_FALSE(matches(g, "toke" + std::string(81, '!') + "7"));
    EXPECT_TRUE(is_prefix(g, "toke!!"));
    EXPECT_FALSE(is_prefix(g, "tokex"));
}

TEST(GrammarMatcher, ExactRepetitionCounts) {
    const std::string g = "root ::= [a]{3} [b]{0,2} [c]{2,}";
    EXPECT_TRUE(matches(g, "aaacc"));
    EXPECT_TRUE(matches(g, "aaabbcccc"));
    EXPECT_FALSE(matches(g, "aacc"));
    EXPECT_FALSE(matches(g, "aaabbbcc"));
    EXPECT_FALSE(matches(g, "aaac"));
}

TEST(GrammarMatcher, MatchesUtf8ByteByByte) {
    const std::string g = "root ::= \"é\" [一-龥]+ [^a]";
    EXPECT_TRUE(matches(g, "é日本b"));
    EXPECT_TRUE(matches(g, "é日€"));
    EXPECT_FALSE(matches(g, "é日a"));
    EXPECT_FALSE(matches(g, "eé日b"));
    // Half a character is a live prefix only if some allowed character starts that way.
    EXPECT_TRUE(is_prefix(g, "\xC3"));
    EXPECT_FALSE(is_prefix(g, "\xC4"));
    EXPECT_TRUE(is_prefix(g, "é\xE6\x97"));   // first bytes of 日 (U+65E5)
    EXPECT_FALSE(is_prefix(g, "é\xE2\x82"));  // first bytes of € (U+20AC): not in 一-龥
    // Invalid UTF-8 never matches, even where any character is allowed.
    EXPECT_FALSE(is_prefix("root ::= .*", "\xC0\x80"));   // overlong
    EXPECT_FALSE(is_prefix("root ::= .*", "\xED\xA0\x80"));  // surrogate
    EXPECT_FALSE(is_prefix("root ::= .*", "\x80"));
}

TEST(GrammarMatcher, NestedRulesAndRightRecursion) {
    const std::string g =
        "root ::= list\nlist ::= \"[\" (item (\",\" item)*)? \"]\"\nitem ::= [0-9]+ | list";
    EXPECT_TRUE(matches(g, "[]"));
    EXPECT_TRUE(matches(g, "[1,[2,[]],33]"));
    EXPECT_FALSE(matches(g, "[1,]"));
    EXPECT_FALSE(matches(g, "[[1]"));
}

TEST(GrammarMatcher, RepetitionReusesStates) {
    // Tail calls keep `x*` at one stack depth, so long runs add no states.
    GrammarMatcher m(std::make_shared<const Grammar>(compile_gbnf("root ::= \"[\" [a-z]* \"]\"", "t")));
    StateId s = m.next(m.start(), "[abc");
    const size_t n = m.n_states();
    s = m.next(s, std::string(1000, 'q'));
    EXPECT_NE(s, kDead);
    EXPECT_EQ(m.n_states(), n);
}

TEST(GrammarMatcher, MinimumBytesToEnd) {
    GrammarMatcher m(std::make_shared<const Grammar>(compile_gbnf("root ::= \"ab\" [0-9]{2,} \"é\"", "t")));
    EXPECT_EQ(m.min_bytes_to_end(m.start()), 6u);
    EXPECT_EQ(m.min_bytes_to_end(m.next(m.start(), "ab1")), 3u);
    EXPECT_EQ(m.min_bytes_to_end(m.next(m.start(), "ab12")), 2u);
    EXPECT_EQ(m.min_bytes_to_end(m.next(m.start(), "ab12\xC3")), 1u);
    EXPECT_EQ(m.min_bytes_to_end(m.next(m.start(), "ab12é")), 0u);
}

TEST(GrammarMatcher, CompactKeepsTheState) {
    GrammarMatcher m(std::make_shared<const Grammar>(
        compile_gbnf("root ::= \"[\" v \"]\"\nv ::= [0-9] | \"[\" v \"]\"", "t")));
    StateId s = m.next(m.start(), "[[[");
    s = m.compact(s);
    EXPECT_LE(m.n_states(), 2u);
    EXPECT_EQ(m.next(m.next(s, "7]]"), "]") != kDead, true);
    EXPECT_TRUE(m.is_accepting(m.next(s, "7]]]")));
    EXPECT_EQ(m.next(s, "7]]]]"), kDead);
}

}  // namespace
}  // namespace lyra::gen::constraint
