#!/usr/bin/env python3
"""Goldens for vkinfer's chat templates (tests/chat_template_test.cpp, tests/chat_cli_test.cpp).

Run from the repository root with the project's venv (transformers 4.40.2, jinja2 3.1, torch):
    .venv/bin/python tests/data/chat/make_chat_goldens.py
It writes tests/data/chat/chat_goldens.json:

- "cases": every real template in templates/*.jinja x every conversation x add_generation_prompt
  true/false, rendered by transformers' apply_chat_template(tokenize=False) on the tiny Llama test
  tokenizer (tests/data/models/llama) with that template in its tokenizer_config.json, so the
  special tokens are what transformers passes. A case the template refuses records the exception:
  raise_exception's message exactly, or only that it failed (an undefined value, a type error).
- "features": small templates written here to cover the engine's constructs one at a time,
  rendered by the same jinja2 environment (transformers' _compile_jinja_template).
- "e2e": the tiny Llama model with a chat template added: the prompt ids
  apply_chat_template(tokenize=True, add_generation_prompt=True) gives, transformers' greedy
  generate() from them, and the same with a generation_config.json listing two eos ids, one of
  which the greedy output reaches.
"""
import json
import os
import shutil
import sys
import tempfile

import jinja2
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
LLAMA = os.path.join(ROOT, "tests", "data", "models", "llama")
TEMPLATES = os.path.join(HERE, "templates")

assert transformers.__version__ == "4.40.2", transformers.__version__

CONVERSATIONS = {
    "user": [{"role": "user", "content": "Hello!"}],
    "system_user": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
    ],
    "multi_turn": [
        {"role": "system", "content": "You are a helpful assistant"},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there"},
        {"role": "user", "content": "Who are you"},
        {"role": "assistant", "content": "   I am an assistant   "},
        {"role": "user", "content": "Another question"},
    ],
    "no_system": [
        {"role": "user", "content": "  padded question \n"},
        {"role": "assistant", "content": "An answer."},
        {"role": "user", "content": "Thanks"},
    ],
    "assistant_last": [
        {"role": "user", "content": "Say hi"},
        {"role": "assistant", "content": "hi"},
    ],
    "unicode": [
        {"role": "user", "content": "Héllo wörld — ünïcode ✓ 🚀 \"quotes\" <tags> & 'apostrophes'\nnew line\ttab \\ backslash"},
    ],
    "not_alternating": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ],
    "starts_with_assistant": [
        {"role": "assistant", "content": "I speak first"},
        {"role": "user", "content": "ok"},
    ],
    "unknown_role": [
        {"role": "user", "content": "a"},
        {"role": "narrator", "content": "b"},
    ],
    "empty_system": [
        {"role": "system", "content": ""},
        {"role": "user", "content": "x"},
    ],
    "empty": [],
}

# Tool-calling conversations for the templates that read `tools`: the tools go in as an extra
# template variable, as apply_chat_template(..., tools=...) kwargs do in 4.40.
TOOLS = [{"type": "function", "function": {
    "name": "get_weather",
    "description": "Weather <now> & 'later'",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}}]
TOOL_CONVERSATIONS = {
    "tools": [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "abcdefghi", "type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "tool_call_id": "abcdefghi", "content": "22 C"},
        {"role": "user", "content": "And tomorrow?"},
    ],
}
TOOL_TEMPLATES = {"llama32", "mistral_nemo"}

