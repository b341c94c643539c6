"""`vkinfer serve` under load, driven by bench/serve_load.py (the project's concurrency driver): many
requests at once through a small paged KV cache, so that some wait for pages, and a long mixed run
of good requests, clients that go away mid-stream and bad requests, after which nothing may be left
holding the cache. Bounded: every request has a token limit and a timeout, every phase a deadline.

Run by CTest (server_test, tests/server.cmake) with VKINFER_BIN and VKINFER_TEST_DATA set."""
import json
import random
import sys
import time
from pathlib import Path

import pytest

from server_harness import BIN, DATA, Server

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import serve_load  # noqa: E402

if not BIN or not Path(BIN).exists():
    pytest.skip("VKINFER_BIN does not name the vkinfer binary (run through ctest)", allow_module_level=True)

MODEL = DATA / "models" / "llama"  # context 144: 9 pages of 16 positions
# 24 pages: fewer than 16 requests of up to 40 positions would take together.
KV_TOKENS = 24 * 16
WORDS = ["In", "the", "beginning", "God", "created", "heaven", "and", "earth", "light", "darkness"]


@pytest.fixture(scope="module")
def server():
    # --step-tokens 24: with 16 decoding, prefills get 8 rows a step, so prompts take several steps.
    s = Server(MODEL, "--max-running", "16", "--max-queue", "256", "--kv-tokens", str(KV_TOKENS),
               "--step-tokens", "24")
    yield s
    assert s.stop() == 0, "".join(s.log)


def wait_until_idle(server, seconds=30):
    """Abandoned streams are retired at the next step; wait for that, then return the gauges."""
    deadline = time.time() + seconds
    while True:
        gauges = {name: server.metric(name) for name in
                  ("running_sequences", "queue_length", "kv_cache_pages_used", "kv_cache_usage_ratio")}
        if all(v == 0 for v in gauges.values()) or time.time() > deadline:
            return gauges
        time.sleep(0.1)


def prompts(count, seed):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12))) for _ in range(count)]


def test_metrics_describe_the_page_pool(server):
    assert server.metric("kv_cache_pages") == KV_TOKENS // 16
    assert server.metric("kv_cache_pages_used") == 0


def test_sixteen_staggered_greedy_requests_equal_their_solo_runs(server):
    """16 greedy requests of different prompt and output lengths, started 30 ms apart, so each joins
    a batch that others are decoding or prefilling; the pool holds fewer pages than all of them
    want at once, so some wait for pages. Each equals the same request run alone."""
    bodies = [{"prompt": p, "max_tokens": 4 + (7 * i) % 25, "temperature": 0}
              for i, p in enumerate(prompts(16, seed=1))]
    solo = [serve_load.completion(server.base, b)["body"]["choices"][0]["text"] for b in bodies]
    together = serve_load.run_concurrently(
        [(0.03 * i, lambda b=b: serve_load.completion(server.base, b)) for i, b in enumerate(bodies)], 300)
    for i, r in enumerate(together):
        assert r["status"] == 200, r["body"]
        assert r["body"]["choices"][0]["text"] == solo[i], i
    # Streamed the same way, the chunks concatenate to the same texts.
    streamed = serve_load.run_concurrently(
        [(0.03 * i, lambda b=b: serve_load.completion(server.base, {**b, "stream": True}))
         for i, b in enumerate(bodies)], 300)
    assert [r["text"] for r in streamed] == solo
    assert all(r["done"] for r in streamed)
    assert wait_until_idle(server)["kv_cache_pages_used"] == 0


def bad_request(server, kind):
    """One malformed request; returns its HTTP status."""
    if kind == 0:
        return server.request("POST", "/v1/completions", raw=b'{"prompt": "x", ')[0]
    if kind == 1:
        return server.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": "many"})[0]
    if kind == 2:
        return server.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": 0})[0]
    if kind == 3:
        return server.request("POST", "/v1/completions", {"prompt": "x", "model": "no-such-model"})[0]
    if kind == 4:
        return server.request("POST", "/v1/completions", {"prompt": "x " * 400, "max_tokens": 4})[0]
    return server.request("POST", "/v1/nowhere", {"prompt": "x"})[0]


