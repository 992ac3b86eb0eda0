#!/usr/bin/env python3
"""`wick distill` end to end on stories260K (quantized to Q8_0 as the teacher) and a small
student of its shape family: a distilled student (alpha 0.5, temperature 2) ends with a
lower validation KL(teacher || student) than the same student on hard labels (alpha 0)
for the same steps; the student model loads in `wick run`; top-k targets cached to disk
reproduce the uncached top-k run bit for bit, and a second run reads the cache (same
losses again); a run resumed from its checkpoint reproduces the rest bit for bit; a
--student GGUF continues; a student with another tokenizer and bad usage are refused
with one line (exit 1 / 2) and leave no files.

usage: check_distill.py WICK SHARED_DATA"""
import os
import shutil
import subprocess
import sys
import tempfile

wick, shared = sys.argv[1], sys.argv[2]
fails = 0
tmp = tempfile.mkdtemp(prefix="wick-distill-")


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def run(args):
    r = subprocess.run([wick] + args, capture_output=True, timeout=600)
    r.stdout, r.stderr = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    return r


def log(d):
    with open(os.path.join(d, "log.csv")) as f:
        lines = f.read().strip().split("\n")
    head = lines[0].split(",")
    return [dict(zip(head, ln.split(","))) for ln in lines[1:]]


teacher = os.path.join(tmp, "teacher-q8_0.gguf")
r = run(["quantize", os.path.join(shared, "models", "stories260K.gguf"), teacher, "Q8_0"])
check(r.returncode == 0, "quantize stories260K to Q8_0 as the teacher")
text = os.path.join(tmp, "shk.txt")
with open(os.path.join(shared, "corpora", "tinyshakespeare.txt"), "rb") as f:
    data = f.read(100000)
with open(text, "wb") as f:
    f.write(data[: data.rfind(b"\n") + 1])

common = ["distill", "--teacher", teacher, "--data", text, "--ctx", "32", "--batch", "4", "--lr", "3e-3",
          "--eval-interval", "20", "--eval-batches", "8", "--ckpt-interval", "20", "--keep", "0", "--sample-tokens",
          "8", "-t", "1"]
shape = ["--student-shape", "2x64x4"]
d_kd, d_hard = os.path.join(tmp, "kd"), os.path.join(tmp, "hard")
r = run(common + shape + ["--steps", "60", "--alpha", "0.5", "--temperature", "2", "--out", d_kd])
check(r.returncode == 0, "distill 60 steps, alpha 0.5: exit 0 (%s)" % r.stderr.strip().splitlines()[-1:])
r2 = run(common + shape + ["--steps", "60", "--alpha", "0", "--out", d_hard])
check(r2.returncode == 0, "hard labels (alpha 0), same student and steps: exit 0")
if r.returncode == 0 and r2.returncode == 0:
    kd, hard = log(d_kd), log(d_hard)
    check(set(["kl", "ce", "val_kl"]) <= set(kd[0]), "log.csv has kl, ce, val_kl columns")
    kl_kd, kl_hard = float(kd[-1]["val_kl"]), float(hard[-1]["val_kl"])
    first = float(kd[19]["val_kl"])
    check(kl_kd < kl_hard, "final val KL: distilled %.4f < hard labels %.4f" % (kl_kd, kl_hard))
    check(kl_kd < first, "distilled val KL falls: %.4f at step 20 -> %.4f" % (first, kl_kd))
    check(all(float(x["kl"]) == 0 for x in hard), "alpha 0 trains on labels alone (train KL term 0)")
    check("KL(teacher || student)" in r.stderr, "validation line reports KL(teacher || student)")
    model = os.path.join(d_kd, "model.gguf")
    rr = run(["run", "-m", model, "-p", "Once upon", "-n", "8", "--temp", "0"])
    check(rr.returncode == 0 and len(rr.stdout) > 0, "the student loads in wick run: %r" % rr.stdout[:60])
    # resume from the step-20 checkpoint reproduces steps 21..60 and the model
    d_res = os.path.join(tmp, "kd-res")
    shutil.copytree(d_kd, d_res)
    for n in ["ckpt-00000040.gguf", "ckpt-00000060.gguf", "model.gguf"]:
        os.remove(os.path.join(d_res, n))
    r3 = run(["distill", "--resume", os.path.join(d_res, "ckpt-00000020.gguf"), "--steps", "60", "-t", "1", "--out", d_res])
    check(r3.returncode == 0, "resume from ckpt-20: exit 0 (%s)" % r3.stderr.strip().splitlines()[-1:])
    if r3.returncode == 0:
        a, b = log(d_kd), log(d_res)
        keys = ["loss", "val_loss", "kl", "ce", "val_kl", "grad_norm"]
        same = len(a) == len(b) and all(x[k] == y[k] for x, y in zip(a, b) for k in keys)
        check(same, "resumed steps 21-60 have identical loss, KL, CE, val KL, grad-norm")
        with open(model, "rb") as f1, open(os.path.join(d_res, "model.gguf"), "rb") as f2:
            check(f1.read() == f2.read(), "resumed model.gguf is byte-identical")
    # a student GGUF with the teacher's tokenizer continues
    r4 = run(common + ["--student", model, "--steps", "4", "--out", os.path.join(tmp, "cont")])
    check(r4.returncode == 0 and "2 layers, n_embd 64" in r4.stderr, "--student model.gguf continues (its shape read)")

