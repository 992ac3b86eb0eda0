#!/usr/bin/env python3
"""Writes tests/data/chat_templates/expected.txt: what Python's jinja2 renders for each chat
template in tests/data/chat_templates/*.jinja (and for small feature snippets) with a set of
conversations, configured as transformers' apply_chat_template configures it
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, raise_exception,
a tojson that does not escape HTML). test_chat_template.c compares wick's renderer with it.

Record format (so any bytes survive): lines "key LEN" followed by LEN bytes and a newline.
Run: python3 tests/gen_chat_template_expected.py   (needs jinja2: pip install jinja2)
"""
import json
import os
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "chat_templates")


def make_env():
    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


CONVERSATIONS = {
    "one_user": [{"role": "user", "content": "Hello!"}],
    "multi_system": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "2+2 is 4."},
        {"role": "user", "content": "And 3+3?"},
    ],
    "whitespace_unicode": [
        {"role": "user", "content": "  Spaces around  \n"},
        {"role": "assistant", "content": "\nTrimmed? "},
        {"role": "user", "content": "Unicode: h\u00e9llo w\u00f6rld \u2014 \u4e16\u754c \U0001f389 \"quotes\" 'single' "
                                    "\\backslash {{ not a tag }} {% neither %}\ttab"},
    ],
    "reasoning": [
        {"role": "user", "content": "Solve x."},
        {"role": "assistant", "content": "<think>\nLet me think.\n</think>\n\nx = 1."},
        {"role": "user", "content": "Thanks"},
    ],
    "assistant_first": [
        {"role": "assistant", "content": "I speak first"},
        {"role": "user", "content": "ok"},
    ],
    "empty": [],
}

# (file, bos, eos, extra option sets)
TEMPLATES = [
    ("smollm2-135m-instruct.jinja", "<|im_start|>", "<|im_end|>"),
    ("gemma-3-it.jinja", "<bos>", "<eos>"),
    ("qwen2.5-instruct.jinja", "", "<|im_end|>"),
    ("qwen3-0.6b.jinja", "", "<|im_end|>"),
    ("llama-3-8b-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("llama-3.3-70b-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>"),
]

# Small templates for the interpreter's features; each runs with the multi_system conversation.
FEATURES = [
    ("ws_trim_lstrip", "  {% if true %}\n  x\n  {% endif %}\n  y {% if true %} z{% endif %}  \n"),
    ("ws_minus", "a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e\n{# c #}\nf {#- c -#} g"),
    ("ws_plus", "a\n  {%+ if true %}b{% endif %}\n"),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n"),
    ("loop_vars", "{% for m in messages %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}"
                  "{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}"),
    ("loop_else_filter", "{% for m in messages if m.role == 'user' %}{{ loop.index }}:{{ m.content }};{% else %}none"
                         "{% endfor %}{% for x in [] %}x{% else %}empty{% endfor %}"),
    ("loop_scope", "{% set x = 0 %}{% for i in [1,2] %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}"),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
                  "{% set ns.s = ns.s ~ m.role[0] %}{% endfor %}{{ ns.n }} {{ ns.s }}"),
    ("break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}"
                       "{% endif %}{{ i }}{% endfor %}"),
    ("slices", "{{ messages[1:]|length }} {{ messages[::-1][0].role }} {{ messages[-1]['content'] }} "
               "{{ 'h\u00e9llo'[1] }} {{ 'abcdef'[1:5:2] }} {{ 'abc'[::-1] }} {{ [1,2,3,4][-3:-1] }}"),
    ("arith", "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 0.1 + 0.2 }} "
              "{{ 1e20 }} {{ 1.5e-7 }} {{ 3.0 }} {{ -0.0 }} {{ 'ab' * 3 }} {{ 1 ~ 'x' ~ none }} {{ [1] + [2] }}"),
    ("compare_logic", "{{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'x' in 'xyz' }} "
                      "{{ 3 not in [1,2] }} {{ 'role' in messages[0] }} {{ none or 'd' }} {{ 0 and 1 }} "
                      "{{ not [] }} {{ 'y' if false }}|{{ 'a' if 1 > 2 else 'b' }}"),
    ("tests", "{{ x is defined }} {{ messages is defined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} "
              "{{ {} is mapping }} {{ [] is iterable }} {{ false is false }} {{ 0 is false }} {{ 4 is divisibleby 2 }} "
              "{{ 3 is odd }} {{ messages[0] is not mapping }} {{ 1 is equalto 1 }}"),
    ("filters", "{{ '  a b  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ messages|length }}|{{ 'AbC'|lower }}{{ 'AbC'|upper }}|"
                "{{ x|default('dflt') }}|{{ ''|default('e', true) }}|{{ ['a','b']|join(', ') }}|{{ 'hello world'|title }}|"
                "{{ 'hello'|capitalize }}|{{ 'aXbX'|replace('X', '-') }}|{{ [3,1]|first }}{{ [3,1]|last }}|"
                "{{ '12'|int + 1 }}|{{ 2|float }}|{{ -3|abs }}|{{ [1,2,3]|reverse|list }}|{{ 42|string }}"),
    ("tojson", "{{ messages[0]|tojson }}|{{ {'a': [1, 2.5, none, true, 'q\"\\n\u00e9<>']}|tojson }}|"
               "{{ {'b': 1, 'a': {'c': []}}|tojson(indent=2) }}|{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}"),
    ("select_map", "{{ ['a', 'code_interpreter', 'b']|reject('equalto', 'code_interpreter')|join(',') }}|"
                   "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join('/') }}|"
                   "{{ messages|map(attribute='role')|list }}|{{ [1, 0, 2]|select|list }}"),
    ("methods", "{{ '  x  '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|"
                "{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|"
                "{{ 'AbC'.lower() }}{{ 'AbC'.upper() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ '-'.join(['x','y']) }}|"
                "{{ {'k': 'v'}.items()|list }}|{{ {'k': 'v'}.get('k') }}{{ {'k': 'v'}.get('z', 'd') }}|"
                "{{ {'k': 1}.keys()|list }}{{ {'k': 1}.values()|list }}"),
    ("dict_iter", "{% for k, v in {'a': 1, 'b': [2]}.items() %}{{ k }}={{ v }};{% endfor %}"
                  "{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}{% for ch in 'h\u00e9!' %}[{{ ch }}]{% endfor %}"),
    ("print_values", "{{ [1, 'a', none, true, 1.5, {'k': 'v'}, \"it's\"] }} {{ none }} {{ true }} {{ x }}|"
                     "{{ 'esc\\t\\n\\u00e9\\x41' }}|{{ \"a\" 'b' }}"),
    ("set_block", "{% set greeting %}Hi {{ messages[1].content }}{% endset %}[{{ greeting|trim }}]"),
    ("undefined_attr_error", "{{ x.y }}"),
    ("undefined_arith_error", "{{ x + 1 }}"),
    ("type_error", "{{ 'a' + 1 }}"),
    ("raise", "{% if messages|length > 1 %}{{ raise_exception('too many: ' ~ messages|length) }}{% endif %}"),
    ("bad_iter_error", "{% for x in 5 %}{% endfor %}"),
]


