#!/usr/bin/env python3
"""check_quantize_errors.py — `wick quantize` on bad input: every case must exit with the
documented code (2 bad usage, 1 error, 130 interrupted) and one clear stderr line, and leave
neither OUT nor a temp file behind (an existing OUT stays as it was).
Cases: missing file, unknown type, missing output directory, output path is a directory,
already-quantized input (refused without --allow-requantize, accepted with it), corrupt
GGUFs (truncated, bad magic, garbage, empty), bad flags, NaN weights, a model without the
layout keys the mix rules need, an integer weight matrix, and Ctrl-C (SIGINT) mid-run.
usage: check_quantize_errors.py WICK STORIES_GGUF"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import gguf
except ImportError as e:  # a missing dependency is a failure, not a skip
    print(f"FAIL: cannot import gguf/numpy ({e}); run: python3 -m pip install gguf numpy")
    sys.exit(1)

WICK, STORIES = sys.argv[1:3]
TMP = tempfile.mkdtemp(prefix="wick-quantize-err-")
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("  FAIL:", msg)


def leftovers(out):
    d, base = os.path.split(out)
    if not os.path.isdir(d or "."):
        return []
    return [f for f in os.listdir(d or ".") if f.startswith(base)]


def case(what, args, want_rc, want_msg, out=None, keep=None):
    """Runs wick quantize ARGS; checks exit code, message and that OUT was not written
    (keep: OUT existed before with these bytes and must still have them)."""
    p = subprocess.run([WICK, "quantize", *args], capture_output=True, text=True, timeout=120)
    before = fails
    if p.returncode != want_rc:
        fail(f"{what}: exit {p.returncode}, want {want_rc} (stderr: {p.stderr.strip()[:300]})")
    if want_msg and want_msg.lower() not in p.stderr.lower():
        fail(f"{what}: stderr lacks '{want_msg}': {p.stderr.strip()[:300]}")
    if "Traceback" in p.stderr or "internal error" in p.stderr:
        fail(f"{what}: crashed: {p.stderr[:300]}")
    if out:
        left = leftovers(out)
        if keep is None and left:
            fail(f"{what}: left {left} behind")
        if keep is not None:
            with open(out, "rb") as f:
                if f.read() != keep:
                    fail(f"{what}: the existing {out} was changed")
            if [x for x in left if x != os.path.basename(out)]:
                fail(f"{what}: temp files left: {left}")
    if fails == before:
        first = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        print(f"  ok   {what:44s} exit {p.returncode}  {first[:110]}")
    return p


def write_model(path, tensors, kv=True, arch="llama"):
    w = gguf.GGUFWriter(path, arch)
    if kv:
        w.add_uint32(f"{arch}.block_count", 2)
        w.add_uint32(f"{arch}.attention.head_count", 4)
    for name, x in tensors:
        w.add_tensor(name, x)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    print(f"wick quantize error cases (temp dir {TMP})")
    out = os.path.join(TMP, "out.gguf")
    stories = open(STORIES, "rb").read()

    case("missing input file", [os.path.join(TMP, "nope.gguf"), out, "Q4_0"], 1, "nope.gguf", out)
    case("unknown type", [STORIES, out, "Q9_K"], 2, "unknown type 'Q9_K'", out)
    case("output directory missing", [STORIES, os.path.join(TMP, "no/such/dir/out.gguf"), "Q8_0"], 1,
         "no such file or directory")
    os.mkdir(os.path.join(TMP, "adir"))
    case("output path is a directory", [STORIES, os.path.join(TMP, "adir"), "Q8_0"], 1, "adir")
    if os.listdir(os.path.join(TMP, "adir")) or [f for f in os.listdir(TMP) if f.startswith("adir.tmp")]:
        fail("output path is a directory: files left behind")

    # flags
    case("no arguments", [], 2, "usage: wick quantize")
    case("too few arguments", [STORIES, out], 2, "usage: wick quantize", out)
    case("too many arguments", [STORIES, out, "Q8_0", "extra"], 2, "too many arguments", out)
    case("unknown option", [STORIES, out, "Q8_0", "--bogus"], 2, "unknown option '--bogus'", out)
    case("--threads 0", [STORIES, out, "Q8_0", "--threads", "0"], 2, "thread count", out)
    case("--threads abc", [STORIES, out, "Q8_0", "--threads=abc"], 2, "thread count", out)
    case("--threads without a value", [STORIES, out, "Q8_0", "--threads"], 2, "thread count", out)

    # corrupt files
    bad = os.path.join(TMP, "bad.gguf")
    for what, data in (("truncated GGUF", stories[: len(stories) // 2]),
                       ("bad magic", b"GGUX" + stories[4:]),
                       ("garbage", bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8))),
                       ("empty file", b""),
                       ("tensor count past the file", stories[:8] + (1 << 40).to_bytes(8, "little") + stories[16:])):
        with open(bad, "wb") as f:
            f.write(data)
        case(what, [bad, out, "Q4_K_M"], 1, "bad.gguf", out)

    # already quantized: refused, then accepted with --allow-requantize
    q8 = os.path.join(TMP, "q8.gguf")
    p = subprocess.run([WICK, "quantize", STORIES, q8, "Q8_0"], capture_output=True, text=True)
    if p.returncode:
        fail(f"making the Q8_0 input: {p.stderr}")
    case("already quantized input", [q8, out, "Q4_0"], 1, "--allow-requantize", out)
    p = subprocess.run([WICK, "quantize", q8, out, "Q4_0", "--allow-requantize"], capture_output=True, text=True)
    if p.returncode or "warning" not in p.stderr or not os.path.exists(out):
        fail(f"--allow-requantize: exit {p.returncode}, stderr {p.stderr.strip()[:200]}")
    else:
        r = gguf.GGUFReader(out)
        types = {t.tensor_type.name for t in r.tensors}
        if "Q4_0" not in types or "Q8_0" not in types:  # output.weight stays Q8_0 (64 columns)
            fail(f"--allow-requantize: types {types}")
        else:
            print(f"  ok   {'requantize with --allow-requantize':44s} exit 0  warning printed, types {sorted(types)}")
        os.unlink(out)
    case("same type needs no requantizing", [q8, out, "Q8_0"], 0, "", None)
    if os.path.exists(out):
        os.unlink(out)

    # NaN weights: refused, and an existing OUT is left alone
    x = np.random.default_rng(2).standard_normal((8, 256)).astype(np.float32)
    x[3, 17] = np.nan
    nan = os.path.join(TMP, "nan.gguf")
    write_model(nan, [("blk.0.attn_q.weight", x), ("output_norm.weight", np.ones(256, np.float32))])
    case("NaN in a weight", [nan, out, "Q4_K_M"], 1, "NaN", out)
    with open(out, "wb") as f:
        f.write(b"previous contents")
    case("NaN in a weight, OUT exists", [nan, out, "Q4_0"], 1, "row 3", out, keep=b"previous contents")
    os.unlink(out)

    # the mix rules need the model's layout; --pure and plain types do not
    nokv = os.path.join(TMP, "nokv.gguf")
    y = np.random.default_rng(3).standard_normal((8, 256)).astype(np.float32)
    write_model(nokv, [("blk.0.attn_v.weight", y)], kv=False)
    case("mix without block_count", [nokv, out, "Q4_K_M"], 1, "block_count", out)
    case("--pure without block_count", [nokv, out, "Q4_K_M", "--pure"], 0, "", None)
    if os.path.exists(out):
        os.unlink(out)

    # an integer weight matrix cannot be quantized
    ints = os.path.join(TMP, "ints.gguf")
    write_model(ints, [("blk.0.attn_q.weight", np.arange(8 * 256, dtype=np.int32).reshape(8, 256))])
    case("I32 weight matrix", [ints, out, "Q4_0"], 1, "cannot convert from I32", out)

    # Ctrl-C mid-run: exit 130, nothing left behind
    big = os.path.join(TMP, "big.gguf")
    rng = np.random.default_rng(4)
    write_model(big, [(f"blk.{i}.ffn_up.weight", rng.standard_normal((1024, 4096)).astype(np.float32))
                      for i in range(6)])
    proc = subprocess.Popen([WICK, "quantize", big, out, "Q2_K", "--threads", "1"], stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    if proc.poll() is not None:
        fail("interrupt: quantizing finished before the signal (make the input bigger)")
    else:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 130 or "interrupted" not in err:
            fail(f"interrupt: exit {proc.returncode}, stderr {err.strip()[:200]}")
        elif leftovers(out):
            fail(f"interrupt: left {leftovers(out)} behind")
        else:
            print(f"  ok   {'SIGINT mid-run':44s} exit 130  {err.strip().splitlines()[-1]}")

    print("check_quantize_errors:", "FAILED" if fails else "all passed", f"({fails} failures)")
    if not fails:  # kept on failure, for a look at the files
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
