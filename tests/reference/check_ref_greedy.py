#!/usr/bin/env python3
"""check_ref_greedy.py — validates ref_forward.py itself on the tiny F32 stories260K: greedy
decoding from BOS must reproduce the golden text. The golden file is llama2.c's convention
of 200 steps: BOS, then 200 generated tokens, detokenized without BOS and without the SPM
prefix space, no trailing newline (464 bytes). It ends mid-sentence, so one token fewer or
more cannot match it.
usage: check_ref_greedy.py DATA_DIR"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # 64-wide matrices: threads only cost time
os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref_forward as R  # noqa: E402

data = sys.argv[1]
m = R.Model(os.path.join(data, "models", "stories260K.gguf"))
with open(os.path.join(data, "models", "stories260K.greedy200.txt"), "rb") as f:
    want = f.read()
ids = R.greedy(m, [1], 200)
got = R.detokenize(m, ids)
if got != want:
    i = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
    print(f"FAIL: greedy text differs at byte {i}: got {got[max(0, i - 30):i + 30]!r}\n"
          f"      want {want[max(0, i - 30):i + 30]!r} ({len(got)} vs {len(want)} bytes)")
    sys.exit(1)
print(f"OK: stories260K greedy from BOS, 200 tokens: {len(got)} bytes identical to the golden text")
