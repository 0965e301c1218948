// Property tests (issue #4 "Proof"): many generations from random-weight models under a
// grammar, each output checked by an independent parser or validator that shares no code with
// the grammar path (nlohmann::json, std::regex, a hand-written schema validator and arithmetic
// parser). Each case runs 1,000 generations on a byte-vocabulary model (and most also 500 on a
// character vocabulary with multi-byte tokens); LYRA_CONSTRAINT_GENERATIONS=N changes the count,
// LYRA_CONSTRAINT_SHOW=1 prints samples.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <regex>
#include <set>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "unit/constraint/constraint_test_util.h"

namespace lyra::gen::constraint {
namespace {

using nlohmann::json;
using testing::TempDir;

int generations() {
    const char* env = std::getenv("LYRA_CONSTRAINT_GENERATIONS");
    return env != nullptr ? std::atoi(env) : 1000;
}

// --- independent checkers -------------------------------------------------------------------

// Arithmetic: expr := term (('+'|'-') term)*, term := factor (('*'|'/') factor)*,
// factor := number | '(' expr ')' | '-' factor, single optional spaces around operators.
class Arith {
public:
    explicit Arith(const std::string& s) : s_(s) {}
    bool ok() {
        if (!expr()) return false;
        return i_ == s_.size();
    }

private:
    void sp() {
        if (i_ < s_.size() && s_[i_] == ' ') ++i_;
    }
    bool expr() {
        if (!term()) return false;
        for (;;) {
            const size_t save = i_;
            sp();
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
                ++i_;
                sp();
                if (!term()) return false;
            } else {
                i_ = save;
                return true;
            }
        }
    }
    bool term() {
        if (!factor()) return false;
        for (;;) {
            const size_t save = i_;
            sp();
            if (i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '/')) {
                ++i_;
                sp();
                if (!factor()) return false;
            } else {
                i_ = save;
                return true;
            }
        }
    }
    bool factor() {
        if (i_ >= s_.size()) return false;
        if (s_[i_] == '-') {
            ++i_;
            return factor();
        }
        if (s_[i_] == '(') {
            ++i_;
            sp();
            if (!expr()) return false;
            sp();
            if (i_ >= s_.size() || s_[i_] != ')') return false;
            ++i_;
            return true;
        }
        const size_t start = i_;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        if (i_ == start) return false;
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            const size_t frac = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
            if (i_ == frac) return false;
        }
        return true;
    }
    const std::string& s_;
    size_t i_ = 0;
};

size_t count_code_points(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

// A validator for the schema subset, written from the JSON Schema spec, not from the converter.
std::string validate(const json& v, const json& s, const json& root, const std::string& at) {
    if (s.contains("$ref")) {
        const std::string ref = s["$ref"];
        const std::string name = ref.substr(std::string("#/$defs/").size());
        return validate(v, root["$defs"][name], root, at);
    }
    if (s.contains("const") && v != s["const"]) return at + ": not the const";
    if (s.contains("enum")) {
        bool found = false;
        for (const auto& e : s["enum"]) found = found || e == v;
        if (!found) return at + ": not in enum";
    }
    if (s.contains("anyOf")) {
        for (const auto& alt : s["anyOf"])
            if (validate(v, alt, root, at).empty()) return "";
        return at + ": matches no anyOf branch";
    }
    if (s.contains("type")) {
        std::vector<std::string> types;
        if (s["type"].is_array()) {
            for (const auto& t : s["type"]) types.push_back(t);
        } else {
            types.push_back(s["type"]);
        }
        bool type_ok = false;
        for (const auto& t : types) {
            type_ok = type_ok || (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
                      (t == "string" && v.is_string()) || (t == "boolean" && v.is_boolean()) ||
                      (t == "null" && v.is_null()) || (t == "number" && v.is_number()) ||
                      (t == "integer" && v.is_number_integer());
        }
        if (!type_ok) return at + ": wrong type " + v.type_name();
    }
    if (v.is_object() && s.contains("properties")) {
        for (const auto& [k, sub] : v.items()) {
            if (!s["properties"].contains(k)) return at + ": unexpected property " + k;
            auto r = validate(sub, s["properties"][k], root, at + "/" + k);
            if (!r.empty()) return r;
        }
        if (s.contains("required")) {
            for (const auto& r : s["required"])
                if (!v.contains(r.get<std::string>())) return at + ": missing " + r.get<std::string>();
        }
    }
    if (v.is_array()) {
        if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return at + ": too few items";
        if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return at + ": too many items";
        if (s.contains("items")) {
            for (size_t i = 0; i < v.size(); ++i) {
                auto r = validate(v[i], s["items"], root, at + "/" + std::to_string(i));
                if (!r.empty()) return r;
            }
        }
    }
    if (v.is_string()) {
        const std::string str = v.get<std::string>();
        const size_t n = count_code_points(str);
        if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return at + ": too short";
        if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return at + ": too long";
        if (s.contains("pattern") && !std::regex_match(str, std::regex(s["pattern"].get<std::string>()))) {
            return at + ": does not match the pattern";
        }
    }
    if (v.is_number_integer()) {
        const auto x = v.get<int64_t>();
        if (s.contains("minimum") && x < s["minimum"].get<int64_t>()) return at + ": below minimum";
        if (s.contains("maximum") && x > s["maximum"].get<int64_t>()) return at + ": above maximum";
        if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<int64_t>()) return at + ": not above exclusiveMinimum";
        if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<int64_t>()) return at + ": not below exclusiveMaximum";
    }
    return "";
}

