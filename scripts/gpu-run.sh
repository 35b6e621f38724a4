#!/usr/bin/env bash
# Runs ON the GPU machine (no Rust, no network; python3 with torch, triton and cuda-bindings;
# compute-sanitizer): unpacks .gpu-pack/tilec-gpu.tar.xz (made by scripts/gpu-pack.sh), then
#   1. the GPU test suite (runtime/tests/gpu.rs: every example vs the interpreter / f64),
#   2. compute-sanitizer memcheck on attention at ragged sequence lengths (`tilec run --gpu`),
#   3. bench/attention.py --autotune (tilec, default and autotuned, vs PyTorch SDPA and
#      Triton), then `tilec bench --autotune` on two attention shapes.
# Every step runs under its own time limit, and a failing step does not stop the others.
# Logs and JSON go to $OUT (the device tool's output folder; ./gpu-out elsewhere), at most
# 8 files; summary.txt lists each step's exit status.
#
# Usage: bash scripts/gpu-run.sh [--quick]     (--quick: attention cases only, short bench)
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

work=$(mktemp -d)
if ! xz -dc .gpu-pack/tilec-gpu.tar.xz | tar -C "$work" -xf -; then
    note "unpack: FAILED (is .gpu-pack carried? run scripts/gpu-pack.sh first)"
    exit 1
fi
note "pack commit: $(cat "$work/COMMIT")"
export TILEC_EXAMPLES_DIR="$work/dsl-examples"
export TILEC_CACHE_DIR="$work/cache"
tilec="$work/bin/tilec"
attention="$work/dsl-examples/attention.tile"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$summary"

# The device tool stops a command after 600 s; every step is cut to fit this deadline, so
# the summary is always written.
deadline=${GPU_RUN_SECONDS:-570}

# step NAME LIMIT_SECONDS LOG COMMAND...: runs one step, appending its output to LOG.
step() {
    local name=$1 limit=$2 log=$3
    shift 3
    local left=$((deadline - SECONDS - 10))
    if [ "$left" -lt 15 ]; then
        note "$name: SKIPPED (out of time)"
        return 125
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "=== $name: $*" >> "$log"
    local started=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
    local rc=$?
    note "$name: exit $rc ($((SECONDS - started)) s)$([ $rc -eq 124 ] && echo ', TIMED OUT')"
    return $rc
}

# 1. The GPU test suite.
filter=""
[ $quick -eq 1 ] && filter="attention"
export TILEC_GPU_FILTER="$filter"
step "gpu tests" 300 "$OUT/gpu-tests.log" \
    "$work/bin/gpu-tests" --include-ignored --nocapture --test-threads=1
grep -E "^(ok|FAILED) |GPU suite|test result:|scale_copy N=|SKIPPED|panicked" "$OUT/gpu-tests.log" | tail -n 60 >> "$summary"

# 2. memcheck on ragged attention shapes.
for causal in false true; do
    for s in 1 17 1000 4097; do
        ref=()                                  # small: against the interpreter
        [ "$s" -eq 1000 ] && ref=(--reference)  # the float64 host reference
        [ "$s" -gt 1000 ] && ref=(--no-reference)  # every element written (gpu tests check values)
        step "memcheck S=$s causal=$causal" 60 "$OUT/memcheck.log" \
            compute-sanitizer --tool memcheck --error-exitcode 86 \
            "$tilec" run "$attention" --gpu "${ref[@]}" --shape B=1 --shape H=2 --shape "S=$s" \
            --arg scale=0.125 -D "CAUSAL=$causal"
    done
done
grep -E "ERROR SUMMARY|rel error|unwritten" "$OUT/memcheck.log" >> "$summary"

# 3. Benchmarks: the side-by-side with PyTorch SDPA first (the headline numbers), with tilec
# searched over its tune space; then tilec's own timing and autotuner on two shapes.
bench_args=()
[ $quick -eq 1 ] && bench_args=(--quick)
export PYTHONUNBUFFERED=1
step "attention.py" 300 "$OUT/bench.log" \
    python3 "$work/bench/attention.py" --tilec "$tilec" --source "$attention" \
    --json "$OUT/bench-attention.json" --autotune "${bench_args[@]}"
sed -n '/^Attention forward/,$p' "$OUT/bench.log" >> "$summary"

: > "$OUT/bench-tilec.jsonl"
for shape in "1 8 512" "4 16 4096"; do
    read -r b h s <<< "$shape"
    d=64
    [ "$s" -ge 4096 ] && d=128
    step "tilec bench --autotune B=$b H=$h S=$s D=$d" 90 "$OUT/bench.log" \
        "$tilec" bench "$attention" --shape "B=$b" --shape "H=$h" --shape "S=$s" \
        --arg "scale=0.125" -D "HEAD_DIM=$d" --autotune --tune-replays 5 --json "$work/bench-one.json" &&
        cat "$work/bench-one.json" | tr -d '\n' >> "$OUT/bench-tilec.jsonl" && echo >> "$OUT/bench-tilec.jsonl"
done
grep -E "^(\*|  ) .*(µs|skipped)|^best:|^note:" "$OUT/bench.log" >> "$summary"

cat "$summary"
