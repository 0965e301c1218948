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

// ZeroedBuffer: `bytes` zeroed bytes (RAII, 64-byte aligned) whose pages are all made present
// in one call when it is made (MADV_POPULATE_WRITE), rather than a fault at a time as the zeroing
// first writes them. For buffers of megabytes that are made often, a KV cache above all: on the
// two-core VM a page fault costs ~10 us, so a fresh 4 MB std::vector took 11-12 ms to zero, and
// the batched server's scheduler made a session for each sequence that joined while the others
// waited (8 clients arriving at once: the last one's first token after 113 ms). The memory comes
// from malloc like a vector's: a batched decode step over caches in anonymous maps of their own
// ran 3-10% slower than over caches on the heap. Throws std::bad_alloc when there is no memory.
class ZeroedBuffer {
public:
    ZeroedBuffer() = default;
    explicit ZeroedBuffer(size_t bytes);
    ~ZeroedBuffer();
    ZeroedBuffer(const ZeroedBuffer&) = delete;
    ZeroedBuffer& operator=(const ZeroedBuffer&) = delete;
    ZeroedBuffer(ZeroedBuffer&& other) noexcept;
    ZeroedBuffer& operator=(ZeroedBuffer&& other) noexcept;

    uint8_t* data() { return data_; }
    const uint8_t* data() const { return data_; }
    // The bytes as elements of T (64-byte aligned, so aligned for any scalar or SIMD T).
    template <typename T>
    T* as() {
        return reinterpret_cast<T*>(data_);
    }
    template <typename T>
    const T* as() const {
        return reinterpret_cast<const T*>(data_);
    }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// Reads a whole file into a string. Throws lyra::Error(NotFound/Io).
std::string read_file(const std::string& path);

}  // namespace lyra::core
