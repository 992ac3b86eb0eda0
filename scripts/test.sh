#!/usr/bin/env bash
# test.sh — the README's test command: installs dependencies, configures, builds, runs
# a bounded fuzz smoke test (WICK_FUZZ_SECONDS, default 60), then every test with ctest
# (last, so its summary closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
if [ -f tests/fuzz/run_fuzz.sh ] && [ "${WICK_FUZZ_SECONDS:-60}" != 0 ]; then
  bash tests/fuzz/run_fuzz.sh "${WICK_FUZZ_SECONDS:-60}"
fi
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900
