// The studio page (web/) in Debian's chromium via playwright-core: tests/e2e/studio_page_test.mjs
// starts `lyra serve` serving web/, opens every tab, fails on any console error, and saves a
// screenshot per tab under build/studio-page-screens/. A second case opens the page straight from
// disk (no server). Skipped when node, chromium or playwright-core is not installed.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "cli_runner.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;

bool browser_tools_present() {
    return fs::exists("/usr/bin/node") && fs::exists("/usr/bin/chromium") &&
           fs::exists(source_dir() + "/node_modules/playwright-core/package.json");
}

TEST(StudioPage, LoadsInChromiumFromTheServerWithNoConsoleErrors) {
    if (!browser_tools_present()) GTEST_SKIP() << "node, chromium or playwright-core missing (scripts/setup.sh)";
    const RunResult r = run_program("/usr/bin/node", {source_dir() + "/tests/e2e/studio_page_test.mjs"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("screenshots in"), std::string::npos) << r.out << r.err;
}

TEST(StudioPage, LoadsStaticallyFromDisk) {
    if (!browser_tools_present()) GTEST_SKIP() << "node, chromium or playwright-core missing (scripts/setup.sh)";
    const RunResult r =
        run_program("/usr/bin/node", {source_dir() + "/tests/e2e/studio_page_test.mjs", "--static"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace lyra::e2e
