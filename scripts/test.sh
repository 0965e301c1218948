#!/usr/bin/env bash
# Everything from nothing: dependencies, release build, every test layer except `slow`,
# then the libFuzzer targets for a short run each. Ends with CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
status=0
ctest --preset release -j "$(nproc)" || status=$?
if [[ -x scripts/fuzz.sh ]]; then
  scripts/fuzz.sh || status=1
fi
exit $status
