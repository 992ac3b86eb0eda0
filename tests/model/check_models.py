"""check_models.py — end-to-end checks of `wick run` (driven by ctest):

  golden WICK MODEL GOLDEN N    greedy output (-n N --temp 0) equals GOLDEN byte for byte
  tiny WICK ARCH TMPDIR         random-weight ARCH model (f32 and q8_0 weights): one-batch
                                logits vs the NumPy reference, batch vs token-by-token,
                                determinism, generation; qwen3/gemma3 also with a q8_0 KV cache
  real WICK MODEL PROMPT TOL [EXPECT]  a real model: batch vs token-by-token (exact up to
                                1e-4 relative), vs the NumPy reference (relative max error
                                < TOL and wick's top-1 among the reference's top-5), and
                                the greedy continuation contains EXPECT
  bad WICK TMPDIR               hostile inputs: clear one-line error, non-zero exit

Exit 0 pass, 1 fail (a real model absent from the cache is fetched first, never skipped).
"""
import os
import shutil
import subprocess
import tempfile
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ["REF_KV_F16"] = "1"  # compare with the reference rounding K/V as wick's cache does
import ref_forward  # noqa: E402

ref_forward.KV_F16 = True


def run(wick, *args, check=True):
    p = subprocess.run([wick, "run", *args], capture_output=True)
    if check and p.returncode != 0:
        print("wick run", *args, "failed:", p.stderr.decode(errors="replace")[-2000:])
        sys.exit(1)
    return p


def logits(wick, model, ids, tmp, n_vocab, *extra):
    fa, fs = os.path.join(tmp, "batch.f32"), os.path.join(tmp, "seq.f32")
    run(wick, "-m", model, "--prompt-ids", ",".join(map(str, ids)), "-n", "0", "--dump-logits", fa,
        "--dump-logits-seq", fs, *extra)
    a = np.fromfile(fa, "<f4").reshape(-1, n_vocab)
    s = np.fromfile(fs, "<f4").reshape(-1, n_vocab)
    assert a.shape[0] == len(ids) and s.shape[0] == len(ids), (a.shape, s.shape)
    return a, s


def golden(wick, model, gold, n):
    out = run(wick, "-m", model, "-n", n, "--temp", "0").stdout
    want = open(gold, "rb").read()
    if out != want:
        print(f"output differs from {gold}: {len(out)} vs {len(want)} bytes")
        print("got :", out[:200], "...", out[-80:])
        print("want:", want[:200], "...", want[-80:])
        return 1
    print(f"greedy -n {n}: {len(out)} bytes identical to {os.path.basename(gold)}")
    return 0


def tiny(wick, arch, tmp):
    os.makedirs(tmp, exist_ok=True)
    fails = 0
    for wtype, tol in (("f32", 1e-3), ("q8_0", 0.05)):
        model = os.path.join(tmp, f"tiny_{arch}_{wtype}.gguf")
        subprocess.run([sys.executable, os.path.join(HERE, "make_tiny.py"), arch, model, "7", wtype], check=True)
        ids = [1, 5, 9, 33, 7, 12, 40, 41, 3, 60, 22, 18]
        a, s = logits(wick, model, ids, tmp, 64)
        ref = ref_forward.forward(ref_forward.Model(model), ids)
        scale = np.abs(ref).max()
        err = np.abs(a - ref).max() / scale
        seq = np.abs(a - s).max() / scale
        # f32 weights: f16 rounding of K/V in different orders, up to 1.1e-4 relative observed;
        # q8_0: wick also quantizes activations to 8 bits, the reference does not
        print(f"{arch} {wtype}: rel. max error vs NumPy {err:.2e} (tol {tol}), batch vs seq {seq:.2e}")
        if not err <= tol or not seq <= 1e-4:
            fails += 1
        a2, _ = logits(wick, model, ids, tmp, 64)
        if not np.array_equal(a, a2):
            print(f"{arch} {wtype}: two runs differ")
            fails += 1
        if arch in ("qwen3", "gemma3") and wtype == "f32":  # head dim 32: a q8_0 KV cache fits
            q, qs = logits(wick, model, ids, tmp, 64, "--kv-type", "q8_0")
            qerr, qseq = np.abs(q - ref).max() / scale, np.abs(q - qs).max() / scale
            # 8-bit K/V (one scale per 32 values): ~0.4% per value, observed < 1% on logits
            print(f"{arch} q8_0 KV cache: rel. max error vs NumPy {qerr:.2e} (tol 0.02), batch vs seq {qseq:.2e}")
            if not qerr <= 0.02 or not qseq <= 1e-4:
                fails += 1
        g = run(wick, "-m", model, "--prompt-ids", "1,5,9", "-n", "8", "--temp", "0")
        g2 = run(wick, "-m", model, "--prompt-ids", "1,5,9", "-n", "8", "--temp", "0", "-t", "1")
        if g.stdout != g2.stdout or not g.stdout:
            print(f"{arch}: greedy generation empty or thread-dependent: {g.stdout!r} vs {g2.stdout!r}")
            fails += 1
    return 1 if fails else 0


