#!/usr/bin/env bash
# Runs the inference benchmark (bench/README.md): builds bench_inference if it is missing, keeps
# the model files in BUILD/bench_out/models (created once, reused), prints the markdown table
# and leaves it with the JSON in BUILD/bench_out/.
#   bench/run_inference_bench.sh [--build-dir BUILD] [bench_inference flags...]
# BUILD defaults to build/release. Takes ~5-10 minutes on 2 cores (the first run also writes the
# ~0.5 GB F32 model and its Q8_0/Q4_0 copies).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$src/build/release"
if [[ "${1:-}" == --build-dir ]]; then
    build=$2
    shift 2
fi
if [[ ! -x "$build/bench/bench_inference" ]]; then
    cmake --build "$build" --target bench_inference
fi
out="$build/bench_out"
mkdir -p "$out"
"$build/bench/bench_inference" --work-dir "$out/models" --json-out "$out/bench_inference.json" \
    --torch-script "$src/bench/torch_inference.py" "$@" | tee "$out/bench_inference.md"
