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

}  // namespace

CLI::Validator at_least(double lo) {
    return CLI::Validator(
        [lo](std::string& v) -> std::string {
            const auto x = parse_number(v);
            if (!x) return "expected a number, got '" + v + "'";
            if (*x >= lo) return {};  // false for NaN
            return fmt::format("out of range; expected at least {}, got {}", lo, v);
        },
        "");
}

CLI::Validator between(double lo, double hi) {
    return CLI::Validator(
        [lo, hi](std::string& v) -> std::string {
            const auto x = parse_number(v);
            if (!x) return "expected a number, got '" + v + "'";
            if (*x >= lo && *x <= hi) return {};
            return fmt::format("out of range; expected {} to {}, got {}", lo, hi, v);
        },
        "");
}

CLI::Validator whole_at_least(int64_t lo) {
    return CLI::Validator(
        [lo](std::string& v) -> std::string {
            const auto x = parse_whole(v);
            if (!x) return "expected an integer, got '" + v + "'";
            if (*x >= lo) return {};
            return fmt::format("out of range; expected at least {}, got {}", lo, v);
        },
        "");
}

CLI::Validator whole_between(int64_t lo, int64_t hi) {
    return CLI::Validator(
        [lo, hi](std::string& v) -> std::string {
            const auto x = parse_whole(v);
            if (!x) return "expected an integer, got '" + v + "'";
            if (*x >= lo && *x <= hi) return {};
            return fmt::format("out of range; expected {} to {}, got {}", lo, hi, v);
        },
        "");
}

}  // namespace lyra::cli
