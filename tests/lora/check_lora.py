#!/usr/bin/env python3
"""LoRA adapters at run time and merged, on stories260K (a real F32 llama): a random rank-4
adapter on q, v, ffn_down and output of every layer, written with gguf-py in llama.cpp's
convention (formats.md §6). Checks:
  * `wick run --lora` logits equal those of `wick lora merge --type f32` within 1e-4 of
    the largest logit (the same sum in a different order) and of the default f16 merge
    within 2e-3 of it (the merged weights rounded to f16), over a 32-token prompt, every
    position;
  * the adapter changes the logits (max difference from the base > 0.5);
  * the merged f16 tensors equal NumPy's W + scale alpha/r B A rounded to f16, from
    gguf-py's reading of both files (an independent statement of the convention);
  * --lora-scale 0 gives the base logits exactly; a quantized merge (--type q8_0) loads and
    tracks the runtime adapter (correlation of the logits > 0.995);
  * malformed adapters (wrong architecture, missing partner, transposed A, unknown base
    tensor, not an adapter) and bad flags: one clear line, exit 1 or 2, no output file.
usage: check_lora.py WICK SHARED_DATA"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import gguf

wick, shared = sys.argv[1], sys.argv[2]
base = os.path.join(shared, "models", "stories260K.gguf")
fails = 0
tmp = tempfile.mkdtemp(prefix="wick-lora-")
RANK, ALPHA = 4, 8.0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def run(args):
    r = subprocess.run([wick] + args, capture_output=True, timeout=300)
    r.stdout, r.stderr = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    return r


reader = gguf.GGUFReader(base)
weights = {t.name: np.array(t.data) for t in reader.tensors}  # numpy shape = reversed ggml ne
n_layer = sum(1 for n in weights if n.endswith("attn_q.weight"))
targets = [f"blk.{i}.{k}.weight" for i in range(n_layer) for k in ("attn_q", "attn_v", "ffn_down")] + ["output.weight"]
rng = np.random.default_rng(1)


def write_adapter(path, arch="llama", drop_b=None, transpose=None, extra=None, gtype="adapter"):
    w = gguf.GGUFWriter(path, arch)
    w.add_type(gtype)
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", ALPHA)
    pairs = {}
    for name in targets + ([extra] if extra else []):
        n_out, n_in = weights.get(name, np.zeros((8, 64))).shape
        a = (rng.standard_normal((RANK, n_in)) * 0.3).astype(np.float32)   # ggml [n_in, r]
        b = (rng.standard_normal((n_out, RANK)) * 0.3).astype(np.float32)  # ggml [r, n_out]
        if name == transpose:
            a = np.ascontiguousarray(a.T)
        w.add_tensor(name + ".lora_a", a)
        if name != drop_b:
            w.add_tensor(name + ".lora_b", b)
        pairs[name] = (a, b)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return pairs


adapter = os.path.join(tmp, "adapter.gguf")
pairs = write_adapter(adapter)
prompt = ",".join(str(i) for i in [1] + list(range(20, 51)))


def logits(model, extra=()):
    out = os.path.join(tmp, "logits.f32")
    r = run(["run", "-m", model, "--prompt-ids", prompt, "-n", "0", "--dump-logits", out, "-t", "2"] + list(extra))
    if r.returncode != 0:
        print(r.stderr)
        return None
    return np.fromfile(out, dtype=np.float32).reshape(32, -1)


l_base = logits(base)
l_rt = logits(base, ["--lora", adapter])
merged = {}
for t in ["f32", "f16", "q8_0"]:
    out = os.path.join(tmp, f"merged-{t}.gguf")
    r = run(["lora", "merge", base, adapter, out, "--type", t])
    check(r.returncode == 0 and os.path.isfile(out), f"lora merge --type {t}: exit 0 ({r.stderr.strip().splitlines()[-1:]})")
    merged[t] = out
l_f32, l_f16, l_q8 = logits(merged["f32"]), logits(merged["f16"]), logits(merged["q8_0"])
ok = all(x is not None for x in (l_base, l_rt, l_f32, l_f16, l_q8))
check(ok, "all runs produced logits")
if ok:
    d_base = float(np.abs(l_rt - l_base).max())
    d32, d16, d8 = (float(np.abs(l_rt - x).max()) for x in (l_f32, l_f16, l_q8))
    check(d_base > 0.5, f"the adapter changes the logits: max |runtime - base| = {d_base:.3f}")
    mag = float(np.abs(l_rt).max())
    check(d32 <= 1e-4 * mag, f"runtime adapter vs merged f32: max |diff| = {d32:.2e} (<= 1e-4 x max|logit| {mag:.1f})")
    check(d16 <= 2e-3 * mag, f"runtime adapter vs merged f16: max |diff| = {d16:.2e} (<= 2e-3 x max|logit|)")
    corr = float(np.corrcoef(l_rt.ravel(), l_q8.ravel())[0, 1])
    check(corr > 0.995, f"merged q8_0 loads and tracks the runtime adapter: correlation {corr:.5f}, max |diff| {d8:.3f}")
l0 = logits(base, ["--lora", adapter, "--lora-scale", "0"])
check(l0 is not None and np.array_equal(l0, l_base), "--lora-scale 0 gives the base logits exactly")

# the merged f16 tensors against NumPy
mr = gguf.GGUFReader(merged["f16"])
worst = 0.0
for t in mr.tensors:
    if t.name not in pairs:
        continue
    a, b = pairs[t.name]
    want = (weights[t.name].astype(np.float64) + ALPHA / RANK * (b.astype(np.float64) @ a.astype(np.float64)))
    got = np.array(t.data).astype(np.float64)
    worst = max(worst, float((np.abs(got - want) / (np.abs(want) + 1e-3)).max()))
check(worst <= 1e-3, f"merged f16 tensors = NumPy W + alpha/r B A: worst relative error {worst:.2e} (f16: 4.9e-4)")

# malformed adapters and bad usage
cases = [
    ("arch.gguf", dict(arch="gemma3"), "architecture"),
    ("partner.gguf", dict(drop_b="blk.0.attn_q.weight"), "no partner"),
    ("transposed.gguf", dict(transpose="blk.1.attn_v.weight"), "do not fit"),
    ("unknown.gguf", dict(extra="blk.0.attn_qkv.weight"), "not a matrix of this model"),
    ("notadapter.gguf", dict(gtype="model"), "not a LoRA adapter"),
]
for fname, kw, msg in cases:
    p = os.path.join(tmp, fname)
    write_adapter(p, **kw)
    r = run(["run", "-m", base, "-n", "4", "--lora", p])
    check(r.returncode == 1 and msg in r.stderr and not r.stdout, f"run --lora {fname}: exit 1, {r.stderr.strip()[:100]!r}")
    out = os.path.join(tmp, "bad-out.gguf")
    r = run(["lora", "merge", base, p, out])
    check(r.returncode == 1 and msg in r.stderr and not os.path.exists(out), f"lora merge {fname}: exit 1, no output")
for args, rc in [(["lora"], 2), (["lora", "merge", base, adapter], 2), (["lora", "merge", base, adapter, base], 2),
                 (["lora", "merge", base, adapter, os.path.join(tmp, "x.gguf"), "--type", "q9_9"], 2),
                 (["run", "-m", base, "--lora-scale", "big"], 2), (["run", "-m", base, "--lora", "/nonexistent.gguf"], 1)]:
    r = run(args)
    check(r.returncode == rc and r.stderr.strip(), f"{' '.join(args[:2])} ... -> exit {r.returncode} (want {rc})")

if not fails:
    shutil.rmtree(tmp, ignore_errors=True)
print("FAILED (%d) (files in %s)" % (fails, tmp) if fails else "all lora checks passed")
sys.exit(1 if fails else 0)
