// Shared by the core kernel tests: the kernel variants this CPU can run, and a fixture that
// puts the best one back after each test, so a test that forces a variant leaves the default
// for the tests after it.
#pragma once

#include <gtest/gtest.h>

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

class IsaRestoringTest : public ::testing::Test {
protected:
    void TearDown() override {
        for (const char* n : {"avx512", "avx2", "scalar"})
            if (force_kernel_isa(n)) break;
    }
};

}  // namespace lyra::core
