#!/usr/bin/env bash
# test.sh — the README's test command: installs dependencies, configures, builds, and
# runs every test with ctest. WICK_FUZZ_SECONDS (default 60) bounds the fuzz smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900
if [ -x tests/fuzz/run_fuzz.sh ] || [ -f tests/fuzz/run_fuzz.sh ]; then
  bash tests/fuzz/run_fuzz.sh "${WICK_FUZZ_SECONDS:-60}"
fi
