// MappedFile: a read-only memory map of a whole file (RAII). Model weights are used in place
// from the map, so loading costs no copy. Throws lyra::Error(NotFound/Io) if the file can't be
// opened or mapped. An empty file maps to size() == 0 and data() == nullptr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lyra::core {

class MappedFile {
public:
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Gives back the memory of the whole pages inside [p, p + n), a range of this map that a
    // copy has replaced (packed weights): the process stops holding them, and a later read
    // brings the file's bytes back in, so the map's contents never change. A range outside
    // the map, or one holding no whole page, is left alone.
    void release_pages(const void* p, size_t n) const;

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// Reads a whole file into a string. Throws lyra::Error(NotFound/Io).
std::string read_file(const std::string& path);

}  // namespace lyra::core