# Feature templates: each exercises a few constructs; context is passed as-is.
FEATURES = [
    ("whitespace_control", "a  {{- ' b ' -}}  c\n  {%- if true %} d {% endif -%}\n e {#- c -#} f", {}),
    ("trim_lstrip", "x\n  {% if true %}\n    y\n  {% endif %}\nz\n{# comment #}\nw {% if 1 %}v{% endif %}\n", {}),
    ("plus_modifiers", "a\n  {%+ if true +%}\nb\n  {%+ endif %}\nc", {}),
    ("raw_block", "{% raw %}{{ not rendered }} {% if %}{% endraw %}!", {}),
    ("crlf_and_trailing_newline", "a\r\n{% if true %}\r\nb\rc{% endif %}\r\nd\n", {}),
    ("loop_vars", "{% for x in items %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
                  "{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem }}/{{ loop.nextitem }}/"
                  "{{ loop.cycle('odd', 'even') }};{% endfor %}", {"items": ["a", "b", "c"]}),
    ("loop_filter_else", "{% for x in items if x > 1 %}{{ x }}:{{ loop.index }}:{{ loop.length }} {% else %}none{% endfor %}"
                         "|{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {"items": [1, 2, 3, 0, 5]}),
    ("loop_unpack_dict", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }},{% endfor %}"
                         "{% for c in 'héy' %}[{{ c }}]{% endfor %}", {"d": {"b": 1, "a": [1, 2]}}),
    ("scoping", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }},{% endfor %}{{ x }}"
                "{% if true %}{% set y = 5 %}{% endif %}{{ y }}", {}),
    ("namespace", "{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'system' %}"
                  "{% set ns.found = true %}{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.found }} {{ ns.n }}",
     {"messages": [{"role": "user"}, {"role": "system"}]}),
    ("set_block_and_unpack", "{% set a, b = [1, 'two'] %}{% set block %}[{{ a }}-{{ b }}]{% endset %}{{ block }}{{ block|length }}", {}),
    ("slicing", "{{ items[1:] }}{{ items[:-1] }}{{ items[::-1] }}{{ items[-2:] }}{{ items[::2] }}{{ items[5:] }}"
                "{{ s[1:3] }}{{ s[::-1] }}{{ s[-1] }}{{ s[0] }}{{ items[-1] }}{{ items[10] is defined }}",
     {"items": [1, 2, 3, 4], "s": "añb🚀"}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 3 / 2 }} {{ 4 / 2 }}"
                   " {{ 1 + 2.5 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ 123456789.0 * 1000 }} {{ -3 }} {{ +4 }}"
                   " {{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1] + [2] }} {{ true + 1 }} {{ 10 - 2 * 3 }} {{ (10 - 2) * 3 }}"
                   " {{ 2.5 // 1 }} {{ -2.5 % 2 }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ true == 1 }}"
                    " {{ 'a' in 'cat' }} {{ 'x' not in ['x'] }} {{ 'k' in {'k': 1} }} {{ none == none }} {{ 1 != '1' }}"
                    " {{ 2 >= 2 }} {{ 3 <= 2 }}", {}),
    ("logic_values", "{{ 0 or 'fallback' }} {{ 'a' and 'b' }} {{ [] and 'x' }} {{ not none }} {{ 'y' if false }}!"
                     "{{ 'yes' if 1 else 'no' }} {{ undefined_thing or 'u' }}", {}),
    ("printing", "{{ none }} {{ true }} {{ 1.0 }} {{ [1, 'a', none, true, 1.5] }} {{ {'a': 'b', 'c': [1]} }}"
                 " {{ \"it's\" }} {{ ['it\\'s'] }} {{ missing }}. {{ 'a' ~ 1 ~ none ~ 2.50 ~ [1] }}", {}),
    ("string_methods", "{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|"
                       "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|"
                       "{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'Abc'.upper() }}{{ 'ÀBC'.lower() }}|"
                       "{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aaa'.replace('a', 'b', 2) }}|"
                       "{{ 'abcabc'.find('c') }}{{ 'abcabc'.count('bc') }}|{{ '-'.join(['a', 'b']) }}|"
                       "{{ 'prefix-x'.removeprefix('prefix-') }}|{{ 'abc'.islower() }}{{ 'ABC'.isupper() }}|"
                       "{{ 'straße'.upper() }}", {}),
    ("dict_access", "{{ d.items() }}|{{ d.keys() }}|{{ d.values() }}|{{ d.get('a') }}{{ d.get('zz', 'dflt') }}{{ d.get('zz') }}|"
                    "{{ d['items'] }}|{{ d.a }}|{{ d.missing is defined }}|{{ d['a'] }}",
     {"d": {"a": 1, "items": "key-items"}}),
    ("filters_text", "{{ '  hi  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ 'héllo'|length }}|{{ 'ab'|upper }}|{{ 'AB'|lower }}|"
                     "{{ 'hello big-world (x)'|title }}|{{ 'hELLO wORLD'|capitalize }}|{{ 'aXbX'|replace('X', '-') }}|"
                     "{{ 'aaa'|replace('a', 'b', 1) }}|{{ 3|string ~ 'x' }}|{{ '<b>'|e }}|{{ 'x'|safe }}|"
                     "{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'abc'|reverse }}", {}),
    ("filters_values", "{{ undefined_var|default('d') }}|{{ ''|default('e', true) }}|{{ 0|default(5) }}|"
                       "{{ items|first }}|{{ items|last }}|{{ items|join(', ') }}|{{ items|length }}|{{ items|list }}|"
                       "{{ items|reverse|list }}|{{ items|sort }}|{{ items|sort(reverse=true) }}|{{ items|unique|list }}|"
                       "{{ items|min }}|{{ items|max }}|{{ items|sum }}|{{ '42'|int + 1 }}|{{ 'x'|int }}|{{ '3.7'|int }}|"
                       "{{ '2.5'|float }}|{{ 3|float }}|{{ -4|abs }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ 3.5|round }}|"
                       "{{ 2.1|round(0, 'ceil') }}|{{ words|sort|join }}|{{ words|sort(case_sensitive=true)|join }}",
     {"items": [3, 1, 2, 3], "words": ["b", "A", "a", "C"]}),
    ("filters_collections", "{{ users|map(attribute='name')|join('/') }}|{{ users|selectattr('admin')|map(attribute='name')|list }}|"
                            "{{ users|rejectattr('admin')|list|length }}|{{ users|selectattr('name', 'equalto', 'bo')|list }}|"
                            "{{ nums|select('odd')|list }}|{{ nums|reject('even')|list }}|{{ nums|select('gt', 2)|list }}|"
                            "{{ names|map('upper')|list }}|{{ d|items|list }}|{{ d|dictsort }}|{{ users|sort(attribute='name')|map(attribute='name')|join }}|"
                            "{{ users|map(attribute='missing', default='?')|join }}|{{ nums|select|list }}",
     {"users": [{"name": "cy", "admin": True}, {"name": "bo", "admin": False}, {"name": "al", "admin": True}],
      "nums": [0, 1, 2, 3, 4], "names": ["x", "y"], "d": {"b": 2, "a": 1}}),
    ("tojson", "{{ data|tojson }}|{{ data|tojson(indent=2) }}|{{ 'é<>&\\'\"🚀'|tojson }}|{{ [1.5, none, true, 1e30]|tojson }}"
               "|{{ {}|tojson }}{{ []|tojson(indent=4) }}",
     {"data": {"z": [1, {"y": "two", "x": None}], "a": {"nested": True}, "s": "line\nbreak\ttab"}}),
    ("markup_concat", "{{ '<' + ([1]|tojson) }}|{{ ([2]|tojson) + '&' }}|{{ ('\"q\"'|tojson)[:-1] + \"'\" }}|"
                      "{{ '<' ~ ([3]|tojson) }}|{{ ('a'|tojson)|trim }}|{{ ('x'|tojson) ~ '<' }}", {}),
    ("tests", "{{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 's' is string }}{{ 1 is number }}{{ 1 is integer }}"
              "{{ 1.0 is float }}{{ true is boolean }}{{ {} is mapping }}{{ [] is iterable }}{{ 's' is sequence }}"
              "{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 1 is in [1] }}"
              "{{ 2 is eq 2 }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ x is not none }}{{ y is iterable }}"
              "{{ true is true }}{{ 0 is false }}{{ 5 is gt 3 }}{{ 'upper' is filter }}{{ 'odd' is test }}", {"x": 1}),
    ("literals", "{{ 'a' 'b' }}{{ \"c\\td\" }}{{ 'e\\u00e9\\x41' }}{{ (1, 2) }}{{ [1, [2, 3]][1][0] }}{{ {'k': {'n': 1}}['k']['n'] }}"
                 "{{ 1_000 }}{{ 1.5e3 }}{{ True }}{{ None }}{{ 'o\\'k' }}", {}),
    ("globals", "{{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ range(5, 0, -2)|list }}{{ dict(a=1, b='x') }}"
                "{% set ns = namespace(v=[1]) %}{{ ns.v }}", {}),
    ("lstrip_edges", "   {% if true %}a{% endif %}\n\t{% if true %}b{% endif %}\n  {{ 'c' }}\n  {# x #}\nd  {%- if true %}e{% endif %}"
                     "\n  x {% if true %}f{% endif %}", {}),
    ("nested_loops", "{% for a in [1, 2] %}{% set outer = loop %}{% for b in 'xy' %}{{ outer.index }}{{ b }}{{ loop.index }}"
                     "{{ loop.length }} {% endfor %}{% endfor %}{% for k, v in [[1, 2], [3, 4]] %}{{ k * v }}{% endfor %}", {}),
    ("float_repr", "{{ 10 / 4 }} {{ 1 / 3 }} {{ 2 ** 0.5 }} {{ 1e16 }} {{ 1e15 }} {{ 1.5e-7 }} {{ 100.0 }} {{ -0.0 }} {{ 0.0001 }}"
                   " {{ 123456789012345678.0 }} {{ 5e-324 }} {{ 1.7976931348623157e308 }} {{ 3.0 * 1.1 }}", {}),
    ("conversation_json", "{{ messages|tojson }}|{{ messages[-1]['role'] }}|{{ 'many' if messages|length > 1 }}|"
                          "{{ messages|map(attribute='role')|join(',') }}|{{ messages[0] }}",
     {"messages": [{"role": "user", "content": "Hi <there>"}, {"role": "assistant", "content": "ö", "name": None}]}),
    ("none_and_missing", "{{ x.y }}|{{ x.y is defined }}|{{ messages is not defined }}|{{ 'abc'[5] is defined }}|{{ (1,) }}|"
                         "{{ {'b': 1, 'a': 2} }}|{{ [1, 2, 3]|join }}|{{ '\x41\101\u00e9' }}|{{ '\u3000 x\u00a0'|trim }}|"
                         "{{ none|string }}|{{ none|default('d') }}|{{ x|default('d') }}", {"x": None}),
    ("string_edge_cases", "{{ 'a-b_c d'.split('-') }}|{{ ''.split() }}|{{ 'x'.split('x') }}|{{ 'ab'.replace('', '-') }}|"
                          "{{ 'ǅungla'.title() }}|{{ 'ΣΑΣ'.lower() }}|{{ 'ﬁ'.upper() }}|{{ 'mIxEd CaSe'|capitalize }}|"
                          "{{ 'a\tb'.split() }}|{{ '  lead'.strip(' l') }}|{{ 'éa'|length }}|{{ 'abc'.startswith('') }}", {}),
    ("special_tokens_defaults", "{{ bos_token }}|{{ eos_token }}|{{ unk_token }}|{{ pad_token is defined }}|{{ add_generation_prompt }}",
     "special"),
]

