"""`vkinfer serve` against the real binary on loopback, as llama-server's tests do: a fixture starts
the server on a tiny committed model and a free port, waits for /health, and stops it with SIGINT;
each test is one request shape. The official `openai` client is one of the callers (skipped with a
message when the package is absent); the rest is plain HTTP, so the errors' exact bodies are seen.

Run by CTest (tests/server.cmake) with VKINFER_BIN and VKINFER_TEST_DATA set."""
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from server_harness import BIN, DATA, Server

MODEL = DATA / "models" / "llama"
GOLDEN = json.loads((DATA / "golden" / "llama.json").read_text())
# A ChatML-style template (Qwen2's shape) for the chat endpoint.
CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
                 "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
                 "{% endif %}")

if not BIN or not Path(BIN).exists():
    pytest.skip("VKINFER_BIN does not name the vkinfer binary (run through ctest)", allow_module_level=True)


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chat_llama")
    for f in MODEL.iterdir():
        shutil.copy(f, folder / f.name)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["chat_template"] = CHAT_TEMPLATE
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def server(chat_model):
    s = Server(chat_model, "--max-running", "2", "--max-queue", "16")
    yield s
    assert s.stop() == 0, "".join(s.log)


def golden_case():
    case = GOLDEN["cases"][0]
    return case["prompt_ids"], case["greedy_ids"]


def test_health_models_and_metrics(server):
    # 503 while loading; a fast load may already be done by the first call.
    assert server.first_health in (200, 503)
    status, text = server.request("GET", "/v1/models")
    assert status == 200
    assert json.loads(text)["data"][0]["id"].startswith("chat_llama")
    assert server.metric("ready") == 1.0


def golden_log_softmax():
    """Per greedy step of golden case 0, the log-softmax of transformers' logits (float64)."""
    np = pytest.importorskip("numpy", reason="numpy is not installed")
    logits = np.load(DATA / "golden" / GOLDEN["cases"][0]["decode_logits"]).astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# vkinfer's logits match transformers' within 1e-3 (decoder_test's bound, for fp32 accumulation in
# another order); a log-softmax value moves by at most |d logit| + max |d logit| <= 2e-3, plus the
# device's float sum of exp (< 1e-5 over this 347-token vocab).
LOGPROB_TOLERANCE = 2.5e-3


def name_bytes(name):
    """A token's bytes from its name: OpenAI names a piece of a UTF-8 character "bytes:\\xe2\\x80"."""
    return bytes.fromhex(name[len("bytes:"):].replace("\\x", "")) if name.startswith("bytes:") else name.encode()


def golden_token_bytes(ids):
    """What each id's name stands for with this model's SentencePiece tokenizer, after a prompt: a byte
    token (<0xE2>) its byte, any other its text with "▁" as a space."""
    vocab = json.loads((MODEL / "tokenizer.json").read_text())["model"]["vocab"]
    piece = {i: p for p, i in vocab.items()}
    out = []
    for i in ids:
        p = piece[i]
        is_byte = len(p) == 6 and p.startswith("<0x") and p.endswith(">")
        out.append(bytes([int(p[3:5], 16)]) if is_byte else p.replace("\u2581", " ").encode())
    return out


def check_golden_logprobs(logprobs, top_n):
    """A greedy completion's legacy logprobs against transformers' per-step distribution."""
    ref = golden_log_softmax()
    _, greedy = golden_case()
    steps = len(logprobs["token_logprobs"])
    assert 0 < steps <= len(greedy)
    # The reported tokens are the greedy golden ids (the names map one to one to ids here).
    assert [name_bytes(t) for t in logprobs["tokens"]] == golden_token_bytes(greedy[:steps])
    for i in range(steps):
        want = ref[i]
        assert abs(logprobs["token_logprobs"][i] - want[greedy[i]]) < LOGPROB_TOLERANCE, i
        top = logprobs["top_logprobs"][i]
        values = list(top.values())
        assert values == sorted(values, reverse=True), (i, top)
        # Greedy: the sampled token is the most likely one, listed first with its own value.
        assert list(top)[0] == logprobs["tokens"][i] and values[0] == logprobs["token_logprobs"][i], (i, top)
        expected = sorted(want, reverse=True)[:top_n]
        assert len(values) == top_n  # no two of the top tokens of this model share a text
        assert max(abs(a - b) for a, b in zip(values, expected)) < LOGPROB_TOLERANCE, i


