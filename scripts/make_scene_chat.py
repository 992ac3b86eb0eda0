#!/usr/bin/env python3
"""make_scene_chat.py — a small instruction data set derived from tinyshakespeare, as chat
JSONL for `wick finetune` (one {"messages": [...]} per line).

Each conversation takes two consecutive speeches of different speakers from the corpus:
the user asks to continue the scene after the first ("NAME:" and its lines), the assistant
answers with the next speech in the corpus's own form ("NAME:" then verse lines). Speeches
longer than --max-lines lines are cut to their first lines. The intended direction of a
fine-tune on it: answers that stay in the play (a speaker tag, then Elizabethan verse),
where the base model answers in modern prose.

The pairs are every --stride-th eligible pair of the corpus, shuffled with --seed, so a
trailing --val-fraction split (as `wick finetune` takes it) is a sample of every play.

usage: make_scene_chat.py CORPUS OUT.jsonl [--count N] [--stride S] [--max-lines L] [--seed S]
"""
import argparse
import json
import random

ap = argparse.ArgumentParser()
ap.add_argument("corpus")
ap.add_argument("out")
ap.add_argument("--count", type=int, default=1200)
ap.add_argument("--stride", type=int, default=3)
ap.add_argument("--max-lines", type=int, default=4)
ap.add_argument("--seed", type=int, default=7)
a = ap.parse_args()

with open(a.corpus, encoding="utf-8") as f:
    blocks = [b.strip("\n") for b in f.read().split("\n\n")]
speeches = []  # (speaker, [lines])
for b in blocks:
    lines = b.split("\n")
    if len(lines) >= 2 and lines[0].endswith(":") and lines[0][:-1].strip():
        speeches.append((lines[0][:-1], [ln for ln in lines[1:] if ln.strip()]))

pairs = []
for (s1, l1), (s2, l2) in zip(speeches, speeches[1:]):
    if s1 != s2 and l1 and l2:
        pairs.append((s1, l1[: a.max_lines], s2, l2[: a.max_lines]))
pairs = pairs[:: a.stride][: a.count]
random.Random(a.seed).shuffle(pairs)

with open(a.out, "w", encoding="utf-8") as f:
    for s1, l1, s2, l2 in pairs:
        user = "Continue this scene from a Shakespeare play.\n\n%s:\n%s" % (s1, "\n".join(l1))
        asst = "%s:\n%s" % (s2, "\n".join(l2))
        f.write(json.dumps({"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": asst}]},
                           ensure_ascii=False) + "\n")
print("%d conversations from %d speeches -> %s" % (len(pairs), len(speeches), a.out))
