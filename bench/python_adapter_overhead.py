"""What transformers' generate() through vkinfer.hf costs per decode step, against the engine's
own generate (CausalLM.generate: GPU sampling, only the token id crosses to the host). The
adapter brings the step's logits [B, 1, V] to the host and lets transformers pick the token.

Per-step time = (time of N + 1 new tokens - time of 1 new token) / N, greedy, eos off, so
loading, pipeline warm-up and the prefill cancel out. Engine and adapter runs alternate; the
best of --repeats is kept (a shared machine's other load only adds time).

  PYTHONPATH=build/python .venv/bin/python bench/python_adapter_overhead.py \
      --model assets/gpt2-kjv --new-tokens 64
"""
import argparse
import time

import torch
import transformers

import vkinfer
from vkinfer.hf import HuggingFaceGenerationModelAdapter


def per_step(run, new_tokens):
    def timed(n):
        start = time.perf_counter()
        run(n)
        return time.perf_counter() - start

    return (timed(new_tokens + 1) - timed(1)) / new_tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="assets/gpt2-kjv")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = vkinfer.CausalLM.from_pretrained(args.model, batch=max(2, args.batch))
    config = transformers.AutoConfig.from_pretrained(args.model)
    adapter = HuggingFaceGenerationModelAdapter(config, model)
    adapter.generation_config.eos_token_id = None  # every run makes exactly n tokens
    prompt = [[(7 * i + 3) % model.vocab_size for i in range(8)]] * args.batch
    ids = torch.tensor(prompt)

    def run_engine(n):
        model.generate(prompt, max_new_tokens=n, eos_token_id=[])

    def run_adapter(n):
        adapter.generate(ids, do_sample=False, max_new_tokens=n, pad_token_id=0)

    run_engine(2)  # first calls: caches warm, lazy imports done
    run_adapter(2)
    # Interleaved, and the fastest of each: other load on a shared machine only adds time.
    samples = [(per_step(run_engine, args.new_tokens), per_step(run_adapter, args.new_tokens))
               for _ in range(args.repeats)]
    engine = min(e for e, _ in samples)
    hf = min(a for _, a in samples)
    print(f"model {args.model}, vocab {model.vocab_size}, batch {args.batch}, {args.new_tokens} decode steps, "
          f"best of {args.repeats}")
    print(f"engine generate : {engine * 1e3:8.3f} ms/step")
    print(f"adapter generate: {hf * 1e3:8.3f} ms/step")
    print(f"adapter overhead: {(hf - engine) * 1e3:8.3f} ms/step ({hf / engine:.2f}x)")


if __name__ == "__main__":
    main()
