"""transformers' own generate() driving vkinfer through HuggingFaceGenerationModelAdapter,
compared with transformers' generate() on the same weights (fp32, eager attention), loaded here
from the committed tiny models (tests/data/models, made by tests/golden/make_goldens.py), and
with the committed greedy goldens. Skipped when torch or transformers is missing."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the adapter tests need torch")
transformers = pytest.importorskip("transformers", reason="the adapter tests need transformers")

from conftest import golden, model_dir  # noqa: E402
from vkinfer.hf import HuggingFaceGenerationModelAdapter, VkinferCache  # noqa: E402


def reference(name):
    model = transformers.AutoModelForCausalLM.from_pretrained(
        model_dir(name), torch_dtype=torch.float32, attn_implementation="eager")
    return model.eval()


@pytest.fixture(scope="module")
def gpt2_pair(gpt2):
    adapter = HuggingFaceGenerationModelAdapter(transformers.AutoConfig.from_pretrained(model_dir("gpt2")), gpt2)
    return adapter, reference("gpt2")


@pytest.fixture(scope="module")
def llama_pair(llama):
    adapter = HuggingFaceGenerationModelAdapter(transformers.AutoConfig.from_pretrained(model_dir("llama")), llama)
    return adapter, reference("llama")


@pytest.fixture(scope="module")
def dynamic_pair():
    """Llama with dynamic rope_scaling (factor 2 over 24 positions): the batch's prompts and their
    continuations run past 24, where each forward's rotary base depends on the batch's length."""
    import vkinfer

    name = "llama_rope_dynamic"
    model = vkinfer.CausalLM.from_pretrained(model_dir(name), batch=4, ctx=64)
    return HuggingFaceGenerationModelAdapter(transformers.AutoConfig.from_pretrained(model_dir(name)), model), \
        reference(name)


def left_padded(prompts, pad):
    width = max(map(len, prompts))
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def both(pair, ids, streamer=None, **kwargs):
    adapter, ref = pair
    with torch.no_grad():
        expected = ref.generate(ids, **kwargs)
    got = adapter.generate(ids, streamer=streamer, **kwargs)
    return got, expected


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_greedy_equals_the_golden(name, request):
    adapter, _ = request.getfixturevalue(f"{name}_pair")
    adapter.generation_config.eos_token_id = None  # the goldens ran without eos (see make_goldens.py)
    try:
        for case in golden(name)["cases"]:
            ids = torch.tensor([case["prompt_ids"]])
            # An explicit mask: else generate() masks every prompt id equal to pad_token_id.
            out = adapter.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                   max_new_tokens=len(case["greedy_ids"]), pad_token_id=0)
            assert out[0, ids.shape[1]:].tolist() == case["greedy_ids"]
    finally:
        adapter.generation_config.eos_token_id = adapter.config.eos_token_id


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_greedy_left_padded_batch_equals_transformers(name, request):
    pair = request.getfixturevalue(f"{name}_pair")
    batch = golden(name)["batch"]
    ids, mask = left_padded([p["prompt_ids"] for p in batch["prompts"]], batch["pad_token_id"] or 0)
    got, expected = both(pair, ids, attention_mask=mask, do_sample=False, max_new_tokens=24,
                         pad_token_id=batch["pad_token_id"] or 0)
    assert got.tolist() == expected.tolist()


def test_dynamic_rope_left_padded_batch_equals_transformers(dynamic_pair):
    """transformers rotates every row of a batched forward with the base of the batch's longest
    row; the adapter passes that length, so rows shorter than the longest still match."""
    batch = golden("llama_rope_dynamic")["batch"]
    ids, mask = left_padded([p["prompt_ids"] for p in batch["prompts"]], batch["pad_token_id"] or 0)
    got, expected = both(dynamic_pair, ids, attention_mask=mask, do_sample=False, max_new_tokens=24,
                         pad_token_id=batch["pad_token_id"] or 0)
    assert got.tolist() == expected.tolist()


def test_beam_search_equals_transformers(gpt2_pair):
    ids = torch.tensor([golden("gpt2")["cases"][0]["prompt_ids"]])
    got, expected = both(gpt2_pair, ids, num_beams=3, do_sample=False, max_new_tokens=16,
                         num_return_sequences=3, pad_token_id=316, early_stopping=True)
    assert got.tolist() == expected.tolist()


def test_beam_search_on_a_padded_batch_reorders_slots(llama_pair):
    # 2 prompts x 2 beams: 4 rows, reordered every step through copy_slots (8 slots).
    batch = golden("llama")["batch"]
    ids, mask = left_padded([p["prompt_ids"][:12] for p in batch["prompts"][:2]], 0)
    got, expected = both(llama_pair, ids, attention_mask=mask, num_beams=2, do_sample=False,
                         max_new_tokens=12, pad_token_id=0)
    assert got.tolist() == expected.tolist()


def test_group_beam_search_equals_transformers(llama_pair):
    ids = torch.tensor([golden("llama")["cases"][0]["prompt_ids"]])
    got, expected = both(llama_pair, ids, num_beams=4, num_beam_groups=2, diversity_penalty=0.5,
                         do_sample=False, max_new_tokens=10, num_return_sequences=2, pad_token_id=0)
    assert got.tolist() == expected.tolist()


def test_contrastive_search_is_refused_by_name(llama_pair):
    adapter, _ = llama_pair
    with pytest.raises(ValueError, match="contrastive search"):
        adapter.generate(torch.tensor([[1, 5, 9]]), penalty_alpha=0.6, top_k=4, max_new_tokens=3, pad_token_id=0)


def test_tensor_parallel_adapter_equals_transformers(llama_pair):
    # tp=2 on two logical devices of device 0: every rank runs each step, rank 0's logits come back.
    import vkinfer

    _, ref = llama_pair
    model = vkinfer.CausalLM.from_pretrained(model_dir("llama"), tp=2, devices=[0, 0], batch=6)
    adapter = HuggingFaceGenerationModelAdapter(transformers.AutoConfig.from_pretrained(model_dir("llama")), model)
    batch = golden("llama")["batch"]
    ids, mask = left_padded([p["prompt_ids"] for p in batch["prompts"]], 0)
    got, expected = both((adapter, ref), ids, attention_mask=mask, do_sample=False, max_new_tokens=16,
                         pad_token_id=0)
    assert got.tolist() == expected.tolist()
    got, expected = both((adapter, ref), ids[:1], num_beams=3, do_sample=False, max_new_tokens=8, pad_token_id=0)
    assert got.tolist() == expected.tolist()


def test_seeded_sampling_is_reproducible(gpt2_pair):
    adapter, _ = gpt2_pair
    ids = torch.tensor([golden("gpt2")["cases"][0]["prompt_ids"]] * 2)
    runs = []
    for _ in range(2):
        torch.manual_seed(1234)
        runs.append(adapter.generate(ids, do_sample=True, top_k=20, top_p=0.9, temperature=0.8,
                                     max_new_tokens=20, pad_token_id=316).tolist())
    assert runs[0] == runs[1]
    torch.manual_seed(99)
    other = adapter.generate(ids, do_sample=True, top_k=20, top_p=0.9, temperature=0.8,
                             max_new_tokens=20, pad_token_id=316).tolist()
    assert other != runs[0]  # the seed matters: 2 x 20 draws from ~20 candidates


def test_logits_processors_stopping_and_streamer(llama_pair):
    class Collect(transformers.generation.streamers.BaseStreamer):
        def __init__(self):
            self.chunks = []

        def put(self, value):
            self.chunks.append(value.reshape(-1).tolist())

        def end(self):
            self.chunks.append("end")

    ids = torch.tensor([golden("llama")["cases"][0]["prompt_ids"]])
    streamer = Collect()
    kwargs = dict(do_sample=False, max_new_tokens=15, repetition_penalty=1.3, no_repeat_ngram_size=2,
                  min_new_tokens=5, pad_token_id=0)
    got, expected = both(llama_pair, ids, streamer=streamer, **kwargs)
    assert got.tolist() == expected.tolist()
    streamed = [t for chunk in streamer.chunks[1:-1] for t in chunk]  # the first chunk is the prompt
    assert streamer.chunks[-1] == "end" and streamed == got[0, ids.shape[1]:].tolist()


def test_adapter_forward_returns_real_logits_for_real_positions(gpt2_pair):
    adapter, ref = gpt2_pair
    ids, mask = left_padded([[5, 9, 11, 40], [7, 8]], 316)
    out = adapter(ids, attention_mask=mask)
    assert isinstance(out.past_key_values, VkinferCache)
    with torch.no_grad():
        expected = ref(torch.tensor([[7, 8]])).logits[0]
    np.testing.assert_allclose(out.logits[1, 2:].numpy(), expected.numpy(), atol=1e-3, rtol=1e-3)
    assert torch.count_nonzero(out.logits[1, :2]) == 0  # padded positions carry no logits


def test_too_few_slots_for_beams_is_a_clear_error(llama):
    small = HuggingFaceGenerationModelAdapter(transformers.AutoConfig.from_pretrained(model_dir("llama")),
                                              llama)
    ids = torch.tensor([[1, 5, 9]] * 3)
    with pytest.raises(ValueError, match="batch >="):
        small.generate(ids, num_beams=4, do_sample=False, max_new_tokens=3, pad_token_id=0)
