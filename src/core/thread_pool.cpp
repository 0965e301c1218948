#include "core/thread_pool.h"

#include <algorithm>
#include <thread>

#include "core/clock.h"
#include "core/cpu_relax.h"

namespace lyra::core {
namespace {
// How many spins a worker waits for the next region before sleeping (~50-100 µs).
constexpr int kSpinsBeforeSleep = 20000;
// A stall: the caller, done with its shares, waited this long for a worker still inside the
// region, and longer than its own shares took (an unevenly split region is not a stall).
constexpr int64_t kStallNs = 200'000;
// Stalls in a window of regions that make the caller test running alone (SoloTrials).
constexpr int kStallsToGoSolo = 4;
// Regions with this much work for the caller are ones a spinning worker joins within a
// microsecond or two; if it takes no share of three quarters of them (idle score: +1 for each it
// missed, -3 for each it joined), the workers are not getting the CPU. Shorter regions say nothing:
// the caller may finish those before any worker could.
constexpr int64_t kIdleMinNs = 20'000;
constexpr int kIdleScoreToGoSolo = 32;
constexpr int64_t kStallWindow = 256;

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    n_threads_ = n_threads;
    workers_.reserve(static_cast<size_t>(n_threads - 1));
    for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::run_shares(TaskFn fn, const void* ctx) {
    for (int share; (share = next_share_.fetch_add(1)) < n_threads_;) fn(ctx, share, n_threads_);
}

void ThreadPool::run_erased(TaskFn fn, const void* ctx) {
    if (n_threads_ == 1) {
        fn(ctx, 0, 1);
        return;
    }
    if (solo_left_ > 0) {  // a busy machine: every share on this thread, in share order
        --solo_left_;
        run_alone(fn, ctx);
        return;
    }
    const int64_t start = steady_ns();
    if (trials_.trial()) {
        run_alone(fn, ctx);
        window_ns_ += steady_ns() - start;
        if (++regions_seen_ == kStallWindow) end_window();
        return;
    }
    task_fn_ = fn;
    task_ctx_ = ctx;
    // Share 0 is the caller's; workers claim from 1. split_range and parallel_for put the empty
    // chunks last and never make the first one smaller than another, so the caller always holds
    // real work and t1 - t0 below is the time of a full share. When workers could win share 0
    // (15 spinning workers beat the caller to it about as often as not), a region with fewer
    // items than threads — a training dW product has 3-9 column panels — left the caller an
    // empty share: it waited the whole region, the wait counted as a stall, and four of them per
    // 256 regions sent a 4- or 16-thread pool solo for 4096 regions (dozens of training steps).
    next_share_.store(1);
    {
        // Publishing under the mutex pairs with the sleepers' predicate check, so no wake is lost.
        std::lock_guard<std::mutex> lock(mutex_);
        const uint64_t g = generation_.load() + 1;
        open_.store(g);
        generation_.store(g);
    }
    if (sleeping_.load() > 0) wake_.notify_all();
    const int64_t t0 = steady_ns();
    fn(ctx, 0, n_threads_);
    int mine = 1;
    for (int share; (share = next_share_.fetch_add(1)) < n_threads_; ++mine) fn(ctx, share, n_threads_);
    const int64_t t1 = steady_ns();
    // Every share is claimed. Close the region, then wait for the workers that got in: a worker
    // bumps active_ before it checks open_, and the caller stores open_ before it reads active_
    // (all sequentially consistent), so either the caller sees that worker, or the worker sees
    // the region closed. Yield once a straggler is clearly descheduled (an oversubscribed
    // machine), so the caller doesn't burn the core that worker needs.
    open_.store(0);
    for (int spins = 0; active_.load() != 0; ++spins) {
        if (spins < kSpinsBeforeSleep)
            cpu_relax();
        else
            std::this_thread::yield();
    }
    task_fn_ = nullptr;
    task_ctx_ = nullptr;
    const int64_t end = steady_ns();
    const int64_t waited = end - t1;
    const int64_t waited_inside = waited_inside_ns_.exchange(0, std::memory_order_relaxed);
    if ((waited > kStallNs && waited > t1 - t0) || waited_inside > kStallNs) ++stalls_;
    if (t1 - t0 > kIdleMinNs) idle_ += mine == n_threads_ ? 1 : -3;
    window_ns_ += end - start;
    if (++regions_seen_ == kStallWindow) end_window();
}

void ThreadPool::run_alone(TaskFn fn, const void* ctx) {
    for (int share = 0; share < n_threads_; ++share) fn(ctx, share, n_threads_);
    waited_inside_ns_.store(0, std::memory_order_relaxed);  // one thread has nobody to wait for
}

void ThreadPool::end_window() {
    solo_left_ = trials_.end_window(window_ns_, stalls_ >= kStallsToGoSolo || idle_ >= kIdleScoreToGoSolo);
    stalls_ = 0;
    idle_ = 0;
    regions_seen_ = 0;
    window_ns_ = 0;
}

void ThreadPool::worker_loop() {
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        uint64_t g;
        while ((g = generation_.load(std::memory_order_acquire)) == seen) {
            if (++spins < kSpinsBeforeSleep) {
                cpu_relax();
                continue;
            }
            std::unique_lock<std::mutex> lock(mutex_);
            sleeping_.fetch_add(1);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
            sleeping_.fetch_sub(1);
            spins = 0;
        }
        seen = g;
        if (stop_.load()) return;
        active_.fetch_add(1);
        if (open_.load() == g) run_shares(task_fn_, task_ctx_);
        active_.fetch_sub(1);
    }
}

}  // namespace lyra::core