def test_completion_logprobs_equal_transformers_log_softmax(server):
    prompt, greedy = golden_case()
    status, body = server.post("/v1/completions", {"prompt": prompt, "max_tokens": len(greedy), "temperature": 0,
                                                   "logprobs": 5})
    assert status == 200, body
    choice = body["choices"][0]
    logprobs = choice["logprobs"]
    assert set(logprobs) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
    steps = len(logprobs["tokens"])
    assert steps == body["usage"]["completion_tokens"]
    assert all(len(logprobs[k]) == steps for k in logprobs)
    check_golden_logprobs(logprobs, 5)
    # Each offset counts the characters of the text emitted before its token (this random model's
    # text is mostly bytes that form no character, which decode to U+FFFD as in transformers).
    offsets = logprobs["text_offset"]
    assert offsets[0] == 0 and offsets == sorted(offsets) and offsets[-1] <= len(choice["text"])
    # Sampling knobs do not change the reported (raw) distribution: the first step's values are the
    # same whatever the penalty and temperature.
    status, sampled = server.post("/v1/completions", {"prompt": prompt, "max_tokens": 1, "temperature": 1.7,
                                                      "repetition_penalty": 1.5, "top_k": 3, "seed": 5, "logprobs": 5})
    assert status == 200, sampled
    first = sampled["choices"][0]["logprobs"]
    assert first["top_logprobs"][0] == logprobs["top_logprobs"][0]
    assert first["token_logprobs"][0] == first["top_logprobs"][0][first["tokens"][0]]


def test_streamed_logprobs_concatenate_to_the_whole(server):
    prompt, _ = golden_case()
    request = {"prompt": prompt, "max_tokens": 20, "temperature": 0, "logprobs": 3}
    _, whole = server.post("/v1/completions", request)
    status, text = server.request("POST", "/v1/completions", dict(request, stream=True))
    assert status == 200
    chunks = [json.loads(line[len("data: "):]) for line in text.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    merged = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    for c in chunks:
        lp = c["choices"][0]["logprobs"]
        if lp is None:
            continue
        # Logprobs go with text: a token whose text is held back waits for the chunk that emits it.
        assert c["choices"][0]["text"] or c is chunks[-2], c
        for key in merged:
            merged[key] += lp[key]
    assert merged == whole["choices"][0]["logprobs"]
    check_golden_logprobs(merged, 3)


def test_chat_logprobs(server):
    messages = [{"role": "user", "content": "Hello there"}]
    request = {"messages": messages, "max_tokens": 6, "temperature": 0, "logprobs": True, "top_logprobs": 2}
    status, body = server.post("/v1/chat/completions", request)
    assert status == 200, body
    choice = body["choices"][0]
    content = choice["logprobs"]["content"]
    assert len(content) == body["usage"]["completion_tokens"]
    for t in content:
        assert set(t) == {"token", "logprob", "bytes", "top_logprobs"}
        assert bytes(t["bytes"]) == name_bytes(t["token"])
        assert t["logprob"] <= 0
        assert len(t["top_logprobs"]) == 2
        assert t["top_logprobs"][0]["logprob"] >= t["top_logprobs"][1]["logprob"]
        # Greedy: the chosen token is the most likely one.
        assert t["top_logprobs"][0] == {"token": t["token"], "logprob": t["logprob"], "bytes": t["bytes"]}
    # Without top_logprobs: the chosen tokens only. Without logprobs: null.
    _, plain = server.post("/v1/chat/completions", dict(request, top_logprobs=None))
    assert [t["top_logprobs"] for t in plain["choices"][0]["logprobs"]["content"]] == [[]] * len(content)
    _, off = server.post("/v1/chat/completions", {"messages": messages, "max_tokens": 2, "temperature": 0})
    assert off["choices"][0]["logprobs"] is None
    status, text = server.request("POST", "/v1/chat/completions", dict(request, stream=True))
    streamed = []
    for line in text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            lp = json.loads(line[len("data: "):])["choices"][0]["logprobs"]
            streamed += lp["content"] if lp else []
    assert streamed == content


def test_greedy_completion_equals_transformers(server):
    prompt, greedy = golden_case()
    status, body = server.post("/v1/completions", {"prompt": prompt, "max_tokens": len(greedy), "temperature": 0})
    assert status == 200, body
    status, expected = server.post("/detokenize", {"tokens": greedy})
    choice = body["choices"][0]
    if choice["finish_reason"] == "length":
        assert choice["text"] == expected["content"]
        assert body["usage"] == {"prompt_tokens": len(prompt), "completion_tokens": len(greedy),
                                 "total_tokens": len(prompt) + len(greedy)}
    else:  # stopped at an eos id of the golden's greedy run (which ignored eos)
        assert expected["content"].startswith(choice["text"])


def test_stream_equals_whole_response(server):
    prompt, greedy = golden_case()
    request = {"prompt": prompt, "max_tokens": 20, "temperature": 0}
    _, whole = server.post("/v1/completions", request)
    status, text = server.request("POST", "/v1/completions", dict(request, stream=True))
    assert status == 200
    events = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole["choices"][0]["text"]
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def streamed_text(server, request):
    status, text = server.request("POST", "/v1/completions", dict(request, stream=True))
    assert status == 200, text
    events = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(e) for e in events[:-1]]
    return "".join(c["choices"][0]["text"] for c in chunks), chunks[-1]["choices"][0]["finish_reason"]


