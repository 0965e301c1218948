#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan, -fsanitize=fuzzer) and runs
# each one briefly over its seed corpus (tests/fuzz/corpus/<target>/). Fails on any crash,
# sanitizer report, leak or timeout; the input that did it is left in build/fuzz/artifacts/.
#   LYRA_FUZZ_SECONDS=60 scripts/fuzz.sh       # longer runs
#   scripts/fuzz.sh fuzz_gguf                  # one target
# Reproduce a failure: build/fuzz/fuzz/<target> build/fuzz/artifacts/<target>-crash-<hash>
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ not found; skipping the fuzz targets" >&2
  exit 0
fi

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for src in tests/fuzz/fuzz_*.cpp; do
    [[ -e $src ]] || continue
    targets+=("$(basename "$src" .cpp)")
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz: no targets" >&2
  exit 0
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}" -j "${LYRA_FUZZ_JOBS:-$(nproc)}"

secs=${LYRA_FUZZ_SECONDS:-20}
mkdir -p build/fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t  # new inputs go here, never into the repository
  mkdir -p "$work"
  dirs=("$work")
  [[ -d tests/fuzz/corpus/$t ]] && dirs+=("tests/fuzz/corpus/$t")
  log=build/fuzz/$t.log
  echo "fuzz: $t for ${secs}s"
  if ! build/fuzz/fuzz/"$t" -max_total_time="$secs" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$t-" \
      "${dirs[@]}" >"$log" 2>&1; then
    echo "fuzz: $t FAILED (log: $log)" >&2
    tail -n 40 "$log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$log" | tail -n 2 || true
  fi
done
exit $status