const char* kSchemaPerson = R"J({
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 12},
    "age": {"type": "integer", "minimum": 0, "maximum": 130},
    "email": {"type": "string", "pattern": "[a-z]{1,8}@[a-z]{1,8}\\.(com|org)"},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "maxItems": 3}
  },
  "required": ["name", "age"]
})J";

const char* kSchemaShapes = R"J({
  "$defs": {
    "point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
              "required": ["x", "y"]}
  },
  "type": "object",
  "properties": {
    "points": {"type": "array", "items": {"$ref": "#/$defs/point"}, "minItems": 1, "maxItems": 4},
    "closed": {"type": "boolean"},
    "label": {"type": ["string", "null"]}
  },
  "required": ["points"]
})J";

const char* kSchemaNotes = R"J({
  "type": "array",
  "items": {
    "type": "object",
    "properties": {
      "kind": {"enum": ["note", "rest"]},
      "pitch": {"type": "integer", "minimum": -12, "maximum": 127},
      "dur": {"type": "integer", "exclusiveMinimum": 0, "maximum": 16}
    },
    "required": ["kind", "dur"]
  },
  "minItems": 2,
  "maxItems": 5
})J";

const char* kRegex = "[A-Z][a-z]{2,8}( [A-Z][a-z]{2,8})?, [0-9]{1,3} (years|days)";

using Checker = std::function<std::string(const std::string&)>;

struct PropertyCase {
    std::string gbnf;
    Checker check;  // "" when the text is valid
    int max_tokens = 96;
};

// Runs `n` sampled generations under the grammar and checks each output independently.
void run_property(const model::Model& m, const PropertyCase& pc, int n) {
    auto trie = std::make_shared<const TokenTrie>(m.tokenizer());
    auto g = std::make_shared<const Grammar>(compile_gbnf(pc.gbnf, "property"));
    GrammarConstraint c(g, trie, {.max_tokens = pc.max_tokens});
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    int failures = 0, eos = 0;
    std::set<std::string> distinct;
    size_t total_bytes = 0;
    const bool show = std::getenv("LYRA_CONSTRAINT_SHOW") != nullptr;
    for (int i = 0; i < n && failures < 5; ++i) {
        c.reset();
        GenerateOptions opt{.max_tokens = pc.max_tokens, .temperature = 1.0f, .top_k = 0,
                            .top_p = 1.0f, .min_p = 0.0f, .seed = static_cast<uint64_t>(i),
                            .threads = 1, .constraint = &c};
        const auto r = gen.run(std::string("p") + std::to_string(i % 7), opt);
        const auto& out = r.candidates.at(0);
        eos += out.finish == FinishReason::Eos;
        distinct.insert(out.text);
        total_bytes += out.text.size();
        if (show && i < 12) std::printf("  [%d] %s\n", i, out.text.c_str());
        std::string problem;
        if (c.status() == ConstraintStatus::DeadEnd) problem = "dead end";
        else if (!c.is_accepting()) problem = "grammar not complete";
        else if (out.text != c.matched()) problem = "text differs from what the grammar matched";
        else problem = pc.check(out.text);
        if (!problem.empty()) {
            ++failures;
            ADD_FAILURE() << "generation " << i << " (seed " << i << "): " << problem << "\n  text: "
                          << out.text;
        }
    }
    EXPECT_GT(eos, 0) << "no generation ended by choosing EOS";
    // The runs must explore the grammar, not repeat one short answer.
    EXPECT_GT(distinct.size(), static_cast<size_t>(n) / 4);
    if (show) std::printf("  %d runs, %zu distinct, %.1f bytes on average, %d ended by EOS\n", n,
                          distinct.size(), static_cast<double>(total_bytes) / n, eos);
}