def test_stop_sequences_end_the_text_before_them(server):
    """OpenAI's `stop`: the text ends just before the first stop sequence, which is not returned,
    streamed or not; a stop sequence that never appears changes nothing."""
    request = {"prompt": "In the beginning", "max_tokens": 24, "temperature": 0}
    _, plain = server.post("/v1/completions", request)
    full = plain["choices"][0]["text"]
    assert len(full) > 12, full
    later = full[8:11]
    cut = full[:full.find(later)]
    for stop in (later, [full[9:13], later], ["never appears in it \u2603", later]):
        _, body = server.post("/v1/completions", dict(request, stop=stop))
        assert body["choices"][0]["text"] == cut, (stop, full)
        assert body["choices"][0]["finish_reason"] == "stop"
        assert streamed_text(server, dict(request, stop=stop)) == (cut, "stop")
    _, body = server.post("/v1/completions", dict(request, stop="never appears in it \u2603"))
    assert body["choices"][0]["text"] == full
    assert streamed_text(server, dict(request, stop="never appears in it \u2603"))[0] == full


def test_curl_client(server):
    """curl, as the README shows it: a whole completion equals the same request's answer over
    urllib, and `curl -N` receives the stream's events up to [DONE]."""
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl is not installed (scripts/setup.sh installs it)")
    request = {"prompt": "In the beginning", "max_tokens": 6, "temperature": 0}
    _, expected = server.post("/v1/completions", request)
    out = subprocess.run([curl, "-sS", "--fail-with-body", server.base + "/v1/completions", "-H",
                          "Content-Type: application/json", "-d", json.dumps(request)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    body = json.loads(out)
    assert body["choices"][0]["text"] == expected["choices"][0]["text"]
    assert body["usage"] == expected["usage"]
    stream = subprocess.run([curl, "-sSN", server.base + "/v1/completions", "-H", "Content-Type: application/json",
                             "-d", json.dumps(dict(request, stream=True))],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    events = [line[len("data: "):] for line in stream.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1]) == expected["choices"][0]["text"]
    # A bad request: curl sees the 400 and OpenAI's error body.
    bad = subprocess.run([curl, "-sS", "-o", "-", "-w", "\n%{http_code}", server.base + "/v1/completions", "-H",
                          "Content-Type: application/json", "-d", '{"prompt": "x", "max_tokens": 0}'],
                         capture_output=True, text=True, timeout=60).stdout
    text, code = bad.rsplit("\n", 1)
    assert code == "400" and "error" in json.loads(text), bad


def test_concurrent_requests_keep_their_own_tokens(server):
    """Six sampled requests (two KV slots, so some wait in the queue) each equal the same request run
    alone: a request's tokens do not depend on what else runs."""
    requests = [{"prompt": "In the beginning", "max_tokens": 12, "temperature": 0.9, "top_k": 20,
                 "seed": 100 + i} for i in range(6)]
    alone = [server.post("/v1/completions", r)[1]["choices"][0]["text"] for r in requests]
    together = [None] * len(requests)

    def run(i):
        together[i] = server.post("/v1/completions", requests[i])[1]["choices"][0]["text"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone
    assert len(set(alone)) > 1, "different seeds should give different samples"


def test_chat_completion_uses_the_template(server, chat_model):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
    status, body = server.post("/v1/chat/completions", {"messages": messages, "max_tokens": 8, "temperature": 0})
    assert status == 200, body
    reply = body["choices"][0]["message"]
    assert reply["role"] == "assistant"
    # The same chat through the CLI (which renders the same template).
    messages_file = chat_model / "messages.json"
    messages_file.write_text(json.dumps(messages))
    cli = subprocess.run([BIN, "generate", "--model", str(chat_model), "--chat", "--messages", str(messages_file),
                          "--max-new-tokens", "8", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(cli.stdout.splitlines()[-1])["text"] == reply["content"]


def test_openai_client(server):
    openai = pytest.importorskip("openai", reason="the `openai` package is not installed")
    client = openai.OpenAI(base_url=server.base + "/v1", api_key="unused")
    prompt, _ = golden_case()
    name = client.models.list().data[0].id
    whole = client.completions.create(model=name, prompt=prompt, max_tokens=10, temperature=0)
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model=whole.model, prompt=prompt, max_tokens=10, temperature=0, stream=True))
    assert streamed == whole.choices[0].text
    assert whole.usage.prompt_tokens == len(prompt)
    chat = client.chat.completions.create(model=whole.model, messages=[{"role": "user", "content": "Hi"}],
                                          max_tokens=5, temperature=0)
    assert chat.choices[0].message.role == "assistant"
    with_logprobs = client.completions.create(model=whole.model, prompt=prompt, max_tokens=4, temperature=0,
                                              logprobs=3)
    lp = with_logprobs.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == 4
    assert all(len(top) == 3 for top in lp.top_logprobs)
    chat_lp = client.chat.completions.create(model=whole.model, messages=[{"role": "user", "content": "Hi"}],
                                             max_tokens=3, temperature=0, logprobs=True, top_logprobs=2)
    content = chat_lp.choices[0].logprobs.content
    assert len(content) == chat_lp.usage.completion_tokens
    assert content[0].top_logprobs[0].token == content[0].token and len(content[0].top_logprobs) == 2
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="no-such-model", prompt="x", max_tokens=1)
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=whole.model, prompt="x", max_tokens=0)


@pytest.mark.parametrize("body,status,needle", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (json.dumps({"prompt": "hi", "max_tokens": "many"}).encode(), 400, "'max_tokens' must be an integer"),
    (json.dumps({"prompt": "hi", "max_tokens": 0}).encode(), 400, "'max_tokens'"),
    (json.dumps({"prompt": "hi", "model": "gpt-4"}).encode(), 404, "does not exist"),
    (json.dumps({"prompt": [1] * 500, "max_tokens": 4}).encode(), 400, "tokens"),
    (json.dumps({"prompt": "hi", "presence_penalty": 0.5}).encode(), 400, "presence_penalty"),
    (json.dumps({"prompt": "hi", "logprobs": -1}).encode(), 400, "'logprobs'"),
    (json.dumps({"prompt": "hi", "logprobs": 100}).encode(), 400, "'logprobs'"),
    (json.dumps({"prompt": "hi", "logprobs": "3"}).encode(), 400, "'logprobs' must be an integer"),
    (json.dumps({"prompt": "hi", "logprobs": True}).encode(), 400, "'logprobs' must be an integer"),
    (json.dumps({"prompt": "hi", "logprobs": 2.5}).encode(), 400, "'logprobs' must be an integer"),
    (json.dumps({"prompt": "hi", "echo": True, "logprobs": 1}).encode(), 400, "'echo'"),
    (json.dumps({"prompt": "hi", "n": 3}).encode(), 400, "'n'"),
    (json.dumps({"prompt": "hi", "temperature": -1}).encode(), 400, "temperature"),
    (json.dumps({"prompt": [99999]}).encode(), 400, "not an id"),
    (json.dumps({"max_tokens": 3}).encode(), 400, "'prompt' is required"),
])
def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(server, body, status, needle):
    got, text = server.request("POST", "/v1/completions", raw=body)
    assert got == status, text
    error = json.loads(text)["error"]
    assert needle in error["message"]
    assert set(error) >= {"message", "type", "code"}
    assert server.request("GET", "/health")[0] == 200


