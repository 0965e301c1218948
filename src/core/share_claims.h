// ShareClaims: the items [0, n) of one thread-pool region, handed out so that claiming them costs
// no traffic between cores until the work runs out. The items are split into one contiguous range
// per share (ThreadPool::run's ith), each with its own claim counter on a cache line of its own.
// A share claims `grain` items at a time from its own range, then from the others' ranges (the
// items a late, descheduled or slower share has not reached). Every item is claimed exactly once,
// whoever runs the shares, so a region whose shares all run on the caller (a late worker) still
// covers every item.
// Why not one shared counter: on a two-core VM a cache line takes ~230 ns to move from one core to
// the other, and a batched decode step's matmul regions, claiming 64-row blocks from one counter,
// moved it at nearly every claim: perf put a tenth of the region's own time on the compare-and-swap
// and the load before it.
// The caller sets it up (reset) before the region; the shares only claim. Not for nested use: one
// region at a time per object.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

namespace lyra::core {

class ShareClaims {
public:
    // n items over nth shares; each range but the last is a multiple of `granule` items (a kernel's
    // row tile), so a claim never splits a tile.
    void reset(int64_t n, int nth, int64_t granule) {
        if (nth > capacity_) {
            ranges_ = std::make_unique<Range[]>(static_cast<size_t>(nth));
            capacity_ = nth;
        }
        nth_ = nth;
        const int64_t tiles = (n + granule - 1) / granule;
        for (int i = 0; i < nth; ++i) {
            const int64_t begin = std::min(n, tiles * i / nth * granule);
            const int64_t end = std::min(n, tiles * (i + 1) / nth * granule);
            ranges_[i].next.store(begin, std::memory_order_relaxed);
            ranges_[i].end = end;
        }
    }

    // Runs fn(begin, end) on claims of up to `grain` items (a multiple of the granule): share ith's
    // own range first, then the others' in turn. Returns how many items this call ran.
    template <typename Fn>
    int64_t run(int ith, int64_t grain, const Fn& fn) {
        int64_t ran = 0;
        for (int k = 0; k < nth_; ++k) {
            Range& r = ranges_[(ith + k) % nth_];
            for (int64_t b; (b = r.next.fetch_add(grain, std::memory_order_relaxed)) < r.end;) {
                const int64_t e = std::min(r.end, b + grain);
                fn(b, e);
                ran += e - b;
            }
        }
        return ran;
    }

private:
    struct alignas(64) Range {
        std::atomic<int64_t> next{0};
        int64_t end = 0;
    };
    std::unique_ptr<Range[]> ranges_;
    int capacity_ = 0;
    int nth_ = 0;
};

}  // namespace lyra::core
