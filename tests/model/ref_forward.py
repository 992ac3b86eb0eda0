"""ref_forward.py — an independent NumPy forward pass (float64) for the architectures wick
runs (llama, qwen2, qwen3, gemma3, phi3), written from formats.md §4, reading weights
with gguf-py's own dequantizer. Used to check `wick run --dump-logits` and on tiny
random-weight models. Single sequence, positions 0..n-1.

usage: ref_forward.py MODEL.gguf IDS(comma-separated) OUT.f32   (writes n x n_vocab f32)
REF_KV_F16=1 rounds K and V to f16 as wick's KV cache stores them.
"""
import sys

import os

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


KV_F16 = os.environ.get("REF_KV_F16", "0") == "1"


class Model:
    def __init__(self, path):
        self.r = GGUFReader(path)
        self.t = {t.name: t for t in self.r.tensors}
        self.arch = self.kv("general.architecture")

    def kv(self, key, default=None):
        f = self.r.fields.get(key)
        if f is None:
            return default
        v = f.contents()
        return v

    def a(self, suffix, default=None):
        return self.kv(f"{self.arch}.{suffix}", default)

    def w(self, name):
        if name not in self.t:
            return None
        t = self.t[name]
        x = dequantize(t.data, t.tensor_type).astype(np.float64)
        ne = [int(n) for n in t.shape]
        return x.reshape(list(reversed(ne)))


def rms(x, w, eps):
    y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return y * w if w is not None else y


def rope(x, pos, n_rot, base, neox, scale=1.0, ff=None):
    # x (n, heads, hd)
    half = n_rot // 2
    i = np.arange(half)
    inv = base ** (-2.0 * i / n_rot)
    if ff is not None:
        inv = inv / ff[:half]
    th = scale * pos[:, None] * inv[None, :]  # (n, half)
    c, s = np.cos(th)[:, None, :], np.sin(th)[:, None, :]
    y = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        y[..., :half] = a * c - b * s
        y[..., half:n_rot] = a * s + b * c
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        y[..., 0:n_rot:2] = a * c - b * s
        y[..., 1:n_rot:2] = a * s + b * c
    return y


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + np.exp(-x))


