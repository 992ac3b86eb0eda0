#!/usr/bin/env bash
# run.sh — the README's main command: builds wick and runs its main job. Until model
# inference lands this shows what exists: the kernel sets this CPU runs and the matmul
# benchmark across them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
./build/bin/wick --version
./build/bin/wick bench matmul --type f32 -M 1024 -N 1024 -K 512 -r 3 --isa all
