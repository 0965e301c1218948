// JSON schema -> GBNF (constraint.h). One rule per schema node that needs a name ($defs, object
// property chains, arrays), primitives shared. Output is compact JSON with at most one space
// around punctuation; objects list their properties in schema order and allow no others.
// GCC 12 reports a false -Wrestrict on `"(" + str + ")"` (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "generate/constraint/constraint.h"

namespace lyra::gen::constraint {

namespace {

using json = nlohmann::ordered_json;  // properties keep the schema's order

constexpr int64_t kMaxInt = 999999999999999;  // integers are limited to 15 digits

const std::map<std::string, std::string>& primitives() {
    static const std::map<std::string, std::string> p = {
        {"ws", "| \" \""},
        {"char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" hex4)"},
        // \u escapes leave out surrogates: a lone one is not valid JSON text.
        {"hex4", "[0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}"},
        {"string", "\"\\\"\" char* \"\\\"\""},
        {"number", "\"-\"? (\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?"},
        {"integer", "\"-\"? (\"0\" | [1-9] [0-9]{0,14})"},
        {"boolean", "\"true\" | \"false\""},
        {"null", "\"null\""},
        {"value", "object | array | string | number | boolean | null"},
        {"object", "\"{\" ws ( string ws \":\" ws value ( ws \",\" ws string ws \":\" ws value )* )? ws \"}\""},
        {"array", "\"[\" ws ( value ( ws \",\" ws value )* )? ws \"]\""},
    };
    return p;
}

std::string sanitize(const std::string& s) {
    std::string out;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out += ok ? c : '-';
    }
    return out.empty() ? "x" : out;
}

// Decimal strings of equal length from a to b (a <= b), as GBNF.
std::string same_len_range(const std::string& a, const std::string& b) {
    if (a.size() == 1) {
        return a == b ? fmt::format("\"{}\"", a) : fmt::format("[{}-{}]", a, b);
    }
    const std::string ra = a.substr(1), rb = b.substr(1);
    if (a[0] == b[0]) return fmt::format("\"{}\" ({})", a[0], same_len_range(ra, rb));
    const std::string zeros(ra.size(), '0'), nines(ra.size(), '9');
    if (ra == zeros && rb == nines) return fmt::format("[{}-{}] [0-9]{{{}}}", a[0], b[0], ra.size());
    std::vector<std::string> alts;
    alts.push_back(fmt::format("\"{}\" ({})", a[0], same_len_range(ra, nines)));
    if (a[0] + 1 <= b[0] - 1) {
        alts.push_back(fmt::format("[{}-{}] [0-9]{{{}}}", static_cast<char>(a[0] + 1),
                                   static_cast<char>(b[0] - 1), ra.size()));
    }
    alts.push_back(fmt::format("\"{}\" ({})", b[0], same_len_range(zeros, rb)));
    std::string out;
    for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
    return out;
}

// Non-negative integers in [lo, hi] without leading zeros.
std::string nonneg_range(int64_t lo, int64_t hi) {
    std::vector<std::string> alts;
    int64_t p = 1;  // 10^(len-1)
    for (int len = 1; len <= 16; ++len, p *= 10) {
        const int64_t a = std::max(lo, len == 1 ? int64_t{0} : p);
        const int64_t b = std::min(hi, p * 10 - 1);
        if (a <= b) alts.push_back("(" + same_len_range(std::to_string(a), std::to_string(b)) + ")");
        if (p * 10 - 1 >= hi) break;
    }
    std::string out;
    for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
    return out;
}

std::string int_range(int64_t lo, int64_t hi) {
    std::vector<std::string> alts;
    if (lo < 0) alts.push_back("\"-\" (" + nonneg_range(hi < 0 ? -hi : 1, -lo) + ")");
    if (hi >= 0) alts.push_back("(" + nonneg_range(std::max<int64_t>(lo, 0), hi) + ")");
    std::string out;
    for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
    return out;
}

class SchemaConverter {
public:
    explicit SchemaConverter(json root) : root_(std::move(root)) {}

