#!/usr/bin/env python3
"""check_quantize.py — `wick quantize` end to end, judged by gguf-py (the `gguf` PyPI package)
and by mix_oracle.py (llama.cpp's type rules restated independently in Python).

Inputs: stories260K.gguf (F32; rows of 64 and 172 elements, so most K-quant choices fall
back) and synthetic models written here with gguf-py, shaped to reach every rule: a 16-layer
GQA llama (F32, tensors in shuffled order, 64-byte alignment, odd row lengths), a tied-
embedding F16 model, a BF16 one, an 8-expert MoE with 3-D expert tensors, a falcon and an
80-layer "70B" llama. For each model and target, the output must:
  * open with gguf-py; same metadata keys, types and values in the same order, except
    general.file_type (the target's llama_ftype) and general.quantization_version (2);
  * keep every tensor's name, order and shape; data offsets aligned as in the input;
  * give each tensor the type mix_oracle.py predicts;
  * decode (gguf.quants.dequantize) to within the type's round-trip error of the input,
    and copied tensors byte for byte;
  * hold exactly gguf-py's own quantization for the types gguf-py can write (F16, BF16,
    Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), and exactly wick's single-threaded reference quantizer's
    (quant_tool) for the others: threads and chunking must not change a byte.
Also: --threads 1 and 2 give identical files; --pure gives the base type everywhere.
usage: check_quantize.py WICK QUANT_TOOL STORIES_GGUF
Fails (exit 1) if gguf/numpy are missing: this test must not silently skip."""
import os
import shutil
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mix_oracle import TARGETS, expected_types  # noqa: E402

QT = gguf.GGMLQuantizationType
WICK, QUANT_TOOL, STORIES = sys.argv[1:4]
TMP = tempfile.mkdtemp(prefix="wick-quantize-")
fails = 0

# rms(error)/rms(x) bounds for N(0,1) data, as tests/quant/check_quant.py states them, with
# 40% slack: these tensors are small (1-4k elements), so their measured ratio varies more.
RT_BOUND = {"F32": 0, "F16": 1e-3, "BF16": 5e-3, "Q8_0": 0.007, "Q6_K": 0.025, "Q5_0": 0.06,
            "Q5_1": 0.06, "Q5_K": 0.045, "Q4_0": 0.12, "Q4_1": 0.11, "Q4_K": 0.09,
            "IQ4_NL": 0.11, "IQ4_XS": 0.11, "Q3_K": 0.2, "Q2_K": 0.4}
SLACK = 1.4
PY_QUANTIZES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"}
WICK_NAME = {"Q2_K": "q2_K", "Q3_K": "q3_K", "Q4_K": "q4_K", "Q5_K": "q5_K", "Q6_K": "q6_K",
             "IQ4_NL": "iq4_nl", "IQ4_XS": "iq4_xs"}


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


# ---- synthetic models --------------------------------------------------------------------

def write_model(path, arch, kv, tensors, dtype="F32", alignment=None, seed=0):
    """tensors: [(name, ne list)] in file order; values N(0,1), norms 1 + N(0, 0.1)."""
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(path, arch)
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_name("synthetic-" + arch)
    for key, value in kv.items():
        w.add_uint32(f"{arch}.{key}", value)
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "c"])
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)
    for name, ne in tensors:
        x = rng.standard_normal(tuple(reversed(ne))).astype(np.float32)
        if name.endswith("norm.weight"):
            x = 1 + 0.1 * x
        if dtype == "F32" or len(ne) == 1:
            w.add_tensor(name, x)
        elif dtype == "F16":
            w.add_tensor(name, x.astype(np.float16))
        else:
            q = quantize(x, QT[dtype]).view(np.uint8)  # gguf-py takes the byte shape for raw types
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=QT[dtype])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def dense(n_layer, n_embd=256, n_ff_in=512, vocab=40, tied=False, odd=False):
    t = [("token_embd.weight", [n_embd, vocab]), ("output_norm.weight", [n_embd])]
    if not tied:
        t.append(("output.weight", [n_embd, vocab]))
    for i in range(n_layer):
        p = f"blk.{i}."
        t += [(p + "attn_norm.weight", [n_embd]), (p + "attn_q.weight", [n_embd, 8]),
              (p + "attn_k.weight", [n_embd, 4]), (p + "attn_v.weight", [n_embd, 4]),
              (p + "attn_output.weight", [n_embd, 8]), (p + "ffn_norm.weight", [n_embd]),
              (p + "ffn_gate.weight", [n_embd, 12]), (p + "ffn_up.weight", [n_embd, 12]),
              (p + "ffn_down.weight", [n_ff_in, 8])]
    if odd:  # a bias, a router, rows of 96 (32-blocks only) and of 80 (no block fits)
        t += [("blk.0.attn_q.bias", [8]), ("blk.0.ffn_gate_inp.weight", [n_embd, 4]),
              ("blk.0.odd_a.weight", [96, 4]), ("blk.0.odd_b.weight", [80, 4])]
    return t


