#!/usr/bin/env bash
# deps.sh — installs what building and testing wick needs on a fresh Debian 12 machine:
# compilers and CMake, OpenBLAS (OpenMP variant), PCRE2 and cJSON (tokenizer regexes, chat JSONL), SIMDe (AVX-512 kernel emulation test),
# clang + libFuzzer runtime (fuzz targets), the aarch64 cross compiler and qemu-user (NEON
# kernels tested under emulation, tests/neon), PyTorch (python3-torch: the training check against
# torch, tests/reference/torch_train_check.py) and the Python packages the reference checks use.
set -euo pipefail

pkgs=(build-essential cmake pkg-config libopenblas-openmp-dev libsimde-dev libpcre2-dev libcjson-dev clang libclang-rt-14-dev python3 python3-pip python3-torch
      gcc-aarch64-linux-gnu qemu-user-static)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

py=$(command -v python3)
# gguf + numpy: reference readers and dequantizers; tokenizers: the BPE trainer's cross-check
if ! "$py" -c 'import gguf, numpy, tokenizers' >/dev/null 2>&1; then
  echo "deps: pip install gguf numpy tokenizers"
  "$py" -m pip install --quiet gguf numpy tokenizers 2>/dev/null ||
    "$py" -m pip install --quiet --break-system-packages gguf numpy tokenizers
fi
