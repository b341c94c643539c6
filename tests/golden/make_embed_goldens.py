#!/usr/bin/env python3
"""Builds tiny sentence-transformers BERT folders and the embeddings sentence-transformers gives them.

`vkinfer embed` must equal sentence-transformers (cosine >= 0.99999, same norm), so the expected
vectors come from the real package, loading the folders this script writes the way a user's folder
is loaded (modules.json, 1_Pooling/config.json, sentence_bert_config.json):

  st_mean_norm   Transformer + Pooling(mean) + Normalize; keys as sentence-transformers saves them
                 (BertModel: embeddings.*, encoder.*) but with no pooler (unused by sentence
                 embeddings, so a folder without it must load); max_seq_length 20.
  st_cls_max     Transformer + Pooling(cls + max + mean_sqrt_len, concatenated in that order), no
                 Normalize; keys renamed to BertForSequenceClassification's `bert.` prefix
                 (transformers strips the prefix on load; checked below); max_seq_length 28,
                 do_lower_case true.
  st_plain       a plain BertModel folder with no sentence-transformers files: sentence-transformers
                 adds mean pooling and takes max_seq_length = min(max_position_embeddings 40,
                 tokenizer model_max_length 144).

The tokenizer is tests/data/models/bert's uncased WordPiece (vocab 251). Every parameter is redrawn
with visible noise as in make_goldens.py. Each golden has the texts, sentence-transformers' input ids
(after its strip, lowercasing and truncation), the embeddings and their norms.

Regenerate (CPU, fp32, one thread; byte-identical run to run):
    /work/main/.venv/bin/python tests/golden/make_embed_goldens.py
Needs transformers 4.40.2 and sentence-transformers 2.7.0 (pip install --no-deps
sentence-transformers==2.7.0; it imports scikit-learn and Pillow: Debian's python3-sklearn and
python3-pil).
"""
import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertModel

import sentence_transformers
from sentence_transformers import SentenceTransformer, models

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The same noise recipe and JSON layout as the decoder goldens.
from make_goldens import add_visible_noise, write_json  # noqa: E402

EXPECTED_TRANSFORMERS = "4.40.2"
EXPECTED_ST = "2.7.0"
ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]

# Short, longer than every max_seq_length, Unicode (accents, CJK, emoji), only whitespace (strip
# leaves "" and the input is [CLS] [SEP]), and surrounding Unicode spaces that Python's strip removes.
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "In the beginning there was a small model, and the small model was tested against a larger "
    "truth; the truth was patient and the model was quick, and every word of this sentence is "
    "there to make it longer than any max_seq_length these tiny models have, so that truncation "
    "keeps [CLS], the first tokens and [SEP] exactly as the tokenizer does.",
    "Caf\u00e9 na\u00efve \u2013 \u6771\u4eac \U0001F642 \u00c9COLE",
    "   \t ",
    "\u00a0\u2003 Hello World \u3000\n",
    "THE LORD is my shepherd; I shall not want.",
]

MODELS = {
    "st_mean_norm": dict(
        config=BertConfig(vocab_size=251, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=52, max_position_embeddings=64, hidden_act="gelu",
                          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0),
        pooling=dict(pooling_mode_mean_tokens=True), normalize=True, max_seq_length=20,
        do_lower_case=False, prefix=False, pooler=False),
    "st_cls_max": dict(
        config=BertConfig(vocab_size=251, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=44, max_position_embeddings=48, hidden_act="gelu",
                          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0),
        pooling=dict(pooling_mode_cls_token=True, pooling_mode_max_tokens=True,
                     pooling_mode_mean_tokens=False, pooling_mode_mean_sqrt_len_tokens=True),
        normalize=False, max_seq_length=28, do_lower_case=True, prefix=True, pooler=True),
    "st_plain": dict(
        config=BertConfig(vocab_size=251, hidden_size=36, num_hidden_layers=2, num_attention_heads=3,
                          intermediate_size=40, max_position_embeddings=40, hidden_act="gelu",
                          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0),
        pooling=None, normalize=False, max_seq_length=None, do_lower_case=False, prefix=False,
        pooler=True),
}


