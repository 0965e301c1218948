// AtomicFile: writes `path` as `path.tmp`, and only commit() flushes, fsyncs and renames it
// into place. If the object dies without commit() (an exception, a bad input), the temp file is
// removed and `path` is untouched — the "no half-written file" rule. Throws lyra::Error(Io).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace lyra::core {

class AtomicFile {
public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, size_t n);
    void write(std::string_view s) { write(s.data(), s.size()); }
    // Pads with zero bytes up to the next multiple of `alignment` (relative to the file start).
    void pad_to(size_t alignment);
    size_t bytes_written() const { return written_; }
    void commit();

private:
    std::string path_;
    std::string tmp_path_;
    std::FILE* file_ = nullptr;
    size_t written_ = 0;
    bool committed_ = false;
};

// Writes a whole file atomically.
void write_file_atomic(const std::string& path, std::string_view contents);

}  // namespace lyra::core
