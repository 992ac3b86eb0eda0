#!/usr/bin/env python3
"""`wick convert` and `wick export` on hostile or unsupported input: each case is refused
with one line naming the problem, exit 1 (bad input) or 2 (bad usage), and leaves no
output file or directory. The HF directories are built here from a valid export of
stories260K, then broken one way each (config.json, safetensors header, tensors,
tokenizer).

usage: check_convert_errors.py WICK SHARED_DATA"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

wick, shared = sys.argv[1], sys.argv[2]
fails = 0
tmp = tempfile.mkdtemp(prefix="wick-convert-bad-")


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def run(args):
    r = subprocess.run([wick] + args, capture_output=True, timeout=300)
    return r.returncode, r.stderr.decode("utf-8", "replace").strip().splitlines()


good = os.path.join(tmp, "good")
rc, err = run(["export", os.path.join(shared, "models", "stories260K.gguf"), good])
check(rc == 0, "export stories260K")


def variant(name, edit):
    d = os.path.join(tmp, name)
    shutil.copytree(good, d)
    edit(d)
    return d


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def st_header(d, mutate):
    p = os.path.join(d, "model.safetensors")
    raw = open(p, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    hdr, body = mutate(hdr, body)
    h = json.dumps(hdr).encode()
    write(p, struct.pack("<Q", len(h)) + h + body)


def cfg_edit(f):
    def e(d):
        p = os.path.join(d, "config.json")
        c = json.load(open(p))
        f(c)
        json.dump(c, open(p, "w"))
    return e


def first_tensor(h):
    return sorted((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])[0]


cases = [
    ("no_config", lambda d: os.remove(os.path.join(d, "config.json")), 1, "config.json"),
    ("config_not_json", lambda d: write(os.path.join(d, "config.json"), b"{oops"), 1, "config.json"),
    ("config_arch", cfg_edit(lambda c: c.update(architectures=["GPTNeoXForCausalLM"], model_type="gpt_neox")), 1,
     "not an architecture wick converts"),
    ("config_heads", cfg_edit(lambda c: c.update(num_attention_heads="eight")), 1, "missing or bad"),
    ("config_kv_split", cfg_edit(lambda c: c.update(num_key_value_heads=3)), 1, "do not split"),
    ("no_weights", lambda d: os.remove(os.path.join(d, "model.safetensors")), 1, "neither model.safetensors"),
    ("st_len_overflow", lambda d: write(os.path.join(d, "model.safetensors"),
                                        struct.pack("<Q", 2**63) + b"{}"), 1, "exceeds the file"),
    ("st_bad_json", lambda d: write(os.path.join(d, "model.safetensors"), struct.pack("<Q", 5) + b"{abc}"), 1,
     "not valid JSON"),
    ("st_offsets_outside", lambda d: st_header(d, lambda h, b: (h, b[:-16])), 1, "outside"),
    ("st_dtype_mismatch", lambda d: st_header(d, lambda h, b: (
        {**h, first_tensor(h): {**h[first_tensor(h)], "dtype": "F16"}}, b)), 1, "need"),
    ("st_shape_mismatch", lambda d: st_header(d, lambda h, b: (
        {**h, first_tensor(h): {**h[first_tensor(h)], "shape": [3, 3]}}, b)), 1, "need"),
    ("st_unknown_tensor", lambda d: st_header(d, lambda h, b: (
        {**{k: v for k, v in h.items() if k != first_tensor(h)}, "model.visual.proj": h[first_tensor(h)]}, b)), 1,
     "has no GGUF name"),
    ("st_int_dtype", lambda d: st_header(d, lambda h, b: (
        {**h, first_tensor(h): {**h[first_tensor(h)], "dtype": "I32"}}, b)), 1, "dtype I32"),
    ("no_tokenizer", lambda d: os.remove(os.path.join(d, "tokenizer.model")), 1, "tokenizer.json"),
    ("tokenizer_garbage", lambda d: write(os.path.join(d, "tokenizer.model"), b"\xff\xff\xff\xff\xff"), 1,
     "malformed protobuf"),
    ("bad_special", lambda d: json.dump({"bos_token": "<nope>"}, open(os.path.join(d, "tokenizer_config.json"), "w")),
     1, "not in the vocabulary"),
]
for name, edit, code, want in cases:
    d = variant(name, edit)
    out = os.path.join(tmp, name + ".gguf")
    rc, lines = run(["convert", d, out, "--outtype", "f32"])
    check(rc == code and len(lines) == 1 and want in lines[0] and not os.path.exists(out),
          "convert %-18s exit %d: %s" % (name, rc, lines[0] if lines else ""))

# a sharded checkpoint (model-0000N-of-00002.safetensors + index) converts to the same file
def shard(d):
    p = os.path.join(d, "model.safetensors")
    raw = open(p, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    names = sorted((k for k in hdr if k != "__metadata__"), key=lambda k: hdr[k]["data_offsets"][0])
    wm = {}
    for part, sub in enumerate([names[: len(names) // 2], names[len(names) // 2:]]):
        fn = "model-%05d-of-00002.safetensors" % (part + 1)
        h, data, at = {"__metadata__": {"format": "pt"}}, b"", 0
        for k in sub:
            a, b = hdr[k]["data_offsets"]
            h[k] = {"dtype": hdr[k]["dtype"], "shape": hdr[k]["shape"], "data_offsets": [at, at + b - a]}
            data += body[a:b]
            at += b - a
            wm[k] = fn
        hb = json.dumps(h).encode()
        write(os.path.join(d, fn), struct.pack("<Q", len(hb)) + hb + data)
    os.remove(p)
    json.dump({"metadata": {"total_size": len(body)}, "weight_map": wm},
              open(os.path.join(d, "model.safetensors.index.json"), "w"))


one, two = os.path.join(tmp, "one.gguf"), os.path.join(tmp, "two.gguf")
rc1, _ = run(["convert", good, one, "--outtype", "f32"])
rc2, lines = run(["convert", variant("sharded", shard), two, "--outtype", "f32"])
check(rc1 == 0 and rc2 == 0 and "from 2 file(s)" in " ".join(lines) and open(one, "rb").read() == open(two, "rb").read(),
      "a 2-shard checkpoint with its index converts to the same GGUF, byte for byte")
os.remove(one), os.remove(two)
d = variant("shard_escape", shard)
idx = json.load(open(os.path.join(d, "model.safetensors.index.json")))
idx["weight_map"][next(iter(idx["weight_map"]))] = "../evil.safetensors"
json.dump(idx, open(os.path.join(d, "model.safetensors.index.json"), "w"))
rc, lines = run(["convert", d, os.path.join(tmp, "esc.gguf")])
check(rc == 1 and len(lines) == 1 and "not a file name in the directory" in lines[0],
      "an index naming a file outside the directory is refused: %s" % (lines[0] if lines else ""))

for args, code, want in [(["convert", good], 2, "expected HF_DIR"), (["convert", good, "x.gguf", "--outtype", "q9"], 2,
                                                                     "--outtype 'q9'"),
                         (["export", os.path.join(shared, "models", "stories260K.gguf"), good], 1, "not an empty"),
                         (["export", os.path.join(shared, "vocab", "ggml-vocab-gpt-2.gguf"), os.path.join(tmp, "v")], 1,
                          "cannot be exported"),
                         (["export", os.path.join(shared, "models", "stories260K.gguf"), os.path.join(tmp, "y"), "--dtype",
                           "f8"], 2, "--dtype 'f8'")]:
    rc, lines = run(args)
    check(rc == code and len(lines) == 1 and want in lines[0], "%s exit %d: %s" % (args[0], rc, lines[0] if lines else ""))
check(not os.path.exists(os.path.join(tmp, "v")) and not os.path.exists(os.path.join(tmp, "y")),
      "failed exports leave no directory")
left = [f for f in os.listdir(tmp) if ".tmp" in f or "export-tmp" in f]
check(not left, "no temporary files left (%s)" % left)

shutil.rmtree(tmp, ignore_errors=True)
print("FAILED: %d checks" % fails if fails else "all convert error checks passed")
sys.exit(1 if fails else 0)
