"""`vkinfer serve` on a sentence-embedding encoder: POST /v1/embeddings against sentence-transformers
2.7.0 on the tiny folders of tests/golden/make_embed_goldens.py (st_mean_norm, st_cls_max, st_plain),
through plain HTTP and the official `openai` client (skipped with a message when absent). Checked:
every vector equals the golden within embed_test.cpp's bars, float and base64 give the same float32
bits, usage counts the golden's ids (specials in, after truncation), token-id inputs get [CLS]/[SEP]
as a text would, the error matrix answers 400/404 with OpenAI bodies and the server keeps serving,
completions are refused on an encoder, and a causal LM refuses /v1/embeddings.

Run by CTest (tests/server.cmake) with VKINFER_BIN and VKINFER_TEST_DATA set."""
import base64
import json
import math
import struct
import threading
from pathlib import Path

import pytest

from server_harness import BIN, DATA, Server

if not BIN or not Path(BIN).exists():
    pytest.skip("VKINFER_BIN does not name the vkinfer binary (run through ctest)", allow_module_level=True)

MODELS = ["st_mean_norm", "st_cls_max", "st_plain"]

# embed_test.cpp's bars (see the reasons there): the engine and torch differ only in fp32 summation
# order.
MIN_COSINE = 0.99999
VALUE_ATOL = 2e-5
UNIT_NORM_TOL = 1e-5
NORM_RTOL = 1e-4


def golden(name):
    return json.loads((DATA / "golden" / f"embed_{name}.json").read_text())


def expect_matches(gold, vectors, what):
    assert len(vectors) == len(gold["cases"]), what
    for i, (case, got) in enumerate(zip(gold["cases"], vectors)):
        expected = case["embedding"]
        assert len(got) == len(expected), (what, i)
        dot = sum(a * b for a, b in zip(expected, got))
        norm = math.sqrt(sum(x * x for x in got))
        cosine = dot / (math.sqrt(sum(x * x for x in expected)) * norm)
        assert cosine >= MIN_COSINE, (what, i, case["text"], cosine)
        worst = max(abs(a - b) for a, b in zip(expected, got))
        assert worst <= VALUE_ATOL, (what, i, worst)
        if gold["normalized"]:
            assert abs(norm - 1.0) <= UNIT_NORM_TOL, (what, i, norm)
        else:
            assert abs(norm - case["norm"]) <= NORM_RTOL * case["norm"], (what, i, norm)


def float32_bytes(values):
    return struct.pack(f"<{len(values)}f", *values)


def decode_base64(text):
    raw = base64.b64decode(text)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


@pytest.fixture(scope="module", params=MODELS)
def served(request):
    # --max-running 3: forwards of up to 3 inputs, so a request of 6 texts runs in several.
    s = Server(DATA / "models" / request.param, "--max-running", "3", "--max-queue", "8")
    yield request.param, s
    assert s.stop() == 0, "".join(s.log)