def moe(n_layer, n_expert):
    t = [("token_embd.weight", [256, 40]), ("output_norm.weight", [256]), ("output.weight", [256, 40])]
    for i in range(n_layer):
        p = f"blk.{i}."
        t += [(p + "attn_norm.weight", [256]), (p + "attn_q.weight", [256, 8]),
              (p + "attn_k.weight", [256, 4]), (p + "attn_v.weight", [256, 4]),
              (p + "attn_output.weight", [256, 8]), (p + "ffn_gate_inp.weight", [256, n_expert]),
              (p + "ffn_gate_exps.weight", [256, 4, n_expert]), (p + "ffn_up_exps.weight", [256, 4, n_expert]),
              (p + "ffn_down_exps.weight", [256, 4, n_expert])]
    return t


def falcon(n_layer):
    t = [("token_embd.weight", [256, 40]), ("output_norm.weight", [256]), ("output.weight", [256, 40])]
    for i in range(n_layer):
        p = f"blk.{i}."
        t += [(p + "attn_norm.weight", [256]), (p + "attn_qkv.weight", [256, 12]),
              (p + "attn_output.weight", [256, 8]), (p + "ffn_up.weight", [256, 8]),
              (p + "ffn_down.weight", [256, 8])]
    return t


def llama70b():
    t = [("token_embd.weight", [256, 4]), ("output.weight", [256, 4])]
    for i in range(80):
        t += [(f"blk.{i}.attn_k.weight", [256, 2]), (f"blk.{i}.attn_v.weight", [256, 2])]
    return t


def shuffled(t, seed):
    order = np.random.default_rng(seed).permutation(len(t))
    return [t[i] for i in order]


# ---- reading ------------------------------------------------------------------------------

def load(path):
    r = gguf.GGUFReader(path)
    kv = [(k, [int(x) for x in f.types], b"".join(p.tobytes() for p in f.parts))
          for k, f in r.fields.items() if not k.startswith("GGUF.")]
    tensors = []
    for t in r.tensors:
        raw = np.asarray(r.data[t.data_offset:t.data_offset + t.n_bytes])
        tensors.append(dict(name=t.name, type=t.tensor_type.name, ne=[int(x) for x in t.shape],
                            raw=raw, offset=t.data_offset - r.data_offset))
    align = r.fields["general.alignment"].parts[-1][0] if "general.alignment" in r.fields else 32
    return dict(kv=kv, tensors=tensors, align=int(align), reader=r)


