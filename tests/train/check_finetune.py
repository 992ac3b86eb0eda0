#!/usr/bin/env python3
"""`wick finetune` (LoRA on a frozen base) end to end on stories260K, quantized to Q8_0 by
`wick quantize` first so the backward pass runs through quantized weights: the held-out
loss falls; the adapter GGUF has llama.cpp's adapter keys and A/B shapes (gguf-py) and
loads with `wick run --lora`; `wick lora merge` accepts it; a run resumed from its
mid-run checkpoint reproduces the rest bit for bit (one thread) and writes the identical
adapter; chat JSONL data trains on assistant tokens with a falling held-out loss; bad usage
and malformed JSONL give one clear line and a non-zero exit.

usage: check_finetune.py WICK SHARED_DATA"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import gguf

wick, shared = sys.argv[1], sys.argv[2]
fails = 0
tmp = tempfile.mkdtemp(prefix="wick-finetune-")


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def run(args):
    r = subprocess.run([wick] + args, capture_output=True, timeout=600)
    r.stdout, r.stderr = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    return r


def losses(path):
    with open(path) as f:
        rows = [ln.split(",") for ln in f.read().strip().split("\n")[1:]]
    return [r[:7] for r in rows]


base = os.path.join(tmp, "stories-q8_0.gguf")
r = run(["quantize", os.path.join(shared, "models", "stories260K.gguf"), base, "Q8_0"])
check(r.returncode == 0, "quantize stories260K to Q8_0 as the frozen base")
text = os.path.join(tmp, "shk.txt")
with open(os.path.join(shared, "corpora", "tinyshakespeare.txt"), "rb") as f:
    data = f.read(120000)
with open(text, "wb") as f:
    f.write(data[: data.rfind(b"\n") + 1])

out = os.path.join(tmp, "a.gguf")
args = ["finetune", "-m", base, "--data", text, "--lora-rank", "4", "--lora-alpha", "8", "--lora-targets", "q,v,down",
        "--ctx", "32", "--batch", "4", "--lr", "3e-3", "--eval-interval", "10", "--ckpt-interval", "10", "--keep", "0",
        "--sample-tokens", "12", "-t", "1"]
r = run(args + ["--steps", "30", "--out", out])
check(r.returncode == 0 and os.path.isfile(out), "finetune 30 steps: exit 0 (%s)" % r.stderr.strip().splitlines()[-1:])
rundir = os.path.join(tmp, "a.run")
for name in ["log.csv", "loss.svg", "samples.txt", "ckpt-00000010.gguf", "ckpt-00000030.gguf"]:
    check(os.path.isfile(os.path.join(rundir, name)), "a.run/" + name)
rows = losses(os.path.join(rundir, "log.csv")) if r.returncode == 0 else []
vals = [float(x[3]) for x in rows if x[3]]
check(len(vals) == 3 and vals[-1] < vals[0], "held-out loss falls: %s" % ", ".join("%.3f" % v for v in vals))

if os.path.isfile(out):
    rd = gguf.GGUFReader(out)
    kv = {f.name: f for f in rd.fields.values()}
    def s(k):
        f = kv.get(k)
        return bytes(f.parts[f.data[0]]).decode() if f else None
    check(s("general.type") == "adapter" and s("adapter.type") == "lora" and s("general.architecture") == "llama",
          "adapter keys: general.type adapter, adapter.type lora, architecture llama")
    names = {t.name: t for t in rd.tensors}
    a, b = names.get("blk.0.attn_q.weight.lora_a"), names.get("blk.0.attn_q.weight.lora_b")
    check(a is not None and b is not None and list(a.shape) == [64, 4] and list(b.shape) == [4, 64],
          "blk.0.attn_q lora_a [64, 4] and lora_b [4, 64] (ggml order)")
    check(len(names) == 2 * 3 * 5, "an A and a B for q, v, down in each of 5 layers (%d tensors)" % len(names))
    r = run(["run", "-m", base, "--lora", out, "-p", "ROMEO:", "-n", "8", "--temp", "0", "-t", "1"])
    check(r.returncode == 0 and "3 LoRA" not in r.stderr and "adapted" in r.stderr, "wick run --lora loads the adapter")
    m = os.path.join(tmp, "merged.gguf")
    r = run(["lora", "merge", base, out, m])
    check(r.returncode == 0 and os.path.isfile(m), "wick lora merge accepts it")

# resume from step 10 into another output: steps 11..30 identical
out2 = os.path.join(tmp, "b.gguf")
r = run(["finetune", "--resume", os.path.join(rundir, "ckpt-00000010.gguf"), "--out", out2])
check(r.returncode == 0 and "resumed" in r.stderr, "resume from ckpt-00000010.gguf (%s)" % r.stderr.strip().splitlines()[-1:])
if r.returncode == 0:
    rb = losses(os.path.join(tmp, "b.run", "log.csv"))
    check(rb == rows[10:], "resumed steps 11..30: loss, validation, lr and grad-norm identical")
    with open(out, "rb") as f1, open(out2, "rb") as f2:
        check(f1.read() == f2.read(), "resumed adapter identical byte for byte")

for extra, msg in [(["--n-layer", "2"], "--n-layer does not apply"), (["--lora-targets", "q,x"], "'x' is not one of"),
                   (["--lora-rank", "0"], "--lora-rank '0'")]:
    r = run(args + ["--steps", "2", "--out", os.path.join(tmp, "x.gguf")] + extra)
    check(r.returncode == 2 and msg in r.stderr and "wick finetune:" in r.stderr, "%s -> exit 2 (%r)" % (extra, r.stderr.strip()[:90]))
r = run(["finetune", "--data", text, "--out", os.path.join(tmp, "y.gguf")])
check(r.returncode == 2 and "-m BASE.gguf is required" in r.stderr, "no -m -> exit 2")

# chat JSONL (scripts/make_scene_chat.py on the corpus): rendered with chatml (stories260K has
# no template), loss on the assistant tokens only; the held-out loss falls
jsonl = os.path.join(tmp, "scene.jsonl")
maker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "make_scene_chat.py")
sp = subprocess.run([sys.executable, maker, os.path.join(shared, "corpora", "tinyshakespeare.txt"), jsonl, "--count",
                     "300"], capture_output=True)
check(sp.returncode == 0, "make_scene_chat.py writes 300 conversations")
cargs = ["finetune", "-m", base, "--data", jsonl, "--lora-rank", "4", "--ctx", "64", "--batch", "4", "--lr", "3e-3",
         "--eval-interval", "10", "--eval-batches", "8", "--sample-interval", "0", "-t", "1"]
r = run(cargs + ["--steps", "30", "--out", os.path.join(tmp, "chat.gguf")])
check(r.returncode == 0 and "300 conversations (30 for validation), template chatml" in r.stderr,
      "finetune on chat JSONL: exit 0, chatml (%s)" % r.stderr.strip().splitlines()[:1])
if r.returncode == 0:
    rows = losses(os.path.join(tmp, "chat.run", "log.csv"))
    vals = [float(x[3]) for x in rows if x[3]]
    check(len(vals) == 3 and vals[-1] < vals[0], "chat held-out loss (assistant tokens) falls: %s" %
          ", ".join("%.3f" % v for v in vals))
with open(jsonl) as f:
    good = f.readline()
for body, msg in [(good + '{"messages": [{"role": "user", "content": "x"}]}\n', "line 2: no assistant message"),
                  (good + good + "{oops\n", "line 3: not valid JSON"), (good, "at least 2 are needed")]:
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w") as f:
        f.write(body)
    r = run(cargs + ["--data", bad, "--steps", "2", "--out", os.path.join(tmp, "bad.gguf")])
    check(r.returncode in (1, 2) and msg in r.stderr and not os.path.exists(os.path.join(tmp, "bad.run")),
          "bad chat JSONL refused, no files: %r" % r.stderr.strip()[-80:])
r = run(["train", "--data", jsonl, "--tokenizer", base, "--out", os.path.join(tmp, "t")])
check(r.returncode == 2 and "chat JSONL data is for wick finetune" in r.stderr, "wick train refuses chat JSONL")

if not fails:
    shutil.rmtree(tmp, ignore_errors=True)
print("FAILED (%d) (files in %s)" % (fails, tmp) if fails else "all finetune checks passed")
sys.exit(1 if fails else 0)
