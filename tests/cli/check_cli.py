#!/usr/bin/env python3
"""check_cli.py WICK CASE SHARED_DATA — end-to-end checks of the model-running commands
that have no other test: `wick chat` (driven through a pipe), `wick perplexity`,
`wick bench -m` and `wick run --stop`, each on a real model, plus their flag and file errors."""
import json
import os
import re
import subprocess
import sys
import tempfile

WICK, CASE, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
STORIES = os.path.join(DATA, "models", "stories260K.gguf")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(args, stdin=None, timeout=600):
    return subprocess.run([WICK] + args, input=stdin, capture_output=True, text=True, timeout=timeout)


def expect(cond, what, proc=None):
    if not cond:
        print("FAIL:", what)
        if proc is not None:
            print("--- stdout\n" + proc.stdout[-2000:] + "\n--- stderr\n" + proc.stderr[-2000:])
        sys.exit(1)
    print("ok:", what)


def smollm2():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "fetch_models.py"), "smollm2"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr)
        sys.exit(1)
    return out.stdout.strip().splitlines()[-1]


def errors(cmd, extra):
    p = run([cmd, "--bogus-flag"])
    expect(p.returncode == 2 and "unknown option" in p.stderr, f"{cmd}: unknown flag exits 2", p)
    p = run([cmd, "-m", "/nonexistent/model.gguf"] + extra, stdin="")
    expect(p.returncode == 1 and "/nonexistent/model.gguf" in p.stderr and p.stdout == "",
           f"{cmd}: missing model exits 1 and names it", p)
    with tempfile.NamedTemporaryFile(suffix=".gguf") as f:
        f.write(b"this is not a gguf file at all" * 10)
        f.flush()
        p = run([cmd, "-m", f.name] + extra, stdin="")
        expect(p.returncode == 1 and len(p.stderr.strip().splitlines()) >= 1 and p.stdout == "",
               f"{cmd}: non-GGUF model exits 1", p)
    p = run([cmd, "-m", STORIES, "-t", "zero"] + extra, stdin="")
    expect(p.returncode == 2 and "bad value" in p.stderr, f"{cmd}: bad -t value exits 2", p)


if CASE == "chat":
    model = smollm2()
    # SmolLM2-135M Q4_1 is a small model on 8-bit activations: for some questions its first
    # token is a near tie (e.g. France: "The" 25.33 vs "L'" 25.24 in the f64 reference) that
    # activation rounding may flip into a French answer; these two have clear margins
    convo = "What is the capital of Germany?\n/reset\nWhat is the capital of Japan?\n"
    p = run(["chat", "-m", model, "--temp", "0", "-n", "48", "-c", "1024"], stdin=convo)
    print(p.stdout)
    expect(p.returncode == 0, "chat exits 0 at end of input", p)
    replies = [l for l in p.stdout.splitlines() if l.strip()]
    expect(any("Berlin" in l for l in replies), "first answer names Berlin", p)
    expect(any("Tokyo" in l for l in replies), "answer after /reset names Tokyo", p)
    expect("conversation cleared" in p.stderr, "/reset acknowledged on stderr", p)
    # the second turn's prompt holds the first turn and its reply, and the cache computed
    # for the first turn is reused (WICK_CHAT_DEBUG prints each rendered prompt)
    env = dict(os.environ, WICK_CHAT_DEBUG="1")
    p = subprocess.run([WICK, "chat", "-m", model, "--temp", "0", "-n", "24", "-c", "1024"], env=env,
                       input="Remember the number 42.\nWhat number did I ask you to remember?\n",
                       capture_output=True, text=True, timeout=600)
    prompts = re.findall(r"\[prompt\]\n(.*?)\[/prompt\]", p.stderr, re.S)
    kept = [(int(a), int(b)) for a, b in re.findall(r"\[kept (\d+) of (\d+) tokens\]", p.stderr)]
    first_reply = p.stdout.splitlines()[0] if p.stdout else ""
    expect(p.returncode == 0 and len(prompts) == 2 and "Remember the number 42." in prompts[1]
           and first_reply.strip()[:20] in prompts[1], "second prompt holds the first turn and its reply", p)
    expect(len(kept) == 2 and kept[0][0] == 0 and kept[1][0] > kept[0][1], "the first turn's cache is reused", p)
    p = run(["chat", "-m", model, "--chat-template", "no-such-template"], stdin="")
    expect(p.returncode == 2, "unknown built-in template exits 2", p)
    # a conversation longer than the context: a clear message, the tool keeps going
    p = run(["chat", "-m", model, "--temp", "0", "-n", "8", "-c", "64"], stdin=("word " * 200) + "\nHi\n")
    expect(p.returncode == 0 and "no longer fits" in p.stderr, "too-long turn is refused cleanly", p)
    errors("chat", [])
