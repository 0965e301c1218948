// lyra::Error — the one exception type for bad outside input (files, flags, requests).
// Bugs inside Lyra use LYRA_CHECK (check.h) instead and abort. Errors carry a kind so the
// three catch sites (CLI, server handler, job runner) can map them to exit codes / HTTP status.
// Message shape (STYLE.md): "<what>: <problem>; expected <x>, got <y>[; <hint>]".
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace lyra {

enum class ErrorKind {
    InvalidArgument,  // a flag, option or request field has an impossible value
    Usage,            // the command line itself is wrong (exit code 2)
    NotFound,         // a file, model or resource does not exist
    Corrupt,          // a file exists but its contents are malformed
    Unsupported,      // well-formed, but uses a feature Lyra does not implement
    Io,               // the operating system refused a read or write
    ContextFull,      // a request does not fit in the model's context window
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

// Formats and throws in one call: throw_error(ErrorKind::Corrupt, "file '{}': bad magic", path).
template <typename... Args>
[[noreturn]] void throw_error(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
    throw Error(kind, fmt::format(f, std::forward<Args>(args)...));
}

// Re-throws `e` with `context: ` prefixed, keeping its kind ("loading model 'x': ...").
[[noreturn]] void rethrow_with_context(const Error& e, const std::string& context);

}  // namespace lyra