def build_folder(name, spec, folder, seed):
    """Writes the HF BertModel folder, then (for sentence-transformers models) saves it through
    sentence-transformers so that modules.json and the module configs are its own."""
    if folder.exists():
        shutil.rmtree(folder)
    torch.manual_seed(seed)
    model = BertModel(spec["config"])
    add_visible_noise(model, seed + 1)
    model.eval()
    hf = folder if spec["pooling"] is None else folder.with_name(folder.name + ".hf")
    if hf.exists():
        shutil.rmtree(hf)
    hf.mkdir(parents=True)
    model.save_pretrained(hf, safe_serialization=True)
    for f in TOKENIZER_FILES:
        shutil.copy(ROOT / "tests/data/models/bert" / f, hf / f)
    if spec["pooling"] is None:
        return
    transformer = models.Transformer(str(hf), max_seq_length=spec["max_seq_length"],
                                     do_lower_case=spec["do_lower_case"])
    pooling = models.Pooling(transformer.get_word_embedding_dimension(), **spec["pooling"])
    modules = [transformer, pooling] + ([models.Normalize()] if spec["normalize"] else [])
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    shutil.rmtree(hf)
    # save() rewrites special_tokens_map.json in its long form (same tokens); the bert folder's
    # exact files are kept, so the tokenizer goldens (recorded once per tokenizer) cover these too.
    for f in TOKENIZER_FILES:
        shutil.copy(ROOT / "tests/data/models/bert" / f, folder / f)
    # The generated model card is prose about the run, and _name_or_path names this machine's
    # temporary folder; nothing reads either.
    (folder / "README.md").unlink(missing_ok=True)
    config = json.loads((folder / "config.json").read_text())
    config.pop("_name_or_path", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    # BertForSequenceClassification-style names: transformers' BertModel strips `bert.` on load.
    prefix = "bert." if spec["prefix"] else ""
    weights = load_file(folder / "model.safetensors")
    save_file({prefix + k: v.contiguous() for k, v in sorted(weights.items())
               if spec["pooler"] or not k.startswith("pooler.")},
              folder / "model.safetensors", metadata={"format": "pt"})
    _, info = BertModel.from_pretrained(folder, output_loading_info=True)
    missing = [] if spec["pooler"] else ["pooler.dense.bias", "pooler.dense.weight"]
    assert sorted(info["missing_keys"]) == missing and not info["unexpected_keys"], info


def golden(name, spec, folder):
    st = SentenceTransformer(str(folder), device="cpu")
    st.eval()
    with torch.no_grad():
        embeddings = st.encode(TEXTS, batch_size=len(TEXTS), convert_to_numpy=True)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    transformer = st[0]
    features = transformer.tokenize(TEXTS)
    ids = [row[mask.bool()].tolist() for row, mask in zip(features["input_ids"], features["attention_mask"])]
    pooling = st[1]
    # Each text alone gives the same vector (padding is masked): checked so that the engine's
    # per-bucket batches may be compared with this one batch.
    for i, text in enumerate(TEXTS):
        with torch.no_grad():
            alone = st.encode([text], convert_to_numpy=True)[0]
        cos = float(np.dot(alone, embeddings[i]) / (np.linalg.norm(alone) * np.linalg.norm(embeddings[i])))
        assert cos > 0.999999, (name, i, cos)
    return {
        "model": name,
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "pooling": pooling.get_pooling_mode_str(),
        "normalized": spec["normalize"],
        "max_seq_length": transformer.max_seq_length,
        "dim": int(embeddings.shape[1]),
        "cases": [
            {"text": text, "input_ids": ids[i], "norm": float(np.linalg.norm(embeddings[i].astype(np.float64))),
             "embedding": [float(v) for v in embeddings[i]]}
            for i, text in enumerate(TEXTS)
        ],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests/data", help="models/ and golden/ go here")
    args = parser.parse_args()
    if transformers.__version__ != EXPECTED_TRANSFORMERS or sentence_transformers.__version__ != EXPECTED_ST:
        sys.exit(f"need transformers {EXPECTED_TRANSFORMERS} and sentence-transformers {EXPECTED_ST}, have "
                 f"{transformers.__version__} and {sentence_transformers.__version__}")
    torch.set_num_threads(1)
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    (args.out / "golden").mkdir(parents=True, exist_ok=True)
    for index, (name, spec) in enumerate(MODELS.items()):
        folder = args.out / "models" / name
        build_folder(name, spec, folder, 9000 + 100 * index)
        write_json(args.out / "golden" / f"embed_{name}.json", golden(name, spec, folder))
        print(f"{name}: {sorted(p.name for p in folder.iterdir())}")


if __name__ == "__main__":
    main()