Checker json_checker() {
    return [](const std::string& t) -> std::string {
        try {
            const json v = json::parse(t);
            (void)v;
            return "";
        } catch (const json::exception& e) {
            return std::string("nlohmann::json::parse: ") + e.what();
        }
    };
}

Checker schema_checker(const char* schema_text) {
    const json schema = json::parse(schema_text);
    return [schema](const std::string& t) -> std::string {
        json v;
        try {
            v = json::parse(t);
        } catch (const json::exception& e) {
            return std::string("nlohmann::json::parse: ") + e.what();
        }
        return validate(v, schema, schema, "");
    };
}

class ConstraintProperty : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir("property");
        byte_tok_ = model::build_byte_vocab().release();
        char_tok_ = model::build_char_vocab(testing::mixed_corpus()).release();
        // Weights large enough that the model has strong, arbitrary preferences.
        byte_model_ = testing::tiny_model(*dir_, *byte_tok_, 0.3f, 11).release();
        char_model_ = testing::tiny_model(*dir_, *char_tok_, 0.3f, 12).release();
    }
    static void TearDownTestSuite() {
        delete byte_model_;
        delete char_model_;
        delete byte_tok_;
        delete char_tok_;
        delete dir_;
    }
    static inline TempDir* dir_ = nullptr;
    static inline model::Tokenizer* byte_tok_ = nullptr;
    static inline model::Tokenizer* char_tok_ = nullptr;
    static inline model::Model* byte_model_ = nullptr;
    static inline model::Model* char_model_ = nullptr;
};

TEST_F(ConstraintProperty, JsonGrammarOutputsParse) {
    const PropertyCase pc{testing::grammar_file("json.gbnf"), json_checker(), 64};
    run_property(*byte_model_, pc, generations());
    run_property(*char_model_, pc, generations() / 2);
}

TEST_F(ConstraintProperty, ArithmeticGrammarOutputsParse) {
    const PropertyCase pc{testing::grammar_file("arithmetic.gbnf"),
                          [](const std::string& t) { return Arith(t).ok() ? "" : "not an expression"; }, 48};
    run_property(*byte_model_, pc, generations());
    run_property(*char_model_, pc, generations() / 2);
}

TEST_F(ConstraintProperty, NumberListGrammarOutputsParse) {
    const PropertyCase pc{testing::grammar_file("number_list.gbnf"),
                          [](const std::string& t) -> std::string {
                              const auto v = json::parse(t, nullptr, false);
                              if (v.is_discarded() || !v.is_array()) return "not a JSON array";
                              for (const auto& x : v)
                                  if (!x.is_number_integer()) return "an item is not an integer";
                              return "";
                          },
                          48};
    run_property(*byte_model_, pc, generations());
}

TEST_F(ConstraintProperty, RegexOutputsMatch) {
    const std::regex re(kRegex);
    const PropertyCase pc{regex_to_gbnf(kRegex),
                          [&](const std::string& t) { return std::regex_match(t, re) ? "" : "std::regex_match failed"; }, 48};
    run_property(*byte_model_, pc, generations());
    run_property(*char_model_, pc, generations() / 2);
}

TEST_F(ConstraintProperty, SchemaPersonOutputsValidate) {
    run_property(*byte_model_, {json_schema_to_gbnf(kSchemaPerson), schema_checker(kSchemaPerson), 96}, generations());
    run_property(*char_model_, {json_schema_to_gbnf(kSchemaPerson), schema_checker(kSchemaPerson), 96}, generations() / 2);
}

TEST_F(ConstraintProperty, SchemaShapesOutputsValidate) {
    run_property(*byte_model_, {json_schema_to_gbnf(kSchemaShapes), schema_checker(kSchemaShapes), 128}, generations());
}

TEST_F(ConstraintProperty, SchemaNotesOutputsValidate) {
    run_property(*byte_model_, {json_schema_to_gbnf(kSchemaNotes), schema_checker(kSchemaNotes), 128}, generations());
}

}  // namespace
}  // namespace lyra::gen::constraint
