// Grammar: a GBNF grammar (the format llama.cpp and other GGUF tools read; docs/formats/gbnf.md)
// compiled into flat rules over Unicode code points, ready for the incremental matcher
// (matcher.h). A Grammar is immutable after compile and may be shared across threads.
// compile_gbnf throws lyra::Error(InvalidArgument) with the line and column of a syntax error,
// and also for grammars that cannot be matched: undefined or missing `root` rules, left
// recursion (the matcher needs right recursion), and rules that can never finish.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lyra::gen::constraint {

// One element of an alternative. Each alternative is a run of elements ending with End.
enum class ElemKind : uint8_t {
    End,    // end of an alternative
    Chars,  // one code point from char_sets[value]
    Rule,   // the rule rules[value]
};

struct Elem {
    ElemKind kind = ElemKind::End;
    uint32_t value = 0;
};

// A set of code points as sorted, disjoint, inclusive ranges (negation already applied;
// surrogates D800-DFFF never included).
struct CharSet {
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    bool contains(uint32_t cp) const;
    bool intersects(uint32_t lo, uint32_t hi) const;
};

struct Rule {
    std::string name;              // as written, or "<parent>-<n>" for generated ones
    std::vector<uint32_t> alts;    // positions in Grammar::elems where each alternative starts
    int line = 0;                  // where it was defined (or generated)
};

struct Grammar {
    std::vector<Elem> elems;        // every alternative of every rule, each ending with End
    std::vector<Rule> rules;
    std::vector<CharSet> char_sets;
    uint32_t root = 0;
    // Shortest completion in bytes from each position to the end of its alternative
    // (filled by compile; used to finish within a token budget).
    std::vector<uint32_t> rest_min_bytes;
    std::vector<uint32_t> rule_min_bytes;

    // The rule id for a name, or -1.
    int32_t find_rule(std::string_view name) const;
    // The grammar written back as GBNF (generated rules included); for debugging and tests.
    std::string to_gbnf() const;
};

// Parses and checks a GBNF grammar. `source_name` names it in error messages
// ("grammar 'json.gbnf': line 3, column 7: expected ...").
Grammar compile_gbnf(std::string_view text, std::string_view source_name = "<string>");

// Escapes a string as the inside of a GBNF "..." literal.
std::string gbnf_escape(std::string_view s);

}  // namespace lyra::gen::constraint