def test_vectors_and_usage_equal_sentence_transformers(served):
    name, server = served
    gold = golden(name)
    texts = [c["text"] for c in gold["cases"]]
    status, body = server.post("/v1/embeddings", {"input": texts, "model": name})
    assert status == 200, body
    assert body["object"] == "list" and body["model"] == name
    assert [d["index"] for d in body["data"]] == list(range(len(texts)))
    assert all(d["object"] == "embedding" for d in body["data"])
    expect_matches(gold, [d["embedding"] for d in body["data"]], name)
    tokens = sum(len(c["input_ids"]) for c in gold["cases"])
    assert body["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    # One text per request: its own count, and the same vector as inside the batch.
    for case, batched in zip(gold["cases"], body["data"]):
        status, alone = server.post("/v1/embeddings", {"input": case["text"]})
        assert status == 200, alone
        assert alone["usage"]["prompt_tokens"] == len(case["input_ids"]), case["text"]
        assert float32_bytes(alone["data"][0]["embedding"]) == float32_bytes(batched["embedding"]), case["text"]


def test_base64_is_the_float32_bits_of_float(served):
    name, server = served
    texts = [c["text"] for c in golden(name)["cases"]]
    _, floats = server.post("/v1/embeddings", {"input": texts})
    status, encoded = server.post("/v1/embeddings", {"input": texts, "encoding_format": "base64"})
    assert status == 200, encoded
    assert encoded["usage"] == floats["usage"]
    for f, b in zip(floats["data"], encoded["data"]):
        assert isinstance(b["embedding"], str)
        assert base64.b64decode(b["embedding"]) == float32_bytes(f["embedding"])


def test_token_id_inputs_are_wrapped_like_text(served):
    """The golden's ids without [CLS]/[SEP] give the golden's vectors (the same ids run); a list
    longer than max_seq_length is cut as a text is. (A whitespace-only text has no ids between its
    specials, and an empty id list is refused, as OpenAI does.)"""
    name, server = served
    gold = golden(name)
    gold = {**gold, "cases": [c for c in gold["cases"] if len(c["input_ids"]) > 2]}
    lists = [c["input_ids"][1:-1] for c in gold["cases"]]
    status, body = server.post("/v1/embeddings", {"input": lists, "dimensions": gold["dim"]})
    assert status == 200, body
    expect_matches(gold, [d["embedding"] for d in body["data"]], name + " ids")
    assert body["usage"]["prompt_tokens"] == sum(len(c["input_ids"]) for c in gold["cases"])
    long_ids = gold["cases"][1]["input_ids"][1:-1] * 3
    status, body = server.post("/v1/embeddings", {"input": long_ids})
    assert status == 200, body
    assert body["usage"]["prompt_tokens"] == gold["max_seq_length"]


def test_concurrent_requests_share_runs_and_keep_their_vectors(served):
    name, server = served
    gold = golden(name)
    results = {}

    def run(i):
        results[i] = server.post("/v1/embeddings", {"input": [c["text"] for c in gold["cases"][i:]]})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(gold["cases"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (status, body) in results.items():
        assert status == 200, body
        expect_matches({**gold, "cases": gold["cases"][i:]}, [d["embedding"] for d in body["data"]], f"{name} {i}")


def test_openai_client(served):
    openai = pytest.importorskip("openai", reason="the `openai` package is not installed")
    name, server = served
    gold = golden(name)
    # Closed at the end: a kept-alive connection would hold the server's stop for its idle timeout.
    with openai.OpenAI(base_url=server.base + "/v1", api_key="unused") as client:
        check_with_openai_client(openai, client, name, gold)


def check_with_openai_client(openai, client, name, gold):
    assert client.models.list().data[0].id == name
    texts = [c["text"] for c in gold["cases"]]
    # The client asks for base64 by default and decodes it with numpy.
    default = client.embeddings.create(model=name, input=texts)
    expect_matches(gold, [d.embedding for d in default.data], name + " openai")
    floats = client.embeddings.create(model=name, input=texts, encoding_format="float")
    assert [float32_bytes(d.embedding) for d in default.data] == [float32_bytes(d.embedding) for d in floats.data]
    assert default.usage.prompt_tokens == sum(len(c["input_ids"]) for c in gold["cases"])
    one = client.embeddings.create(model=name, input=texts[0], dimensions=gold["dim"], user="someone")
    assert float32_bytes(one.data[0].embedding) == float32_bytes(floats.data[0].embedding)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=name, input="x", dimensions=gold["dim"] - 1)
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=name, prompt="x", max_tokens=1)


@pytest.fixture(scope="module")
def mean_norm():
    s = Server(DATA / "models" / "st_mean_norm")
    yield s
    assert s.stop() == 0, "".join(s.log)


@pytest.mark.parametrize("body,status,needle", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (json.dumps({"model": "st_mean_norm"}).encode(), 400, "'input' is required"),
    (json.dumps({"input": ""}).encode(), 400, "empty string"),
    (json.dumps({"input": []}).encode(), 400, "empty list"),
    (json.dumps({"input": ["ok", ""]}).encode(), 400, "'input'[1] is an empty string"),
    (json.dumps({"input": [[]]}).encode(), 400, "empty list of token ids"),
    (json.dumps({"input": 7}).encode(), 400, "'input' must be a string"),
    (json.dumps({"input": {"text": "x"}}).encode(), 400, "'input' must be a string"),
    (json.dumps({"input": ["a", 5]}).encode(), 400, "'input'[1]"),
    (json.dumps({"input": [[1, 2], "b"]}).encode(), 400, "'input'[1]"),
    (json.dumps({"input": [5, 99999]}).encode(), 400, "not a token id"),
    (json.dumps({"input": [[5, -1]]}).encode(), 400, "not a token id"),
    (json.dumps({"input": [5, 1.5]}).encode(), 400, "not a token id"),
    (json.dumps({"input": ["x"] * 2049}).encode(), 400, "at most 2048"),
    (json.dumps({"input": "x", "model": "gpt-4"}).encode(), 404, "does not exist"),
    (json.dumps({"input": "x", "model": 3}).encode(), 400, "'model' must be a string"),
    (json.dumps({"input": "x", "encoding_format": "hex"}).encode(), 400, "encoding_format"),
    (json.dumps({"input": "x", "dimensions": 16}).encode(), 400, "48 dimensions"),
    (json.dumps({"input": "x", "dimensions": "48"}).encode(), 400, "'dimensions' must be an integer"),
    (json.dumps({"input": "x", "user": 5}).encode(), 400, "'user' must be a string"),
])
def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(mean_norm, body, status, needle):
    got, text = mean_norm.request("POST", "/v1/embeddings", raw=body)
    assert got == status, text
    error = json.loads(text)["error"]
    assert needle in error["message"], error
    assert set(error) >= {"message", "type", "code"}
    if status == 404:
        assert error["code"] == "model_not_found"
    assert mean_norm.request("GET", "/health")[0] == 200
    status, ok = mean_norm.post("/v1/embeddings", {"input": "still serving"})
    assert status == 200 and len(ok["data"][0]["embedding"]) == 48


