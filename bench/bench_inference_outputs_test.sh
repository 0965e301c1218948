#!/usr/bin/env bash
# Test (CTest `bench_inference_json_only_when_asked`, label bench): bench_inference writes its
# JSON only where --json-out says, and its model files in --work-dir or the build tree. A run
# without --json-out, from a fresh directory, leaves nothing there
# (it once wrote bench_inference.json into whatever directory it ran from, the repository root
# included); a run with it writes that file with the table's rows. A tiny model keeps it to a
# few seconds (most of them the machine probes).
#   bench/bench_inference_outputs_test.sh BUILD/bench/bench_inference
set -euo pipefail
bin=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tiny=(--work-dir "$tmp/models" --no-torch --threads 1 --types f32 --prompt-tokens 4 --gen-tokens 2
      --reps 1 --ctx 16 --dim 32 --layers 1 --heads 2 --ffn 64 --vocab 300 --long-ctx none
      --bw-mib 8)
fail() {
    echo "FAIL: $*" >&2
    echo "repro: $0 $bin" >&2
    exit 1
}

mkdir "$tmp/cwd"
(cd "$tmp/cwd" && "$bin" "${tiny[@]}" >"$tmp/table.md" 2>"$tmp/stderr") ||
    fail "a run without --json-out failed: $(tail -n 3 "$tmp/stderr")"
left=$(ls -A "$tmp/cwd")
[[ -z $left ]] || fail "a run without --json-out left '$left' in the directory it ran from"
grep -q "no JSON written" "$tmp/table.md" || fail "the table does not say that no JSON was written"

(cd "$tmp/cwd" && "$bin" "${tiny[@]}" --json-out "$tmp/bench.json" >/dev/null 2>"$tmp/stderr") ||
    fail "a run with --json-out failed: $(tail -n 3 "$tmp/stderr")"
[[ -s $tmp/bench.json ]] || fail "--json-out $tmp/bench.json was not written"
grep -q '"lyra_decode_tok_s"' "$tmp/bench.json" || fail "the JSON has no rows: $(head -c 300 "$tmp/bench.json")"
left=$(ls -A "$tmp/cwd")
[[ -z $left ]] || fail "a run with --json-out elsewhere left '$left' in the directory it ran from"
# Without --work-dir the model files go to the build tree (bench_out/models), not the directory
# the program runs from (a run from the repository root once left ~0.5 GB in bench_models/).
(cd "$tmp/cwd" && "$bin" "${tiny[@]:2}" >/dev/null 2>"$tmp/stderr") ||
    fail "a run without --work-dir failed: $(tail -n 3 "$tmp/stderr")"
left=$(ls -A "$tmp/cwd")
[[ -z $left ]] || fail "a run without --work-dir left '$left' in the directory it ran from"
echo "bench_inference writes JSON only where --json-out says, and model files only in --work-dir or the build tree"
