#!/usr/bin/env python3
"""Writes README.md model cards for assets/gpt2-kjv and assets/bert-kjv-nsp from the
training_report.json (and eval.json) that the training scripts leave next to the weights,
so every number in a card is the one the run measured.

Usage (from the repo root): .venv/bin/python tools/train/write_model_cards.py
"""
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LICENCE = """## Licence
- Text: the King James Version (1611), public domain (in the UK alone the Crown's letters
  patent still restrict printing it). Source: Debian package `bible-kjv` / `bible-kjv-text`; its copyright file
  (`/usr/share/doc/bible-kjv/copyright`) states: "The copyright for the King James Version
  text of the Bible is expired since the translation was done in 1611".
- Weights and tokenizer: trained from scratch by the vkinfer project with the scripts in
  `tools/train/`; released under the same terms as the vkinfer repository."""
BLAS_NOTE = ("Debian's python3-torch defaults to the netlib reference BLAS (~2.7 GFLOP/s); "
             "the run used OpenBLAS via `LD_LIBRARY_PATH` (see `tools/train/README.md`), "
             "single thread, on a 2-core machine shared with C++ builds, so wall time is noisy.")
# The BERT run gave OpenBLAS two threads: on the shared box, two torch (OpenMP) threads
# were ~3x slower than one, while two OpenBLAS threads were ~2x faster than one.
BERT_BLAS_NOTE = BLAS_NOTE.replace("single thread", "one torch thread and two OpenBLAS threads")


def load(folder):
    return json.loads((REPO / folder / "training_report.json").read_text())


def gpt2_card():
    r = load("assets/gpt2-kjv")
    a, m = r["args"], r["metrics"]
    hist = "\n".join(f"| {h['step']} | {h['train_loss_ema']:.3f} | {h['val_loss']:.3f} | "
                     f"{h['seconds']:.0f} |" for h in r["history"])
    samples = "\n".join(f"- `{p}` → `{s!r}`" for p, s in r["greedy_fp16_checkpoint"].items())
    return f"""# gpt2-kjv

A tiny GPT-2 (`GPT2LMHeadModel`) trained from scratch on the King James Bible so that
vkinfer's README command produces real text with no download. It writes KJV-flavoured
verses; it knows nothing else and is not useful beyond demos and tests.

## Model
- {a['n_layer']} layers, n_embd {a['n_embd']}, {a['n_head']} heads, n_positions {a['block']},
  tied embeddings, no dropout: **{r['parameters']:,} parameters**.
- Stored as fp16 safetensors: `model.safetensors` is **{r['model_bytes']:,} bytes**.
- Tokenizer: byte-level BPE (GPT-2 style, `tokenizers` library), vocabulary {a['vocab_size']}
  including `<|endoftext|>` (id 0, also bos/eos). Loads with both `GPT2TokenizerFast` and
  `GPT2Tokenizer` (the script checks they agree).

## Data
`bible -f "Gen1:1-Rev22:21"` (Debian `bible-kjv`), verse references stripped. Each chapter is
one document with verses separated by `\\n`; documents are separated by `<|endoftext|>`.
Every 50th chapter (chapter index % 50 == 49, 23 chapters) is held out for validation and
is not seen by the tokenizer trainer. Train: {r['train_tokens']:,} tokens; validation:
{r['val_tokens']:,} tokens.

## Training
```
{r['command']}
```
AdamW (betas 0.9/0.95, weight decay 0.1), lr {a['lr']} with {a['warmup']} warm-up steps and
cosine decay to 10%, {a['steps']} steps × {a['batch']} sequences × {a['block']} tokens
({r['tokens_seen']:,} tokens, ~{r['tokens_seen'] / r['train_tokens']:.1f} epochs). Deterministic
given `--seed`. Training took **{r['train_seconds'] / 60:.1f} min** wall ({r['total_seconds'] / 60:.1f}
min including tokenizer and evaluation; {r['cpu_seconds'] / 60:.1f} min of CPU time for the
whole script) on {r['machine']}. {BLAS_NOTE}

## Metrics (cross-entropy per token, nats)
| | train | validation |
|---|---|---|
| fp32 (end of training) | {m['fp32']['train_loss']:.3f} | {m['fp32']['val_loss']:.3f} |
| saved fp16 checkpoint, upcast to fp32 | {m['fp16_checkpoint']['train_loss']:.3f} | {m['fp16_checkpoint']['val_loss']:.3f} |

Train loss is measured on a fixed seeded sample of training windows, 4× the validation size.

| step | train loss (EMA) | val loss | seconds |
|---|---|---|---|
{hist}

Greedy continuations from the saved fp16 checkpoint (40 new tokens):
{samples}

{LICENCE}
"""