@pytest.mark.parametrize("extra,needle", [
    ({"top_logprobs": 2}, "'top_logprobs' needs 'logprobs': true"),
    ({"logprobs": False, "top_logprobs": 2}, "'top_logprobs' needs 'logprobs': true"),
    ({"logprobs": 5}, "'logprobs' must be true or false"),
    ({"logprobs": True, "top_logprobs": 21}, "'top_logprobs'"),
    ({"logprobs": True, "top_logprobs": -1}, "'top_logprobs'"),
    ({"logprobs": True, "top_logprobs": "2"}, "'top_logprobs' must be an integer"),
])
def test_bad_chat_logprobs_get_openai_errors(server, extra, needle):
    body = dict({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}, **extra)
    status, reply = server.post("/v1/chat/completions", body)
    assert status == 400, reply
    assert needle in reply["error"]["message"]
    assert reply["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("extra,needle", [
    ({"suffix": " and so on"}, "'suffix'"),
    ({"logit_bias": {"5": 100}}, "'logit_bias'"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "'tools'"),
    ({"tool_choice": "required"}, "'tool_choice'"),
    ({"response_format": {"type": "json_object"}}, "'response_format'"),
    ({"stream_options": {"include_usage": True}}, "only allowed with 'stream': true"),
])
def test_fields_that_would_change_the_output_are_refused_by_name(server, extra, needle):
    """What vkinfer cannot do is refused naming the field, never silently ignored; fields that change
    nothing (their off values, `user`) are accepted."""
    body = dict({"prompt": "In the beginning", "max_tokens": 2}, **extra)
    status, reply = server.post("/v1/completions", body)
    assert status == 400, reply
    assert needle in reply["error"]["message"]
    harmless = {"prompt": "In the beginning", "max_tokens": 2, "suffix": None, "logit_bias": {}, "tools": [],
                "tool_choice": "none", "response_format": {"type": "text"}, "user": "someone"}
    status, reply = server.post("/v1/completions", harmless)
    assert status == 200, reply


