// SoloTrials: whether a thread pool's caller should run every share itself for a while.
// A pool notices two kinds of trouble over a window of regions: it waited long for a worker inside
// a region (one that lost its core mid-share), or its workers missed most regions (they are not
// getting the CPU, and their spinning takes it from the caller). Neither proves the workers cost
// more than they give: even a quiet VM takes a worker's core away for a millisecond now and then,
// and a pool that went solo on every few such stalls decoded at one thread's speed on two quiet
// cores. So trouble only starts a trial: the next window runs alone and is timed against the
// median of the recent windows run with workers (a window's regions are much like the last ones':
// a decode token is ~100 regions, a window 2-3 tokens; the median leaves out the rare window a
// preempted worker slowed). Alone is kept for a stretch of regions only if it was faster; if not,
// the next trials wait longer and longer, so steady trouble that the workers still beat costs at
// most one window alone in 129.
// Pure bookkeeping on the times it is given (no clock, no threads), so it is tested as such.
#pragma once

#include <cstdint>

namespace lyra::core {

class SoloTrials {
public:
    static constexpr int64_t kSoloRegions = 4096;  // the stretch alone after a trial it won
    static constexpr int64_t kMinBackoffWindows = 8;
    static constexpr int64_t kMaxBackoffWindows = 128;
    static constexpr int kPooledWindowsKept = 8;

    // Whether the window now starting runs alone as a trial.
    bool trial() const { return trial_; }

    // Closes a window that took `window_ns` of wall time inside its regions; `troubled`: the pool
    // saw stalls or idle workers in it (ignored for a trial window). Returns how many regions to
    // run alone from now on (kSoloRegions after a trial alone beat the pooled median, else 0).
    int64_t end_window(int64_t window_ns, bool troubled);

private:
    int64_t pooled_median() const;

    int64_t pooled_ns_[kPooledWindowsKept] = {};
    int pooled_kept_ = 0;
    int pooled_next_ = 0;
    bool trial_ = false;
    int64_t trials_blocked_ = 0;
    int64_t backoff_windows_ = kMinBackoffWindows;
};

}  // namespace lyra::core
