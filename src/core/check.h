// LYRA_CHECK: always-on assertion for bugs inside Lyra (never for outside input — use
// lyra::Error for that). On failure prints file:line and the formatted message, then aborts.
// LYRA_DCHECK is compiled out in release builds; use it only in hot inner loops.
#pragma once

#include <fmt/format.h>

namespace lyra::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);
}

#define LYRA_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) [[unlikely]]                                                          \
            ::lyra::detail::check_failed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
    } while (0)

#ifdef NDEBUG
#define LYRA_DCHECK(cond, ...) \
    do {                       \
    } while (0)
#else
#define LYRA_DCHECK(cond, ...) LYRA_CHECK(cond, __VA_ARGS__)
#endif
