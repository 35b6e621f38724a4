#!/usr/bin/env bash
# Builds what the GPU machine runs and packs it into .gpu-pack/tilec-gpu.tar.xz (git-ignored).
#
# The GPU machine has no Rust toolchain and no network, so everything is built here, in
# release mode: the `tilec` CLI and the GPU test binary (runtime/tests/gpu.rs). Both link
# LLVM statically and load the CUDA driver at run time, so they need nothing installed there
# but the NVIDIA driver. The pack also holds dsl-examples/ (the tests read them) and
# bench/attention.py. scripts/gpu-run.sh unpacks and runs it all on the GPU machine.
#
# Usage: bash scripts/gpu-pack.sh          (then: the device tool runs scripts/gpu-run.sh
#                                            with `.gpu-pack` carried)
set -euo pipefail
cd "$(dirname "$0")/.."

limit_mib=56   # the device tool carries at most 64 MiB with the source tree; stay well under
pack_dir=.gpu-pack
stage="$pack_dir/stage"
rm -rf "$pack_dir"
mkdir -p "$stage/bin"

echo "gpu-pack: building the tilec CLI (release)"
cargo build --release -p tilec-cli

echo "gpu-pack: building the GPU test binary (release)"
test_bin=$(cargo test --release --no-run -p tilec-runtime --test gpu --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "gpu" and m.get("executable"):
        print(m["executable"])
')
if [ -z "$test_bin" ] || [ ! -x "$test_bin" ]; then
    echo "gpu-pack: could not find the GPU test binary (cargo test --no-run output had no executable)" >&2
    exit 1
fi

cp target/release/tilec "$stage/bin/tilec"
cp "$test_bin" "$stage/bin/gpu-tests"
strip "$stage/bin/tilec" "$stage/bin/gpu-tests"
cp -r dsl-examples "$stage/dsl-examples"
mkdir -p "$stage/bench"
cp bench/attention.py "$stage/bench/attention.py"
git rev-parse HEAD > "$stage/COMMIT" 2>/dev/null || echo unknown > "$stage/COMMIT"

echo "gpu-pack: compressing"
tar -C "$stage" -cf - . | xz -9e -T0 > "$pack_dir/tilec-gpu.tar.xz"
rm -rf "$stage"

size_kib=$(du -k "$pack_dir/tilec-gpu.tar.xz" | cut -f1)
echo "gpu-pack: $pack_dir/tilec-gpu.tar.xz is $((size_kib / 1024)) MiB ($size_kib KiB)"
if [ "$size_kib" -gt $((limit_mib * 1024)) ]; then
    echo "gpu-pack: the pack is over ${limit_mib} MiB; the device tool could not carry it" >&2
    exit 1
fi
