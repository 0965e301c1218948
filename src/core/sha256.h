// SHA-256 (FIPS 180-4), for content hashes in provenance records (the gallery stores the hash
// of the model file that made each work). Streaming; not thread-safe per object.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace lyra::core {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::array<uint8_t, 32> digest();  // finishes the hash; the object is then spent
    std::string hex_digest();

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);
// Hashes a file in chunks; throws Error(NotFound/Io).
std::string sha256_file_hex(const std::string& path);

}  // namespace lyra::core
