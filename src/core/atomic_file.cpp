#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "core/error.h"

namespace lyra::core {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_path_(path_ + ".tmp") {
    file_ = std::fopen(tmp_path_.c_str(), "wb");
    if (!file_) throw_error(ErrorKind::Io, "'{}': cannot create: {}", tmp_path_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
    if (file_) std::fclose(file_);
    if (!committed_) std::remove(tmp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
    if (n == 0) return;
    if (std::fwrite(data, 1, n, file_) != n)
        throw_error(ErrorKind::Io, "'{}': write failed: {}", tmp_path_, std::strerror(errno));
    written_ += n;
}

void AtomicFile::pad_to(size_t alignment) {
    const size_t rem = written_ % alignment;
    if (rem == 0) return;
    const std::vector<char> zeros(alignment - rem, 0);
    write(zeros.data(), zeros.size());
}

void AtomicFile::commit() {
    if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
        throw_error(ErrorKind::Io, "'{}': flush failed: {}", tmp_path_, std::strerror(errno));
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) throw_error(ErrorKind::Io, "'{}': close failed: {}", tmp_path_, std::strerror(errno));
    if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
        throw_error(ErrorKind::Io, "'{}': rename failed: {}", path_, std::strerror(errno));
    committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view contents) {
    AtomicFile f(path);
    f.write(contents);
    f.commit();
}

}  // namespace lyra::core