    std::string run() {
        const std::string body = visit(root_, "/");
        rules_["root"] = body;
        std::string out = "root ::= " + body + "\n";
        for (const auto& [name, rule] : rules_) {
            if (name != "root") out += name + " ::= " + rule + "\n";
        }
        for (const auto& name : used_prims_) out += name + " ::= " + primitives().at(name) + "\n";
        return out;
    }

private:
    // s[key] as a count (minLength, maxItems, ...): absent gives `fallback`; an integer, or a
    // number with an integral value (JSON has no separate integers), within +-2^53 is taken; any
    // other value fails naming the key. (get<int64_t> of 1e120 is undefined behaviour.)
    int64_t count(const json& s, const char* key, int64_t fallback, const std::string& path) const {
        if (!s.contains(key)) return fallback;
        const json& v = s[key];
        constexpr double kLimit = 9007199254740992.0;  // 2^53
        if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
        if (v.is_number()) {
            const double d = v.get<double>();
            if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= kLimit) return static_cast<int64_t>(d);
        }
        fail(ErrorKind::InvalidArgument, path + key,
             fmt::format("expected an integer, got {}", v.is_structured() ? std::string(v.type_name()) : v.dump()));
    }

    [[noreturn]] void fail(ErrorKind kind, const std::string& path, const std::string& msg) const {
        throw_error(kind, "json schema: at {}: {}", path, msg);
    }

    std::string prim(const std::string& name) {
        used_prims_.insert(name);
        if (name == "string" || name == "char") {
            used_prims_.insert("char");
            used_prims_.insert("hex4");
        }
        if (name == "value" || name == "object" || name == "array") {
            for (const char* p : {"ws", "char", "hex4", "string", "number", "boolean", "null", "value", "object", "array"}) {
                used_prims_.insert(p);
            }
        }
        return name;
    }

    std::string new_rule(const std::string& hint, const std::string& body) {
        std::string name = sanitize(hint);
        if (primitives().count(name) || name == "root") name += "-r";
        std::string unique = name;
        for (int i = 2; rules_.count(unique); ++i) unique = fmt::format("{}{}", name, i);
        rules_[unique] = body;
        return unique;
    }

    std::string literal(const json& v) { return "\"" + gbnf_escape(v.dump()) + "\""; }

