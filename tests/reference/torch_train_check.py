#!/usr/bin/env python3
"""torch_train_check.py — checks wick's llama training step against PyTorch.

A 2-layer llama (n_embd 64, n_head 4, n_head_kv 2, n_ff 160, vocab 96, B 2, T 16) gets
random weights from a fixed seed; they are written to an F32 GGUF (a small writer below,
llama tensor names and keys) that wick's driver (tests/optim/train_step.c) loads, so both
sides start from identical weights and see the same batch. The torch model is written here
from formats.md §4.4 and runs in float64, so the differences measure wick's f32 error.

Compared, each as max |wick - torch| / max |torch| per tensor, bound 1e-4:
  * the loss before every step and after the last;
  * the gradient of every parameter at step 0;
  * every parameter after 10 AdamW steps (lr 1e-3, wd 0.1, betas (0.9, 0.95), eps 1e-8,
    clip_grad_norm_ 1.0);
  * every parameter after 10 SGD steps (momentum 0.9, dampening 0.1, wd 0.01, clipping 1.0,
    LR 3 warmup steps to 0.05 then cosine to 0.005), and the LR of each step.

usage: torch_train_check.py path/to/train_step   (exit 77 = skipped: no torch)
"""
import math
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError:
    # Debian's python3-torch lives in the system interpreter, not in a pyenv/venv one.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and not os.environ.get("WICK_TORCH_REEXEC"):
        os.environ["WICK_TORCH_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("SKIP: torch and numpy are not installed (apt-get install python3-torch)")
    sys.exit(77)

E, H, HKV, FF, V, L, B, T = 64, 4, 2, 160, 96, 2, 2, 16
HD = E // H
EPS, BASE = 1e-5, 10000.0
STEPS = 10
TOL = 1e-4
LAYER = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]


def make_weights(rng):
    """name -> float32 array in numpy order (GGUF ne reversed: [rows, ne0])."""
    w = {"token_embd.weight": rng.standard_normal((V, E))}
    shapes = {"attn_q": (H * HD, E), "attn_k": (HKV * HD, E), "attn_v": (HKV * HD, E), "attn_output": (E, H * HD),
              "ffn_gate": (FF, E), "ffn_up": (FF, E), "ffn_down": (E, FF)}
    for l in range(L):
        for n in LAYER:
            if n.endswith("norm"):
                w[f"blk.{l}.{n}.weight"] = 1.0 + 0.1 * rng.standard_normal(E)
            else:
                s = shapes[n]
                w[f"blk.{l}.{n}.weight"] = rng.standard_normal(s) / math.sqrt(s[1])
    w["output_norm.weight"] = 1.0 + 0.1 * rng.standard_normal(E)
    w["output.weight"] = rng.standard_normal((V, E)) / math.sqrt(E)
    return {k: v.astype(np.float32) for k, v in w.items()}


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, weights):
    """GGUF v3, little-endian, alignment 32, f32 tensors only (formats.md §1)."""
    kv = [("general.architecture", 8, "llama"), ("llama.embedding_length", 4, E), ("llama.block_count", 4, L),
          ("llama.feed_forward_length", 4, FF), ("llama.attention.head_count", 4, H),
          ("llama.attention.head_count_kv", 4, HKV), ("llama.attention.layer_norm_rms_epsilon", 6, EPS),
          ("llama.rope.freq_base", 6, BASE), ("llama.context_length", 4, T)]
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(weights), len(kv)))
    for key, typ, val in kv:
        out += gguf_str(key) + struct.pack("<I", typ)
        out += gguf_str(val) if typ == 8 else struct.pack("<I" if typ == 4 else "<f", val)
    off, blobs = 0, []
    for name, a in weights.items():
        ne = list(reversed(a.shape))
        out += gguf_str(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        out += struct.pack("<IQ", 0, off)
        data = a.astype("<f4").tobytes()
        blobs.append(data + b"\0" * ((-len(data)) % 32))
        off += len(blobs[-1])
    out += b"\0" * ((-len(out)) % 32)
    with open(path, "wb") as f:
        f.write(bytes(out) + b"".join(blobs))


def rms_norm(x, w):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + EPS) * w


def rope(x, pos):
    """llama RoPE on the GGUF layout: adjacent pairs (x[2i], x[2i+1]) rotate by pos * base^(-2i/HD)."""
    i = torch.arange(HD // 2, dtype=torch.float64)
    theta = pos[:, None].double() * BASE ** (-2.0 * i / HD)  # [T, HD/2]
    c, s = torch.cos(theta)[:, None, :], torch.sin(theta)[:, None, :]  # broadcast over heads
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)