def to_f32(t):
    """Decoded values, shape (rows, ne0)."""
    qt = QT[t["type"]]
    bs, bb = gguf.GGML_QUANT_SIZES[qt]
    rows = int(np.prod(t["ne"][1:])) if len(t["ne"]) > 1 else 1
    raw = t["raw"].view(np.uint8).reshape(rows, t["ne"][0] // bs * bb)
    if qt == QT.F32:
        return raw.view(np.float32).reshape(rows, -1).copy()
    return dequantize(raw, qt).reshape(rows, t["ne"][0]).astype(np.float32)


def model_info(m):
    kv = {k: v for k, _, v in m["kv"]}
    r = m["reader"]
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode() if "general.architecture" in r.fields else ""

    def num(key, default=0):
        f = r.fields.get(f"{arch}.{key}")
        return int(f.parts[f.data[0]][0]) if f is not None else default
    n_head = num("attention.head_count")
    del kv
    return dict(arch=arch, n_layer=num("block_count"), n_head=n_head,
                n_head_kv=num("attention.head_count_kv", n_head), n_expert=num("expert_count"))


def ref_quant(type_name, x):
    """wick's single-threaded reference quantizer (quant_tool) on f32 rows x."""
    src, dst = os.path.join(TMP, "ref.f32"), os.path.join(TMP, "ref.bin")
    x.astype(np.float32).tofile(src)
    subprocess.run([QUANT_TOOL, "q", WICK_NAME[type_name], src, dst], check=True)
    return np.fromfile(dst, dtype=np.uint8)


# ---- one quantization --------------------------------------------------------------------

def run(inp, out, target, extra=()):
    cmd = [WICK, "quantize", inp, out, target, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
        return False
    return True


def check(label, inp_path, cli_target, pure=False):
    target = cli_target.upper()  # names are case-insensitive on the command line
    out_path = os.path.join(TMP, f"{label}-{target}{'-pure' if pure else ''}.gguf")
    if not run(inp_path, out_path, cli_target, ["--pure"] if pure else []):
        return None
    before = fails
    a, b = load(inp_path), load(out_path)
    ftype, base, _ = TARGETS[target]

    # metadata: input keys in order (new values for the two quantization keys), then any of
    # those two that the input lacked, appended
    special = {"general.file_type", "general.quantization_version"}
    want_keys = [k for k, _, _ in a["kv"]] + [k for k in ("general.quantization_version", "general.file_type")
                                              if k not in {k for k, _, _ in a["kv"]}]
    got_keys = [k for k, _, _ in b["kv"]]
    if got_keys != want_keys:
        fail(f"{label} {target}: metadata keys {got_keys} != {want_keys}")
    bkv = {k: (ty, v) for k, ty, v in b["kv"]}
    for k, ty, v in a["kv"]:
        if k not in special and bkv.get(k) != (ty, v):
            fail(f"{label} {target}: metadata '{k}' changed")
    r = b["reader"]
    for k, want in (("general.file_type", ftype), ("general.quantization_version", 2)):
        f = r.fields.get(k)
        if f is None or f.types != [gguf.GGUFValueType.UINT32] or int(f.parts[-1][0]) != want:
            fail(f"{label} {target}: {k} should be UINT32 {want}")
    if b["align"] != a["align"]:
        fail(f"{label} {target}: alignment {b['align']} != {a['align']}")

    # tensors
    names_a = [t["name"] for t in a["tensors"]]
    if [t["name"] for t in b["tensors"]] != names_a:
        fail(f"{label} {target}: tensor names/order changed")
        return None
    plan = expected_types([(t["name"], t["type"], t["ne"]) for t in a["tensors"]], model_info(a), target, pure)
    by_type = {}
    worst = {}
    for ta, tb, want in zip(a["tensors"], b["tensors"], plan):
        n = ta["name"]
        if tb["ne"] != ta["ne"]:
            fail(f"{label} {target}: {n} shape {tb['ne']} != {ta['ne']}")
            continue
        if tb["offset"] % a["align"]:
            fail(f"{label} {target}: {n} offset {tb['offset']} not aligned to {a['align']}")
        if tb["type"] != want:
            fail(f"{label} {target}: {n} is {tb['type']}, rules say {want}")
            continue
        if tb["type"] == ta["type"]:
            if not np.array_equal(tb["raw"], ta["raw"]):
                fail(f"{label} {target}: {n} copied ({ta['type']}) but bytes differ")
            continue
        x, y = to_f32(ta), to_f32(tb)
        err = float(np.sqrt(np.mean((y.astype(np.float64) - x) ** 2) / max(np.mean(x.astype(np.float64) ** 2), 1e-30)))
        worst[want] = max(worst.get(want, 0.0), err)
        if err > RT_BOUND[want] * SLACK:
            fail(f"{label} {target}: {n} {want} round-trip error {err:.4g} > {RT_BOUND[want] * SLACK:.4g}")
        if want in PY_QUANTIZES:
            q = quantize(x, QT[want]).view(np.uint8).reshape(-1)
            if not np.array_equal(q, tb["raw"].view(np.uint8).reshape(-1)):
                fail(f"{label} {target}: {n} {want} bytes differ from gguf-py's quantize")
        else:
            by_type.setdefault(want, []).append((x, tb["raw"].view(np.uint8).reshape(-1), n))
    for ty, items in by_type.items():  # one quant_tool call per type
        ref = ref_quant(ty, np.concatenate([x.reshape(-1) for x, _, _ in items]))
        got = np.concatenate([raw for _, raw, _ in items])
        if not np.array_equal(ref, got):
            fail(f"{label} {target}: {ty} bytes differ from the single-threaded reference quantizer")
    counts = {}
    for t in b["tensors"]:
        counts[t["type"]] = counts.get(t["type"], 0) + 1
    errs = " ".join(f"{k}:{v:.3g}" for k, v in sorted(worst.items()))
    print(f"  {'ok  ' if fails == before else 'BAD '} {label:10s} {target:7s}{' --pure' if pure else ''} "
          f"{os.path.getsize(out_path):9d} B  types {dict(sorted(counts.items()))}  worst rel err {errs}")
    return out_path


def same_file(p, q, what):
    with open(p, "rb") as f1, open(q, "rb") as f2:
        if f1.read() != f2.read():
            fail(what)
        else:
            print(f"  ok   {what}")


def main():
    print(f"wick quantize checks (temp dir {TMP})")
    syn = {}

    def make(label, arch, kv, tensors, **kw):
        path = os.path.join(TMP, label + ".gguf")
        write_model(path, arch, kv, tensors, **kw)
        syn[label] = path
        return path

    make("dense16", "llama", dict(block_count=16, **{"attention.head_count": 8, "attention.head_count_kv": 2}),
         shuffled(dense(16, odd=True), 1), alignment=64, seed=1)
    make("tied-f16", "llama", dict(block_count=8, **{"attention.head_count": 4, "attention.head_count_kv": 4}),
         dense(8, tied=True), dtype="F16", seed=2)
    make("bf16", "llama", dict(block_count=4, **{"attention.head_count": 4, "attention.head_count_kv": 2}),
         dense(4), dtype="BF16", seed=3)
    make("moe8", "llama", dict(block_count=4, expert_count=8, **{"attention.head_count": 8, "attention.head_count_kv": 8}),
         shuffled(moe(4, 8), 4), seed=4)
    make("falcon", "falcon", dict(block_count=16, **{"attention.head_count": 8, "attention.head_count_kv": 1}),
         falcon(16), seed=5)
    make("llama70b", "llama", dict(block_count=80, **{"attention.head_count": 64, "attention.head_count_kv": 8}),
         llama70b(), seed=6)

    for target in TARGETS:
        check("dense16", syn["dense16"], target)
    for label, targets in (("tied-f16", ["Q4_K_M", "Q2_K", "Q3_K_M", "Q4_K_S", "Q6_K", "Q8_0", "IQ4_XS", "Q4_0", "BF16"]),
                           ("bf16", ["Q4_K_M", "Q2_K", "Q5_K_M", "IQ4_NL", "F16", "F32"]),
                           ("moe8", ["Q4_K_M", "Q2_K", "Q3_K_M", "Q4_K_S", "IQ4_NL"]),
                           ("falcon", ["Q3_K_M", "Q4_K_M", "Q3_K_L", "Q4_K_S", "Q2_K"]),
                           ("llama70b", ["Q4_K_M", "Q3_K_M", "Q2_K", "Q4_K_S"])):
        for target in targets:
            check(label, syn[label], target)
    for target in ("Q4_K_M", "q4_k_s", "Q5_K_M", "Q5_K_S", "Q6_K", "Q3_K_M", "Q2_K", "Q4_0", "Q8_0", "F16", "BF16"):
        check("stories", STORIES, target)
    check("dense16", syn["dense16"], "Q4_K_M", pure=True)
    check("stories", STORIES, "Q6_K", pure=True)

    # case-insensitive names, thread counts: identical bytes
    t1, t2 = os.path.join(TMP, "t1.gguf"), os.path.join(TMP, "t2.gguf")
    for label, path in (("stories", STORIES), ("dense16", syn["dense16"])):
        if run(path, t1, "q4_k_m", ["--threads", "1"]) and run(path, t2, "Q4_K_M", ["--threads=2"]):
            same_file(t1, t2, f"{label}: --threads 1 and 2 give the same bytes")
    if run(syn["moe8"], t1, "Q3_K_M", ["-t", "1"]) and run(syn["moe8"], t2, "Q3_K_M", ["-t", "3"]):
        same_file(t1, t2, "moe8: --threads 1 and 3 give the same bytes")

    print("check_quantize:", "FAILED" if fails else "all passed", f"({fails} failures)")
    if not fails:  # kept on failure, for a look at the files
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