elif CASE == "perplexity":
    text = os.path.join(DATA, "corpora", "tinyshakespeare.txt")
    p = run(["perplexity", "-m", STORIES, "-f", text, "-c", "128", "--chunks", "40", "-t", "2"])
    m = re.search(r"PPL = ([0-9.]+) ± ([0-9.]+)", p.stdout)
    expect(p.returncode == 0 and m is not None, "prints PPL = x ± y", p)
    ppl, err = float(m.group(1)), float(m.group(2))
    # a 260K-parameter model trained on children's stories, scored on Shakespeare: far better
    # than uniform over its 512 tokens, far worse than a real model
    expect(10 < ppl < 512 and 0 < err < ppl / 4, f"PPL {ppl} ± {err} in a sane range", p)
    chunks = re.findall(r"\[(\d+)\]", p.stdout)
    expect(len(chunks) == 40, "40 chunks reported", p)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("too short")
        f.flush()
        p = run(["perplexity", "-m", STORIES, "-f", f.name, "-c", "128"])
        expect(p.returncode == 1 and "needs at least" in p.stderr, "too-short text refused", p)
    p = run(["perplexity", "-m", STORIES])
    expect(p.returncode == 2 and "required" in p.stderr, "missing -f exits 2", p)
    p = run(["perplexity", "-m", STORIES, "-f", "/nonexistent.txt"])
    expect(p.returncode == 1 and "/nonexistent.txt" in p.stderr, "missing text file exits 1", p)
    errors("perplexity", ["-f", STORIES])
elif CASE == "bench":
    p = run(["bench", "-m", STORIES, "-p", "64", "-n", "16", "-r", "3", "-t", "2", "-o", "json"])
    expect(p.returncode == 0, "bench -m exits 0", p)
    rows = json.loads(p.stdout)
    tests = {r["test"]: r for r in rows}
    expect(set(tests) == {"pp64", "tg16"}, "pp64 and tg16 reported", p)
    expect(all(r["avg_ts"] > 0 and r["stddev_ts"] >= 0 and r["params"] == 292800 for r in rows),
           "positive t/s and the model's 292,800 parameters", p)
    p = run(["bench", "-m", STORIES, "-p", "32", "-n", "8", "-r", "2"])
    expect(p.returncode == 0 and "| pp32 |" in p.stdout and "| tg8 |" in p.stdout, "text table", p)
    p = run(["bench", "-m", STORIES, "-r", "0"])
    expect(p.returncode == 2, "-r 0 exits 2", p)
    p = run(["bench", "-m", "/nonexistent/model.gguf"])
    expect(p.returncode == 1, "missing model exits 1", p)
elif CASE == "stop":
    # stop strings against the golden greedy text: output ends right before the first
    # occurrence of the earliest stop string, wherever token boundaries fall
    with open(os.path.join(DATA, "models", "stories260K.greedy200.txt")) as f:
        gold = f.read()
    base = ["run", "-m", STORIES, "-n", "200", "--temp", "0", "-t", "1"]
    for stops in [[gold[101:109]], [gold[40:43], gold[150:160]], [gold[150:160], gold[40:43]],
                  ["zzz-never"], [gold[:5]], [gold[-6:]]]:
        p = run(base + sum([["--stop", x] for x in stops], []))
        want = gold[:min(gold.find(x) for x in stops if x in gold)] if any(x in gold for x in stops) else gold
        expect(p.returncode == 0 and p.stdout == want, f"--stop {stops!r}: {len(want)} of {len(gold)} characters", p)
    p = run(base + ["--stop", ""])
    expect(p.returncode == 2 and "--stop" in p.stderr, "empty --stop exits 2", p)
    p = run(base + ["--stop"] * 1)
    expect(p.returncode == 2, "--stop without a value exits 2", p)
else:
    sys.exit(f"unknown case {CASE}")
