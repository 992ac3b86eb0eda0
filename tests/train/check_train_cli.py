#!/usr/bin/env python3
"""check_train_cli.py — `wick tokenizer-train` and `wick data` end to end.
mode cli: a trained vocabulary loads in `wick tokenize`, reruns give identical bytes, `wick
data` writes its three files, and every error path exits 1 (runtime) or 2 (usage) with one
message and leaves no output behind.
mode hf: the merges equal HF tokenizers' BpeTrainer's one for one (gpt2 pre-tokenizer on
tinyshakespeare, llama3 on war-and-peace; the whole text fed as one sequence, as wick does),
and `wick tokenize` gives HF's ids (shifted by one: HF puts the special token first). Exits
77 (skipped) when the tokenizers package is not installed.
usage: check_train_cli.py WICK DATA_DIR cli|hf"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

WICK, DATA, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
CORPUS = os.path.join(DATA, "corpora")
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


def wick(*args, stdin=b""):
    return subprocess.run([WICK] + list(args), input=stdin, capture_output=True, timeout=300)


def gguf_strings(path, key):
    """The string array `key` of a GGUF file (a minimal reader: enough for the keys wick writes)."""
    b = open(path, "rb").read()
    assert b[:4] == b"GGUF"
    _, n_t, n_kv = struct.unpack_from("<IQQ", b, 4)
    o = 24
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip(t, o):
        if t == 8:
            (n,) = struct.unpack_from("<Q", b, o)
            return o + 8 + n
        if t == 9:
            et, n = struct.unpack_from("<IQ", b, o)
            o += 12
            for _ in range(n):
                o = skip(et, o)
            return o
        return o + sizes[t]

    for _ in range(n_kv):
        (n,) = struct.unpack_from("<Q", b, o)
        k = b[o + 8:o + 8 + n].decode()
        o += 8 + n
        (t,) = struct.unpack_from("<I", b, o)
        o += 4
        if k == key:
            et, cnt = struct.unpack_from("<IQ", b, o)
            o += 12
            out = []
            for _ in range(cnt):
                (n,) = struct.unpack_from("<Q", b, o)
                out.append(b[o + 8:o + 8 + n].decode())
                o += 8 + n
            return out
        o = skip(t, o)
    return None


def expect_error(what, r, code, needle, must_not_exist=()):
    err = r.stderr.decode(errors="replace")
    if r.returncode != code:
        fail(f"{what}: exit {r.returncode}, want {code}; stderr: {err.strip()}")
    elif needle.lower() not in err.lower():
        fail(f"{what}: message lacks '{needle}': {err.strip()}")
    for p in must_not_exist:
        if os.path.exists(p):
            fail(f"{what}: left {p} behind")


def mode_cli(tmp):
    ts = os.path.join(CORPUS, "tinyshakespeare.txt")
    a, b = os.path.join(tmp, "a.gguf"), os.path.join(tmp, "b.gguf")
    for out in (a, b):
        r = wick("tokenizer-train", "--input", ts, "--vocab-size", "4096", "--special", "<|endoftext|>",
                 "--out", out)
        if r.returncode != 0:
            fail(f"tokenizer-train: exit {r.returncode}: {r.stderr.decode()}")
            return
    if open(a, "rb").read() != open(b, "rb").read():
        fail("two runs wrote different files")
    toks = gguf_strings(a, "tokenizer.ggml.tokens")
    if len(toks) != 4096 or toks[-1] != "<|endoftext|>" or len(gguf_strings(a, "tokenizer.ggml.merges")) != 3839:
        fail("unexpected token / merge counts")
    r = wick("tokenize", "-m", a, "--ids", "-p", "To be, or not to be<|endoftext|>")
    ids = r.stdout.split()
    if r.returncode != 0 or len(ids) < 3 or ids[-1] != b"4095":
        fail(f"wick tokenize on the trained vocab: {r.returncode} {r.stdout!r} {r.stderr!r}")
    print(f"tokenizer-train: 4096 tokens, identical reruns, wick tokenize -> {len(ids)} ids")

    # wick data on a small file with a planted exact duplicate
    rng = random.Random(5)  # unrelated documents: no near duplicates among them
    docs = [f"Document {i}: " + " ".join(f"w{rng.randrange(10**6)}" for _ in range(30)) for i in range(20)]
    src = os.path.join(tmp, "docs.txt")
    with open(src, "w") as f:
        f.write("\r\n\r\n".join(docs + [docs[4]]) + "\r\n")
    out = os.path.join(tmp, "shards")
    r = wick("data", "--input", src, "--tokenizer", a, "--out", out, "--val-fraction", "0.2", "--seed", "3")
    if r.returncode != 0:
        fail(f"wick data: exit {r.returncode}: {r.stderr.decode()}")
    else:
        meta = json.load(open(os.path.join(out, "meta.json")))
        d = meta["documents"]
        if (d["in"], d["kept"], d["dropped_exact"]) != (21, 20, 1) or meta["val"]["documents"] != 4:
            fail(f"meta.json: {meta}")
        for split in ("train", "val"):
            raw = open(os.path.join(out, split + ".bin"), "rb").read()
            magic, ver, vocab, width, n = struct.unpack_from("<6sHIIQ", raw, 0)
            if magic != b"WKTOK1" or ver != 1 or vocab != 4096 or width != 2 or len(raw) != 32 + 2 * n \
                    or n != meta[split]["tokens"]:
                fail(f"{split}.bin header {magic} {ver} {vocab} {width} {n}")
        if sorted(os.listdir(out)) != ["meta.json", "train.bin", "val.bin"]:
            fail(f"stray files in the output: {os.listdir(out)}")
        print(f"wick data: {d}, train {meta['train']}, val {meta['val']}")

    # errors: runtime (1) and usage (2); nothing left behind
    bad_out = os.path.join(tmp, "never.gguf")
    expect_error("train: missing input", wick("tokenizer-train", "--input", "/nonexistent.txt", "--vocab-size",
                                             "300", "--out", bad_out), 1, "cannot read", [bad_out])
    badutf = os.path.join(tmp, "bad.txt")
    open(badutf, "wb").write(b"good text \xff\xfe bad")
    expect_error("train: invalid UTF-8", wick("tokenizer-train", "--input", badutf, "--vocab-size", "300",
                                             "--out", bad_out), 1, "UTF-8", [bad_out])
    expect_error("train: unwritable out", wick("tokenizer-train", "--input", src, "--vocab-size", "300",
                                              "--out", "/nonexistent-dir/x.gguf"), 1, "x.gguf")
    expect_error("train: bad pre", wick("tokenizer-train", "--input", src, "--vocab-size", "300", "--pre",
                                        "nope", "--out", bad_out), 2, "not supported", [bad_out])
    expect_error("train: vocab too small", wick("tokenizer-train", "--input", src, "--vocab-size", "256",
                                               "--special", "<s>", "--out", bad_out), 2, "below", [bad_out])
    expect_error("train: bad number", wick("tokenizer-train", "--input", src, "--vocab-size", "12x",
                                          "--out", bad_out), 2, "vocab-size", [bad_out])
    expect_error("train: missing flags", wick("tokenizer-train", "--input", src), 2, "required")
    expect_error("train: unknown flag", wick("tokenizer-train", "--bogus"), 2, "unknown argument")

    nodir = os.path.join(tmp, "nodir")
    expect_error("data: missing input", wick("data", "--input", "/nonexistent.txt", "--tokenizer", a, "--out",
                                             nodir), 1, "cannot open", [nodir])
    expect_error("data: unwritable out", wick("data", "--input", src, "--tokenizer", a, "--out",
                                              os.path.join(src, "sub")), 1, "cannot create")
    # a GGUF without tokenizer keys: header, one key (general.architecture = "llama")
    notok = os.path.join(tmp, "notok.gguf")
    key, val = b"general.architecture", b"llama"
    open(notok, "wb").write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key +
                            struct.pack("<IQ", 8, len(val)) + val)
    expect_error("data: vocab without tokenizer", wick("data", "--input", src, "--tokenizer", notok, "--out",
                                                       nodir), 1, "no tokenizer", [nodir])
    expect_error("data: not a GGUF", wick("data", "--input", src, "--tokenizer", src, "--out", nodir), 1,
                 "docs.txt", [nodir])
    expect_error("data: invalid UTF-8", wick("data", "--input", badutf, "--tokenizer", a, "--out", nodir), 1,
                 "UTF-8", [nodir])
    expect_error("data: bad fraction", wick("data", "--input", src, "--tokenizer", a, "--out", nodir,
                                            "--val-fraction", "1"), 2, "val-fraction", [nodir])
    expect_error("data: bad dedup", wick("data", "--input", src, "--tokenizer", a, "--out", nodir, "--dedup",
                                         "fuzzy"), 2, "dedup", [nodir])
    expect_error("data: bad seed", wick("data", "--input", src, "--tokenizer", a, "--out", nodir, "--seed",
                                        "-1"), 2, "seed", [nodir])
    expect_error("data: missing flags", wick("data", "--input", src), 2, "required")
    print("error paths checked")


def mode_hf(tmp):
    try:
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
    except ImportError:
        print("SKIP: the tokenizers package is not installed (pip install tokenizers)")
        sys.exit(77)
    llama3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
              r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    for corpus, pre, vocab in (("tinyshakespeare.txt", "gpt2", 4096), ("war-and-peace.txt", "llama3", 8192)):
        path = os.path.join(CORPUS, corpus)
        out = os.path.join(tmp, f"{pre}.gguf")
        r = wick("tokenizer-train", "--input", path, "--vocab-size", str(vocab), "--special", "<|endoftext|>",
                 "--pre", pre, "--out", out)
        if r.returncode != 0:
            fail(f"tokenizer-train {pre}: {r.stderr.decode()}")
            continue
        tok = Tokenizer(models.BPE())
        if pre == "gpt2":
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        else:
            tok.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Split(Regex(llama3), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"], show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        text = open(path, encoding="utf-8", newline="").read()
        # one sequence, as wick feeds a file (HF's train(files) would cut pieces at each line)
        tok.train_from_iterator([text], trainer)
        hf = [m if isinstance(m, str) else " ".join(m) for m in json.loads(tok.to_str())["model"]["merges"]]
        ours = gguf_strings(out, "tokenizer.ggml.merges")
        same = 0
        while same < min(len(hf), len(ours)) and hf[same] == ours[same]:
            same += 1
        if same != len(hf) or len(hf) != len(ours):
            fail(f"{pre}/{corpus}: merges agree up to {same} of {len(ours)} (HF {len(hf)}): "
                 f"{hf[same:same + 2]} vs {ours[same:same + 2]}")
        print(f"{pre} on {corpus}: {same}/{len(hf)} merges identical to HF tokenizers")
        if pre == "gpt2":  # ids of a passage: ours = HF's - 1 (HF numbers the special token 0)
            sample = text[5000:9000]
            r = wick("tokenize", "-m", out, "--ids", "--no-parse-special", stdin=sample.encode())
            want = [i - 1 for i in tok.encode(sample).ids]
            got = [int(x) for x in r.stdout.split()]
            if got != want:
                fail(f"wick tokenize ids differ from HF's ({len(got)} vs {len(want)})")
            else:
                print(f"wick tokenize == HF encode on a {len(sample)}-char passage ({len(got)} ids)")


with tempfile.TemporaryDirectory() as tmp:
    {"cli": mode_cli, "hf": mode_hf}[MODE](tmp)
print("FAILED" if fails else "all checks passed", f"({fails} failures)" if fails else "")
sys.exit(1 if fails else 0)
