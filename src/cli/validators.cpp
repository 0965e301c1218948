// The plain-message range checks declared in commands.h.
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/commands.h"

namespace lyra::cli {

namespace {

// The whole text as a number, or nothing ("5abc", "" and "abc" are not numbers).
std::optional<double> parse_number(const std::string& v) {
    try {
        size_t used = 0;
        const double x = std::stod(v, &used);
        if (used == v.size()) return x;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::optional<int64_t> parse_whole(const std::string& v) {
    try {
        size_t used = 0;
        const long long x = std::stoll(v, &used);
        if (used == v.size()) return static_cast<int64_t>(x);
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

// The whole text read by `parse` (else "expected <what>"), then lo <= x and, with hi, x <= hi.
template <class T>
CLI::Validator bounded(std::optional<T> (*parse)(const std::string&), const char* what, T lo, std::optional<T> hi) {
    return CLI::Validator(
        [=](std::string& v) -> std::string {
            const auto x = parse(v);
            if (!x) return fmt::format("expected {}, got '{}'", what, v);
            if (*x >= lo && (!hi || *x <= *hi)) return {};  // false for NaN
            if (!hi) return fmt::format("out of range; expected at least {}, got {}", lo, v);
            return fmt::format("out of range; expected {} to {}, got {}", lo, *hi, v);
        },
        "");
}

}  // namespace

CLI::Validator at_least(double lo) { return bounded<double>(parse_number, "a number", lo, std::nullopt); }
CLI::Validator between(double lo, double hi) { return bounded<double>(parse_number, "a number", lo, hi); }
CLI::Validator whole_at_least(int64_t lo) { return bounded<int64_t>(parse_whole, "an integer", lo, std::nullopt); }
CLI::Validator whole_between(int64_t lo, int64_t hi) { return bounded<int64_t>(parse_whole, "an integer", lo, hi); }

}  // namespace lyra::cli
