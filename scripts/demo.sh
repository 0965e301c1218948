#!/usr/bin/env bash
# The main job from nothing: dependencies, release build, then `lyra demo` (one work of every
# art form with the embedded models; docs/studio.md). Output: demo-out/ or $1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/release/bin/lyra demo -o "${1:-demo-out}" --threads "${LYRA_DEMO_THREADS:-2}"
echo "open ${1:-demo-out}/index.html"
