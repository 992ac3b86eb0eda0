"""mix_oracle.py — a second, independent statement of llama.cpp's per-tensor type choices
(llama_tensor_get_type in llama.cpp src/llama-quant.cpp), in Python, to test what
`wick quantize` writes against. Written from the rules, not from wick's C code.

expected_types(tensors, model, target, pure) -> list of type names in tensor order, where
tensors = [(name, type_name, ne list)], model = dict(arch, n_layer, n_head, n_head_kv, n_expert).
Type names are gguf-py's (GGMLQuantizationType member names: "Q4_K", "F16", ...)."""
import re

# target -> (llama_ftype, base type, follows mix rules)
TARGETS = {
    "F32": (0, "F32", True), "F16": (1, "F16", True), "BF16": (32, "BF16", True),
    "Q4_0": (2, "Q4_0", True), "Q4_1": (3, "Q4_1", True), "Q5_0": (8, "Q5_0", True),
    "Q5_1": (9, "Q5_1", True), "Q8_0": (7, "Q8_0", True), "Q2_K": (10, "Q2_K", True),
    "Q3_K_S": (11, "Q3_K", True), "Q3_K_M": (12, "Q3_K", True), "Q3_K_L": (13, "Q3_K", True),
    "Q4_K_S": (14, "Q4_K", True), "Q4_K_M": (15, "Q4_K", True), "Q5_K_S": (16, "Q5_K", True),
    "Q5_K_M": (17, "Q5_K", True), "Q6_K": (18, "Q6_K", True), "IQ4_NL": (25, "IQ4_NL", True),
    "IQ4_XS": (30, "IQ4_XS", True),
    "Q3_K": (11, "Q3_K", False), "Q4_K": (14, "Q4_K", False), "Q5_K": (16, "Q5_K", False),
}

BLOCK = {"F32": 1, "F16": 1, "BF16": 1, "Q4_0": 32, "Q4_1": 32, "Q5_0": 32, "Q5_1": 32,
         "Q8_0": 32, "IQ4_NL": 32, "Q2_K": 256, "Q3_K": 256, "Q4_K": 256, "Q5_K": 256,
         "Q6_K": 256, "IQ4_XS": 256}
UNQUANTIZED = {"F32", "F16", "BF16"}
FALLBACK = {"Q2_K": "Q4_0", "Q3_K": "Q4_0", "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0",
            "IQ4_XS": "IQ4_NL"}

KEEP_SUBSTRINGS = [
    "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
    "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
    "indexer.q_proj.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd",
    "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
    "mm.a.code_embd",
] + ["time_mix_%s.weight" % s for s in
     "first w0 w1 w2 v0 v1 v2 a0 a1 a2 g1 g2 decay_w1 decay_w2 lerp_fused".split()]


def quantizable(name, ne):
    ne = list(ne) + [1] * (4 - len(ne))
    if all(d == 1 for d in ne[1:]):
        return False
    if not name.endswith("weight") or name in ("position_embd.weight", "token_types.weight"):
        return False
    return not any(s in name for s in KEEP_SUBSTRINGS)


def category(name):
    if name == "output.weight":
        return "output"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "token_embd"
    for sub, cat in (("attn_qkv.weight", "attn_v"), ("attn_kv_b.weight", "attn_v"),
                     ("attn_v.weight", "attn_v"), ("attn_k.weight", "attn_k"),
                     ("attn_q.weight", "attn_q"), ("attn_output.weight", "attn_output"),
                     ("ffn_up", "ffn_up"), ("ffn_gate", "ffn_gate"), ("ffn_down", "ffn_down")):
        if sub in name:
            return cat
    return "other"


def layer(name):
    m = re.match(r"blk\.\s*([+-]?\d+)", name)
    return int(m.group(1)) if m else -1


