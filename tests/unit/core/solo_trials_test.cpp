// core::SoloTrials: trouble in a window only starts a trial alone; the pool runs alone for a
// stretch only when the trial beat the median window run with workers; lost trials push the next
// ones further apart. Window times here are made up (the policy reads no clock).
#include "core/solo_trials.h"

#include <gtest/gtest.h>

namespace lyra::core {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(SoloTrials, NoTroubleNeverTriesAlone) {
    SoloTrials trials;
    for (int w = 0; w < 1000; ++w) {
        EXPECT_FALSE(trials.trial());
        EXPECT_EQ(trials.end_window((w % 7 + 1) * kMs, false), 0);
    }
}

TEST(SoloTrials, TroubleStartsOneTrialAndAFasterTrialRunsAloneForAStretch) {
    SoloTrials trials;
    EXPECT_EQ(trials.end_window(10 * kMs, true), 0);
    ASSERT_TRUE(trials.trial());
    EXPECT_EQ(trials.end_window(6 * kMs, false), SoloTrials::kSoloRegions);
    EXPECT_FALSE(trials.trial());  // the stretch alone is the pool's to count, not a trial
}

// A quiet VM: 4 stalls in one window, but the workers halve the time. The trial alone loses,
// the workers stay, and trouble in the next 8 windows starts no trial; then the wait doubles.
TEST(SoloTrials, ALostTrialKeepsTheWorkersAndTheNextTrialsWaitLonger) {
    SoloTrials trials;
    for (int w = 0; w < 3; ++w) trials.end_window(5 * kMs, false);
    trials.end_window(9 * kMs, true);  // a window a preempted worker slowed
    ASSERT_TRUE(trials.trial());
    EXPECT_EQ(trials.end_window(10 * kMs, true), 0);  // alone: slower than the median 5 ms

    auto windows_until_trial = [&] {
        int waited = 0;
        while (!trials.trial()) {
            EXPECT_EQ(trials.end_window(5 * kMs, true), 0);  // trouble in every window
            ++waited;
            if (waited > 1000) break;
        }
        return waited;
    };
    EXPECT_EQ(windows_until_trial(), SoloTrials::kMinBackoffWindows + 1);
    EXPECT_EQ(trials.end_window(10 * kMs, false), 0);  // lost again
    EXPECT_EQ(windows_until_trial(), 2 * SoloTrials::kMinBackoffWindows + 1);
    for (int lost = 0; lost < 10; ++lost) {
        EXPECT_EQ(trials.end_window(10 * kMs, false), 0);
        EXPECT_LE(windows_until_trial(), SoloTrials::kMaxBackoffWindows + 1);
    }
}

// The median, not the mean or the last window: one window slowed by a preempted worker does not
// let a slower trial alone win, and one lucky fast window does not make a faster one lose.
TEST(SoloTrials, TheTrialIsJudgedAgainstTheMedianPooledWindow) {
    {
        SoloTrials trials;
        for (int64_t ms : {5, 5, 5, 5, 5, 5, 5}) trials.end_window(ms * kMs, false);
        trials.end_window(100 * kMs, true);  // last and slowest: the trouble
        ASSERT_TRUE(trials.trial());
        EXPECT_EQ(trials.end_window(8 * kMs, false), 0);
    }
    {
        SoloTrials trials;
        for (int64_t ms : {1, 12, 12, 12, 12}) trials.end_window(ms * kMs, false);
        trials.end_window(12 * kMs, true);
        ASSERT_TRUE(trials.trial());
        EXPECT_EQ(trials.end_window(11 * kMs, false), SoloTrials::kSoloRegions);  // mean 10.2
    }
}

// A won trial resets the wait: after the stretch alone, the next trouble is tried at once.
TEST(SoloTrials, AWonTrialResetsTheWait) {
    SoloTrials trials;
    trials.end_window(5 * kMs, true);
    trials.end_window(9 * kMs, false);  // lost: the wait is now 8 windows, then 16
    for (int w = 0; w < SoloTrials::kMinBackoffWindows; ++w) trials.end_window(5 * kMs, true);
    trials.end_window(5 * kMs, true);
    ASSERT_TRUE(trials.trial());
    EXPECT_EQ(trials.end_window(1 * kMs, false), SoloTrials::kSoloRegions);
    trials.end_window(5 * kMs, true);  // the pool's first window with workers after the stretch
    EXPECT_TRUE(trials.trial());
}

}  // namespace
}  // namespace lyra::core
