// MappedFile::release_pages (packed weights give back the file's pages they replace): the pages
// leave the process (the mapping's Rss in /proc/self/smaps drops), the bytes read afterwards are
// still the file's, and ranges it cannot use are left alone. ZeroedBuffer (a KV cache's memory):
// zeroed, aligned, and moved rather than copied, at sizes that take fresh pages from the system
// and ones that reuse the heap's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/mmap.h"

namespace lyra::core {
namespace {

// The resident kB of the mapping of `path` in this process, or -1 when it is not mapped.
int64_t mapping_rss_kb(const std::string& path) {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool in_mapping = false;
    while (std::getline(smaps, line)) {
        const bool header = !line.empty() && line.find(':') != std::string::npos &&
                            line.find('-') < line.find(' ') && line.find(' ') != std::string::npos &&
                            std::isxdigit(static_cast<unsigned char>(line[0]));
        if (header) {
            in_mapping = line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0;
        } else if (in_mapping && line.rfind("Rss:", 0) == 0) {
            return std::stoll(line.substr(4));
        }
    }
    return -1;
}

class MappedFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = (std::filesystem::temp_directory_path() / ("lyra_mmap_test_" + std::to_string(getpid()))).string();
        bytes_.resize(4 << 20);
        for (size_t i = 0; i < bytes_.size(); ++i) bytes_[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
        std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes_.data()),
                                                      static_cast<std::streamsize>(bytes_.size()));
    }
    void TearDown() override { std::filesystem::remove(path_); }

    uint64_t checksum(const MappedFile& f) const {
        uint64_t s = 0;
        for (size_t i = 0; i < f.size(); ++i) s = s * 31 + f.data()[i];
        return s;
    }

    std::string path_;
    std::vector<uint8_t> bytes_;
};

TEST_F(MappedFileTest, ReleasedPagesLeaveTheProcessAndReadBackAsTheFile) {
    const MappedFile f(path_);
    ASSERT_EQ(f.size(), bytes_.size());
    uint64_t want = 0;
    for (uint8_t b : bytes_) want = want * 31 + b;
    EXPECT_EQ(checksum(f), want);  // every page read once: all resident
    const int64_t before = mapping_rss_kb(path_);
    ASSERT_GE(before, 3500) << "the whole 4 MB map should be resident after reading it";
    // Three of the four megabytes, from an address inside a page.
    f.release_pages(f.data() + 1000, 3 << 20);
    const int64_t after = mapping_rss_kb(path_);
    EXPECT_LE(after, before - 3000) << "before " << before << " kB, after " << after << " kB";
    EXPECT_EQ(checksum(f), want);  // read again: the file's bytes
    EXPECT_EQ(0, std::memcmp(f.data(), bytes_.data(), bytes_.size()));
}

TEST_F(MappedFileTest, RangesOutsideTheMapOrWithoutAWholePageAreLeftAlone) {
    const MappedFile f(path_);
    const uint64_t want = checksum(f);
    const int64_t before = mapping_rss_kb(path_);
    std::vector<uint8_t> heap(1 << 20, 7);
    f.release_pages(heap.data(), heap.size());           // not this map: heap memory must survive
    EXPECT_EQ(heap[12345], 7);
    f.release_pages(f.data() + f.size() - 100, 4096);    // runs past the end
    f.release_pages(f.data() + 10, 100);                  // no whole page inside
    f.release_pages(f.data() - 4096, 8192);               // starts before the map
    EXPECT_EQ(mapping_rss_kb(path_), before);
    EXPECT_EQ(checksum(f), want);
}

// Made again and again at a KV cache's sizes (fresh pages from the system, then memory the heap
// had given back, with the last owner's bytes in it): every byte zero, 64-byte aligned, writable.
TEST(ZeroedBuffer, IsZeroedAlignedAndWritableAtEverySize) {
    for (const size_t bytes : {size_t{1}, size_t{100}, size_t{4096}, size_t{65537}, size_t{4} << 20, size_t{3} << 20}) {
        for (int round = 0; round < 3; ++round) {
            ZeroedBuffer b(bytes);
            ASSERT_EQ(b.size(), bytes);
            ASSERT_NE(b.data(), nullptr);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u) << bytes;
            size_t nonzero = 0;
            for (size_t i = 0; i < bytes; ++i) nonzero += b.data()[i] != 0;
            EXPECT_EQ(nonzero, 0u) << bytes << " bytes, round " << round;
            std::memset(b.data(), 0xA5, bytes);  // the next round's buffer may reuse these bytes
            EXPECT_EQ(b.as<uint32_t>()[0] & 0xFF, 0xA5u);
        }
    }
}

TEST(ZeroedBuffer, EmptyHoldsNothingAndMovesTransferOwnership) {
    const ZeroedBuffer none(0);
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(none.data(), nullptr);
    EXPECT_TRUE(ZeroedBuffer().empty());

    ZeroedBuffer a(8192);
    a.data()[8191] = 42;
    uint8_t* const held = a.data();
    ZeroedBuffer b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(b.data(), held);
    EXPECT_EQ(b.data()[8191], 42);

    ZeroedBuffer c(16);
    c = std::move(b);  // c's own 16 bytes are freed, b's taken over
    EXPECT_EQ(c.data(), held);
    EXPECT_EQ(c.size(), 8192u);
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace lyra::core
