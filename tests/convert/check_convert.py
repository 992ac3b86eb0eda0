#!/usr/bin/env python3
"""`wick export` then `wick convert --outtype f32`: a GGUF model through a Hugging Face
directory (safetensors, config.json, tokenizer files) and back. The result must hold the
same tensors (names, shapes, types, bytes) and the same metadata, read with gguf-py:
every key of the source with the same type and value, except general.* provenance (name
aside: it travels as _name_or_path) and token-id keys set to "none" (0xFFFFFFFF), which a
converter leaves out. Keys the converter adds (llama.vocab_size, general.file_type,
general.type, rope.freq_base when the source relied on its default) must agree with the
model. The exported files are checked on their own too: safetensors header and HF names
(q/k un-permuted: re-permuting gives the GGUF rows), config.json numbers.

usage: check_convert.py WICK MODEL.gguf [--dequantize]   (--dequantize: via F32 first)"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import gguf

wick, src = sys.argv[1], sys.argv[2]
deq = "--dequantize" in sys.argv
fails = 0
tmp = tempfile.mkdtemp(prefix="wick-convert-")


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def run(args):
    r = subprocess.run([wick] + args, capture_output=True, timeout=900)
    return r.returncode, r.stderr.decode("utf-8", "replace")


if deq:
    f32 = os.path.join(tmp, "source-f32.gguf")
    rc, err = run(["quantize", src, f32, "F32", "--allow-requantize"])
    check(rc == 0, "dequantize %s to F32 (%s)" % (os.path.basename(src), err.strip().splitlines()[-1:]))
    src = f32
hf = os.path.join(tmp, "hf")
rc, err = run(["export", src, hf, "--to", "safetensors"])
check(rc == 0, "wick export -> %s (%s)" % (sorted(os.listdir(hf)) if rc == 0 else "-", err.strip().splitlines()[-1:]))
back = os.path.join(tmp, "back.gguf")
rc2, err2 = run(["convert", hf, back, "--outtype", "f32"])
check(rc2 == 0, "wick convert --outtype f32 (%s)" % err2.strip().splitlines()[-1:])
if rc != 0 or rc2 != 0:
    sys.exit(1)


def fields(r):
    out = {}
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        t = f.types[0] if f.types else None
        if t == gguf.GGUFValueType.ARRAY:
            et = f.types[1] if len(f.types) > 1 else None
            if et == gguf.GGUFValueType.STRING:
                v = tuple(bytes(f.parts[i]).decode("utf-8", "surrogateescape") for i in f.data)
            else:
                v = tuple(np.concatenate([f.parts[i] for i in f.data]).tolist()) if f.data else ()
            out[f.name] = (("ARRAY", et), v)
        elif t == gguf.GGUFValueType.STRING:
            out[f.name] = (t, bytes(f.parts[f.data[0]]).decode("utf-8", "surrogateescape"))
        else:
            out[f.name] = (t, f.parts[f.data[0]].tolist()[0])
    return out


a, b = gguf.GGUFReader(src), gguf.GGUFReader(back)
fa, fb = fields(a), fields(b)
provenance = ("general.",)
none_ids = [k for k, (t, v) in fa.items() if k.endswith("_token_id") and v == 0xFFFFFFFF]
if fa.get("tokenizer.ggml.model", (0, ""))[1] == "llama" and fa.get("tokenizer.ggml.pre", (0, ""))[1] == "default":
    none_ids.append("tokenizer.ggml.pre")  # SentencePiece has no pre-tokenizer: "default" is the loader's own
compared, bad = 0, []
for k, (t, v) in fa.items():
    if (k.startswith(provenance) and k not in ("general.architecture", "general.name")) or k in none_ids:
        continue
    compared += 1
    if k not in fb or fb[k] != (t, v):
        bad.append(k)
check(not bad, "%d metadata keys identical (type and value)%s; left out: general.* provenance%s" %
      (compared, (" -- differ: %s" % bad[:5]) if bad else "",
       (", none-valued " + ", ".join(none_ids)) if none_ids else ""))
arch = fa["general.architecture"][1]
added = sorted(k for k in fb if k not in fa)
vs = fb.get(arch + ".vocab_size", (None, None))[1]
ok_added = all(k.startswith("general.") or k in (arch + ".vocab_size", arch + ".rope.freq_base") for k in added)
ok_added = ok_added and (vs is None or vs == len(fa["tokenizer.ggml.tokens"][1]))
ok_added = ok_added and (arch + ".rope.freq_base" not in added or fb[arch + ".rope.freq_base"][1] == 10000.0)
check(ok_added, "keys the converter adds agree with the model: %s" % added)

ta = {t.name: t for t in a.tensors}
tb = {t.name: t for t in b.tensors}
check(set(ta) == set(tb), "same %d tensor names" % len(ta))
same = [n for n in ta if n in tb and list(ta[n].shape) == list(tb[n].shape) and ta[n].tensor_type == tb[n].tensor_type
        and np.asarray(ta[n].data).tobytes() == np.asarray(tb[n].data).tobytes()]
# gemma3 norms travel as w = g - 1 (HF) and come back as w + 1: exact unless g is far from 1
plus_one = [n for n in ta if n not in same and fa["general.architecture"][1] == "gemma3" and n.endswith("norm.weight")]
worst = max([float(np.max(np.abs(np.asarray(ta[n].data, dtype=np.float64) - np.asarray(tb[n].data, dtype=np.float64))))
             for n in plus_one] + [0.0])
check(len(same) + len(plus_one) == len(ta) and worst <= 1.2e-7,
      "%d/%d tensors identical: shape, type and bytes%s" % (len(same), len(ta), "; %d gemma3 norms (1 + w) within "
                                                           "%.1e" % (len(plus_one), worst) if plus_one else ""))

# the exported directory on its own
with open(os.path.join(hf, "model.safetensors"), "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
names = [k for k in hdr if k != "__metadata__"]
check(all(k.startswith(("model.", "lm_head.")) for k in names) and "model.embed_tokens.weight" in names,
      "safetensors: %d tensors under Hugging Face names, %d-byte header" % (len(names), n))
cfg = json.load(open(os.path.join(hf, "config.json")))
E = fa[arch + ".embedding_length"][1]
check(cfg["hidden_size"] == E and cfg["num_hidden_layers"] == fa[arch + ".block_count"][1],
      "config.json: hidden_size %d, %d layers, %s" % (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["architectures"]))
if arch == "llama":  # HF q rows are the GGUF rows un-permuted
    H = fa[arch + ".attention.head_count"][1]
    off = hdr["model.layers.0.self_attn.q_proj.weight"]["data_offsets"]
    with open(os.path.join(hf, "model.safetensors"), "rb") as f:
        f.seek(8 + n + off[0])
        raw = f.read(off[1] - off[0])
    dt = {"F32": np.float32, "F16": np.float16}[hdr["model.layers.0.self_attn.q_proj.weight"]["dtype"]]
    w = np.frombuffer(raw, dtype=dt).reshape(hdr["model.layers.0.self_attn.q_proj.weight"]["shape"])
    perm = w.reshape(H, 2, w.shape[0] // H // 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)
    g = np.asarray(ta["blk.0.attn_q.weight"].data).reshape(w.shape)
    check(np.array_equal(perm, g), "q_proj un-permuted: llama.cpp's permutation of it gives the GGUF rows")

# the converted model runs and gives the source's greedy text
p = ["-p", "Once upon a time", "-n", "12", "--temp", "0", "-t", "2"]
r1 = subprocess.run([wick, "run", "-m", src] + p, capture_output=True, timeout=300)
r2 = subprocess.run([wick, "run", "-m", back] + p, capture_output=True, timeout=300)
check(r1.returncode == 0 and r1.stdout == r2.stdout, "greedy text equal: %r" % r2.stdout.decode("utf-8", "replace")[:60])

shutil.rmtree(tmp, ignore_errors=True)
print("FAILED: %d checks" % fails if fails else "all convert checks passed")
sys.exit(1 if fails else 0)