# top-k targets: cached == uncached, and a second cached run reads the cache
tk = ["--teacher-top-k", "16", "--steps", "20", "--alpha", "0.7"]
cache = os.path.join(tmp, "teacher.cache")
d1, d2, d3 = (os.path.join(tmp, n) for n in ["tk", "tk-c1", "tk-c2"])
ra = run(common + shape + tk + ["--out", d1])
rb = run(common + shape + tk + ["--teacher-cache", cache, "--out", d2])
size1 = os.path.getsize(cache) if os.path.exists(cache) else 0
rc_ = run(common + shape + tk + ["--teacher-cache", cache, "--out", d3])
check(ra.returncode == 0 and rb.returncode == 0 and rc_.returncode == 0, "top-k 16 runs, uncached and cached twice")
if ra.returncode == 0 and rb.returncode == 0 and rc_.returncode == 0:
    x, y, z = log(d1), log(d2), log(d3)
    keys = ["loss", "kl", "ce", "grad_norm"]
    check(all(p[k] == q[k] == s[k] for p, q, s in zip(x, y, z) for k in keys),
          "cached top-k targets give the uncached run's losses bit for bit, on writing and on reading")
    check(size1 > 64 and os.path.getsize(cache) == size1, "cache file written once (%d bytes), reused" % size1)
r = run(common + shape + ["--teacher-top-k", "8", "--teacher-cache", cache, "--steps", "2", "--out",
                          os.path.join(tmp, "tk-bad")])
check(r.returncode == 1 and "another teacher, batch shape or --teacher-top-k" in r.stderr,
      "a cache made with another k is refused: %s" % r.stderr.strip()[-90:])

# a student with another tokenizer; bad usage
other = os.path.join(shared, "vocab", "ggml-vocab-gpt-2.gguf")
base = [a for a in common if a not in ("--teacher", teacher)]
bad = [
    (common + ["--student", other, "--steps", "2"], 1, "do not share a tokenizer"),
    (base + ["--teacher", other] + shape + ["--steps", "2"], 1, "--teacher"),
    (common + shape + ["--student", teacher, "--steps", "2"], 2, "fixes the student's shape"),
    (common + ["--student-shape", "4x64", "--steps", "2"], 2, "is not LAYERSxEMBDxHEADS"),
    (common + shape + ["--temperature", "0", "--steps", "2"], 2, "--temperature"),
    (common + shape + ["--alpha", "1.5", "--steps", "2"], 2, "--alpha"),
    (common + shape + ["--teacher-cache", cache + "x", "--steps", "2"], 2, "give --teacher-top-k"),
    (common + shape + ["--lora-rank", "4", "--steps", "2"], 2, "is an option of wick finetune"),
    (common + shape + ["--tokenizer", teacher, "--steps", "2"], 2, "teacher's tokenizer"),
]
for i, (args, code, want) in enumerate(bad):
    out = os.path.join(tmp, "bad%d" % i)
    r = run(args + ["--out", out])
    lines = r.stderr.strip().splitlines()
    check(r.returncode == code and len(lines) == 1 and want in lines[0] and not os.path.exists(out),
          "refused (exit %d, no files): %s" % (r.returncode, lines[0] if lines else ""))
r = run(["train", "--teacher", teacher, "--data", text, "--out", os.path.join(tmp, "t"), "--tokenizer", teacher])
check(r.returncode == 2 and "is an option of wick distill" in r.stderr, "wick train refuses --teacher")
r = run(["distill", "--data", text, "--out", os.path.join(tmp, "x")])
check(r.returncode == 2 and "--teacher" in r.stderr, "distill without --teacher: exit 2")

shutil.rmtree(tmp, ignore_errors=True)
print("FAILED: %d checks" % fails if fails else "all distill checks passed")
sys.exit(1 if fails else 0)
