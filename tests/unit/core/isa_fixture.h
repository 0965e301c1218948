// Shared by the kernel tests: the kernel variants this CPU can run, a fixture that puts the
// best one back after each test, so a test that forces a variant leaves the default for the
// tests after it, and seeded normal test data.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/ops.h"

namespace lyra::core {

inline std::vector<std::string> available_isas() {
    std::vector<std::string> out;
    for (const char* n : {"scalar", "avx2", "avx512"})
        if (force_kernel_isa(n)) out.emplace_back(n);
    return out;
}

// n values ~ N(0, sigma²), the same for the same seed.
inline std::vector<float> randn(size_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

class IsaRestoringTest : public ::testing::Test {
protected:
    void TearDown() override {
        for (const char* n : {"avx512", "avx2", "scalar"})
            if (force_kernel_isa(n)) break;
    }
};

}  // namespace lyra::core
