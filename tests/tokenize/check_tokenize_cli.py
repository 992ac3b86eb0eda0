#!/usr/bin/env python3
"""check_tokenize_cli.py — `wick tokenize --no-bos --ids` must reproduce llama.cpp's
test-tokenizer-0 vectors: VOCAB.gguf.inp holds texts each followed by
"\\n__ggml_vocab_test__\\n" (so a text may itself end in newlines), VOCAB.gguf.out one line of
space-separated ids per text, in the same order. Every text is fed to the CLI on stdin, byte
for byte. Then the error paths: exit 1 with a message for a missing file, a non-GGUF file, a
GGUF without tokenizer keys and invalid UTF-8 for a BPE vocabulary; exit 2 for bad flags.
usage: check_tokenize_cli.py WICK DATA_DIR"""
import os
import subprocess
import sys
import tempfile

WICK, DATA = sys.argv[1], sys.argv[2]
SEP = b"\n__ggml_vocab_test__\n"
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


def run(args, stdin=b""):
    return subprocess.run([WICK, "tokenize"] + args, input=stdin, capture_output=True, timeout=60)


def check_vectors(name):
    path = os.path.join(DATA, "vocab", name)
    with open(path + ".inp", "rb") as f:
        texts = f.read().split(SEP)
    if texts[-1] != b"":
        fail(f"{name}.inp does not end with the separator")
    texts = texts[:-1]
    with open(path + ".out") as f:
        want = [[int(x) for x in line.split()] for line in f.read().split("\n")[:len(texts)]]
    if len(want) != len(texts):
        fail(f"{name}: {len(texts)} texts but {len(want)} id lines")
    ok = 0
    for i, (text, ids) in enumerate(zip(texts, want)):
        r = run(["-m", path, "--no-bos", "--ids"], text)
        got = [int(x) for x in r.stdout.split()] if r.returncode == 0 else None
        if got == ids and r.stdout.endswith(b"\n") and r.stdout.count(b"\n") == 1:
            ok += 1
        else:
            fail(f"{name} text {i} {text[:40]!r}: rc {r.returncode} {r.stderr.decode(errors='replace').strip()}"
                 f"\n    want {ids}\n    got  {got}")
    print(f"{name}: {ok}/{len(texts)} texts give llama.cpp's ids")


def check_expect(what, args, stdin, rc, needle):
    r = run(args, stdin)
    err = r.stderr.decode(errors="replace")
    if r.returncode != rc or needle not in err:
        fail(f"{what}: rc {r.returncode} (want {rc}), stderr {err.strip()[:200]!r} (want '{needle}')")
    else:
        print(f"{what}: exit {rc}: {err.splitlines()[0] if err else ''}")


def main():
    for name in ("ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"):
        check_vectors(name)
    spm = os.path.join(DATA, "vocab", "ggml-vocab-llama-spm.gguf")
    gpt2 = os.path.join(DATA, "vocab", "ggml-vocab-gpt-2.gguf")

    # Defaults: BOS added (SPM), special text parsed; the per-token listing shows pieces.
    r = run(["-m", spm, "--ids", "-p", "<s>Hello"])
    if r.stdout.split() != [b"1", b"1", b"15043"]:
        fail(f"spm '<s>Hello' with BOS and parse-special: {r.stdout!r}")
    r = run(["-m", spm, "--ids", "--no-bos", "--no-parse-special", "-p", "<s>"])
    if r.returncode != 0 or b"1" in r.stdout.split():
        fail(f"spm --no-parse-special '<s>' still gives id 1: {r.stdout!r}")
    r = run(["-m", gpt2, "-p", "Hello world"])
    if r.returncode != 0 or r.stdout.decode().splitlines() != [" 15496 -> 'Hello'", "   995 -> ' world'"]:
        fail(f"gpt-2 listing: {r.stdout!r}")

    with tempfile.TemporaryDirectory() as tmp:
        not_gguf = os.path.join(tmp, "text.gguf")
        with open(not_gguf, "w") as f:
            f.write("this is not a GGUF file\n")
        no_tok = os.path.join(tmp, "notok.gguf")  # valid GGUF v3: no tensors, one key
        key = b"general.name"
        with open(no_tok, "wb") as f:
            f.write(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little"))
            f.write(len(key).to_bytes(8, "little") + key + (8).to_bytes(4, "little"))
            f.write((1).to_bytes(8, "little") + b"x")
        check_expect("missing model", ["-m", os.path.join(tmp, "absent.gguf"), "-p", "x"], b"", 1, "absent.gguf")
        check_expect("not a GGUF", ["-m", not_gguf, "-p", "x"], b"", 1, "GGUF")
        check_expect("no tokenizer keys", ["-m", no_tok, "-p", "x"], b"", 1, "no tokenizer")
    check_expect("invalid UTF-8 (BPE)", ["-m", gpt2, "--ids"], b"ab\xff\xfe", 1, "UTF-8")
    check_expect("unknown flag", ["-m", gpt2, "--bogus"], b"", 2, "unknown argument")
    check_expect("missing value", ["-m"], b"", 2, "needs a value")
    check_expect("no model", ["-p", "x"], b"", 2, "no model")
    print("FAIL" if fails else "OK", f"({fails} failures)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
