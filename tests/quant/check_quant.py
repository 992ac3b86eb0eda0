#!/usr/bin/env python3
"""check_quant.py — compares wick's reference block formats with gguf-py (gguf.quants),
an independent implementation, through the quant_tool program:
  1. dequantize: random blocks (random bytes, f16 scale fields replaced by sane values) of
     every type both support -> f32 must be bit-identical;
  2. quantize: random f32 rows (several distributions, plus zero/constant/tie blocks) for
     every type gguf-py can quantize -> bytes must be identical;
  3. every type wick can quantize: gguf-py's dequantize of wick's bytes must stay within
     the round-trip error bound (wick's encoder writes the layout the other decoder reads).
usage: check_quant.py QUANT_TOOL
Fails (exit 1) if gguf/numpy are missing: this test must not silently skip."""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf.quants import dequantize, quantize
except ImportError as e:  # a missing dependency is a failure, not a skip
    print(f"FAIL: cannot import gguf/numpy ({e}); run: python3 -m pip install gguf numpy")
    sys.exit(1)

QT = gguf.GGMLQuantizationType
TOOL = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="wick-quant-")
fails = 0

# Byte offsets of the f16 scale fields in each block (formats.md §2.2-2.3): random bytes
# there would give inf/NaN scales, which tell nothing about the layout.
F16_FIELDS = {
    "q4_0": [0], "q4_1": [0, 2], "q5_0": [0], "q5_1": [0, 2], "q8_0": [0], "q8_1": [0, 2],
    "q2_K": [80, 82], "q3_K": [108], "q4_K": [0, 2], "q5_K": [0, 2], "q6_K": [208],
    "iq4_nl": [0], "iq4_xs": [0],
}
# Types gguf-py is expected to handle (a NotImplementedError there is a failure, so a
# gguf-py upgrade that drops one is noticed); others are reported as not comparable.
EXPECT_DEQ = {"f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K",
              "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"}
EXPECT_Q = {"f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0"}
# Round-trip bound on rms(error)/rms(x) for N(0,1) data (test_quant.c measures the same).
RT_BOUND = {"f32": 0, "f16": 1e-3, "bf16": 5e-3, "q8_0": 0.007, "q8_1": 0.007, "q8_K": 0.009,
            "q6_K": 0.025, "q5_0": 0.06, "q5_1": 0.06, "q5_K": 0.045, "q4_0": 0.12, "q4_1": 0.11,
            "q4_K": 0.09, "iq4_nl": 0.11, "iq4_xs": 0.11, "q3_K": 0.2, "q2_K": 0.4}


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


def tool(cmd, tname, data: bytes) -> bytes:
    src, dst = os.path.join(TMP, "in.bin"), os.path.join(TMP, "out.bin")
    with open(src, "wb") as f:
        f.write(data)
    subprocess.run([TOOL, cmd, tname, src, dst], check=True)
    with open(dst, "rb") as f:
        return f.read()


def gguf_qtype(name):
    return QT[name.upper()]


def random_blocks(rng, name, tsize, nblk):
    raw = rng.integers(0, 256, size=(nblk, tsize), dtype=np.uint8)
    for off in F16_FIELDS.get(name, []):
        # |scale| in [2^-14, 2^2], both signs, plus a few zeros and f16 subnormals
        mag = np.exp2(rng.uniform(-14, 2, size=nblk)).astype(np.float16)
        sign = np.where(rng.random(nblk) < 0.5, -1, 1).astype(np.float16)
        val = mag * sign
        val[rng.random(nblk) < 0.02] = 0
        sub = rng.random(nblk) < 0.02
        val[sub] = np.float16(rng.integers(1, 1024)) * np.float16(2.0**-24)
        raw[:, off:off + 2] = val.view(np.uint8).reshape(nblk, 2)
    if name == "f16":  # finite halves only: inf/NaN propagate differently through numpy casts
        h = raw.view(np.uint16)
        h[(h & 0x7C00) == 0x7C00] &= 0xBFFF
    return raw


def check_dequantize(rng, types):
    print("dequantize: random blocks, gguf-py vs wick, bit-exact")
    for name, bsize, tsize in types:
        nblk = 4096 if bsize > 1 else 8192 * 4
        raw = random_blocks(rng, name, tsize, nblk)
        try:
            want = np.asarray(dequantize(raw.reshape(-1) if bsize == 1 else raw, gguf_qtype(name)),
                              dtype=np.float32).reshape(-1)
        except (NotImplementedError, KeyError):
            if name in EXPECT_DEQ:
                fail(f"{name}: gguf-py cannot dequantize it")
            else:
                print(f"  {name:7s} not in gguf-py: not compared")
            continue
        got = np.frombuffer(tool("deq", name, raw.tobytes()), dtype=np.float32)
        if got.shape != want.shape:
            fail(f"{name}: {got.size} values, gguf-py {want.size}")
            continue
        diff = got.view(np.uint32) != want.view(np.uint32)
        both_nan = np.isnan(got) & np.isnan(want)
        bad = int(np.count_nonzero(diff & ~both_nan))
        print(f"  {name:7s} {nblk} blocks, {got.size} values: {bad} differ")
        if bad:
            i = int(np.flatnonzero(diff & ~both_nan)[0])
            fail(f"{name}: element {i} (block {i // bsize}) wick {got[i]!r} gguf-py {want[i]!r}")


