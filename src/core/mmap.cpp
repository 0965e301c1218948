#include "core/mmap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <utility>

#include "core/error.h"

namespace lyra::core {

namespace {
// MADV_POPULATE_WRITE's value (Linux 5.14 and later); older headers lack the name, and an older
// kernel answers EINVAL, which leaves the pages to fault in as written.
#ifdef MADV_POPULATE_WRITE
constexpr int kMadvPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kMadvPopulateWrite = 23;
#endif
constexpr size_t kAlign = 64;
}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const ErrorKind kind = errno == ENOENT ? ErrorKind::NotFound : ErrorKind::Io;
        throw_error(kind, "'{}': cannot open: {}", path, std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw_error(ErrorKind::Io, "'{}': not a regular file", path);
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            throw_error(ErrorKind::Io, "'{}': cannot map {} bytes: {}", path, size_, std::strerror(errno));
        }
        data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);  // NOLINT: munmap wants non-const
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);  // NOLINT
        path_ = std::move(other.path_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void MappedFile::release_pages(const void* p, size_t n) const {
    const auto begin = reinterpret_cast<uintptr_t>(p), end = begin + n;
    const auto map_begin = reinterpret_cast<uintptr_t>(data_);
    if (!data_ || begin < map_begin || end > map_begin + size_ || end < begin) return;
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
    // MADV_DONTNEED on a private, never-written file mapping: the pages refault from the file.
    if (first < last) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

ZeroedBuffer::ZeroedBuffer(size_t bytes) : size_(bytes) {
    if (bytes == 0) return;
    // Pages malloc takes from the system arrive a fault at a time; asking for them all first
    // brings them in one call (ignored by a kernel before 5.14), and the memset then finds them
    // present. Reused heap memory is present already, and the call finds nothing to do.
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign));
    if (p == nullptr) throw std::bad_alloc();
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<uintptr_t>(p), end = begin + bytes;
    const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
    if (first < last) (void)::madvise(reinterpret_cast<void*>(first), last - first, kMadvPopulateWrite);
    std::memset(p, 0, bytes);
    data_ = p;
}

ZeroedBuffer::~ZeroedBuffer() { std::free(data_); }

ZeroedBuffer::ZeroedBuffer(ZeroedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

ZeroedBuffer& ZeroedBuffer::operator=(ZeroedBuffer&& other) noexcept {
    if (this != &other) {
        std::free(data_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        struct stat st {};
        const ErrorKind kind = ::stat(path.c_str(), &st) != 0 ? ErrorKind::NotFound : ErrorKind::Io;
        throw_error(kind, "'{}': cannot open for reading", path);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw_error(ErrorKind::Io, "'{}': read failed", path);
    return ss.str();
}

}  // namespace lyra::core