def record(out, key, data):
    b = data.encode("utf-8") if isinstance(data, str) else data
    out.write(b"%s %d\n" % (key.encode(), len(b)))
    out.write(b)
    out.write(b"\n")


def render(env, src, messages, bos, eos, gen, think):
    kw = dict(messages=messages, add_generation_prompt=gen, bos_token=bos, eos_token=eos)
    if think is not None:
        kw["enable_thinking"] = think
    try:
        return env.from_string(src).render(**kw), None
    except Exception as e:  # noqa: BLE001 - any failure is an expected error
        return None, "%s: %s" % (type(e).__name__, e)


def emit_case(out, env, name, key, value, src, messages, bos, eos, gen, think):
    text, err = render(env, src, messages, bos, eos, gen, think)
    record(out, "case", name)
    record(out, key, value)
    record(out, "bos", bos)
    record(out, "eos", eos)
    record(out, "gen", "1" if gen else "0")
    record(out, "think", "-1" if think is None else ("1" if think else "0"))
    for m in messages:
        record(out, "role", m["role"])
        record(out, "content", m["content"])
    if err is None:
        record(out, "expect", text)
    else:
        record(out, "error", err)
    record(out, "end", "")
    return err is None


def main():
    env = make_env()
    path = os.path.join(DATA, "expected.txt")
    n_ok = n_err = 0
    with open(path, "wb") as out:
        for fname, bos, eos in TEMPLATES:
            with open(os.path.join(DATA, fname), "rb") as f:
                src = f.read().decode("utf-8").replace("\r\n", "\n")
            for conv_name, msgs in CONVERSATIONS.items():
                for gen in (True, False):
                    thinks = (None, False) if "qwen3" in fname else (None,)
                    for think in thinks:
                        name = "%s/%s/gen=%d/think=%s" % (fname, conv_name, gen, think)
                        ok = emit_case(out, env, name, "file", fname, src, msgs, bos, eos, gen, think)
                        n_ok, n_err = n_ok + ok, n_err + (not ok)
        for fname, src in FEATURES:
            ok = emit_case(out, env, "feature/" + fname, "source", src, src, CONVERSATIONS["multi_system"], "<s>",
                           "</s>", True, None)
            n_ok, n_err = n_ok + ok, n_err + (not ok)
    print("wrote %s: %d rendered cases, %d expected errors (jinja2 %s)" % (path, n_ok, n_err, jinja2.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
