#!/usr/bin/env python3
"""eval_scene_chat.py — how a model answers the held-out prompts of a make_scene_chat.py
data set: greedy answers (`wick run --temp 0`) to the user turns of the last N
conversations (the validation split `wick finetune` holds out), with the chat template of
SmolLM2 (chatml with its default system prompt), base model against base + adapter.

Counts the answers in the form the data teaches — a speaker tag line ("NAME:") of another
character than the prompt's, followed by lines — and those naming the speaker the corpus
has next, and prints a transcript of the first few prompts.

usage: eval_scene_chat.py WICK MODEL DATA.jsonl [--lora ADAPTER.gguf] [--n 40] [--show 4] [-t 2]
"""
import argparse
import json
import re
import subprocess

ap = argparse.ArgumentParser()
ap.add_argument("wick")
ap.add_argument("model")
ap.add_argument("data")
ap.add_argument("--lora")
ap.add_argument("--n", type=int, default=40)
ap.add_argument("--show", type=int, default=4)
ap.add_argument("-t", "--threads", default="2")
a = ap.parse_args()

with open(a.data, encoding="utf-8") as f:
    convs = [json.loads(ln)["messages"] for ln in f if ln.strip()]
held = convs[-a.n:]
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
tag = re.compile(r"^[A-Z][A-Za-z' .,-]{0,40}:\n\S")

in_form = same_speaker = 0
for i, msgs in enumerate(held):
    user = msgs[0]["content"]
    prompt = "<|im_start|>system\n%s<|im_end|>\n<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n" % (SYSTEM, user)
    cmd = [a.wick, "run", "-m", a.model, "-p", prompt, "-n", "48", "--temp", "0", "-t", a.threads]
    if a.lora:
        cmd += ["--lora", a.lora]
    r = subprocess.run(cmd, capture_output=True, timeout=300)
    out = r.stdout.decode("utf-8", "replace")
    answer = out[len(prompt):] if out.startswith(prompt) else out
    answer = answer.split("<|im_end|>")[0].strip("\n")
    prompt_speaker = user.split("\n\n", 1)[1].split(":\n", 1)[0]
    speaker = answer.split(":\n", 1)[0] if tag.match(answer) else None
    ok = speaker is not None and speaker != prompt_speaker
    in_form += ok
    same_speaker += speaker == msgs[1]["content"].split(":\n", 1)[0]
    if i < a.show:
        print("--- prompt %d" % (i + 1))
        print(user)
        print("--- answer (%s)" % ("another speaker's tag + lines" if ok else "other"))
        print(answer)
        print("--- corpus")
        print(msgs[1]["content"])
        print()
print("%s: %d of %d held-out answers in the play's form (another speaker's tag, then lines); %d name the "
      "corpus's next speaker" % ("base + " + a.lora if a.lora else "base", in_form, len(held), same_speaker))
