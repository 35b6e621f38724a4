#!/usr/bin/env bash
# The test command: set up, then run every test of the workspace. GPU tests skip, saying so,
# on a machine without a CUDA driver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TILEC_PTXAS="${TILEC_PTXAS:-$PWD/.tools/cuda-nvcc/nvidia/cu13/bin/ptxas}"
cargo test --workspace --no-fail-fast 2>&1