def test_two_hundred_mixed_requests_leave_the_cache_empty(server):
    """200 requests, 16 at a time: streamed and whole completions, clients that hang up after their
    first chunk or two while the request still has tokens to go, and bad requests. Afterwards no
    sequence runs, no page is held, nothing waits, and /metrics counts what was admitted."""
    requests_before = server.metric("requests_total")
    errors_before = server.metric("request_errors_total")
    rng = random.Random(7)
    texts = prompts(200, seed=2)
    plan = []
    for i in range(200):
        kind = ("bad", "disconnect", "stream", "whole", "whole")[i % 5]
        plan.append((kind, texts[i], rng.randint(1, 12), rng.randrange(6)))
    outcomes = [None] * len(plan)

    def job(i):
        kind, text, max_tokens, bad_kind = plan[i]
        if kind == "bad":
            outcomes[i] = ("bad", bad_request(server, bad_kind))
        elif kind == "disconnect":
            body = {"prompt": text, "max_tokens": 60, "temperature": 0.8, "seed": i, "stream": True}
            outcomes[i] = ("disconnect", serve_load.completion(server.base, body, disconnect_after=1 + i % 2))
        else:
            body = {"prompt": text, "max_tokens": max_tokens, "temperature": 0.8, "seed": i,
                    "stream": kind == "stream"}
            outcomes[i] = (kind, serve_load.completion(server.base, body))

    for first in range(0, len(plan), 16):
        serve_load.run_concurrently([lambda i=i: job(i) for i in range(first, min(first + 16, len(plan)))], 300)

    admitted = 0
    for i, (kind, result) in enumerate(outcomes):
        if kind == "bad":
            assert result in (400, 404), (i, plan[i], result)
            continue
        admitted += 1
        assert result["status"] == 200, (i, result)
        if kind == "stream":
            assert result["done"] and result["finish_reason"] in ("length", "stop"), (i, result)
        if kind == "whole":
            assert result["body"]["usage"]["completion_tokens"] <= plan[i][2], i
    gauges = wait_until_idle(server)
    assert gauges == {"running_sequences": 0, "queue_length": 0, "kv_cache_pages_used": 0,
                      "kv_cache_usage_ratio": 0}, gauges
    assert server.metric("requests_total") - requests_before == admitted
    # Every bad request but the unknown endpoint is refused before admission and counted.
    refused = sum(1 for kind, _, _, bad_kind in plan if kind == "bad" and bad_kind != 5)
    assert server.metric("request_errors_total") - errors_before >= refused
    # Still serving.
    status, body = server.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 3})
    assert status == 200 and body["usage"]["completion_tokens"] >= 1, body


def test_max_total_tokens_caps_what_a_request_reserves(tmp_path):
    """--max-total-tokens: prompt + max_tokens above it is a 400 naming the limit, and a chat without
    max_tokens runs up to it (not to the context), so it reserves only that many KV positions."""
    folder = tmp_path / "chat_llama"
    folder.mkdir()
    for f in MODEL.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["chat_template"] = ("{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
                               "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}")
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    s = Server(folder, "--max-total-tokens", "40", "--max-running", "2")
    try:
        status, body = s.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 60})
        assert status == 400 and "limit of 40 tokens per request" in body["error"]["message"], body
        assert body["error"]["code"] == "context_length_exceeded"
        status, body = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hello"}],
                                                       "temperature": 0})
        assert status == 200, body
        usage = body["usage"]
        total = usage["prompt_tokens"] + usage["completion_tokens"]
        assert total <= 40, usage
        if body["choices"][0]["finish_reason"] == "length":
            assert total == 40, usage
    finally:
        assert s.stop() == 0, "".join(s.log)