def real(wick, model, prompt, tol, expect=None):
    if not os.path.exists(model):  # a fresh machine: fetch it (a failure fails, never skips)
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
        import fetch_models
        name = {"SmolLM2-135M-Instruct.Q4_1.gguf": "smollm2", "gemma-3-270m-q4_k_m.gguf": "gemma3-270m"}
        model = fetch_models.fetch(name[os.path.basename(model)])
    # a directory of its own: tests run in parallel and write files of the same names
    tmp = tempfile.mkdtemp(prefix="wick-real-")
    p = subprocess.run([wick, "tokenize", "-m", model, "--ids", "-p", prompt], capture_output=True, check=True)
    ids = [int(x) for x in p.stdout.split()]
    m = ref_forward.Model(model)
    n_vocab = m.t["token_embd.weight"].shape[1]
    try:
        a, s = logits(wick, model, ids, tmp, int(n_vocab))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref = ref_forward.forward(m, ids)
    scale = np.abs(ref).max()
    err = np.abs(a - ref).max() / scale
    seq = np.abs(a - s).max() / scale
    top5 = np.argsort(-ref, axis=1)[:, :5]
    top1_ok = all(a[i].argmax() in top5[i] for i in range(len(ids)))
    agree = sum(int(a[i].argmax() == ref[i].argmax()) for i in range(len(ids)))
    print(f"{os.path.basename(model)}: {len(ids)} tokens; rel. max error vs NumPy {err:.2e} (tol {tol}); "
          f"top-1 agrees on {agree}/{len(ids)} rows, always in the reference's top 5: {top1_ok}; "
          f"batch vs token-by-token {seq:.2e} (tol 1e-4)")
    fails = int(not err <= tol) + int(not top1_ok) + int(not seq <= 1e-4)
    if expect:
        out = run(wick, "-m", model, "-p", prompt, "-n", "16", "--temp", "0").stdout.decode(errors="replace")
        print(f"greedy: {prompt!r} ->{out!r}")
        if expect not in out:
            print(f"expected {expect!r} in the continuation")
            fails += 1
    return 1 if fails else 0


