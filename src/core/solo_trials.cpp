#include "core/solo_trials.h"

#include <algorithm>

namespace lyra::core {

int64_t SoloTrials::end_window(int64_t window_ns, bool troubled) {
    if (trial_) {
        trial_ = false;
        if (window_ns < pooled_median()) {
            backoff_windows_ = kMinBackoffWindows;
            return kSoloRegions;
        }
        trials_blocked_ = backoff_windows_;
        backoff_windows_ = std::min(kMaxBackoffWindows, 2 * backoff_windows_);
        return 0;
    }
    pooled_ns_[pooled_next_] = window_ns;
    pooled_next_ = (pooled_next_ + 1) % kPooledWindowsKept;
    pooled_kept_ = std::min(kPooledWindowsKept, pooled_kept_ + 1);
    if (trials_blocked_ > 0)
        --trials_blocked_;
    else if (troubled)
        trial_ = true;
    return 0;
}

// The median of the kept windows (the upper one of an even count): the window with exactly
// kept / 2 windows before it in (time, index) order. At most 8, so counting beats sorting a copy.
int64_t SoloTrials::pooled_median() const {
    for (int i = 0; i < pooled_kept_; ++i) {
        int before = 0;
        for (int j = 0; j < pooled_kept_; ++j)
            before += pooled_ns_[j] < pooled_ns_[i] || (pooled_ns_[j] == pooled_ns_[i] && j < i) ? 1 : 0;
        if (before == pooled_kept_ / 2) return pooled_ns_[i];
    }
    return 0;  // no window kept: nothing to beat (a trial always follows a kept window)
}

}  // namespace lyra::core