def test_stream_options_include_usage(server):
    """stream_options.include_usage: one more chunk before [DONE], with no choices and the usage the
    whole response reports; the openai client reads it."""
    request = {"prompt": "In the beginning", "max_tokens": 7, "temperature": 0}
    _, whole = server.post("/v1/completions", request)
    status, text = server.request("POST", "/v1/completions",
                                  dict(request, stream=True, stream_options={"include_usage": True}))
    assert status == 200
    events = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    last = json.loads(events[-2])
    assert last["choices"] == [] and last["usage"] == whole["usage"], last
    assert all("usage" not in json.loads(e) for e in events[:-2])
    openai = pytest.importorskip("openai")
    name = json.loads(server.request("GET", "/v1/models")[1])["data"][0]["id"]
    client = openai.OpenAI(base_url=server.base + "/v1", api_key="none")
    try:
        chunks = list(client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": "Hello"}], max_tokens=5, temperature=0,
            stream=True, stream_options={"include_usage": True}))
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens >= 1
        assert chunks[-1].choices == []
    finally:
        client.close()


def test_context_overflow_and_unknown_endpoint(server):
    status, body = server.post("/v1/completions", {"prompt": [5] * 100, "max_tokens": 100})
    assert status == 400 and body["error"]["code"] == "context_length_exceeded"
    status, text = server.request("GET", "/v1/engines")
    assert status == 404 and "not an endpoint" in json.loads(text)["error"]["message"]
    status, body = server.post("/v1/chat/completions", {"messages": [{"role": "user"}]})
    assert status == 400 and "'content'" in body["error"]["message"]