def bad(wick, tmp):
    import gguf

    os.makedirs(tmp, exist_ok=True)
    fails = 0
    notgguf = os.path.join(tmp, "not.gguf")
    open(notgguf, "wb").write(b"this is not a gguf file at all\n" * 4)
    alien = os.path.join(tmp, "alien.gguf")
    w = gguf.GGUFWriter(alien, "mamba")
    w.add_block_count(1)
    w.add_tensor("x", np.zeros(4, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tiny_m = os.path.join(tmp, "tiny_llama.gguf")
    subprocess.run([sys.executable, os.path.join(HERE, "make_tiny.py"), "llama", tiny_m, "3"], check=True)
    # a model with one tensor of the wrong shape and one without a required tensor
    r = gguf.GGUFReader(tiny_m)

    def rewrite(path, drop=None, reshape=None, retype=None):
        w = gguf.GGUFWriter(path, "llama")
        for k, f in r.fields.items():
            if k.startswith("GGUF.") or k == "general.architecture":
                continue
            t = gguf.GGUFValueType(f.types[0])
            if k == retype:  # a u32 key stored as u64: rejected, never converted
                w.add_key_value(k, int(f.contents()), gguf.GGUFValueType.UINT64)
            elif t == gguf.GGUFValueType.ARRAY:
                w.add_key_value(k, f.contents(), t, gguf.GGUFValueType(f.types[-1]))
            else:
                w.add_key_value(k, f.contents(), t)
        for t in r.tensors:
            if t.name == drop:
                continue
            data = np.array(t.data)
            if t.name == reshape:
                data = data.reshape(-1)[: data.size // 2].reshape(data.shape[0] // 2, -1)
            w.add_tensor(t.name, data)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    missing, wrong = os.path.join(tmp, "missing.gguf"), os.path.join(tmp, "wrong.gguf")
    rewrite(missing, drop="blk.2.ffn_up.weight")
    rewrite(wrong, reshape="blk.3.ffn_down.weight")
    retyped = os.path.join(tmp, "retyped.gguf")
    rewrite(retyped, retype="llama.block_count")
    cases = [
        (["-m", os.path.join(tmp, "does-not-exist.gguf")], 1, "does-not-exist"),
        (["-m", notgguf], 1, "not.gguf"),
        (["-m", alien], 1, "unsupported architecture 'mamba'"),
        (["-m", missing], 1, "blk.2.ffn_up.weight' is missing"),
        (["-m", wrong], 1, "blk.3.ffn_down.weight: shape [96, 32], expected [96, 64]"),
        (["-m", retyped], 1, "llama.block_count: has the wrong type UINT64, expected UINT32"),
        (["-m", tiny_m, "--bogus"], 2, "unknown option"),
        (["-m", tiny_m, "--kv-type", "q4_0"], 2, "bad value"),
        (["-m", tiny_m, "--kv-type", "q8_0"], 1, "multiples of 32"),
        (["-m", tiny_m, "-n"], 2, "needs a value"),
        (["-m", tiny_m, "-n", "x"], 2, "bad value"),
        (["-m", tiny_m, "--temp", "-1"], 2, "bad value"),
        (["-p", "hi"], 2, "-m MODEL is required"),
        (["-m", tiny_m, "-c", "100000"], 2, "exceeds the model's training context"),
        (["-m", tiny_m, "-c", "4", "--prompt-ids", "1,2,3,4,5"], 1, "more than the context size"),
        (["-m", tiny_m, "--prompt-ids", "1,x"], 2, "not a list of ids"),
        (["-m", tiny_m, "--prompt-ids", "1,99999"], 2, "not a list of ids"),
    ]
    for args, want_rc, want_msg in cases:
        p = run(wick, *args, check=False)
        err = p.stderr.decode(errors="replace")
        ok = p.returncode == want_rc and want_msg in err and p.returncode < 128 and not p.stdout
        print(("ok  " if ok else "FAIL"), " ".join(args)[-70:], "->", p.returncode, err.strip()[:160])
        fails += not ok
    # a full context during generation stops cleanly with a message
    p = run(wick, "-m", tiny_m, "-c", "8", "--prompt-ids", "1,5,9", "-n", "20", "--temp", "0", check=False)
    ok = p.returncode == 0 and b"context full" in p.stderr
    print(("ok  " if ok else "FAIL"), "generation past -c 8 ->", p.returncode, p.stderr.decode().strip()[-80:])
    fails += not ok
    return 1 if fails else 0


def main():
    mode, wick = sys.argv[1], sys.argv[2]
    if mode == "golden":
        return golden(wick, sys.argv[3], sys.argv[4], sys.argv[5])
    if mode == "tiny":
        return tiny(wick, sys.argv[3], sys.argv[4])
    if mode == "real":
        return real(wick, sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6] if len(sys.argv) > 6 else None)
    if mode == "bad":
        return bad(wick, sys.argv[3])
    print("unknown mode", mode)
    return 2


if __name__ == "__main__":
    sys.exit(main())
