// Fuzz harness helper: the readers map files, so each input is written to one temporary file
// per process (in /dev/shm when it exists, to keep it off the disk) and opened from there.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace lyra::fuzz {

inline const std::string& input_path(const char* ext) {
    static const std::string path = [&] {
        const std::string dir = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
        return dir + "/lyra_fuzz_" + std::to_string(::getpid()) + ext;
    }();
    return path;
}

// Writes the input; returns false if the file could not be written (then skip the input).
inline bool write_input(const std::string& path, const uint8_t* data, size_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
    return std::fclose(f) == 0 && ok;
}

}  // namespace lyra::fuzz