# Features that must fail: raise_exception's message is compared exactly, other failures only as failing.
FEATURE_ERRORS = [
    ("raise_in_loop", "{% for m in messages %}{% if m == 2 %}{{ raise_exception('bad message ' ~ m) }}{% endif %}{% endfor %}",
     {"messages": [1, 2]}),
    ("undefined_attribute_of_undefined", "{{ nothing.here }}", {}),
    ("add_undefined", "{{ 'a' + nothing }}", {}),
    ("call_undefined", "{{ nothing() }}", {}),
    ("str_plus_int", "{{ 'a' + 1 }}", {}),
    ("compare_str_int", "{{ 'a' < 1 }}", {}),
    ("range_too_big", "{{ range(1000000)|length }}", {}),
    ("index_of_empty", "{{ messages[0]['role'] }}", {"messages": []}),
    ("set_attr_on_dict", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("list_append_unsafe", "{{ items.append(3) }}", {"items": [1]}),
    ("unknown_filter", "{{ 1|no_such_filter }}", {}),
    ("break_without_loopcontrols", "{% for i in [1] %}{% break %}{% endfor %}", {}),
    ("unclosed_block", "{% if true %}x", {}),
    ("compare_none", "{{ none < 1 }}", {}),
    ("iterate_int", "{% for x in 3 %}{% endfor %}", {}),
    ("unpack_mismatch", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("raise_non_string", "{{ raise_exception(42) }}", {}),
]


def special_template_kwargs(tokenizer):
    return dict(tokenizer.special_tokens_map)


def make_tokenizer_folder(tmp, template):
    folder = os.path.join(tmp, "tok")
    if os.path.exists(folder):
        shutil.rmtree(folder)
    shutil.copytree(LLAMA, folder)
    path = os.path.join(folder, "tokenizer_config.json")
    with open(path) as f:
        config = json.load(f)
    config["chat_template"] = template
    with open(path, "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
    return folder


def render_case(tokenizer, messages, add_generation_prompt, **kwargs):
    try:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=False, **kwargs)
        return {"output": text}
    except jinja2.exceptions.TemplateError as e:
        if type(e) is jinja2.exceptions.TemplateError:  # raise_exception's own class
            return {"raise_exception": str(e)}
        return {"error": f"{type(e).__name__}: {e}"}
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError) as e:
        return {"error": f"{type(e).__name__}: {e}"}


def template_cases(tmp):
    cases = []
    for file in sorted(os.listdir(TEMPLATES)):
        if not file.endswith(".jinja"):
            continue
        name = file[: -len(".jinja")]
        with open(os.path.join(TEMPLATES, file), encoding="utf-8") as f:
            source = f.read()
        tokenizer = AutoTokenizer.from_pretrained(make_tokenizer_folder(tmp, source))
        conversations = dict(CONVERSATIONS)
        for conv_name, messages in conversations.items():
            for agp in (True, False):
                case = {"template": name, "conversation": conv_name, "add_generation_prompt": agp}
                case.update(render_case(tokenizer, messages, agp))
                cases.append(case)
        if name in TOOL_TEMPLATES:
            for conv_name, messages in TOOL_CONVERSATIONS.items():
                case = {"template": name, "conversation": conv_name, "add_generation_prompt": True, "extra": {"tools": TOOLS}}
                case.update(render_case(tokenizer, messages, True, tools=TOOLS))
                cases.append(case)
    return cases


def feature_cases(tokenizer):
    out = []
    special = special_template_kwargs(tokenizer)
    for name, source, context in FEATURES:
        if context == "special":
            context = dict(special, add_generation_prompt=True)
        compiled = tokenizer._compile_jinja_template(source)
        out.append({"name": name, "source": source, "context": context, "output": compiled.render(**context)})
    for name, source, context in FEATURE_ERRORS:
        case = {"name": name, "source": source, "context": context}
        try:
            compiled = tokenizer._compile_jinja_template(source)
            text = compiled.render(**context)
            raise AssertionError(f"feature {name} was expected to fail, rendered {text!r}")
        except jinja2.exceptions.TemplateError as e:
            if type(e) is jinja2.exceptions.TemplateError:
                case["raise_exception"] = str(e)
            else:
                case["error"] = f"{type(e).__name__}: {e}"
        except (TypeError, ValueError, OverflowError) as e:
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    return out


E2E_TEMPLATE = ("{{ bos_token }}{% for m in messages %}{{ '<' + m['role'] + '> ' + m['content'] | trim + eos_token }}"
                "{% endfor %}{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}")
E2E_SYSTEM = "Be brief."
# The first user message whose greedy continuation has no near-tie (see MIN_GREEDY_MARGIN).
E2E_USER_CANDIDATES = ["Hello there, who are you?", "Tell me a story.", "What is the weather like?",
                       "Name three colours.", "Why is the sky blue?", "How are you today?"]
E2E_NEW_TOKENS = 24
# As tests/golden/make_goldens.py: the engine's fp32 logits differ from torch's by ~1e-5, so a
# greedy step whose top-2 logits are closer than this could flip on rounding alone.
MIN_GREEDY_MARGIN = 2e-3


def greedy(folder, prompt_ids):
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
    model.eval()
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=E2E_NEW_TOKENS, do_sample=False,
                             output_logits=True, return_dict_in_generate=True, pad_token_id=0)
    new_ids = out.sequences[0, len(prompt_ids):].tolist()
    logits = torch.stack([l[0] for l in out.logits]).float()
    top2 = logits.topk(2, dim=-1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    return new_ids, margin


def e2e(tmp):
    folder = make_tokenizer_folder(tmp, E2E_TEMPLATE)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for user in E2E_USER_CANDIDATES:
        messages = [{"role": "system", "content": E2E_SYSTEM}, {"role": "user", "content": user}]
        prompt_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        new_ids, margin = greedy(folder, prompt_ids)
        if margin >= MIN_GREEDY_MARGIN:
            break
    else:
        raise AssertionError("every candidate prompt has a greedy near-tie")
    # The greedy output with config.json's eos (2) alone; then a generation_config.json that lists a
    # second eos id the output reaches mid-way, so generation must stop there.
    stop_at = next(i for i in range(3, len(new_ids)) if new_ids[i] not in new_ids[:i] and new_ids[i] != 2)
    second_eos = new_ids[stop_at]
    with open(os.path.join(folder, "generation_config.json")) as f:
        gen = json.load(f)
    gen["eos_token_id"] = [2, second_eos]
    with open(os.path.join(folder, "generation_config.json"), "w") as f:
        json.dump(gen, f)
    stopped_ids, _ = greedy(folder, prompt_ids)
    assert stopped_ids == new_ids[: stop_at + 1], (stopped_ids, new_ids)
    print(f"e2e: prompt {len(prompt_ids)} tokens, greedy min top-2 margin {margin:.4f}, second eos {second_eos} at {stop_at}")
    return {"template": E2E_TEMPLATE, "messages": messages, "max_new_tokens": E2E_NEW_TOKENS, "min_greedy_margin": margin,
            "prompt_text": tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False),
            "prompt_ids": prompt_ids, "new_ids": new_ids, "second_eos": second_eos, "stopped_ids": stopped_ids}


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        cases = template_cases(tmp)
        tokenizer = AutoTokenizer.from_pretrained(make_tokenizer_folder(tmp, "{{ x }}"))
        features = feature_cases(tokenizer)
        end_to_end = e2e(tmp)
    out = {"_generated_by": "tests/data/chat/make_chat_goldens.py (transformers %s, jinja2 %s)" % (
        transformers.__version__, jinja2.__version__),
        "special_tokens": special_template_kwargs(tokenizer),
        "conversations": dict(CONVERSATIONS, **TOOL_CONVERSATIONS), "cases": cases, "features": features,
        "e2e": end_to_end}
    with open(os.path.join(HERE, "chat_goldens.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    raised = sum("raise_exception" in c for c in cases)
    failed = sum("error" in c for c in cases)
    print(f"{len(cases)} template cases ({raised} raise_exception, {failed} other errors), {len(features)} features")


if __name__ == "__main__":
    sys.exit(main())
