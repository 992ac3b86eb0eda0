"""make_tiny.py — writes tiny random-weight GGUF models (llama, qwen2, qwen3, gemma3, phi3)
with gguf-py's writer, for graph tests without real checkpoints. Sizes are small but keep
the features that matter: GQA (4 query heads, 2 KV heads), a head dim that differs from
n_embd/n_head (qwen3, gemma3), biases (qwen2), Q/K norms, sliding windows (gemma3: 5 of 6
layers, window 3; phi3: every layer), fused QKV and gate/up (phi3), tied embeddings.

usage: make_tiny.py ARCH OUT.gguf [SEED] [WEIGHT_TYPE f32|f16|q8_0]
"""
import sys

import numpy as np
import gguf
from gguf.quants import quantize

N_VOCAB, N_EMBD, N_HEAD, N_HEAD_KV, N_FF, N_LAYER = 64, 64, 4, 2, 96, 6


def main():
    arch, out = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    wtype = sys.argv[4] if len(sys.argv) > 4 else "f32"
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(out, arch)
    hd = 32 if arch in ("qwen3", "gemma3") else N_EMBD // N_HEAD
    w.add_context_length(256)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0 if arch == "llama" else 1000000.0)
    if hd != N_EMBD // N_HEAD:
        w.add_key_length(hd)
        w.add_value_length(hd)
    if arch in ("gemma3", "phi3"):
        w.add_sliding_window(3)
    if arch == "phi3":
        w.add_rope_dimension_count(hd // 2)  # partial rotary
    # an SPM vocabulary: <unk> <s> </s> and plain pieces
    toks = ["<unk>", "<s>", "</s>"] + [f"\u2581t{i}" for i in range(N_VOCAB - 3)]
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores([0.0] * 3 + [-float(i) for i in range(N_VOCAB - 3)])
    w.add_token_types([2, 3, 3] + [1] * (N_VOCAB - 3))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    def mat(name, rows, cols, scale=None):
        a = (rng.standard_normal((rows, cols)) * (scale or 1 / np.sqrt(cols))).astype(np.float32)
        if wtype == "f16":
            w.add_tensor(name, a.astype(np.float16))
        elif wtype == "q8_0":
            q = quantize(a, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, a)

    def vec(name, n, center=1.0, spread=0.1):
        w.add_tensor(name, (center + spread * rng.standard_normal(n)).astype(np.float32))

    nq, nk = N_HEAD * hd, N_HEAD_KV * hd
    w.add_tensor("token_embd.weight", rng.standard_normal((N_VOCAB, N_EMBD)).astype(np.float32))
    vec("output_norm.weight", N_EMBD)
    if arch in ("llama", "phi3"):
        mat("output.weight", N_VOCAB, N_EMBD)
    for il in range(N_LAYER):
        p = f"blk.{il}."
        vec(p + "attn_norm.weight", N_EMBD)
        vec(p + "ffn_norm.weight", N_EMBD)
        if arch == "phi3":
            mat(p + "attn_qkv.weight", nq + 2 * nk, N_EMBD)
            mat(p + "ffn_up.weight", 2 * N_FF, N_EMBD)
        else:
            mat(p + "attn_q.weight", nq, N_EMBD)
            mat(p + "attn_k.weight", nk, N_EMBD)
            mat(p + "attn_v.weight", nk, N_EMBD)
            mat(p + "ffn_gate.weight", N_FF, N_EMBD)
            mat(p + "ffn_up.weight", N_FF, N_EMBD)
        mat(p + "attn_output.weight", N_EMBD, nq)
        mat(p + "ffn_down.weight", N_EMBD, N_FF)
        if arch == "qwen2":
            for n_, k_ in (("q", nq), ("k", nk), ("v", nk)):
                vec(p + f"attn_{n_}.bias", k_, 0.0, 0.5)
        if arch in ("qwen3", "gemma3"):
            vec(p + "attn_q_norm.weight", hd)
            vec(p + "attn_k_norm.weight", hd)
        if arch == "gemma3":
            vec(p + "post_attention_norm.weight", N_EMBD)
            vec(p + "post_ffw_norm.weight", N_EMBD)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
