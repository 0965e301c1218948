#!/usr/bin/env bash
# Test (CTest `bench_serve_rejects_bad_arguments`, label bench): bench_serve's argument errors
# each give one line on stderr naming the problem and exit 2 (1 for a missing file), before any
# model file is written or any server starts. The `lyra` it is given is a stand-in that records
# being run, so a server start shows even where the real one would fail later; --work-dir points
# at a directory that must stay absent (a bench model created before the error would land there).
#   bench/bench_serve_args_test.sh BUILD/bench/bench_serve
set -euo pipefail
bin=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    echo "repro: $0 $bin" >&2
    exit 1
}

fake="$tmp/fake-lyra"
printf '#!/bin/sh\ntouch "%s/started"\nexit 1\n' "$tmp" >"$fake"
chmod +x "$fake"
model="$tmp/present.gguf"
: >"$model"

# expect CODE PATTERN ARGS...: bench_serve ARGS exits CODE with exactly one stderr line matching
# PATTERN (grep -E), nothing on stdout, no server started and no model directory created.
expect() {
    local code=$1 pattern=$2
    shift 2
    local rc=0
    "$bin" --lyra "$fake" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    local what="bench_serve $*"
    [[ $rc == "$code" ]] || fail "$what: exit $rc, expected $code; stderr: $(cat "$tmp/err")"
    [[ $(wc -l <"$tmp/err") == 1 ]] || fail "$what: expected one stderr line, got: $(cat "$tmp/err")"
    grep -Eq -- "$pattern" "$tmp/err" || fail "$what: stderr '$(cat "$tmp/err")' does not match '$pattern'"
    [[ ! -s $tmp/out ]] || fail "$what: printed on stdout: $(head -c 300 "$tmp/out")"
    [[ ! -e $tmp/started ]] || fail "$what: started a server"
    [[ ! -e $tmp/models ]] || fail "$what: created the bench model directory"
}

expect 2 "--types 'q4_0,bf16': unknown weight type 'bf16'; expected f32, f16, q8_0 or q4_0" \
    --work-dir "$tmp/models" --types q4_0,bf16
expect 2 "--types 'q8_0,,f32': an empty item; expected f32, f16, q8_0 or q4_0" \
    --work-dir "$tmp/models" --types q8_0,,f32
expect 2 "unknown flag '--type'; expected --lyra, --model, --types" --work-dir "$tmp/models" --type f32
expect 2 "flag '--rounds' needs a value" --work-dir "$tmp/models" --rounds
expect 2 "--requests 'two': expected an integer >= 1" --work-dir "$tmp/models" --requests two
expect 2 "--clients '1,0': expected positive counts" --work-dir "$tmp/models" --clients 1,0
expect 2 "--kv-type: kv type 'q4_0': unknown; expected f32, f16 or q8_0" --work-dir "$tmp/models" --kv-type q4_0
expect 2 "--large-types 'q4_0,q5_k': unknown weight type 'q5_k'; expected f32, f16, q8_0 or q4_0" \
    --work-dir "$tmp/models" --large-types q4_0,q5_k
expect 2 "--model runs the given files, --types, --large-types and --work-dir pick the bench models" \
    --model "$model" --large-types none
expect 2 "--model runs the given files, --types, --large-types and --work-dir pick the bench models" \
    --model "$model" --types f32
# Every --model file is checked before the first server starts, the last one too.
expect 1 "--model '$tmp/missing.gguf': file not found; expected a GGUF model file" \
    --model "$model" --model "$tmp/missing.gguf"
# The control: with good arguments the stand-in does get started (so the checks above can fail),
# prints no port, and the run says so and exits 1.
rc=0
"$bin" --lyra "$fake" --model "$model" >"$tmp/out" 2>"$tmp/err" || rc=$?
[[ -e $tmp/started ]] || fail "a run with good arguments did not start the server binary"
[[ $rc == 1 ]] || fail "a server that printed no port: exit $rc, expected 1"
grep -q "the server did not start" "$tmp/err" || fail "no 'did not start' message: $(cat "$tmp/err")"
echo "bench_serve rejects bad arguments with one line and exit 2 (1 for a missing model file), starting nothing"
