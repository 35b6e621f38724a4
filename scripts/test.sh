#!/usr/bin/env bash
# The test command: set up, then run every test of the workspace. Tests that need a GPU are
# `#[ignore]`d with their reason (scripts/gpu-run.sh runs them on a GPU machine), so here
# they are reported as skipped, never as passed. Ends with one line of totals.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TILEC_PTXAS="${TILEC_PTXAS:-$PWD/.tools/cuda-nvcc/nvidia/cu13/bin/ptxas}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
# Sum cargo's per-binary "test result:" lines into one closing line.
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/) p += $(i - 1);
            if ($(i) ~ /^failed/) f += $(i - 1);
            if ($(i) ~ /^ignored/) s += $(i - 1);
        }
     }
     END {
        if (s > 0) print "GPU tests need a CUDA GPU and were skipped here: run scripts/gpu-run.sh on one.";
        printf "summary: %d passed, %d failed, %d skipped\n", p, f, s
     }' "$log"
exit "$status"
