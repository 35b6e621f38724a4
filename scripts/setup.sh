#!/usr/bin/env bash
# Installs what building and testing tilec needs on a fresh Debian 12 machine with a Rust
# toolchain:
#   - LLVM 19 with its static libraries (Debian's llvm-19-dev), for the NVPTX back end;
#     `tilec` links it statically, so the binary runs where LLVM is not installed;
#   - ptxas, from PyPI's nvidia-cuda-nvcc package, into .tools/ (git-ignored), so the tests
#     can assemble every PTX file they generate.
# Safe to run again: each step is skipped when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/lib/llvm-19/bin/llvm-config ]; then
    echo "setup: installing LLVM 19 (apt-get)"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
        llvm-19-dev libpolly-19-dev libz3-dev zlib1g-dev libzstd-dev libffi-dev libxml2-dev >/dev/null
fi

ptxas=.tools/cuda-nvcc/nvidia/cu13/bin/ptxas
if [ ! -x "$ptxas" ] && ! command -v ptxas >/dev/null; then
    echo "setup: installing ptxas (pip: nvidia-cuda-nvcc)"
    python3 -m pip install --quiet --disable-pip-version-check --target .tools/cuda-nvcc nvidia-cuda-nvcc
fi
echo "setup: LLVM $(/usr/lib/llvm-19/bin/llvm-config --version), ptxas $( ("$ptxas" --version 2>/dev/null || ptxas --version) | tail -1)"
