"""vkinfer: Hugging Face transformer models on Vulkan compute, from Python.

The classes come from the `_vkinfer` extension (pybind11, python/vkinfer_module.cpp):

- `CausalLM.from_pretrained(path, dtype="f32", tp=1, devices=None, ctx=0, batch=4)`, with
  `generate(...)` (the engine's own loop and GPU sampler), `forward(...)` (logits of chosen
  KV-cache slots), `copy_slots(...)` and `reset()`;
- `Tokenizer.from_pretrained(path)` with `encode` / `decode`;
- `Classifier.from_pretrained(path)` with `classify(texts, pairs=None)`;
- `Embedder.from_pretrained(path)` with `encode(texts)` (sentence-transformers' vectors).

`vkinfer.hf` (imported on its own: it needs torch and transformers) holds
`HuggingFaceGenerationModelAdapter`, which lets transformers' `generate()` drive a `CausalLM`.
Engine errors arrive as ValueError (bad argument, file or config) or RuntimeError (device,
memory), with the engine's message.
"""
from ._vkinfer import CausalLM, Classifier, Embedder, Tokenizer

__all__ = ["CausalLM", "Classifier", "Embedder", "Tokenizer"]