def random_rows(rng, bsize, nblk):
    """f32 data in several shapes, one row of blocks each, concatenated."""
    n = bsize * nblk
    parts = [
        rng.standard_normal(n).astype(np.float32),
        rng.uniform(-1, 1, n).astype(np.float32) * np.float32(1e-3),
        (rng.standard_normal(n) * np.exp(rng.uniform(-8, 8, n))).astype(np.float32),
        rng.uniform(0.5, 2.0, n).astype(np.float32),  # all-positive blocks (min > 0)
        # few distinct values: many ties x*id + 0.5 landing on integers
        (rng.integers(-16, 17, n) * np.float32(0.25)).astype(np.float32),
    ]
    special = np.zeros(bsize * 6, dtype=np.float32)  # zero block
    special[bsize:2 * bsize] = 3.0  # constant block
    special[2 * bsize:3 * bsize] = -3.0
    special[3 * bsize] = 1.0  # one non-zero element
    special[4 * bsize:5 * bsize] = np.linspace(-1, 1, bsize, dtype=np.float32)
    special[5 * bsize:] = np.float32(1e-30) * rng.standard_normal(bsize).astype(np.float32)
    parts.append(special)
    return np.concatenate(parts)


def check_quantize(rng, types):
    print("quantize: random f32 rows, gguf-py vs wick, byte-exact")
    for name, bsize, tsize in types:
        if name not in EXPECT_Q:
            continue
        x = random_rows(rng, max(bsize, 32), 512)
        try:
            want = np.asarray(quantize(x, gguf_qtype(name))).view(np.uint8).reshape(-1)
        except NotImplementedError:
            fail(f"{name}: gguf-py cannot quantize it")
            continue
        got = np.frombuffer(tool("q", name, x.tobytes()), dtype=np.uint8)
        if got.shape != want.shape:
            fail(f"{name}: {got.size} bytes, gguf-py {want.size}")
            continue
        nb = got.size // tsize
        bad_blocks = np.flatnonzero((got.reshape(nb, tsize) != want.reshape(nb, tsize)).any(axis=1))
        print(f"  {name:7s} {x.size} values, {nb} blocks: {bad_blocks.size} blocks differ")
        if bad_blocks.size:
            b = int(bad_blocks[0])
            fail(f"{name}: block {b}: wick {got[b*tsize:(b+1)*tsize].tobytes().hex()} "
                 f"gguf-py {want[b*tsize:(b+1)*tsize].tobytes().hex()}")


def check_roundtrip_cross(rng, types):
    print("round trip: wick quantize -> gguf-py dequantize, rms(err)/rms(x) on N(0,1)")
    for name, bsize, tsize in types:
        x = rng.standard_normal(256 * 256).astype(np.float32)
        q = np.frombuffer(tool("q", name, x.tobytes()), dtype=np.uint8)
        try:
            y = np.asarray(dequantize(q if bsize == 1 else q.reshape(-1, tsize), gguf_qtype(name)),
                           dtype=np.float32).reshape(-1)
        except (NotImplementedError, KeyError):
            y = np.frombuffer(tool("deq", name, q.tobytes()), dtype=np.float32)
            name += " (wick deq)"
        rel = float(np.sqrt(np.mean((y.astype(np.float64) - x) ** 2) / np.mean(x.astype(np.float64) ** 2)))
        bound = RT_BOUND[name.split()[0]]
        print(f"  {name:18s} {rel:.5f} (bound {bound})")
        if not rel <= bound:
            fail(f"{name}: round-trip error {rel} > {bound}")


def main():
    out = subprocess.run([TOOL, "types"], check=True, capture_output=True, text=True).stdout
    types = [(n, int(b), int(s)) for n, b, s in (line.split() for line in out.splitlines())]
    print(f"gguf-py {getattr(gguf, '__version__', '?')}, numpy {np.__version__}; wick types:",
          " ".join(t[0] for t in types))
    rng = np.random.default_rng(20240607)
    check_dequantize(rng, types)
    check_quantize(rng, types)
    check_roundtrip_cross(rng, types)
    print("FAIL" if fails else "OK", f"({fails} failures)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