def forward(p, tokens, labels):
    x = p["token_embd.weight"][tokens]  # [B, T, E]
    pos = torch.arange(T)
    causal = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(L):
        w = lambda n: p[f"blk.{l}.{n}.weight"]
        h = rms_norm(x, w("attn_norm"))
        q = rope((h @ w("attn_q").T).view(B, T, H, HD), pos)
        k = rope((h @ w("attn_k").T).view(B, T, HKV, HD), pos)
        v = (h @ w("attn_v").T).view(B, T, HKV, HD)
        k = k.repeat_interleave(H // HKV, dim=2)  # query head h reads KV head h // (H / HKV)
        v = v.repeat_interleave(H // HKV, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, T, HD]
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HD) + causal, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, H * HD)
        x = x + o @ w("attn_output").T
        h = rms_norm(x, w("ffn_norm"))
        x = x + (torch.nn.functional.silu(h @ w("ffn_gate").T) * (h @ w("ffn_up").T)) @ w("ffn_down").T
    logits = rms_norm(x, p["output_norm.weight"]) @ p["output.weight"].T
    return torch.nn.functional.cross_entropy(logits.reshape(B * T, V), labels.reshape(B * T))


def lr_schedule(kind, s):
    if kind == "adamw":
        return 1e-3
    lr_max, lr_min, warmup, total = 0.05, 0.005, 3, STEPS
    if s < warmup:
        return lr_max * (s + 1) / warmup
    t = min(1.0, (s - warmup) / (total - warmup))
    return lr_min + (lr_max - lr_min) * 0.5 * (1 + math.cos(math.pi * t))


def torch_run(weights, tokens, labels, kind):
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in weights.items()}
    params = list(p.values())
    if kind == "adamw":
        opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    else:
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)
    losses, grads = [], None
    for s in range(STEPS + 1):
        opt.zero_grad()
        loss = forward(p, tokens, labels)
        loss.backward()
        losses.append(loss.item())
        if s == 0:
            grads = {k: t.grad.detach().numpy().copy() for k, t in p.items()}
        if s == STEPS:
            break
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        for g in opt.param_groups:
            g["lr"] = lr_schedule(kind, s)
        opt.step()
    return np.array(losses), grads, {k: t.detach().numpy() for k, t in p.items()}


def rel(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        return float("inf")
    d = np.abs(a - b)
    if np.isnan(d).any():
        return float("inf")
    m = np.abs(b).max()
    return d.max() / (m if m > 0 else 1.0)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    driver = sys.argv[1]
    rng = np.random.default_rng(1234)
    weights = make_weights(rng)
    tokens = rng.integers(0, V, size=(B, T + 1))
    inp, lab = tokens[:, :T].astype(np.int32), tokens[:, 1:].astype(np.int32)
    t_inp, t_lab = torch.tensor(inp, dtype=torch.long), torch.tensor(lab, dtype=torch.long)
    fails = 0

    def report(what, err):
        nonlocal fails
        bad = not (err <= TOL)
        fails += bad
        print(f"  {what:<34} {err:.3e}{'  FAIL' if bad else ''}")
        return err

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.gguf")
        write_gguf(model, weights)
        with open(os.path.join(tmp, "batch.bin"), "wb") as f:
            f.write(struct.pack("<ii", B, T) + inp.astype("<i4").tobytes() + lab.astype("<i4").tobytes())
        for kind in ("adamw", "sgd"):
            out = os.path.join(tmp, kind)
            os.mkdir(out)
            r = subprocess.run([driver, model, os.path.join(tmp, "batch.bin"), out, kind, str(STEPS)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{kind}: driver failed ({r.returncode}): {r.stdout}{r.stderr}")
                return 1
            load = lambda n: np.fromfile(os.path.join(out, n + ".f32"), dtype="<f4")
            t_losses, t_grads, t_params = torch_run(weights, t_inp, t_lab, kind)
            w_losses = load("losses")
            print(f"{kind}: {STEPS} steps, loss torch {t_losses[0]:.6f} -> {t_losses[-1]:.6f}, "
                  f"wick {w_losses[0]:.6f} -> {w_losses[-1]:.6f}  (max |a-b| / max |b| per tensor)")
            worst = max(rel(w_losses[i:i + 1], t_losses[i:i + 1]) for i in range(STEPS + 1)) \
                if w_losses.size == STEPS + 1 else float("inf")
            report("losses (each step)", worst)
            report("learning rates", rel(load("lr"), [lr_schedule(kind, s) for s in range(STEPS)]))
            worst_g = worst_p = 0.0
            for name in weights:
                if kind == "adamw":
                    worst_g = max(worst_g, report("grad " + name, rel(load("grad." + name), t_grads[name])))
                worst_p = max(worst_p, report(f"param after {STEPS} steps " + name,
                                              rel(load("param." + name), t_params[name])))
            print(f"  {kind}: worst gradient {worst_g:.3e}, worst parameter {worst_p:.3e}")
    print("FAIL" if fails else "OK", f"({fails} over {TOL})")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
