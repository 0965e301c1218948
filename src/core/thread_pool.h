// ThreadPool: a fixed set of worker threads that run one parallel region at a time.
// The token loop enters ~100 short regions per token, so workers spin briefly on an atomic
// generation counter before sleeping; a region costs about a microsecond, not a futex round trip.
// A region's nth shares (fn(ith, nth) for ith < nth) are claimed by whichever threads are there:
// the caller takes shares until none are left, then closes the region and waits only for
// workers already inside it. A worker that was descheduled (a busy machine) and wakes late finds
// the region closed and skips it, so it never stalls the caller; its shares ran on the caller.
// Shares therefore must not wait for one another; each runs on one thread at a time, so
// per-share scratch indexed by ith stays private.
// When the machine is busy the workers can cost more than they give: one that claimed a share
// may lose its core for a whole scheduler slice (the caller waits milliseconds for a region worth
// microseconds), or they arrive too late to take any share while their spinning takes CPU time
// from the caller (2 threads ran at half the speed of 1 whenever another process held a core).
// The caller notices both and then tests running alone for a window of regions (SoloTrials,
// core/solo_trials.h); if that was faster it runs every share itself for a while (workers left
// asleep), then tries the workers again. Which thread runs a share never changes a result, so
// neither does this.
// Not reentrant: one caller thread drives a pool at a time (each Session/Trainer passes its own).
// run()/parallel_for() take any callable by reference and erase its type through a plain
// function pointer, so entering a region never allocates (std::function would, for lambdas that
// capture more than two pointers — i.e. every kernel's).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/solo_trials.h"

namespace lyra::core {

// A range split helper for kernels: the part of [0, n) that thread ith of nth owns.
inline void split_range(int64_t n, int ith, int nth, int64_t* begin, int64_t* end) {
    const int64_t chunk = (n + nth - 1) / nth;
    *begin = std::min<int64_t>(n, chunk * ith);
    *end = std::min<int64_t>(n, *begin + chunk);
}

class ThreadPool {
public:
    // `n_threads` counts the calling thread: 1 means no workers (everything runs inline).
    // 0 picks the number of hardware threads.
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(ith, nth) once for each ith < nth = size(), spread over the pool's threads (the
    // caller takes at least ith 0), and returns when all have finished. fn must not throw.
    template <typename Fn>
    void run(const Fn& fn) {
        run_erased([](const void* f, int ith, int nth) { (*static_cast<const Fn*>(f))(ith, nth); },
                   &fn);
    }

    // Splits [0, n) into contiguous chunks, one per thread: fn(begin, end). Empty chunks are
    // skipped.
    template <typename Fn>
    void parallel_for(int64_t n, const Fn& fn) {
        run([n, &fn](int ith, int nth) {
            int64_t b, e;
            split_range(n, ith, nth, &b, &e);
            if (b < e) fn(b, e);
        });
    }

    // A share that waits for work another share holds (matmul_group's quantized activation rows:
    // whoever claimed a row quantizes it, and the others wait for it) reports the wait here once
    // it is long. The pool cannot see such a wait, which happens inside a share, but it is the
    // trouble a straggler is: the claimant lost its core. A region whose reported waits pass the
    // stall threshold counts as a stall, so a busy machine that keeps a matmul waiting makes the
    // caller test running alone, as late workers do. Any thread inside a region may call it.
    void report_wait_ns(int64_t ns) { waited_inside_ns_.fetch_add(ns, std::memory_order_relaxed); }

private:
    using TaskFn = void (*)(const void* ctx, int ith, int nth);
    void run_erased(TaskFn fn, const void* ctx);
    void run_shares(TaskFn fn, const void* ctx);
    void run_alone(TaskFn fn, const void* ctx);
    void end_window();
    void worker_loop();

    int n_threads_;
    std::vector<std::thread> workers_;
    TaskFn task_fn_ = nullptr;
    const void* task_ctx_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<uint64_t> open_{0};    // the region workers may still join; 0 once the caller closed it
    std::atomic<int> next_share_{0};  // shares of the open region handed out so far
    std::atomic<int> active_{0};      // workers inside a region, or checking whether they may enter
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<int> sleeping_{0};
    std::atomic<int64_t> waited_inside_ns_{0};  // report_wait_ns's sum over the open region
    // The caller's own record (only the caller thread touches these): recent regions in which it
    // waited long for a straggler, or in which no worker took a share, and how many regions to run
    // alone before trying workers again.
    int stalls_ = 0;
    int idle_ = 0;
    int64_t regions_seen_ = 0;
    int64_t solo_left_ = 0;
    int64_t window_ns_ = 0;  // wall time inside this window's regions
    SoloTrials trials_;
};


}  // namespace lyra::core
