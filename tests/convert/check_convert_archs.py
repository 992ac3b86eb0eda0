#!/usr/bin/env python3
"""`wick export` -> `wick convert` round trips for the architectures without a real model
in the test set (qwen2 with q/k/v biases, qwen3 with q/k norms, phi3 with fused qkv and
gate/up): a small random model of each is written here with gguf-py (stories260K's
SentencePiece vocabulary), checked to run in `wick run`, exported and converted back,
then compared with check_convert.py's rules (tensors and metadata identical, same greedy
text).

usage: check_convert_archs.py WICK SHARED_DATA"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import gguf

wick, shared = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
tmp = tempfile.mkdtemp(prefix="wick-convert-archs-")
fails = 0
src = gguf.GGUFReader(os.path.join(shared, "models", "stories260K.gguf"))
tokens = [bytes(src.fields["tokenizer.ggml.tokens"].parts[i]).decode() for i in src.fields["tokenizer.ggml.tokens"].data]
scores = [float(src.fields["tokenizer.ggml.scores"].parts[i][0]) for i in src.fields["tokenizer.ggml.scores"].data]
types = [int(src.fields["tokenizer.ggml.token_type"].parts[i][0]) for i in src.fields["tokenizer.ggml.token_type"].data]
V, E, H, HKV, HD, FF, L = len(tokens), 64, 4, 2, 16, 96, 2
rng = np.random.default_rng(7)


def mat(rows, cols):
    return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)


def vec(n, base=0.0):
    return (base + 0.1 * rng.standard_normal(n)).astype(np.float32)


for arch in ["qwen2", "qwen3", "phi3"]:
    path = os.path.join(tmp, arch + ".gguf")
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(256)
    w.add_embedding_length(E)
    w.add_block_count(L)
    w.add_feed_forward_length(FF)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_rope_freq_base(10000.0 if arch == "phi3" else 1000000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_dimension_count(HD)
    w.add_vocab_size(V)
    w.add_uint32("general.file_type", 0)
    if arch == "phi3":
        w.add_sliding_window(128)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_tensor("token_embd.weight", mat(V, E))
    w.add_tensor("output_norm.weight", vec(E, 1.0))
    w.add_tensor("output.weight", mat(V, E))
    for l in range(L):
        p = "blk.%d." % l
        w.add_tensor(p + "attn_norm.weight", vec(E, 1.0))
        w.add_tensor(p + "ffn_norm.weight", vec(E, 1.0))
        w.add_tensor(p + "attn_output.weight", mat(E, H * HD))
        w.add_tensor(p + "ffn_down.weight", mat(E, FF))
        if arch == "phi3":
            w.add_tensor(p + "attn_qkv.weight", mat(H * HD + 2 * HKV * HD, E))
            w.add_tensor(p + "ffn_up.weight", mat(2 * FF, E))
            continue
        w.add_tensor(p + "attn_q.weight", mat(H * HD, E))
        w.add_tensor(p + "attn_k.weight", mat(HKV * HD, E))
        w.add_tensor(p + "attn_v.weight", mat(HKV * HD, E))
        w.add_tensor(p + "ffn_gate.weight", mat(FF, E))
        w.add_tensor(p + "ffn_up.weight", mat(FF, E))
        if arch == "qwen2":
            w.add_tensor(p + "attn_q.bias", vec(H * HD))
            w.add_tensor(p + "attn_k.bias", vec(HKV * HD))
            w.add_tensor(p + "attn_v.bias", vec(HKV * HD))
        else:
            w.add_tensor(p + "attn_q_norm.weight", vec(HD, 1.0))
            w.add_tensor(p + "attn_k_norm.weight", vec(HD, 1.0))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    r = subprocess.run([wick, "run", "-m", path, "-p", "Once upon", "-n", "6", "--temp", "0"], capture_output=True)
    ok = r.returncode == 0
    print(("ok   " if ok else "FAIL ") + "%s: the random model runs in wick run (%r)" % (arch, r.stdout[:40]))
    fails += not ok
    r = subprocess.run([sys.executable, os.path.join(here, "check_convert.py"), wick, path])
    print(("ok   " if r.returncode == 0 else "FAIL ") + "%s: export -> convert round trip (check_convert.py)" % arch)
    fails += r.returncode != 0

shutil.rmtree(tmp, ignore_errors=True)
print("FAILED: %d checks" % fails if fails else "all architecture round trips passed")
sys.exit(1 if fails else 0)
