#!/usr/bin/env bash
# The main job: check dsl-examples/attention.tile, then run it on the CPU interpreter (the
# language's reference semantics) on a ragged sequence length, and print its error against
# a plain float64 attention.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q -p tilec-cli
tilec=target/release/tilec
$tilec check dsl-examples/attention.tile
for causal in false true; do
    $tilec run dsl-examples/attention.tile --interp --reference \
        --shape B=1 --shape H=2 --shape S=1000 --arg scale=0.125 -D HEAD_DIM=64 -D CAUSAL=$causal
done
