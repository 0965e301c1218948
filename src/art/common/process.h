// Running the outside programs the art forms use as renderers and validators (abcm2ps,
// abc2midi, rsvg-convert, fluidsynth...): argv in, exit status and captured output back, no
// shell in between (so file names are never re-parsed). Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lyra::art {

struct ProcessResult {
    int exit_code = -1;  // -1 when killed by a signal or the timeout
    bool timed_out = false;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Runs argv[0] (searched on PATH) with `input` on its stdin; kills it after timeout_s seconds.
// Throws Error(NotFound) when the program is not installed, naming `package` (the Debian
// package that provides it) in the hint.
ProcessResult run_process(const std::vector<std::string>& argv, std::string_view input = {},
                          double timeout_s = 60, std::string_view package = {});

// The program's full path on PATH, or "" when it is not installed.
std::string find_program(std::string_view name);

}  // namespace lyra::art
