#!/usr/bin/env python3
"""check_logits.py — wick's logits for a real model against the NumPy reference
(ref_forward.py), for a fixed 64-token prompt (BOS + 63 tokens of English text):
  wick run -m MODEL --prompt-ids IDS --dump-logits F -n 0       (all positions, one batch)
  wick run -m MODEL --prompt-ids IDS --dump-logits-seq F -n 0   (one token at a time)
both raw little-endian float32 [64, n_vocab]. Checks, per model:
  1. top-1 agrees with the reference at every position, except at a near tie: wick may pick
     another token only if its reference logit is within TOL_TIE of the reference's best
     (activation rounding flips such ties; see TOLERANCES);
  2. max and mean |wick - reference| over all logits below TOL_MAX and TOL_MEAN;
  3. seq vs batch: the same three checks with SEQ_MAX, SEQ_MEAN, SEQ_TIE.
The prompt's ids are fixed here; `wick tokenize` must still produce them (else FAIL, and the
fixed ids are used anyway). Reference logits are cached in CACHE_DIR keyed by the model's
sha256, the ids and ref_forward.py's own hash, so reruns cost only wick's time.
With a fourth argument `f32`, the model's weights are first dequantized to F32 by
`wick quantize --allow-requantize MODEL OUT F32` (no activation rounding happens with F32
weights), the reference rounds K/V to f16 as wick's cache does (--sim-kv-f16), and the
checks are strict: top-1 at every position with no near-tie allowance, max |diff| below
F32_MAX. This isolates the forward pass itself from 8-bit activation rounding.
usage: check_logits.py WICK {smollm2,gemma3-270m} CACHE_DIR [f32]
Fails (exit 1) when gguf/numpy are missing or a model cannot be fetched: never skips."""
import hashlib
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
try:
    import numpy as np
    import fetch_models
except ImportError as e:
    print(f"FAIL: cannot import numpy / scripts/fetch_models.py ({e})")
    sys.exit(1)

TEXT = ("The old lighthouse stood at the edge of the cliff, its white paint peeling after decades of salt "
        "wind. Every evening the keeper climbed the spiral stairs, counted the one hundred and twelve steps, "
        "and lit the lamp so that the fishing boats could find their way home through the fog. One night in "
        "November, the lamp would not light.")

# BOS, then the first 63 ids of `wick tokenize --no-bos --ids -p TEXT`. SmolLM2's BOS (1,
# <|im_start|>) is not added by its tokenizer (add_bos_token = false) but is prepended here
# all the same, so both prompts start the way the models saw documents in training.
PROMPTS = {
    "smollm2": [1] + [int(x) for x in """
        504 1573 33059 9318 418 260 5595 282 260 25959 28 624 2537 7670 44302 990 4756 282 5420 2251
        30 5081 9053 260 40061 30324 260 18851 24224 28 17288 260 582 3822 284 11314 3301 28 284 1150
        260 17559 588 338 260 8725 13768 856 1042 480 970 1478 738 260 19998 30 1963 3163 281 4745 28
        260 17559""".split()],
    "gemma3-270m": [2] + [int(x) for x in """
        818 2255 63937 15032 657 506 7377 529 506 42383 236764 1061 2173 6554 80080 1308 13013 529 9551
        6573 236761 7685 9137 506 64222 54264 506 32450 31393 236764 31167 506 886 7549 532 22778 6555
        236764 532 10035 506 15123 834 600 506 13763 20896 1451 1586 910 1595 2033 1343 506 20389
        236761 3656 3446 528 6243 236764 506 15123""".split()],
}

