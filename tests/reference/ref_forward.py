#!/usr/bin/env python3
"""ref_forward.py — an independent NumPy forward pass for GGUF models of the `llama` and
`gemma3` architectures (formats.md §4.2-4.4, §4.7), used as the reference wick's logits are
checked against. Weights come from gguf-py (GGUFReader + gguf.quants.dequantize), so the
only thing shared with wick is the file. All arithmetic is float64; the one exception is
storage: the token-embedding table stays float32 (Gemma 3's is 262144 x 640) and is widened
to float64 a slice at a time for the LM head, which is exact.

usage:
  ref_forward.py MODEL.gguf --ids 1,2,3 --out logits.npy   # float32 [n_tokens, n_vocab]
  ref_forward.py MODEL.gguf --ids 1,2,3 --generate N       # greedy: N more tokens, printed
Attention is causal over the given ids, positions 0..n-1; no KV cache (each call recomputes).
--sim-act-quant rounds every matmul input the way a ggml-style CPU engine does (each row
quantized to the weight type's activation type, formats.md §2.5) and --sim-kv-f16 rounds K
and V to f16: not a reference, an estimate of the logit error such an engine should show."""
import argparse
import math
import sys
import time

import numpy as np

try:
    import gguf
    from gguf.quants import dequantize
except ImportError as e:
    sys.exit(f"ref_forward.py: cannot import gguf ({e}); run: python3 -m pip install gguf numpy")


# ---- loading -------------------------------------------------------------------------------

