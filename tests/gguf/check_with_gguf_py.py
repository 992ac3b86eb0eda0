#!/usr/bin/env python3
"""check_with_gguf_py.py — reads a wick-written GGUF file with the independent `gguf` PyPI
reader and compares every key (order, type, value) and every tensor (name, type, shape,
byte size, bytes) against the manifest the writer program emitted.
usage: check_with_gguf_py.py FILE.gguf MANIFEST.json
Fails (exit 1) if the gguf/numpy modules are missing: this test must not silently skip."""
import json
import math
import sys

try:
    import numpy as np
    import gguf
except ImportError as e:  # a missing dependency is a failure, not a skip
    print(f"FAIL: cannot import gguf/numpy ({e}); run scripts/deps.sh or pip install gguf numpy")
    sys.exit(1)

fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)


def same_scalar(want, got, tname):
    if tname == "FLOAT32":
        return np.float32(want) == np.float32(got)
    if tname == "FLOAT64":
        return float(want) == float(got) or (math.isnan(want) and math.isnan(got))
    if tname == "BOOL":
        return bool(want) == bool(got)
    return int(want) == int(got)


def main():
    path, manifest = sys.argv[1], sys.argv[2]
    with open(manifest, encoding="utf-8") as f:
        want = json.load(f)
    r = gguf.GGUFReader(path)
    fields = [(k, v) for k, v in r.fields.items() if not k.startswith("GGUF.")]
    keys = [k for k, _ in fields]
    want_keys = [kv["key"] for kv in want["kv"]]
    if keys != want_keys:
        fail(f"key order/set differs:\n  gguf-py: {keys}\n  wick:    {want_keys}")
    for kv in want["kv"]:
        key = kv["key"]
        field = r.fields.get(key)
        if field is None:
            fail(f"{key}: missing")
            continue
        types = [t.name for t in field.types]
        if kv["type"] == "ARRAY":
            if types[:2] != ["ARRAY", kv["element_type"]]:
                fail(f"{key}: types {types}, want ARRAY of {kv['element_type']}")
                continue
        elif types != [kv["type"]]:
            fail(f"{key}: type {types}, want {kv['type']}")
            continue
        got = field.contents()
        if kv["type"] == "ARRAY":
            et = kv["element_type"]
            if len(got) != len(kv["value"]):
                fail(f"{key}: {len(got)} elements, want {len(kv['value'])}")
            elif et == "STRING":
                if got != kv["value"]:
                    fail(f"{key}: {got!r} != {kv['value']!r}")
            elif not all(same_scalar(a, b, et) for a, b in zip(kv["value"], got)):
                fail(f"{key}: {got!r} != {kv['value']!r}")
        elif kv["type"] == "STRING":
            if got != kv["value"]:
                fail(f"{key}: {got!r} != {kv['value']!r}")
        elif not same_scalar(kv["value"], got, kv["type"]):
            fail(f"{key}: {got!r} != {kv['value']!r}")
    print(f"keys: {len(want['kv'])} compared")

    if len(r.tensors) != len(want["tensors"]):
        fail(f"{len(r.tensors)} tensors, want {len(want['tensors'])}")
    for t, wt in zip(r.tensors, want["tensors"]):
        shape = [int(x) for x in t.shape]  # gguf-py reports ne order (ne[0] first)
        if t.name != wt["name"]:
            fail(f"tensor name {t.name} != {wt['name']}")
        if t.tensor_type.name != wt["type"]:
            fail(f"{t.name}: type {t.tensor_type.name} != {wt['type']}")
        if shape != wt["shape"]:
            fail(f"{t.name}: shape {shape} != {wt['shape']}")
        if int(t.n_bytes) != wt["nbytes"]:
            fail(f"{t.name}: n_bytes {t.n_bytes} != {wt['nbytes']}")
        data = np.ascontiguousarray(t.data).tobytes()
        if data != bytes.fromhex(wt["data_hex"]):
            fail(f"{t.name}: data bytes differ")
        print(f"tensor {t.name:24s} {t.tensor_type.name:5s} shape {shape} {t.n_bytes} bytes: "
              f"{'ok' if fails == 0 else 'see above'}")
    alignment = r.alignment
    if alignment != 64:
        fail(f"alignment {alignment}, want 64")
    print("gguf-py agrees with wick" if fails == 0 else f"{fails} mismatches")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
