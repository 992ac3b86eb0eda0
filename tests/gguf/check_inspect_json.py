#!/usr/bin/env python3
"""check_inspect_json.py — `wick inspect FILE --json --tensors` must be valid JSON and agree
with the `gguf` PyPI reader on the header counts, every key (type and value) and every
tensor (name, type, shape, bytes, offset).
usage: check_inspect_json.py WICK FILE.gguf..."""
import json
import math
import subprocess
import sys

try:
    import numpy as np
    import gguf
except ImportError as e:  # a missing dependency is a failure, not a skip
    print(f"FAIL: cannot import gguf/numpy ({e}); run scripts/deps.sh or pip install gguf numpy")
    sys.exit(1)


def check(wick, path):
    out = subprocess.run([wick, "inspect", path, "--json", "--tensors"], capture_output=True, check=True).stdout
    j = json.loads(out.decode("utf-8"))
    r = gguf.GGUFReader(path)
    bad = []
    fields = [(k, v) for k, v in r.fields.items() if not k.startswith("GGUF.")]
    if j["n_kv"] != len(fields) or len(j["metadata"]) != len(fields):
        bad.append(f"n_kv {j['n_kv']} vs {len(fields)}")
    if j["n_tensors"] != len(r.tensors) or len(j["tensors"]) != len(r.tensors):
        bad.append(f"n_tensors {j['n_tensors']} vs {len(r.tensors)}")
    for m, (key, f) in zip(j["metadata"], fields):
        if m["key"] != key:
            bad.append(f"key {m['key']} vs {key}")
            continue
        if m["type"] != f.types[0].name:
            bad.append(f"{key}: type {m['type']} vs {f.types[0].name}")
        got, want = m["value"], f.contents()
        if isinstance(want, list):
            if m.get("count") != len(want) or len(got) != len(want):
                bad.append(f"{key}: count")
                continue
            pairs = zip(got, want)
        else:
            pairs = [(got, want)]
        for a, b in pairs:
            if isinstance(b, float):
                ok = (a is None and not math.isfinite(b)) or (a is not None and np.float32(a) == np.float32(b))
            else:
                ok = a == b
            if not ok:
                bad.append(f"{key}: {a!r} vs {b!r}")
                break
    for t, w in zip(r.tensors, j["tensors"]):
        if (w["name"], w["type"], w["shape"], w["bytes"], w["offset"]) != (
                t.name, t.tensor_type.name, [int(x) for x in t.shape], int(t.n_bytes), int(t.data_offset - r.data_offset)):
            bad.append(f"tensor {t.name}: {w}")
    print(f"{path}: {len(fields)} keys, {len(r.tensors)} tensors: {'ok' if not bad else 'MISMATCH'}")
    for b in bad[:10]:
        print("  FAIL:", b)
    return not bad


def main():
    wick = sys.argv[1]
    ok = all([check(wick, p) for p in sys.argv[2:]])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
