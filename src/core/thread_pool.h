// ThreadPool: a fixed set of worker threads that run one parallel region at a time.
// The token loop enters ~100 short regions per token, so workers spin briefly on an atomic
// generation counter before sleeping; a region costs about a microsecond, not a futex round trip.
// Not reentrant: one caller thread drives a pool at a time (each Session/Trainer passes its own).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lyra::core {

class ThreadPool {
public:
    // `n_threads` counts the calling thread: 1 means no workers (everything runs inline).
    // 0 picks the number of hardware threads.
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(ith, nth) once on each of the nth = size() threads (the caller is ith 0) and
    // returns when all have finished. fn must not throw.
    void run(const std::function<void(int ith, int nth)>& fn);

    // Splits [0, n) into contiguous chunks, one per thread: fn(begin, end).
    void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

private:
    void worker_loop(int ith);

    int n_threads_;
    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* task_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<int> sleeping_{0};
};

// A range split helper for kernels: the part of [0, n) that thread ith of nth owns.
inline void split_range(int64_t n, int ith, int nth, int64_t* begin, int64_t* end) {
    const int64_t chunk = (n + nth - 1) / nth;
    *begin = std::min<int64_t>(n, chunk * ith);
    *end = std::min<int64_t>(n, *begin + chunk);
}

}  // namespace lyra::core