def more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def expected_types(tensors, model, target, pure=False):
    ftype_name = target
    _, base, mixes = TARGETS[target]
    rules = base not in UNQUANTIZED and mixes and not pure
    arch = model.get("arch", "")
    n_layer = model.get("n_layer", 0)
    n_head = model.get("n_head", 0)
    n_head_kv = model.get("n_head_kv", n_head)
    n_expert = model.get("n_expert", 0)
    gqa = n_head // n_head_kv if n_head_kv else 0
    falcon = arch == "falcon"
    is_70b = arch == "llama" and n_layer == 80 and n_head != n_head_kv
    tied = not any(t[0] == "output.weight" for t in tensors)
    n_v = sum(category(t[0]) == "attn_v" for t in tensors)
    counters = {"v": 0, "down": 0}
    ft = ftype_name

    def rule(name, ne0):
        cat = category(name)
        t = base
        if cat == "output" or (tied and cat == "token_embd"):
            if falcon or ne0 % BLOCK[base]:
                return "Q8_0"
            return "Q6_K" if base != "Q8_0" else base
        if cat == "attn_v":
            i = counters["v"]
            counters["v"] += 1
            if ft == "Q2_K":
                t = "Q4_K" if gqa >= 4 else "Q3_K"
            elif ft == "Q3_K_M":
                t = "Q5_K" if i < 2 else "Q4_K"
            elif ft == "Q3_K_L":
                t = "Q5_K"
            elif ft in ("IQ4_NL", "IQ4_XS") and gqa >= 4:
                t = "Q5_K"
            elif ft in ("Q4_K_M", "Q5_K_M") and more_bits(i, n_v):
                t = "Q6_K"
            elif ft == "Q4_K_S" and i < 4:
                t = "Q5_K"
            if is_70b and t in ("Q3_K", "Q4_K"):
                t = "Q5_K"
            if n_expert == 8:
                t = "Q8_0"
            return t
        if cat == "attn_k":
            return "Q8_0" if n_expert == 8 else t
        if cat == "ffn_down":
            L = counters["down"] if n_expert <= 1 else layer(name)
            counters["down"] += 1
            n = n_layer
            if ft == "Q2_K":
                return "Q3_K"
            if ft == "Q3_K_M":
                return "Q5_K" if L < n // 16 else ("Q4_K" if not falcon or more_bits(L, n) else "Q3_K")
            if ft == "Q3_K_L":
                return "Q4_K" if falcon else "Q5_K"
            if ft == "Q4_K_M":
                if falcon:
                    return "Q6_K" if L < n // 16 else ("Q5_K" if more_bits(L, n) else "Q4_K")
                return "Q6_K" if more_bits(L, n) else t
            if L < n // 8 and ft in ("IQ4_NL", "IQ4_XS"):
                return "Q5_K"
            if ft == "Q5_K_M" and more_bits(L, n):
                return "Q6_K"
            if ft == "Q4_K_S" and not falcon and L < n // 8:
                return "Q5_K"
            return t
        if cat == "attn_output":
            if falcon:
                return "Q4_K" if ft == "Q3_K_L" else t
            if n_expert == 8:
                big = ("Q2_K", "Q3_K_S", "Q3_K_M", "Q4_K_S", "Q4_K_M", "IQ4_NL", "IQ4_XS")
                return "Q5_K" if ft in big else t
            return {"Q2_K": "Q3_K", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K"}.get(ft, t)
        return t

    # llama.cpp visits tensors sorted by (layer, name); the counters follow that order
    order = sorted(range(len(tensors)), key=lambda i: (layer(tensors[i][0]), tensors[i][0].encode()))
    out = [None] * len(tensors)
    for i in order:
        name, tin, ne = tensors[i]
        if not quantizable(name, ne):
            out[i] = tin
            continue
        t = rule(name, ne[0]) if rules else base
        if base not in UNQUANTIZED and ne[0] % BLOCK[t]:
            t = FALLBACK.get(t, "F16")
            if ne[0] % BLOCK[t]:
                t = "F16"
        out[i] = t
    return out