# TOLERANCES (absolute, on logits whose spread is std 5.4 (gemma3) to 6.9 (smollm2)).
# wick rounds every matmul input to 8 bits per block of 32 (Q8_0/Q8_1) or 256 (Q8_K) before
# the integer dot product; the reference does not. `ref_forward.py --sim-act-quant` applies
# that rounding to the reference; on this prompt it moves the logits by (max, mean):
#   smollm2 1.14, 0.197 (1.31, 0.191 with an f16 KV cache too; f16 KV alone 0.014, 0.002)
#   gemma3  1.33, 0.180 (1.30, 0.174 with an f16 KV cache too; f16 KV alone 0.009, 0.001)
# and flips top-1 at 4 (smollm2) / 5 (gemma3) positions where the reference's gap was at most
# 0.22. The error is that large because both models carry massive activations (|x| ~ 25000 in
# SmolLM2's residual stream at BOS): a block holding one shrinks the step of its 31 or 255
# neighbours. The same amplification makes the engine chaotic at the rounding boundary:
# relative noise of 3e-7 (f32 summation order) on every matmul output before the rounding
# moved the logits by max 0.99 / 1.24, mean 0.168 / 0.192 (smollm2 / gemma3). So seq vs batch
# cannot be held tighter than that unless wick's two paths are bitwise equal per row (then the
# test prints 0). Tolerances are about 2x the measurements. First wick (tools/run.c of this
# issue) measured: smollm2 max 1.64, mean 0.226; gemma3 max 1.30, mean 0.164; seq == batch
# bit for bit; top-1 differs only at near ties (gaps <= 0.22). Defects planted in the
# reference for comparison: llama RoPE pairs as NEOX -> mean 7.0, max 27; gemma3 local layers
# with the global RoPE base -> mean 0.98, max 9.4 (both fail).
TOL_MAX, TOL_MEAN, TOL_TIE = 2.5, 0.4, 0.5       # wick vs reference
SEQ_MAX, SEQ_MEAN, SEQ_TIE = 2.5, 0.4, 0.5       # wick seq vs wick batch
# F32 weights (dequantized): measured max 0.0070 / mean 0.0011 (smollm2), max 0.0035 / mean
# 0.0004 (gemma3) against the reference with f16 K/V; top-1 64/64 for both. The bounds leave
# room for f32 summation order, not for a wrong graph (a wrong RoPE costs whole logits).
F32_MAX, F32_MEAN, F32_TIE = 0.05, 0.01, 0.0
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def reference_logits(model, ids, cache_dir, extra=()):
    """ref_forward.py's logits, from the cache when the model, ids and script are unchanged."""
    ref = os.path.join(HERE, "ref_forward.py")
    key = hashlib.sha256(f"{sha256_file(model)} {os.path.getsize(model)} {ids} {sha256_file(ref)} {extra}".encode())
    path = os.path.join(cache_dir, f"ref-logits-{os.path.basename(model)}-{key.hexdigest()[:16]}.npy")
    if os.path.exists(path):
        print(f"  reference: cached {path}")
        return np.load(path)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + f".tmp{os.getpid()}.npy"
    t0 = time.time()
    r = subprocess.run([sys.executable, ref, model, "--ids", ",".join(map(str, ids)), "--out", tmp, *extra],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ref_forward.py failed: {r.stderr.strip()[-500:]}")
    os.replace(tmp, path)
    print(f"  reference: computed in {time.time() - t0:.1f}s -> {path}")
    return np.load(path)


def wick_logits(wick, model, ids, flag, n_vocab, tmpdir):
    out = os.path.join(tmpdir, flag.strip("-") + ".f32")
    cmd = [wick, "run", "-m", model, "--prompt-ids", ",".join(map(str, ids)), flag, out, "-n", "0"]
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        fail(f"wick run ... {flag}: still running after 600 s")
        return None
    if r.returncode != 0:
        fail(f"{' '.join(cmd[:2])} ... {flag}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
        return None
    want = len(ids) * n_vocab * 4
    size = os.path.getsize(out) if os.path.exists(out) else -1
    if size != want:
        fail(f"{flag}: {size} bytes written, expected {want} ({len(ids)} x {n_vocab} float32)")
        return None
    print(f"  wick {flag}: {time.time() - t0:.1f}s")
    return np.fromfile(out, dtype="<f4").reshape(len(ids), n_vocab).astype(np.float64)


def compare(what, got, want, tol, tol_mean, tie):
    """Top-1 agreement with the near-tie rule, max and mean abs difference (module doc)."""
    if not np.all(np.isfinite(got)):
        fail(f"{what}: {np.count_nonzero(~np.isfinite(got))} logits are not finite")
        return
    diff = np.abs(got - want)
    pos, tok = np.unravel_index(np.argmax(diff), diff.shape)
    top_w, top_g = want.argmax(axis=1), got.argmax(axis=1)
    srt = np.sort(want, axis=1)
    margin = srt[:, -1] - srt[:, -2]
    agree = int(np.sum(top_w == top_g))
    for p in np.flatnonzero(top_w != top_g):
        gap = want[p, top_w[p]] - want[p, top_g[p]]
        if gap >= tie:
            fail(f"{what}: position {p}: top-1 {top_g[p]}, reference {top_w[p]} "
                 f"(reference gap {gap:.3f} >= {tie})")
        else:
            print(f"  {what}: position {p}: near tie (reference gap {gap:.3f} < {tie}), "
                  f"top-1 {top_g[p]} vs {top_w[p]}: allowed")
    print(f"  {what}: top-1 agrees at {agree}/{len(top_w)} positions (smallest reference margin "
          f"{margin.min():.3f}); max |diff| {diff.max():.4f} at position {pos} token {tok}, "
          f"mean {diff.mean():.4f}; tolerances {tol}, {tol_mean}")
    if diff.max() >= tol:
        fail(f"{what}: max |diff| {diff.max():.4f} >= {tol}")
    if diff.mean() >= tol_mean:
        fail(f"{what}: mean |diff| {diff.mean():.4f} >= {tol_mean}")


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[2] not in PROMPTS or sys.argv[4:] not in ([], ["f32"]):
        print(f"usage: check_logits.py WICK {{{','.join(PROMPTS)}}} CACHE_DIR [f32]")
        return 2
    wick, name, cache_dir = sys.argv[1:4]
    f32 = sys.argv[4:] == ["f32"]
    ids = PROMPTS[name]
    try:
        model = fetch_models.fetch(name)
    except Exception as e:  # a fetch failure is a failure, not a skip
        print(f"FAIL: cannot fetch {name} ({e})")
        return 1
    print(f"{os.path.basename(model)}: {len(ids)} prompt tokens")
    r = subprocess.run([wick, "tokenize", "-m", model, "--no-bos", "--ids", "-p", TEXT],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stdout.split()[:63] != [str(x) for x in ids[1:]]:
        fail(f"wick tokenize no longer gives the fixed prompt ids (exit {r.returncode}) {r.stderr.strip()}")
    tol = (TOL_MAX, TOL_MEAN, TOL_TIE)
    extra = ()
    if f32:
        quant = model
        model = os.path.join(cache_dir, os.path.basename(quant).replace(".gguf", "") + "-dequantized-F32.gguf")
        if not os.path.exists(model) or os.path.getmtime(model) < os.path.getmtime(quant):
            r = subprocess.run([wick, "quantize", "--allow-requantize", quant, model, "F32"], capture_output=True,
                               text=True)
            if r.returncode != 0:
                print(f"FAIL: wick quantize ... F32: {r.stderr.strip()[-400:]}")
                return 1
        print(f"  dequantized to {model}")
        tol, extra = (F32_MAX, F32_MEAN, F32_TIE), ("--sim-kv-f16",)
    try:
        want = reference_logits(model, ids, cache_dir, extra)
    except Exception as e:
        print(f"FAIL: {e}")
        return 1
    n_vocab = want.shape[1]
    want = want.astype(np.float64)
    with tempfile.TemporaryDirectory(prefix="wick-logits-") as tmp:
        batch = wick_logits(wick, model, ids, "--dump-logits", n_vocab, tmp)
        seq = wick_logits(wick, model, ids, "--dump-logits-seq", n_vocab, tmp)
    if batch is not None:
        compare("batch vs reference", batch, want, *tol)
    if seq is not None:
        compare("seq vs reference", seq, want, *tol)
    if batch is not None and seq is not None:
        compare("seq vs batch", seq, batch, SEQ_MAX, SEQ_MEAN, SEQ_TIE)
    print("FAIL" if fails else "OK", f"({fails} failures)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
