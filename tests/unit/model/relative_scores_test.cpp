// add_relative_scores (model/blocks.h), the position term Transformer-XL and XLNet add to their
// blocked q·k scores, against the plain form it replaced: one dot_f32 per key with the row of
// that key's (clamped) distance. The sums must be the same bits, so the logits of both
// architectures did not move when they moved to the blocked kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/ops.h"
#include "model/blocks.h"
#include "unit/core/isa_fixture.h"

namespace lyra::model::detail {
namespace {

class RelativeScores : public core::IsaRestoringTest {};

// Distances d0 - j for keys j < n, rows for d_lo .. d_hi in r (one head's slice of H heads).
// Covers Transformer-XL (d_lo 0, distances >= 0) and XLNet (keys after the query: negative
// distances, d_lo < 0, in rows of their own), runs of only negative, only positive and both
// kinds, with and without clamping, and n = 0.
TEST_F(RelativeScores, MatchAPerKeyDotWithTheClampedDistancesRow) {
    struct Case {
        int64_t d_lo, d0, clamp, n;
    };
    const Case cases[] = {{0, 0, 0, 1},  {0, 9, 0, 10}, {0, 30, 0, 12}, {0, 30, 5, 31}, {0, 4, 5, 5},
                          {-6, 9, 0, 16}, {-6, 2, 0, 9}, {-3, 12, 3, 16}, {-3, -1, 3, 3}, {0, 5, 0, 0}};
    constexpr int64_t H = 3, D = 40, h = 1, HD = H * D;
    for (const std::string& isa : core::available_isas()) {
        ASSERT_TRUE(core::force_kernel_isa(isa));
        for (const Case& c : cases) {
            SCOPED_TRACE(isa + " d_lo=" + std::to_string(c.d_lo) + " d0=" + std::to_string(c.d0) +
                         " clamp=" + std::to_string(c.clamp) + " n=" + std::to_string(c.n));
            const auto dist = [&c](int64_t d) { return c.clamp > 0 ? std::clamp(d, -c.clamp, c.clamp) : d; };
            const int64_t d_hi = dist(c.d0), n_rows = d_hi - c.d_lo + 1;
            const auto qr = core::randn(D, 1), r = core::randn(static_cast<size_t>(n_rows * HD), 2);
            const auto base = core::randn(static_cast<size_t>(c.n) + 1, 3);
            std::vector<float> want(base), got(base), tmp(static_cast<size_t>(c.n) + 1);
            for (int64_t j = 0; j < c.n; ++j)
                want[static_cast<size_t>(j)] += core::dot_f32(qr.data(), r.data() + (dist(c.d0 - j) - c.d_lo) * HD + h * D, D);
            // Rows d_lo .. -1 are the negative run, 0 .. d_hi the other.
            const RelativeRows rows{r.data() + h * D, -std::min<int64_t>(c.d_lo, 0), r.data() - c.d_lo * HD + h * D, HD};
            add_relative_scores(qr.data(), rows, c.d0, c.clamp, c.n, D, tmp.data(), got.data());
            ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)));  // past n untouched too
        }
    }
}

}  // namespace
}  // namespace lyra::model::detail
