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
    chat_template_seeds()
    generation_config_seeds()
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
    component_seeds()
    sentence_config_seeds()


# tokenizer_components_fuzzer: normalizer NUL pre_tokenizer NUL decoder NUL text,
# one seed per component family real tokenizer.json files use.
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}
COMPONENT_TEXT = ("Hello  world!\tcaf\u00e9 cafe\u0301 \u4e2d\u6587 \U0001F469\u200d\U0001F4BB I'M don't 12345 "
                  "magic word<s>\n\n")
COMPONENT_SEEDS = {
    "llama3": (None, {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated", "invert": False}, BYTE_LEVEL]},
        {"type": "ByteLevel"}),
    "smollm_digits": (None, {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}]}, {"type": "ByteLevel"}),
    "split_string_invert": ({"type": "NFKC"}, {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": True}, BYTE_LEVEL]}, None),
    "metaspace_first": (
        {"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},
        {"type": "Sequence", "pretokenizers": [
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}, BYTE_LEVEL]},
        {"type": "Sequence", "decoders": [{"type": "ByteLevel"},
                                          {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"}]}),
    "bert": ({"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
              "lowercase": True},
             {"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}, BYTE_LEVEL]},
             {"type": "Sequence", "decoders": [{"type": "ByteLevel"},
                                               {"type": "WordPiece", "prefix": "##", "cleanup": True}]}),
    "whitespace_punct": (
        {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
                                             {"type": "Strip", "strip_left": True, "strip_right": False}]},
        {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "Punctuation", "behavior": "Contiguous"},
                                               {"type": "WhitespaceSplit"}, BYTE_LEVEL]},
        {"type": "Sequence", "decoders": [{"type": "ByteLevel"},
                                          {"type": "Replace", "pattern": {"String": "l"}, "content": "L"},
                                          {"type": "Strip", "content": " ", "start": 1, "stop": 1}, {"type": "Fuse"},
                                          {"type": "BPEDecoder", "suffix": "</w>"}]}),
    "prepend_fallback": (
        {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                             {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        BYTE_LEVEL,
        {"type": "Sequence", "decoders": [{"type": "ByteLevel"},
                                          {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                          {"type": "ByteFallback"}, {"type": "Fuse"},
                                          {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}),
}


def component_seeds():
    for name, parts in COMPONENT_SEEDS.items():
        data = "\0".join(json.dumps(p) if p is not None else "null" for p in parts) + "\0" + COMPONENT_TEXT
        write("tokenizer_components_fuzzer", name, data.encode())


def sentence_config_seeds():
    """fuzz/sentence_config_fuzzer.cpp: modules.json NUL Pooling config.json NUL
    sentence_bert_config.json NUL config_sentence_transformers.json NUL tokenizer_config.json,
    from the sentence-transformers test folders (a missing file is empty)."""
    def read(path):
        return path.read_bytes() if path.exists() else b""
    for model in ["st_mean_norm", "st_cls_max"]:
        folder = MODELS / model
        parts = [read(folder / "modules.json"), read(folder / "1_Pooling" / "config.json"),
                 read(folder / "sentence_bert_config.json"), read(folder / "config_sentence_transformers.json"),
                 read(folder / "tokenizer_config.json")]
        write("sentence_config_fuzzer", model, b"\0".join(parts))
    write("sentence_config_fuzzer", "mode_string", b"\0".join([
        json.dumps([{"type": "sentence_transformers.models.Transformer", "path": ""},
                    {"type": "sentence_transformers.models.Pooling", "path": "pool"},
                    {"type": "sentence_transformers.models.Normalize", "path": ""}]).encode(),
        json.dumps({"word_embedding_dimension": 32, "pooling_mode": "mean_sqrt_len_tokens"}).encode(),
        json.dumps({"max_seq_length": None, "do_lower_case": True, "model_args": {}}).encode(),
        json.dumps({"prompts": {}, "default_prompt_name": None}).encode(),
        json.dumps({"model_max_length": 1e30}).encode()]))


def chat_template_seeds():
    """fuzz/chat_template_fuzzer.cpp: a template's source. The real templates under
    tests/data/chat/templates and the feature templates of tests/data/chat/chat_goldens.json."""
    for path in sorted((ROOT / "tests" / "data" / "chat" / "templates").glob("*.jinja")):
        write("chat_template_fuzzer", path.stem, path.read_bytes())
    goldens = json.loads((ROOT / "tests" / "data" / "chat" / "chat_goldens.json").read_text(encoding="utf-8"))
    for feature in goldens["features"]:
        write("chat_template_fuzzer", "feature_" + feature["name"], feature["source"].encode())


def generation_config_seeds():
    """fuzz/generation_config_fuzzer.cpp: a generation_config.json (vocabulary of 1000)."""
    for model in sorted(p.name for p in MODELS.iterdir() if (p / "generation_config.json").exists())[:3]:
        write("generation_config_fuzzer", model, (MODELS / model / "generation_config.json").read_bytes())
    write("generation_config_fuzzer", "two_eos", json.dumps({"eos_token_id": [2, 999], "bos_token_id": 1}).encode())
    write("generation_config_fuzzer", "null_eos", json.dumps({"eos_token_id": None}).encode())


if __name__ == "__main__":
    main()