def test_encoder_serves_tokenize_models_metrics_and_refuses_completions(mean_norm):
    assert mean_norm.first_health in (200, 503)
    status, text = mean_norm.request("GET", "/v1/models")
    assert status == 200 and json.loads(text)["data"][0]["id"] == "st_mean_norm"
    gold = golden("st_mean_norm")
    case = gold["cases"][0]
    status, body = mean_norm.post("/tokenize", {"content": case["text"], "add_special": False})
    assert status == 200 and body["tokens"][:5] == case["input_ids"][1:6]
    status, body = mean_norm.post("/detokenize", {"tokens": case["input_ids"][1:4]})
    assert status == 200 and body["content"]
    for path, request in [("/v1/completions", {"prompt": "hi", "max_tokens": 2}),
                          ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})]:
        status, body = mean_norm.post(path, request)
        assert status == 400, body
        assert "embedding model" in body["error"]["message"]
        assert body["error"]["type"] == "invalid_request_error"
    requests, tokens = mean_norm.metric("requests_total"), mean_norm.metric("prompt_tokens_total")
    errors = mean_norm.metric("request_errors_total")
    status, body = mean_norm.post("/v1/embeddings", {"input": [case["text"], "hi"]})
    assert status == 200
    assert mean_norm.metric("requests_total") == requests + 1
    assert mean_norm.metric("prompt_tokens_total") == tokens + body["usage"]["prompt_tokens"]
    assert mean_norm.metric("ready") == 1.0
    mean_norm.post("/v1/embeddings", {"input": []})
    assert mean_norm.metric("request_errors_total") == errors + 1


def test_causal_lm_refuses_embeddings():
    s = Server(DATA / "models" / "llama", "--max-running", "1")
    try:
        status, body = s.post("/v1/embeddings", {"input": "hello"})
        assert status == 400, body
        assert "not an embedding model" in body["error"]["message"]
        assert set(body["error"]) >= {"message", "type", "code"}
        status, body = s.post("/v1/completions", {"prompt": "In the", "max_tokens": 2, "temperature": 0})
        assert status == 200, body
    finally:
        assert s.stop() == 0, "".join(s.log)
