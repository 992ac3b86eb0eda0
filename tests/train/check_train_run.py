#!/usr/bin/env python3
"""`wick train` end to end on a slice of tinyshakespeare with a wick-trained BPE vocab:
a 40-step run (checkpoints at 20 and 40) that must learn (validation loss falls), write
log.csv, loss.svg (well-formed SVG), samples.txt and a model.gguf that `wick run` loads;
a run resumed from the step-20 checkpoint that reproduces steps 21..40 bit for bit (one
thread) and writes the identical model; gradient accumulation (2 x 2 sequences) against one
batch of 4; bf16 mixed precision and gradient checkpointing against fp32; a config file; and bad configurations, each a clear message, exit 2 (usage) or
1 (files), and no model or checkpoint left behind.

usage: check_train_run.py WICK SHARED_DATA"""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

wick, shared = sys.argv[1], sys.argv[2]
corpus = os.path.join(shared, "corpora", "tinyshakespeare.txt")
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


def run(args, **kw):
    r = subprocess.run([wick] + args, capture_output=True, timeout=600, **kw)
    # samples may cut a UTF-8 sequence between tokens
    r.stdout, r.stderr = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    return r


def rows(path):
    with open(path) as f:
        lines = f.read().strip().split("\n")
    head = lines[0].split(",")
    return head, [dict(zip(head, ln.split(","))) for ln in lines[1:]]


tmp = tempfile.mkdtemp(prefix="wick-train-")
text = os.path.join(tmp, "small.txt")
with open(corpus, "rb") as f:
    data = f.read(200000)
with open(text, "wb") as f:
    f.write(data[: data.rfind(b"\n") + 1])
vocab = os.path.join(tmp, "vocab.gguf")
r = run(["tokenizer-train", "--input", text, "--vocab-size", "512", "--special", "<|endoftext|>", "--out", vocab])
check(r.returncode == 0, "tokenizer-train a 512-token vocab")

shape = ["--n-layer", "2", "--n-embd", "64", "--n-head", "4", "--n-head-kv", "2", "--ctx", "32", "--batch", "4"]
a = os.path.join(tmp, "a")
r = run(["train", "--data", text, "--tokenizer", vocab, "--out", a] + shape +
        ["--steps", "40", "--lr", "3e-3", "--eval-interval", "10", "--ckpt-interval", "20", "--keep", "0",
         "--sample-tokens", "16", "--seed", "7", "-t", "1"])
check(r.returncode == 0, "train 40 steps: exit 0 (%s)" % r.stderr.strip().split("\n")[-1][:160])
for name in ["log.csv", "loss.svg", "samples.txt", "model.gguf", "ckpt-00000020.gguf", "ckpt-00000040.gguf"]:
    check(os.path.isfile(os.path.join(a, name)), "wrote " + name)
check(not [n for n in os.listdir(a) if n.startswith(".")], "no temp files left in the output directory")
head, la = rows(os.path.join(a, "log.csv"))
check(head[:7] == ["step", "tokens", "loss", "val_loss", "val_ppl", "lr", "grad_norm"], "log.csv header")
check([int(x["step"]) for x in la] == list(range(1, 41)), "log.csv has steps 1..40")
vals = [float(x["val_loss"]) for x in la if x["val_loss"]]
check(len(vals) == 4 and vals[-1] < vals[0] - 0.3,
      "validation loss falls: %s" % ", ".join("%.3f" % v for v in vals))
try:
    svg = ET.parse(os.path.join(a, "loss.svg")).getroot()
    lines = [e for e in svg.iter() if e.tag.endswith("polyline") and len(e.get("points", "").split()) > 1]
    check(svg.tag.endswith("svg") and len(lines) >= 2, "loss.svg is an SVG with train and validation curves")
except ET.ParseError as e:
    check(False, "loss.svg parses: %s" % e)
r = run(["run", "-m", os.path.join(a, "model.gguf"), "-p", "ROMEO:", "-n", "12", "--temp", "0", "-t", "1"])
check(r.returncode == 0 and len(r.stdout) > 0, "wick run loads model.gguf and generates (%r)" % r.stdout[:60])

# resume from the step-20 checkpoint into another directory: the same steps 21..40
b = os.path.join(tmp, "b")
r = run(["train", "--resume", os.path.join(a, "ckpt-00000020.gguf"), "--out", b, "-t", "1"])
check(r.returncode == 0 and "resumed" in r.stderr, "resume from ckpt-00000020.gguf")
if r.returncode == 0:
    _, lb = rows(os.path.join(b, "log.csv"))
    cols = ["step", "tokens", "loss", "val_loss", "val_ppl", "lr", "grad_norm"]
    same = [{k: x[k] for k in cols} for x in la[20:]] == [{k: x[k] for k in cols} for x in lb]
    check(same, "resumed steps 21..40: loss, validation, lr and grad-norm identical to the uninterrupted run")
    with open(os.path.join(a, "model.gguf"), "rb") as f1, open(os.path.join(b, "model.gguf"), "rb") as f2:
        check(f1.read() == f2.read(), "resumed model.gguf identical byte for byte")
r = run(["train", "--resume", a])
check(r.returncode == 0 and "nothing to do" in r.stderr, "--resume DIR at the last step: nothing to do, exit 0")