    std::string visit(const json& s, const std::string& path, const std::string& hint = "value") {
        if (s.is_boolean()) {
            if (s.get<bool>()) return prim("value");
            fail(ErrorKind::InvalidArgument, path, "the schema 'false' allows nothing");
        }
        if (!s.is_object()) fail(ErrorKind::InvalidArgument, path, fmt::format("expected a schema object, got {}", s.type_name()));
        if (s.contains("$ref")) return visit_ref(s["$ref"], path);
        if (s.contains("const")) return literal(s["const"]);
        if (s.contains("enum")) {
            const json& e = s["enum"];
            if (!e.is_array() || e.empty()) fail(ErrorKind::InvalidArgument, path + "enum", "expected a non-empty array");
            std::string out = "(";
            for (size_t i = 0; i < e.size(); ++i) out += (i ? " | " : "") + literal(e[i]);
            return out + ")";
        }
        for (const char* key : {"anyOf", "oneOf"}) {
            if (!s.contains(key)) continue;
            const json& alts = s[key];
            if (!alts.is_array() || alts.empty()) fail(ErrorKind::InvalidArgument, path + key, "expected a non-empty array");
            std::string out = "(";
            for (size_t i = 0; i < alts.size(); ++i) {
                out += (i ? " | " : "") + visit(alts[i], fmt::format("{}{}/{}/", path, key, i), hint);
            }
            return out + ")";
        }
        if (s.contains("allOf")) fail(ErrorKind::Unsupported, path + "allOf", "allOf is not supported");
        if (!s.contains("type")) {
            if (s.contains("properties")) return visit_object(s, path, hint);
            if (s.contains("items")) return visit_array(s, path, hint);
            return prim("value");
        }
        const json& t = s["type"];
        if (t.is_array()) {
            std::string out = "(";
            for (size_t i = 0; i < t.size(); ++i) {
                json one = s;
                one["type"] = t[i];
                out += (i ? " | " : "") + visit(one, path, hint);
            }
            return out + ")";
        }
        if (!t.is_string()) fail(ErrorKind::InvalidArgument, path + "type", "expected a string or an array of strings");
        const std::string type = t.get<std::string>();
        if (type == "object") return visit_object(s, path, hint);
        if (type == "array") return visit_array(s, path, hint);
        if (type == "string") return visit_string(s, path, hint);
        if (type == "integer") return visit_integer(s, path);
        if (type == "number") {
            for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}) {
                if (s.contains(k)) fail(ErrorKind::Unsupported, path + k, "bounds on 'number' are not supported (use 'integer')");
            }
            return prim("number");
        }
        if (type == "boolean") return prim("boolean");
        if (type == "null") return prim("null");
        fail(ErrorKind::InvalidArgument, path + "type", fmt::format("unknown type '{}'", type));
    }

    std::string visit_ref(const json& ref, const std::string& path) {
        if (!ref.is_string()) fail(ErrorKind::InvalidArgument, path + "$ref", "expected a string");
        const std::string r = ref.get<std::string>();
        std::string name;
        for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
            if (r.rfind(prefix, 0) == 0) {
                name = r.substr(std::string(prefix).size());
                const json& defs = root_[std::string(prefix).substr(2, std::string(prefix).size() - 3)];
                if (!defs.is_object() || !defs.contains(name)) {
                    fail(ErrorKind::InvalidArgument, path + "$ref", fmt::format("'{}' is not defined", r));
                }
                auto it = refs_.find(r);
                if (it != refs_.end()) return it->second;
                const std::string rule = new_rule("def-" + name, "");
                refs_[r] = rule;  // before visiting, so recursive schemas refer to it
                rules_[rule] = visit(defs[name], r + "/", name);
                return rule;
            }
        }
        fail(ErrorKind::Unsupported, path + "$ref", fmt::format("only local references '#/$defs/NAME' are supported, got '{}'", r));
    }

    std::string visit_string(const json& s, const std::string& path, const std::string& hint) {
        if (s.contains("pattern")) {
            const std::string pat = s["pattern"].get<std::string>();
            std::string rule = new_rule(hint + "-pattern", "");
            std::string text = regex_to_gbnf_rule(pat, rule, true);  // "rule ::= body\n"
            rules_[rule] = text.substr(rule.size() + 5, text.size() - rule.size() - 6);
            return "\"\\\"\" " + rule + " \"\\\"\"";
        }
        const int64_t min = count(s, "minLength", 0, path);
        const int64_t max = count(s, "maxLength", -1, path);
        // max is -1 only when absent (a given negative one is refused like any bad pair)
        if (min < 0 || (s.contains("maxLength") && (max < 0 || max < min)))
            fail(ErrorKind::InvalidArgument, path + "maxLength", "expected 0 <= minLength <= maxLength");
        if (min == 0 && max < 0) return prim("string");
        prim("char");
        return fmt::format("\"\\\"\" char{{{},{}}} \"\\\"\"", min, max < 0 ? std::string() : std::to_string(max));
    }

    std::string visit_integer(const json& s, const std::string& path) {
        int64_t lo = -kMaxInt, hi = kMaxInt;
        bool bounded = false;
        auto bound = [&](const char* key, bool is_min, bool exclusive) {
            if (!s.contains(key) || !s[key].is_number()) return;
            bounded = true;
            const double v = s[key].get<double>();
            // A lower bound above the grammar's integers (or an upper one below them) leaves
            // nothing it could write; clamping it would write numbers that break the bound.
            const auto top = static_cast<double>(kMaxInt);
            if ((is_min && v >= top + (exclusive ? 0 : 1)) || (!is_min && v <= -top - (exclusive ? 0 : 1)))
                fail(ErrorKind::Unsupported, path + key,
                     fmt::format("{} {} is beyond the integers the grammar writes (at most 15 digits, |n| <= {})", key,
                                 s[key].dump(), kMaxInt));
            // Otherwise clamped to that range first: a bound like -8.9e55 has no int64_t (the
            // cast would be undefined; a fuzz_grammar finding).
            const auto to_int = [](double x) {
                const auto m = static_cast<double>(kMaxInt);
                return static_cast<int64_t>(std::clamp(x, -m, m));
            };
            if (is_min) lo = std::max(lo, to_int(exclusive ? std::floor(v) + 1 : std::ceil(v)));
            else hi = std::min(hi, to_int(exclusive ? std::ceil(v) - 1 : std::floor(v)));
        };
        bound("minimum", true, false);
        bound("maximum", false, false);
        bound("exclusiveMinimum", true, true);
        bound("exclusiveMaximum", false, true);
        if (!bounded) return prim("integer");
        if (lo > hi) fail(ErrorKind::InvalidArgument, path, fmt::format("no integer lies in [{}, {}]", lo, hi));
        return "(" + int_range(lo, hi) + ")";
    }

    std::string visit_array(const json& s, const std::string& path, const std::string& hint) {
        prim("ws");
        const std::string item = s.contains("items") ? visit(s["items"], path + "items/", hint + "-item") : prim("value");
        const int64_t min = count(s, "minItems", 0, path);
        const int64_t max = count(s, "maxItems", -1, path);
        // max is -1 only when absent (a given negative one is refused like any bad pair)
        if (min < 0 || (s.contains("maxItems") && (max < 0 || max < min)))
            fail(ErrorKind::InvalidArgument, path + "maxItems", "expected 0 <= minItems <= maxItems");
        if (max == 0) return "\"[\" ws \"]\"";
        const std::string more = fmt::format("(ws \",\" ws {}){{{},{}}}", item, std::max<int64_t>(min - 1, 0),
                                             max < 0 ? std::string() : std::to_string(max - 1));
        const std::string items = item + " " + more;
        const std::string body = min == 0 ? "\"[\" ws (" + items + ")? ws \"]\"" : "\"[\" ws " + items + " ws \"]\"";
        return new_rule(hint + "-array", body);
    }

    std::string visit_object(const json& s, const std::string& path, const std::string& hint) {
        prim("ws");
        if (!s.contains("properties")) return prim("object");
        const json& props = s["properties"];
        if (!props.is_object()) fail(ErrorKind::InvalidArgument, path + "properties", "expected an object");
        std::set<std::string> required;
        if (s.contains("required")) {
            for (const auto& r : s["required"]) {
                if (!props.contains(r.get<std::string>())) {
                    fail(ErrorKind::InvalidArgument, path + "required", fmt::format("'{}' is required but not among the properties", r.get<std::string>()));
                }
                required.insert(r.get<std::string>());
            }
        }
        std::vector<std::pair<std::string, bool>> kv;  // rule for "key": value, required
        for (const auto& [key, sub] : props.items()) {
            const std::string value = visit(sub, path + "properties/" + key + "/", hint + "-" + key);
            const std::string rule = new_rule(hint + "-" + key + "-kv",
                                              literal(json(key)) + " ws \":\" ws " + value);
            kv.emplace_back(rule, required.count(key) > 0);
        }
        // first(i): properties i.. with none written yet; rest(i): with one already written.
        const size_t n = kv.size();
        std::vector<std::string> first(n + 1), rest(n + 1);
        for (size_t i = n; i-- > 0;) {
            const auto& [rule, req] = kv[i];
            const std::string rest_next = i + 1 < n ? " " + rest[i + 1] : "";
            rest[i] = new_rule(fmt::format("{}-rest{}", hint, i),
                               req ? "ws \",\" ws " + rule + rest_next
                                   : "(ws \",\" ws " + rule + ")?" + rest_next);
            const std::string first_next = i + 1 < n ? first[i + 1] : "\"\"";
            first[i] = new_rule(fmt::format("{}-first{}", hint, i),
                                req ? rule + rest_next
                                    : rule + rest_next + " | " + first_next);
        }
        const std::string inner = n == 0 ? "" : first[0] + " ";
        return new_rule(hint + "-object", "\"{\" ws " + inner + "ws \"}\"");
    }

    json root_;
    std::map<std::string, std::string> rules_;
    std::map<std::string, std::string> refs_;
    std::set<std::string> used_prims_;
};

}  // namespace

std::string json_schema_to_gbnf(std::string_view schema_json) {
    json schema;
    try {
        schema = json::parse(schema_json);
    } catch (const json::exception& e) {
        throw_error(ErrorKind::InvalidArgument, "json schema: not valid JSON; {}", e.what());
    }
    try {
        return SchemaConverter(std::move(schema)).run();
    } catch (const json::exception& e) {
        throw_error(ErrorKind::InvalidArgument, "json schema: unexpected value type; {}", e.what());
    }
}

}  // namespace lyra::gen::constraint
