"""vkinfer.CausalLM without transformers: its generate() against the transformers goldens
(tests/golden/make_goldens.py, committed under tests/data/golden) and against the `vkinfer
generate` binary, forward() logits against the golden prefill logits, and slot copies."""
import json
import subprocess

import numpy as np
import pytest

import vkinfer
from conftest import DATA, golden, model_dir, vkinfer_bin

NO_EOS = []  # eos_token_id=[]: nothing ends a sequence, as the goldens were made (eos ignored)


@pytest.mark.parametrize("case", range(3))
def test_greedy_generate_matches_transformers_golden(gpt2, case):
    g = golden("gpt2")["cases"][case]
    out = gpt2.generate(g["prompt_ids"], max_new_tokens=len(g["greedy_ids"]), eos_token_id=NO_EOS)
    assert out.dtype == np.int64 and out.shape == (1, len(g["prompt_ids"]) + len(g["greedy_ids"]))
    assert out[0, :len(g["prompt_ids"])].tolist() == g["prompt_ids"]
    assert out[0, len(g["prompt_ids"]):].tolist() == g["greedy_ids"]


def test_left_padded_batch_matches_each_prompt_alone(gpt2):
    batch = golden("gpt2")["batch"]
    prompts = [p["prompt_ids"] for p in batch["prompts"]]
    width = max(map(len, prompts))
    pad = batch["pad_token_id"]
    ids = np.array([[pad] * (width - len(p)) + p for p in prompts])
    mask = np.array([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    out = gpt2.generate(ids, attention_mask=mask, max_new_tokens=32, eos_token_id=NO_EOS)
    for b, p in enumerate(batch["prompts"]):
        assert out[b, width:].tolist() == p["greedy_ids"], f"row {b}"


def test_eos_token_id_ends_rows_and_pads_them(gpt2):
    # eos_token_id replaces the model's: each row ends at its first such token (kept), and rows
    # that ended early are padded with pad_token_id up to the longest, as transformers returns them.
    batch = golden("gpt2")["batch"]
    prompts = [p["prompt_ids"] for p in batch["prompts"]]
    eos = batch["prompts"][0]["greedy_ids"][3]
    expected = []
    for p in batch["prompts"]:
        ids = p["greedy_ids"]
        expected.append(ids[:ids.index(eos) + 1] if eos in ids else ids)
    width = max(map(len, prompts))
    ids = np.array([[0] * (width - len(p)) + p for p in prompts])
    mask = (np.arange(width)[None, :] >= width - np.array([len(p) for p in prompts])[:, None]).astype(int)
    out = gpt2.generate(ids, attention_mask=mask, max_new_tokens=32, eos_token_id=eos, pad_token_id=-1)
    longest = max(map(len, expected))
    assert out.shape == (len(prompts), width + longest)
    for b, row in enumerate(expected):
        assert out[b, width:].tolist() == row + [-1] * (longest - len(row)), f"row {b}"


def run_cli(model, prompt_ids, *flags):
    result = subprocess.run([str(vkinfer_bin()), "generate", "--model", model, "--prompt-ids",
                             ",".join(map(str, prompt_ids)), "--json", *flags],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["new_ids"]


@pytest.mark.parametrize("sampled", [False, True], ids=["greedy", "sampled"])
def test_generate_equals_the_cli(llama, sampled):
    prompt = golden("llama")["cases"][0]["prompt_ids"]
    if sampled:
        flags = ["--temperature", "0.9", "--top-k", "40", "--top-p", "0.95", "--seed", "11",
                 "--repetition-penalty", "1.1"]
        kwargs = dict(do_sample=True, temperature=0.9, top_k=40, top_p=0.95, seed=11, repetition_penalty=1.1)
    else:
        flags, kwargs = [], {}
    expected = run_cli(model_dir("llama"), prompt, "--max-new-tokens", "20", *flags)
    out = llama.generate(np.array(prompt), max_new_tokens=20, **kwargs)
    new = out[0, len(prompt):].tolist()
    # The CLI stops at eos (new_ids then end with it); the array pads after it.
    assert new[:len(expected)] == expected


def test_forward_logits_match_golden_prefill(gpt2):
    g = golden("gpt2")["cases"][0]
    expected = np.load(DATA / "golden" / "gpt2.case0.logits.npy")
    gpt2.reset()
    logits = gpt2.forward([g["prompt_ids"]])
    assert logits.shape == (1, len(g["prompt_ids"]), gpt2.vocab_size)
    # 1e-3: fp32 on both sides, different summation order (the C++ tests' tolerance).
    np.testing.assert_allclose(logits[0], expected, atol=1e-3, rtol=1e-3)


def test_forward_in_chunks_and_decode_steps_agree(gpt2):
    # One 40-token prompt fed whole (in max_prefill_rows chunks) vs 30 + 10 decode-style steps.
    prompt = golden("gpt2")["cases"][1]["prompt_ids"]
    gpt2.reset()
    whole = gpt2.forward([prompt])[0]
    gpt2.forward([prompt[:30]], slots=[1])
    rest = [gpt2.forward([[t]], slots=[1])[0, 0] for t in prompt[30:]]
    np.testing.assert_allclose(np.stack(rest), whole[30:], atol=1e-4, rtol=1e-4)  # same math, other row packing
    assert gpt2.slot_length(0) == len(prompt) and gpt2.slot_length(1) == len(prompt)
    # positions= rewinds a slot: re-feeding the last token gives its logits again.
    again = gpt2.forward([[prompt[-1]]], slots=[0], positions=[len(prompt) - 1], all_logits=False)
    np.testing.assert_allclose(again[0], whole[-1], atol=1e-4, rtol=1e-4)


def test_copy_slots_continues_the_copied_history(gpt2):
    prompt = golden("gpt2")["cases"][0]["prompt_ids"]
    gpt2.reset()
    gpt2.forward([prompt, [5, 6]], slots=[2, 3])
    gpt2.copy_slots([2], [3])
    assert gpt2.slot_length(3) == len(prompt)
    both = gpt2.forward([[7], [7]], slots=[2, 3])
    np.testing.assert_array_equal(both[0], both[1])


def test_tensor_parallel_two_ranks_on_one_device():
    g = golden("llama")["cases"][1]
    model = vkinfer.CausalLM.from_pretrained(model_dir("llama"), tp=2, devices=[0, 0], batch=2)
    assert model.tp == 2
    out = model.generate(g["prompt_ids"], max_new_tokens=len(g["greedy_ids"]), eos_token_id=NO_EOS)
    assert out[0, len(g["prompt_ids"]):].tolist() == g["greedy_ids"]
    logits = model.forward([g["prompt_ids"]])
    expected = np.load(DATA / "golden" / "llama.case1.logits.npy")
    np.testing.assert_allclose(logits[0], expected, atol=1e-3, rtol=1e-3)  # as the tp C++ tests


def test_tokenizer_matches_golden_ids():
    case = golden("gpt2")["text_cases"][0]
    tokenizer = vkinfer.Tokenizer.from_pretrained(model_dir("gpt2"))
    assert tokenizer.encode(case["prompt_text"]) == case["prompt_ids"]
    assert tokenizer.decode(case["prompt_ids"]) == case["prompt_text"]


def test_bad_path_raises_value_error_with_the_engine_message(tmp_path):
    with pytest.raises(ValueError, match="config.json"):
        vkinfer.CausalLM.from_pretrained(str(tmp_path / "missing"))


@pytest.mark.parametrize("kwargs, message", [
    (dict(do_sample=True, top_p=0.0), "top_p"),
    (dict(do_sample=True, temperature=-1.0), "temperature"),
    (dict(max_new_tokens=-2), "max-new-tokens"),
])
def test_bad_sampling_arguments_raise_value_error(gpt2, kwargs, message):
    with pytest.raises(ValueError, match=message):
        gpt2.generate([1, 2, 3], **kwargs)


def test_bad_inputs_raise_value_error(gpt2):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        gpt2.generate([1, 2, 100000])
    with pytest.raises(ValueError, match="integers"):
        gpt2.generate(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="slot"):
        gpt2.forward([[1, 2]], slots=[99])
    with pytest.raises(ValueError, match="rows differ in length"):
        gpt2.generate([[1, 2, 3], [4, 5]])
    with pytest.raises(ValueError, match="padding after"):
        gpt2.generate([[1, 2, 0]], attention_mask=[[1, 1, 0]])
    with pytest.raises(ValueError, match="dtype"):
        vkinfer.CausalLM.from_pretrained(model_dir("gpt2"), dtype="int3")
    with pytest.raises(ValueError, match="tp must be"):
        vkinfer.CausalLM.from_pretrained(model_dir("gpt2"), tp=0)
    # The model still works after the errors.
    g = golden("gpt2")["cases"][0]
    out = gpt2.generate(g["prompt_ids"], max_new_tokens=4, eos_token_id=NO_EOS)
    assert out[0, len(g["prompt_ids"]):].tolist() == g["greedy_ids"][:4]


def test_a_failing_rank_raises_instead_of_hanging(monkeypatch):
    # VKINFER_TEST_FAIL_RANK makes rank 1 fail after loading (partition/ranks.cpp): the error of
    # the rank that failed comes back, not its peer's "group aborted", and nothing hangs.
    monkeypatch.setenv("VKINFER_TEST_FAIL_RANK", "1")
    with pytest.raises(RuntimeError, match="rank 1 failed on purpose"):
        vkinfer.CausalLM.from_pretrained(model_dir("llama"), tp=2, devices=[0, 0])


def test_bad_device_list_raises_value_error():
    with pytest.raises(ValueError, match="--devices lists 3 devices for --tp 2"):
        vkinfer.CausalLM.from_pretrained(model_dir("llama"), tp=2, devices=[0, 0, 0])
    with pytest.raises(ValueError, match="q3_k.*q4_k_m"):  # the error lists the recipes
        vkinfer.CausalLM.from_pretrained(model_dir("llama"), quant="q3_k")


@pytest.mark.parametrize("quant", ["q8_0", "q4_k_m"])
def test_quantized_generate_equals_the_cli(quant):
    # quant= quantizes at load exactly as `generate --quant` does: same ids.
    prompt = golden("llama")["cases"][0]["prompt_ids"]
    expected = run_cli(model_dir("llama"), prompt, "--max-new-tokens", "20", "--quant", quant)
    model = vkinfer.CausalLM.from_pretrained(model_dir("llama"), quant=quant)
    new = model.generate(np.array(prompt), max_new_tokens=20)[0, len(prompt):].tolist()
    assert new[:len(expected)] == expected
    # and quantization changed something: the fp32 logits differ from the quantized ones
    fp32 = vkinfer.CausalLM.from_pretrained(model_dir("llama"))
    assert not np.array_equal(model.forward([prompt]), fp32.forward([prompt]))


def test_calls_from_several_threads_take_turns(llama):
    # The GIL is released while the engine runs; concurrent callers must neither deadlock nor mix
    # their requests (each thread's tokens equal its run alone).
    import threading

    prompts = [[1, 5 + i, 9, 13] for i in range(4)]
    alone = [llama.generate(p, max_new_tokens=6).tolist() for p in prompts]
    together = [None] * 4

    def work(i):
        together[i] = llama.generate(prompts[i], max_new_tokens=6).tolist()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert together == alone