def forward(m, ids):
    arch = m.arch
    n_embd = int(m.a("embedding_length"))
    n_layer = int(m.a("block_count"))
    n_head = int(m.a("attention.head_count"))
    n_head_kv = int(m.a("attention.head_count_kv", n_head))
    hd = int(m.a("attention.key_length", n_embd // n_head))
    hdv = int(m.a("attention.value_length", n_embd // n_head))
    n_rot = int(m.a("rope.dimension_count", hd))
    eps = float(m.a("attention.layer_norm_rms_epsilon"))
    base = float(m.a("rope.freq_base", 10000.0))
    n_ff = int(m.a("feed_forward_length"))
    n_swa = int(m.a("attention.sliding_window", 0) or 0)
    neox = arch != "llama"
    final_cap = m.a("final_logit_softcapping")
    ids = np.array(ids)
    n = len(ids)
    pos = np.arange(n, dtype=np.float64)
    emb = m.w("token_embd.weight")
    x = emb[ids].copy()
    if arch == "gemma3":
        x *= np.sqrt(n_embd)
        q_scale = 1 / np.sqrt(n_embd / n_head) if n_layer == 62 else 1 / np.sqrt(hd)
        kq_scale = 1.0
    elif arch == "phi3":
        q_scale, kq_scale = 1 / np.sqrt(hd), 1.0
    else:
        q_scale, kq_scale = 1.0, 1 / np.sqrt(hd)
    ff = m.w("rope_freqs.weight")
    if arch == "phi3" and m.w("rope_factors_short.weight") is not None:
        ff = m.w("rope_factors_short.weight")  # tests use short contexts
    group = n_head // n_head_kv
    for il in range(n_layer):
        p = f"blk.{il}."
        h = rms(x, m.w(p + "attn_norm.weight"), eps)
        if arch == "phi3":
            qkv = h @ m.w(p + "attn_qkv.weight").T
            q = qkv[:, : n_head * hd]
            k = qkv[:, n_head * hd : n_head * hd + n_head_kv * hd]
            v = qkv[:, n_head * hd + n_head_kv * hd :]
        else:
            q = h @ m.w(p + "attn_q.weight").T
            k = h @ m.w(p + "attn_k.weight").T
            v = h @ m.w(p + "attn_v.weight").T
            for name, arr in (("q", "q"), ("k", "k"), ("v", "v")):
                b = m.w(p + f"attn_{name}.bias")
                if b is not None:
                    if name == "q":
                        q = q + b
                    elif name == "k":
                        k = k + b
                    else:
                        v = v + b
        q = q.reshape(n, n_head, hd)
        k = k.reshape(n, n_head_kv, hd)
        v = v.reshape(n, n_head_kv, hdv)
        qn, kn = m.w(p + "attn_q_norm.weight"), m.w(p + "attn_k_norm.weight")
        if qn is not None:
            q = rms(q, qn, eps)
            k = rms(k, kn, eps)
        swa = False
        if arch == "gemma3":
            swa = n_swa > 0 and (il + 1) % 6 != 0
            b_ = 10000.0 if swa else base
        elif arch == "phi3":
            swa = n_swa > 0
            b_ = base
        else:
            b_ = base
        q = rope(q, pos, n_rot, b_, neox, ff=ff)
        k = rope(k, pos, n_rot, b_, neox, ff=ff)
        q = q * q_scale
        if KV_F16:  # wick's cache stores K and V as f16; round the same way to compare tightly
            k = k.astype(np.float16).astype(np.float64)
            v = v.astype(np.float16).astype(np.float64)
        out = np.zeros((n, n_head, hdv))
        for hh in range(n_head):
            kh = hh // group
            s = (q[:, hh, :] @ k[:, kh, :].T) * kq_scale  # (n, n)
            mask = np.tril(np.ones((n, n), bool))
            if swa:
                d = pos[:, None] - pos[None, :]
                mask &= d < n_swa
            s = np.where(mask, s, -np.inf)
            s = s - s.max(axis=1, keepdims=True)
            e = np.exp(s)
            e /= e.sum(axis=1, keepdims=True)
            out[:, hh, :] = e @ v[:, kh, :]
        a = out.reshape(n, n_head * hdv) @ m.w(p + "attn_output.weight").T
        bo = m.w(p + "attn_output.bias")
        if bo is not None:
            a = a + bo
        if arch == "gemma3":
            a = rms(a, m.w(p + "post_attention_norm.weight"), eps)
        x = x + a
        h = rms(x, m.w(p + "ffn_norm.weight"), eps)
        if arch == "phi3":
            gu = h @ m.w(p + "ffn_up.weight").T
            f = silu(gu[:, :n_ff]) * gu[:, n_ff:]
        else:
            g = h @ m.w(p + "ffn_gate.weight").T
            u = h @ m.w(p + "ffn_up.weight").T
            f = (gelu_tanh(g) if arch == "gemma3" else silu(g)) * u
        f = f @ m.w(p + "ffn_down.weight").T
        if arch == "gemma3":
            f = rms(f, m.w(p + "post_ffw_norm.weight"), eps)
        x = x + f
    x = rms(x, m.w("output_norm.weight"), eps)
    out_w = m.w("output.weight")
    logits = x @ (out_w if out_w is not None else emb).T
    if final_cap:
        logits = final_cap * np.tanh(logits / final_cap)
    return logits


def main():
    m = Model(sys.argv[1])
    ids = [int(s) for s in sys.argv[2].split(",")]
    forward(m, ids).astype("<f4").tofile(sys.argv[3])


if __name__ == "__main__":
    main()
