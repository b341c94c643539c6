#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the tiny test
models in tests/data/models (plus a few hand-made safetensors files). Run
from anywhere; it rewrites the seeds deterministically. The tokenizer seeds
follow fuzz/tokenizer_harness.h: the folder's files joined by NUL, then NUL
and a text to encode. Files named regress_* are
reproducers of bugs the fuzzers found; this script leaves them alone."""
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "data" / "models"
CORPUS = ROOT / "fuzz" / "corpus"
TEXT = "Hello  world!\tcaf\u00e9 cafe\u0301 \u4e2d\u6587 \U0001F469\u200d\U0001F4BB don't 1234 <|endoftext|>[SEP]</s>"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def safetensors(header, data=b""):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def tokenizer_seed(model, files):
    parts = [(MODELS / model / f).read_bytes() for f in files]
    return b"\0".join(parts) + b"\0" + TEXT.encode()


def main():
    # safetensors: every dtype, metadata, an empty tensor, a scalar, a 3-D shape.
    write("safetensors_fuzzer", "f32_f16", safetensors(
        {"__metadata__": {"format": "pt"},
         "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
         "b": {"dtype": "F16", "shape": [4], "data_offsets": [24, 32]}}, bytes(range(32))))
    write("safetensors_fuzzer", "bf16_i64", safetensors(
        {"w": {"dtype": "BF16", "shape": [2, 2, 2], "data_offsets": [0, 16]},
         "position_ids": {"dtype": "I64", "shape": [1, 2], "data_offsets": [16, 32]}}, bytes(32)))
    write("safetensors_fuzzer", "empty_and_scalar", safetensors(
        {"e": {"dtype": "F32", "shape": [0, 5], "data_offsets": [4, 4]},
         "s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}, bytes(4)))
    write("safetensors_fuzzer", "all_dtypes", safetensors(
        {f"t{i}": {"dtype": d, "shape": [1], "data_offsets": [8 * i, 8 * i + n]}
         for i, (d, n) in enumerate([("F64", 8), ("U64", 8), ("I32", 4), ("U32", 4), ("I16", 2),
                                     ("U16", 2), ("I8", 1), ("U8", 1), ("BOOL", 1),
                                     ("F8_E4M3", 1), ("F8_E5M2", 1)])}, bytes(88)))
    write("safetensors_fuzzer", "no_tensors", safetensors({}))

    for config in sorted(MODELS.glob("*/config.json")):
        write("config_fuzzer", config.parent.name, config.read_bytes())
    for config in sorted((ROOT / "tests" / "data" / "config").glob("*/config.json")):
        write("config_fuzzer", "config_" + config.parent.name, config.read_bytes())

    json_files = ["tokenizer.json", "tokenizer_config.json"]
    for model in ["gpt2", "opt", "gpt_neox"]:
        write("tokenizer_json_bpe_fuzzer", model, tokenizer_seed(model, json_files))
    write("tokenizer_json_sentencepiece_fuzzer", "llama", tokenizer_seed("llama", json_files))
    for model in ["bert", "bert2"]:
        write("tokenizer_json_wordpiece_fuzzer", model, tokenizer_seed(model, json_files))
        write("tokenizer_classic_wordpiece_fuzzer", model,
              tokenizer_seed(model, ["vocab.txt", "tokenizer_config.json"]))
    for model in ["gpt2", "opt"]:
        write("tokenizer_classic_bpe_fuzzer", model,
              tokenizer_seed(model, ["vocab.json", "merges.txt", "tokenizer_config.json"]))


if __name__ == "__main__":
    main()