def bert_card():
    r = load("assets/bert-kjv-nsp")
    e = json.loads((REPO / "assets/bert-kjv-nsp/eval.json").read_text())
    a, t = r["args"], r["test_accuracy"]
    cls_points = [h for h in r["history"] if h["phase"] == "classifier"]
    mlm_points = [h for h in r["history"] if h["phase"] == "mlm"]
    hist = "\n".join(f"| {h['step']} | {h['train_loss_ema']:.3f} | {h['train_accuracy_ema']:.3f} | "
                     f"{h['val_loss']:.3f} | {h['val_accuracy']:.3f} | {h['seconds']:.0f} |"
                     for h in cls_points)
    mlm_curve = ", ".join(f"{h['mlm_loss_ema']:.2f} (step {h['step']})" for h in mlm_points)
    question, labels, data = {
        "next": ("is sentence B the verse that follows sentence A?",
                 "`0 = not_next`, `1 = next`",
                 "One example per verse that has a successor in its chapter: a seeded coin picks "
                 "the true next verse (`next`) or a random other verse from the same split "
                 "(`not_next`)"),
        "same_book": ("is sentence B from the same book of the Bible as sentence A?",
                      "`0 = other_book`, `1 = same_book`",
                      "One example per verse: a seeded coin picks another verse of the same book "
                      "(`same_book`) or a verse of a different book (`other_book`), both from the "
                      "same split"),
    }[a["task"]]

    def acc(k):
        return f"{t[k]['accuracy']:.4f} ({t[k]['correct']}/{t[k]['rows']})"
    mlm_text = (f"{a['mlm_steps']} steps of masked-LM only (lr {a['mlm_lr']}; BERT's 15% / 80-10-10 "
                f"masking, head tied to the word embeddings and discarded; loss EMA {mlm_curve}), then "
                if a["mlm_steps"] else "")
    aux_text = (f", keeping the masked-LM loss at weight {a['mlm_weight']} (the classifier then "
                f"sees the masked inputs, as in BERT pre-training)" if a["mlm_weight"] else "")
    return f"""# bert-kjv-nsp

A tiny BERT (`BertForSequenceClassification`) trained from scratch on the King James Bible
for one question: **{question}**
Labels: {labels}. It exists so vkinfer's README can show a real classifier with no download;
it is not useful beyond demos and tests.

## Model
- {a['layers']} layers, hidden {a['hidden']}, {a['heads']} heads, intermediate {a['intermediate']},
  max positions 128, 2 token types: **{r['parameters']:,} parameters**.
- Stored as fp16 safetensors: `model.safetensors` is **{r['model_bytes']:,} bytes**.
- Tokenizer: lower-cased WordPiece, vocabulary {a['vocab_size']}, trained on the training split
  (`BertTokenizerFast` and `BertTokenizer` both load it; the script checks they agree).
  Pairs are truncated (longest first) to 128 tokens.

## Data
`bible -f "Gen1:1-Rev22:21"` (Debian `bible-kjv`), references stripped. Split by chapter so no
verse is shared: chapter index % 20 == 9 → validation, == 19 → test, the rest → training
(59 / 59 / 1071 chapters). {data}; negatives are redrawn on every pass over the training data.
{r['train_examples_per_pass']:,} training examples per pass, {r['val_examples']:,} validation
(the learning curve uses a fixed sample of {r['val_curve_rows']:,}), {r['test_examples']:,} test.

`test_split.tsv` holds {e['rows']} balanced rows of the test split (`text<TAB>pair<TAB>label`,
header line first, label 0/1), for checking vkinfer's accuracy against `eval.json`.

## Training
```
{r['command']}
```
{mlm_text}{a['steps']} steps of the classifier{aux_text}. Each phase: AdamW (weight decay 0.01),
5% warm-up then linear decay to zero, classifier lr {a['lr']}, batch {a['batch']}, dropout 0.1,
length-bucketed batches. Deterministic given `--seed` (and the thread count). Training took
**{r['train_seconds'] / 60:.1f} min** wall ({r['mlm_seconds'] / 60:.1f} min of it masked-LM;
{r['total_seconds'] / 60:.1f} min in all, {r['cpu_seconds'] / 60:.1f} min of CPU time for the whole
script) on {r['machine']}. {BERT_BLAS_NOTE}

| classifier step | train loss (EMA) | train acc (EMA) | val loss | val accuracy | seconds since training began |
|---|---|---|---|---|---|
{hist}

## Metrics (held-out test split; chance is 0.5)
| | full test split | `test_split.tsv` |
|---|---|---|
| fp32 (end of training) | {acc('fp32_full_test')} | {acc('fp32_test_split_tsv')} |
| saved fp16 checkpoint, upcast to fp32 | {acc('fp16_full_test')} | {acc('fp16_test_split_tsv')} |

Full validation split: {r['val_accuracy_full']['accuracy']:.4f}. `eval.json` records the last
cell: {e['correct']}/{e['rows']} = {e['accuracy']}.

{LICENCE}
"""


def main():
    # A folder without a training report has not been trained.
    for folder, card in (("assets/gpt2-kjv", gpt2_card), ("assets/bert-kjv-nsp", bert_card)):
        if (REPO / folder / "training_report.json").exists():
            (REPO / folder / "README.md").write_text(card())


if __name__ == "__main__":
    main()
