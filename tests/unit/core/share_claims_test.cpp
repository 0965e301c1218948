// core::ShareClaims: every item of a region is claimed exactly once, in claims that start on a
// granule, whether the shares run one after another on one thread (a pool whose worker came late)
// or at once on several; a share starts with its own contiguous range and only then takes from
// the others'.
#include "core/share_claims.h"

#include <gtest/gtest.h>

#include <atomic>
#include <utility>
#include <vector>

#include "core/thread_pool.h"

namespace lyra::core {
namespace {

TEST(ShareClaims, OneThreadRunningEveryShareClaimsEachItemOnceAndTheFirstTakesAll) {
    ShareClaims claims;
    claims.reset(100, 3, 4);
    std::vector<int> seen(100, 0);
    std::vector<std::pair<int64_t, int64_t>> order;
    const auto record = [&](int64_t b, int64_t e) {
        order.emplace_back(b, e);
        for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
    };
    EXPECT_EQ(claims.run(0, 8, record), 100);
    EXPECT_EQ(claims.run(1, 8, record), 0);  // nothing left for the shares that come late
    EXPECT_EQ(claims.run(2, 8, record), 0);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], 1) << "item " << i;
    // Share 0's own range first (tiles 0..7 of 25: items 0..31), then share 1's, then share 2's.
    ASSERT_FALSE(order.empty());
    EXPECT_EQ(order.front(), std::make_pair(int64_t{0}, int64_t{8}));
    EXPECT_EQ(order[4], std::make_pair(int64_t{32}, int64_t{40}));
    EXPECT_EQ(order.back().second, 100);
    for (const auto& [b, e] : order) {
        EXPECT_EQ(b % 4, 0) << "claim [" << b << ", " << e << ") splits a granule";
        EXPECT_LE(e - b, 8);
    }
}

TEST(ShareClaims, AShareStartsWithItsOwnRange) {
    ShareClaims claims;
    claims.reset(64, 2, 16);
    std::vector<int64_t> starts;
    claims.run(1, 16, [&](int64_t b, int64_t) { starts.push_back(b); });
    EXPECT_EQ(starts, (std::vector<int64_t>{32, 48, 0, 16}));
}

TEST(ShareClaims, EmptyAndTinyRegions) {
    ShareClaims claims;
    claims.reset(0, 4, 16);
    int calls = 0;
    for (int s = 0; s < 4; ++s) EXPECT_EQ(claims.run(s, 16, [&](int64_t, int64_t) { ++calls; }), 0);
    EXPECT_EQ(calls, 0);
    claims.reset(3, 4, 16);  // fewer items than one granule: the last share's range holds them
    int64_t total = 0;
    for (int s = 0; s < 4; ++s) total += claims.run(s, 16, [&](int64_t b, int64_t e) { EXPECT_EQ(b, 0); EXPECT_EQ(e, 3); });
    EXPECT_EQ(total, 3);
}

// Many regions on more threads than this machine has cores: workers are descheduled mid-region,
// the caller steals their ranges, and still no item is lost or run twice.
TEST(ShareClaims, ConcurrentSharesClaimEachItemOnce) {
    ThreadPool pool(4);
    ShareClaims claims;
    for (int region = 0; region < 300; ++region) {
        const int64_t n = (region * 37) % 500;
        const int64_t granule = region % 3 == 0 ? 16 : 4;
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        std::atomic<int64_t> ran{0}, misaligned{0};
        claims.reset(n, pool.size(), granule);
        pool.run([&](int ith, int) {
            ran += claims.run(ith, 2 * granule, [&](int64_t b, int64_t e) {
                if (b % granule != 0) ++misaligned;
                for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)].fetch_add(1);
            });
        });
        ASSERT_EQ(ran.load(), n) << "region " << region;
        EXPECT_EQ(misaligned.load(), 0);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1) << "region " << region << " item " << i;
    }
}

}  // namespace
}  // namespace lyra::core