class Model:
    """Hyper-parameters (formats.md §3.2) and dequantized weights of one GGUF file."""

    def __init__(self, path, sim_act_quant=False, sim_kv_f16=False):
        self.sim_act_quant, self.sim_kv_f16 = sim_act_quant, sim_kv_f16
        self.r = gguf.GGUFReader(path)
        self.arch = self.field("general.architecture")
        if self.arch not in ("llama", "gemma3"):
            raise SystemExit(f"ref_forward.py: architecture '{self.arch}' is not supported (llama, gemma3)")
        a = self.arch
        self.tensors = {t.name: t for t in self.r.tensors}
        self.n_embd = int(self.field(f"{a}.embedding_length"))
        self.n_layer = int(self.field(f"{a}.block_count"))
        self.n_head = int(self.field(f"{a}.attention.head_count"))
        self.n_head_kv = int(self.field(f"{a}.attention.head_count_kv", self.n_head))
        self.head_dim = int(self.field(f"{a}.attention.key_length", self.n_embd // self.n_head))
        self.head_dim_v = int(self.field(f"{a}.attention.value_length", self.head_dim))
        self.n_rot = int(self.field(f"{a}.rope.dimension_count", self.head_dim))
        self.eps = float(self.field(f"{a}.attention.layer_norm_rms_epsilon"))
        self.rope_base = float(self.field(f"{a}.rope.freq_base", 10000.0))
        scaling = self.field(f"{a}.rope.scaling.type", "linear")
        factor = float(self.field(f"{a}.rope.scaling.factor", self.field(f"{a}.rope.scale_linear", 0.0)))
        if scaling not in ("none", "linear"):
            raise SystemExit(f"ref_forward.py: rope scaling '{scaling}' is not implemented")
        self.freq_scale = 1.0 if scaling == "none" or factor == 0.0 else 1.0 / factor
        self.n_swa = int(self.field(f"{a}.attention.sliding_window", 0))
        self.final_softcap = self.field(f"{a}.final_logit_softcapping", None)
        self.rope_ff = self.weight("rope_freqs.weight") if "rope_freqs.weight" in self.tensors else None
        if self.arch == "llama" and self.n_rot != self.head_dim:
            raise SystemExit("ref_forward.py: llama needs rope.dimension_count == head dim")
        # the embedding table: float32 storage, [n_vocab, n_embd]
        self.tok_embd = self.weight("token_embd.weight", np.float32)
        self.n_vocab = self.tok_embd.shape[0]
        head = "output.weight" if "output.weight" in self.tensors else "token_embd.weight"
        self.lm_head = self.tok_embd if head == "token_embd.weight" else self.weight(head, np.float32)
        self.lm_head_type = self.tensors[head].tensor_type  # tied when output.weight is absent
        self.layers = [self.load_layer(il) for il in range(self.n_layer)]
        self.output_norm = self.weight("output_norm.weight")

    def field(self, key, default=KeyError):
        f = self.r.fields.get(key)
        if f is None:
            if default is KeyError:
                raise SystemExit(f"ref_forward.py: key {key} missing")
            return default
        v = f.contents()
        return v

    def weight(self, name, dtype=np.float64):
        """Rows of the tensor as a matrix [ne1, ne0] (or a vector [ne0])."""
        t = self.tensors[name]
        ne = [int(x) for x in t.shape]  # ggml order: ne[0] first
        w = np.asarray(dequantize(np.asarray(t.data), t.tensor_type), dtype=np.float32)
        return w.reshape(ne[::-1]).astype(dtype, copy=False)

    def load_layer(self, il):
        names = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate",
                 "ffn_up", "ffn_down"]
        if self.arch == "gemma3":
            names += ["attn_q_norm", "attn_k_norm", "post_attention_norm", "post_ffw_norm"]
        layer = {n: self.weight(f"blk.{il}.{n}.weight") for n in names}
        layer["types"] = {n: self.tensors[f"blk.{il}.{n}.weight"].tensor_type for n in names}
        for n in ("attn_q", "attn_k", "attn_v", "attn_output"):  # optional biases (§4.4)
            if f"blk.{il}.{n}.bias" in self.tensors:
                layer[n + "_b"] = self.weight(f"blk.{il}.{n}.bias")
        return layer


# ---- building blocks (formats.md §4.2) ---------------------------------------------------

def rms_norm(x, w, eps):
    """x / sqrt(mean(x^2) + eps) * w over the last axis; w is used as stored (gemma3's files
    already hold 1 + w, §4.7)."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def linear(x, w, b=None):
    """y[n] = sum_k W[n][k] x[k]: x (T, K), w (N, K) -> (T, N)."""
    y = x @ w.T
    return y if b is None else y + b


# ---- simulation of an engine's activation rounding (only with --sim-*) -----------------------

Q = gguf.GGMLQuantizationType
ACT_Q8_0 = {Q.Q4_0, Q.Q5_0, Q.Q8_0, Q.IQ4_NL}
ACT_Q8_1 = {Q.Q4_1, Q.Q5_1}
ACT_Q8_K = {Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.IQ4_XS}


def round_act(x, wtype):
    """x as the engine sees it after quantizing each row to the activation type paired with
    weight type wtype: Q8_0/Q8_1 per 32 (d = amax/127 kept as f16), Q8_K per 256 (d = 1/iscale
    in f32 with iscale = -127/max, max the signed element of largest magnitude), F16 -> f16."""
    if wtype == Q.F16:
        return x.astype(np.float16).astype(np.float64)
    if wtype not in ACT_Q8_0 | ACT_Q8_1 | ACT_Q8_K:
        return x
    bs = 256 if wtype in ACT_Q8_K else 32
    b = x.reshape(-1, bs)
    if bs == 256:
        mx = np.take_along_axis(b, np.abs(b).argmax(axis=1)[:, None], axis=1)
        iscale = np.where(mx != 0, -127.0 / np.where(mx != 0, mx, 1), 0.0).astype(np.float32)
        q = np.clip(np.round(iscale * b.astype(np.float32)), -128, 127)
        d = np.where(iscale != 0, 1.0 / np.where(iscale != 0, iscale, 1), 0.0).astype(np.float32)
    else:
        d = (np.abs(b).max(axis=1, keepdims=True) / 127.0).astype(np.float32)
        inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0.0)
        q = np.round(b.astype(np.float32) * inv)  # ggml rounds half away from zero; ties are rare
        d = d.astype(np.float16)
    return (q * d.astype(np.float64)).reshape(x.shape)


def mm(m, L, x, name):
    """linear() for weight L[name]; with --sim-act-quant x is rounded as an engine would."""
    if m.sim_act_quant:
        x = round_act(x, L["types"][name])
    return linear(x, L[name], L.get(name + "_b"))


def kv_round(m, t):
    return t.astype(np.float16).astype(np.float64) if m.sim_kv_f16 else t


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, pos, n_rot, base, freq_scale, neox, ff=None):
    """Rotates the first n_rot dims of every head (§4.3). x (T, H, D), pos (T,).
    NORMAL pairs adjacent dims (2i, 2i+1) — llama, whose Q/K rows the converter permuted so
    this equals HF's half rotation; NEOX pairs (i, i + n_rot/2) — gemma3, stored unpermuted."""
    half = n_rot // 2
    i = np.arange(half, dtype=np.float64)
    inv = base ** (-2.0 * i / n_rot)
    if ff is not None:
        inv = inv / ff
    theta = freq_scale * pos[:, None].astype(np.float64) * inv[None, :]   # (T, half)
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    y = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        y[..., :half], y[..., half:n_rot] = a * c - b * s, a * s + b * c
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        y[..., 0:n_rot:2], y[..., 1:n_rot:2] = a * c - b * s, a * s + b * c
    return y


def attention(q, k, v, scale, n_swa):
    """Causal multi-head attention with GQA (query head h uses KV head h // (H / H_kv)).
    q (T, H, D), k (T, Hkv, D), v (T, Hkv, Dv) -> (T, H * Dv). n_swa > 0: a key at p_k is
    also masked for the query at p when p - p_k >= n_swa (sliding window)."""
    T, H, _ = q.shape
    rep = H // k.shape[1]
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    scores = np.einsum("thd,shd->hts", q, k) * scale          # (H, T, T)
    p = np.arange(T)
    masked = p[None, :] > p[:, None]                          # key after query
    if n_swa > 0:
        masked |= (p[:, None] - p[None, :]) >= n_swa
    scores = np.where(masked[None], -np.inf, scores)
    scores -= scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    w /= w.sum(axis=-1, keepdims=True)
    out = np.einsum("hts,shd->thd", w, v)                      # (T, H, Dv)
    return out.reshape(T, -1)


# ---- architectures ---------------------------------------------------------------------------

def llama_layer(m, L, x, pos):
    """formats.md §4.4: h = x + W_o attn(...), out = h + down(silu(gate) * up)."""
    T = x.shape[0]
    n = rms_norm(x, L["attn_norm"], m.eps)
    q = mm(m, L, n, "attn_q").reshape(T, m.n_head, m.head_dim)
    k = mm(m, L, n, "attn_k").reshape(T, m.n_head_kv, m.head_dim)
    v = mm(m, L, n, "attn_v").reshape(T, m.n_head_kv, m.head_dim_v)
    q = rope(q, pos, m.n_rot, m.rope_base, m.freq_scale, neox=False, ff=m.rope_ff)
    k = rope(k, pos, m.n_rot, m.rope_base, m.freq_scale, neox=False, ff=m.rope_ff)
    a = attention(q, kv_round(m, k), kv_round(m, v), 1.0 / math.sqrt(m.head_dim), 0)
    h = x + mm(m, L, a, "attn_output")
    f = rms_norm(h, L["ffn_norm"], m.eps)
    return h + mm(m, L, silu(mm(m, L, f, "ffn_gate")) * mm(m, L, f, "ffn_up"), "ffn_down")


def gemma3_layer(m, L, il, x, pos):
    """formats.md §4.7: sandwich norms, per-head q/k RMSNorm before NEOX RoPE, Q scaled by
    1/sqrt(head_dim) (kq_scale 1), GeGLU; layers with (il + 1) % 6 != 0 are sliding-window
    with RoPE base 10000 and freq_scale 1, the others global with the file's base/scale."""
    T = x.shape[0]
    local = (il + 1) % 6 != 0
    base, fscale = (10000.0, 1.0) if local else (m.rope_base, m.freq_scale)
    n = rms_norm(x, L["attn_norm"], m.eps)
    q = mm(m, L, n, "attn_q").reshape(T, m.n_head, m.head_dim)
    k = mm(m, L, n, "attn_k").reshape(T, m.n_head_kv, m.head_dim)
    v = mm(m, L, n, "attn_v").reshape(T, m.n_head_kv, m.head_dim_v)
    q = rms_norm(q, L["attn_q_norm"], m.eps)
    k = rms_norm(k, L["attn_k_norm"], m.eps)
    q = rope(q, pos, m.n_rot, base, fscale, neox=True)
    k = rope(k, pos, m.n_rot, base, fscale, neox=True)
    q = q * (1.0 / math.sqrt(m.head_dim))  # the 27B model (62 layers) would use n_embd/n_head
    a = attention(q, kv_round(m, k), kv_round(m, v), 1.0, m.n_swa if local else 0)
    h = x + rms_norm(mm(m, L, a, "attn_output"), L["post_attention_norm"], m.eps)
    f = rms_norm(h, L["ffn_norm"], m.eps)
    f = mm(m, L, gelu_tanh(mm(m, L, f, "ffn_gate")) * mm(m, L, f, "ffn_up"), "ffn_down")
    return h + rms_norm(f, L["post_ffw_norm"], m.eps)


def forward(m, ids, last_only=False):
    """Logits (float64) [n_tokens, n_vocab] for every position of ids (last_only: [1, n_vocab]
    for the last position)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0 or ids.min() < 0 or ids.max() >= m.n_vocab:
        raise SystemExit(f"ref_forward.py: token ids must be 0..{m.n_vocab - 1}")
    if m.arch == "gemma3" and m.n_layer == 62:
        raise SystemExit("ref_forward.py: Gemma 3 27B's query scale is not implemented")
    pos = np.arange(ids.size)
    x = m.tok_embd[ids].astype(np.float64)
    if m.arch == "gemma3":
        x *= math.sqrt(m.n_embd)
    for il, L in enumerate(m.layers):
        x = llama_layer(m, L, x, pos) if m.arch == "llama" else gemma3_layer(m, L, il, x, pos)
    x = rms_norm(x[-1:] if last_only else x, m.output_norm, m.eps)
    if m.sim_act_quant:
        x = round_act(x, m.lm_head_type)
    logits = np.empty((x.shape[0], m.n_vocab))
    step = 16384  # widen the float32 LM head to float64 one slice at a time
    for r0 in range(0, m.n_vocab, step):
        logits[:, r0:r0 + step] = x @ m.lm_head[r0:r0 + step].astype(np.float64).T
    if m.final_softcap:
        c = float(m.final_softcap)
        logits = c * np.tanh(logits / c)
    return logits


# ---- detokenizing (only to print greedy continuations) ---------------------------------------

def gpt2_byte_decoder():
    """Inverse of GPT-2's byte -> code point map (formats.md §5.4 step 2)."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    rest = [b for b in range(256) if b not in keep]
    table = {chr(b): b for b in keep}
    table.update({chr(256 + i): b for i, b in enumerate(rest)})
    return table


def detokenize(m, ids):
    """Bytes of the token pieces (formats.md §5.3/5.4); control tokens are skipped and an
    SPM vocabulary with add_space_prefix loses the one leading space it added."""
    f = m.r.fields["tokenizer.ggml.tokens"]
    types = m.field("tokenizer.ggml.token_type", None)
    spm = m.field("tokenizer.ggml.model") == "llama"
    dec = None if spm else gpt2_byte_decoder()
    out = b""
    for t in ids:
        text = bytes(f.parts[f.data[t]]).decode("utf-8")
        ttype = types[t] if types is not None else 1
        if ttype == 3:  # CONTROL
            continue
        if spm and ttype == 6 and text.startswith("<0x"):
            out += bytes([int(text[3:5], 16)])
        elif spm:
            out += text.replace("\u2581", " ").encode()
        elif ttype == 4:  # USER_DEFINED: verbatim
            out += text.encode()
        else:
            out += bytes(dec[c] for c in text)
    if spm and m.field("tokenizer.ggml.add_space_prefix", True) and out.startswith(b" "):
        out = out[1:]
    return out


def greedy(m, ids, n):
    ids = list(ids)
    for _ in range(n):
        ids.append(int(np.argmax(forward(m, ids, last_only=True)[-1])))
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ids", required=True, help="comma- or space-separated token ids")
    ap.add_argument("--out", help="write float32 logits [n_tokens, n_vocab] (.npy)")
    ap.add_argument("--generate", type=int, default=0, help="greedy: this many more tokens")
    ap.add_argument("--sim-act-quant", action="store_true", help="round matmul inputs as an engine does")
    ap.add_argument("--sim-kv-f16", action="store_true", help="round K and V to f16")
    args = ap.parse_args()
    try:
        ids = [int(x) for x in args.ids.replace(",", " ").split()]
    except ValueError:
        ap.error("--ids: expected integers")
    t0 = time.time()
    m = Model(args.model, args.sim_act_quant, args.sim_kv_f16)
    t1 = time.time()
    if args.out:
        logits = forward(m, ids)
        np.save(args.out, logits.astype(np.float32))
        print(f"{args.model}: {len(ids)} tokens -> {args.out} [{logits.shape[0]}, {logits.shape[1]}]"
              f" (load {t1 - t0:.1f}s, forward {time.time() - t1:.1f}s)", file=sys.stderr)
    if args.generate:
        out = greedy(m, ids, args.generate)
        print(" ".join(map(str, out)))
        sys.stdout.flush()
        sys.stdout.buffer.write(detokenize(m, out) + b"\n")
    if not args.out and not args.generate:
        ap.error("nothing to do: give --out and/or --generate")


if __name__ == "__main__":
    main()
