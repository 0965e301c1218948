#!/usr/bin/env bash
# The main job from nothing: dependencies, release build, then `lyra demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/release/bin/lyra demo -o "${1:-demo-out}"