def test_tokenize_round_trip(server):
    status, body = server.post("/tokenize", {"content": "In the beginning God"})
    assert status == 200
    status, back = server.post("/detokenize", {"tokens": body["tokens"]})
    assert back["content"].endswith("In the beginning God")


def test_disconnect_frees_the_slot(server):
    prompt, _ = golden_case()
    with socket.create_connection((server.base.split("//")[1].split(":")[0],
                                   int(server.base.rsplit(":", 1)[1]))) as conn:
        body = json.dumps({"prompt": prompt, "max_tokens": 120, "temperature": 0, "stream": True}).encode()
        conn.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        received = b""
        while b"data: " not in received:  # the headers, then the first chunk
            piece = conn.recv(4096)
            assert piece, "the server closed the stream before its first chunk"
            received += piece
    deadline = time.time() + 30
    while server.metric("running_sequences") != 0:
        assert time.time() < deadline, "the abandoned stream still holds its KV slot"
        time.sleep(0.2)


def test_full_queue_answers_503():
    s = Server(MODEL, "--max-running", "1", "--max-queue", "1")
    try:
        results = []

        def run():
            results.append(s.post("/v1/completions", {"prompt": "In the", "max_tokens": 60, "temperature": 0})[0])

        threads = [threading.Thread(target=run) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 503 in results and 200 in results, results
    finally:
        assert s.stop() == 0


def test_sigint_cancels_running_streams_and_exits_cleanly():
    s = Server(MODEL, "--max-running", "1")
    prompt, _ = golden_case()
    out = {}

    def stream():
        out["reply"] = s.request("POST", "/v1/completions",
                                 {"prompt": prompt, "max_tokens": 130, "temperature": 0, "stream": True})

    t = threading.Thread(target=stream)
    t.start()
    time.sleep(1.0)
    assert s.stop() == 0, "".join(s.log)
    t.join(timeout=30)
    assert "stopped" in "".join(s.log)


@pytest.mark.parametrize("layout", [("--tp", "2"), ("--pp", "2"), ("--tp", "2", "--pp", "2")])
def test_parallel_ranks_follow_the_leader(layout):
    """With tp/pp ranks (threads here; processes under mpirun) rank 0 serves and every rank runs the
    steps it orders: greedy completions still equal transformers', with requests joining and
    leaving the batch."""
    s = Server(MODEL, "--max-running", "2", *layout)
    try:
        prompt, greedy = golden_case()
        results = {}

        def run(i, max_tokens):
            # The first also asks for logprobs: tp ranks exchange their slices' results, pp's last
            # stage sends them to the leader.
            extra = {"logprobs": 5} if i == 0 else {}
            results[i] = s.post("/v1/completions", {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                                                    **extra})

        lengths = [len(greedy), 5, 17]
        threads = [threading.Thread(target=run, args=(i, n)) for i, n in enumerate(lengths)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, n in enumerate(lengths):
            status, body = results[i]
            assert status == 200, body
            # The first n greedy tokens, decoded as a whole (a cut UTF-8 character included).
            _, expected = s.post("/detokenize", {"tokens": greedy[:n]})
            assert body["choices"][0]["finish_reason"] == "length", (layout, i, body)
            assert body["choices"][0]["text"] == expected["content"], (layout, i)
            if i == 0:
                check_golden_logprobs(body["choices"][0]["logprobs"], 5)
    finally:
        assert s.stop() == 0, "".join(s.log)