# gradient accumulation: 2 micro-batches of 2 sequences = one batch of 4 (same sequences)
acc = {}
for name, extra in [("b4", ["--batch", "4"]), ("acc", ["--batch", "2", "--grad-accum", "2"]),
                    ("bf16", ["--batch", "4", "--precision", "bf16"]),
                    ("ckpt", ["--batch", "4", "--grad-checkpoint", "1"])]:
    out = os.path.join(tmp, name)
    r = run(["train", "--data", text, "--tokenizer", vocab, "--out", out, "--n-layer", "2", "--n-embd", "64",
             "--n-head", "4", "--ctx", "32", "--steps", "5", "--eval-interval", "100", "--sample-interval", "0",
             "-t", "1"] + extra)
    acc[name] = [float(x["loss"]) for x in rows(os.path.join(out, "log.csv"))[1]] if r.returncode == 0 else []
ok = len(acc["b4"]) == 5 and len(acc["acc"]) == 5 and all(
    abs(p - q) <= 1e-4 * abs(p) for p, q in zip(acc["b4"], acc["acc"]))
check(ok, "grad-accum 2 x batch 2 follows batch 4 within 1e-4: %s vs %s" % (acc["b4"], acc["acc"]))
# bf16 mixed precision: the same run within bf16 rounding (8 bits of mantissa in the matmuls)
ok = len(acc["bf16"]) == 5 and all(abs(p - q) <= 0.01 * abs(p) for p, q in zip(acc["b4"], acc["bf16"]))
check(ok, "--precision bf16 follows fp32 within 1%%: %s" % acc["bf16"])
# gradient checkpointing recomputes the same ops: the same losses
ok = len(acc["ckpt"]) == 5 and all(abs(p - q) <= 1e-5 * abs(p) for p, q in zip(acc["b4"], acc["ckpt"]))
check(ok, "--grad-checkpoint 1 follows the plain graph within 1e-5: %s" % acc["ckpt"])

# a config file, command-line options over it
cfg = os.path.join(tmp, "train.cfg")
with open(cfg, "w") as f:
    f.write("# a tiny run\ndata %s\ntokenizer = %s\nn-layer 1\nn-embd 32\nn-head 2\nctx 16\nbatch 2\nsteps 50\n"
            "sample-interval 0\n" % (text, vocab))
c = os.path.join(tmp, "c")
r = run(["train", "--config", cfg, "--steps", "3", "--out", c])
_, lc = rows(os.path.join(c, "log.csv")) if r.returncode == 0 else (None, [])
check(r.returncode == 0 and len(lc) == 3, "--config FILE with --steps 3 over it")

# bad configurations
with open(os.path.join(tmp, "bad.cfg"), "w") as f:
    f.write("n-layer 2\nn-embd sixty\n")
base = ["train", "--data", text, "--tokenizer", vocab]
bad = [
    (base + ["--out", os.path.join(tmp, "x1"), "--n-embd", "63", "--n-head", "4"], 2, "multiple of --n-head"),
    (base + ["--out", os.path.join(tmp, "x2"), "--n-layer", "0"], 2, "--n-layer '0'"),
    (base + ["--out", os.path.join(tmp, "x3"), "--lr", "fast"], 2, "--lr 'fast'"),
    (base + ["--out", os.path.join(tmp, "x4"), "--schedule", "linear"], 2, "cosine or constant"),
    (base + ["--out", os.path.join(tmp, "x5"), "--ctx", "60000", "--batch", "100"], 2, "too many"),
    (base + ["--out", os.path.join(tmp, "x6"), "--ctx", "4096", "--batch", "16"], 2, "one batch needs"),
    (base + ["--out", os.path.join(tmp, "x7"), "--n-vocab", "100"], 2, "below the tokenizer"),
    (base + ["--out", os.path.join(tmp, "x8"), "--bogus", "1"], 2, "unknown option 'bogus'"),
    (["train", "--data", os.path.join(tmp, "missing.txt"), "--tokenizer", vocab, "--out", os.path.join(tmp, "x9")],
     1, "missing.txt"),
    (["train", "--data", text, "--tokenizer", text, "--out", os.path.join(tmp, "x10")], 1, "--tokenizer"),
    (base + ["--out", os.path.join(text, "sub")] + shape + ["--steps", "2"], 1, "cannot create or write"),
    (["train", "--data", text, "--out", os.path.join(tmp, "x11")], 2, "--tokenizer is required"),
    (["train", "--config", os.path.join(tmp, "bad.cfg")], 2, "bad.cfg:2"),
    (["train", "--config", os.path.join(tmp, "none.cfg")], 2, "cannot read --config"),
    (["train", "--resume", os.path.join(a, "ckpt-00000020.gguf"), "--n-layer", "3"], 2, "keeps the checkpoint"),
    (["train", "--resume", vocab], 1, "not a wick train checkpoint"),
    (["train", "--resume", tmp], 1, "no ckpt-"),
    (["train", "--steps"], 2, "needs a value"),
]
for args, want_rc, want_msg in bad:
    r = run(args)
    err = r.stderr.strip()
    lines = err.split("\n")
    ok = r.returncode == want_rc and want_msg in err and "wick train:" in err and not r.stdout
    check(ok, "rc %d (want %d), %r" % (r.returncode, want_rc, lines[0][:110]))
leftover = [os.path.join(d, n) for d in [os.path.join(tmp, "x%d" % i) for i in range(1, 12)] if os.path.isdir(d)
            for n in os.listdir(d)]
check(not leftover, "no files left by the failed runs: %s" % leftover[:3])

if not fails:
    shutil.rmtree(tmp, ignore_errors=True)  # kept for inspection when something failed
print("FAILED (%d) (files in %s)" % (fails, tmp) if fails else "all train run checks passed")
sys.exit(1 if fails else 0)
