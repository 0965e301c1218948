#!/usr/bin/env bash
# Configures and builds the release preset (incremental after the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
