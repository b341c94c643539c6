"""Trains vkinfer's bundled BERT classifier on the King James Bible, on CPU, from scratch.

Task ("next verse"): given sentence A (a verse) and sentence B, is B the verse that follows
A in the same chapter? Balanced: for each A a seeded coin picks either the true next verse
(label 1, "next") or a random other verse of the same split (label 0, "not_next").

Splits are by chapter so no verse is shared between them: chapter_index % 20 == 9 is
validation, == 19 is test, everything else is training (negatives are drawn within the
split too). The WordPiece vocabulary (lower-cased) is trained on the training split only.

Outputs an ordinary Hugging Face folder (fp16 safetensors, BertTokenizerFast files that
the slow BertTokenizer also loads, model card), plus test_split.tsv (a fixed, balanced
sample of the test split) and eval.json (the accuracy PyTorch gets on exactly that file with
the saved fp16 checkpoint upcast to fp32), so vkinfer's own accuracy can be checked.

Usage (from the repo root):
  .venv/bin/python tools/train/train_bert.py --out assets/bert-kjv-nsp --seed 0
"""

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time

import torch
from tokenizers import BertWordPieceTokenizer
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer, \
    BertTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kjv_corpus  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ID2LABEL = {0: "not_next", 1: "next"}
MAX_LEN = 128


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (HF model folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--test-rows", type=int, default=500)
    return p.parse_args()


def split_of(chapter_index):
    r = chapter_index % 20
    return "val" if r == 9 else "test" if r == 19 else "train"


def train_tokenizer(train_texts, vocab_size, out_dir):
    wp = BertWordPieceTokenizer(lowercase=True, clean_text=True, handle_chinese_chars=True,
                                strip_accents=None)
    wp.train_from_iterator(train_texts, vocab_size=vocab_size, min_frequency=2,
                           special_tokens=SPECIAL, show_progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        wp.save_model(tmp)
        tok = BertTokenizerFast(vocab_file=os.path.join(tmp, "vocab.txt"), do_lower_case=True)
    tok.model_max_length = MAX_LEN
    tok.save_pretrained(out_dir)
    return tok


def check_tokenizers_agree(out_dir, pairs):
    """vkinfer's tokenizer will be compared with HF's; the fast and the slow HF BERT
    tokenizers must agree on this vocabulary first."""
    fast = BertTokenizerFast.from_pretrained(out_dir)
    slow = BertTokenizer.from_pretrained(out_dir)
    for a, b in pairs:
        if fast(a, b).input_ids != slow(a, b).input_ids:
            raise SystemExit(f"fast and slow BERT tokenizers disagree on {a[:60]!r}")


def make_examples(chapters, rng):
    """One example per verse that has a successor in its chapter; label by coin flip."""
    pool = [v.text for c in chapters for v in c]
    examples = []
    for chapter in chapters:
        for a, nxt in zip(chapter, chapter[1:]):
            if rng.random() < 0.5:
                examples.append((a.text, nxt.text, 1))
            else:
                other = rng.choice(pool)
                while other in (nxt.text, a.text):  # repeated verses exist; keep labels true
                    other = rng.choice(pool)
                examples.append((a.text, other, 0))
    return examples


def encode(tok, examples):
    enc = tok([e[0] for e in examples], [e[1] for e in examples], truncation=True,
              max_length=MAX_LEN, padding=True, return_tensors="pt")
    enc["labels"] = torch.tensor([e[2] for e in examples])
    return enc


def length_bucketed_batches(tok, examples, batch, rng):
    """Shuffled batches of similar length, so padding wastes little single-thread time."""
    examples = examples[:]
    rng.shuffle(examples)
    chunk = batch * 50
    batches = []
    for i in range(0, len(examples), chunk):
        part = sorted(examples[i:i + chunk], key=lambda e: len(e[0]) + len(e[1]))
        batches += [part[j:j + batch] for j in range(0, len(part), batch)]
    rng.shuffle(batches)
    return batches


@torch.no_grad()
def accuracy(model, tok, examples, batch=64):
    model.eval()
    correct = 0
    for i in range(0, len(examples), batch):
        enc = encode(tok, examples[i:i + batch])
        labels = enc.pop("labels")
        correct += (model(**enc).logits.argmax(-1) == labels).sum().item()
    model.train()
    return correct, len(examples)


def read_tsv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["text", "pair", "label"], rows[0]
    return [(a, b, int(label)) for a, b, label in rows[1:]]


def main():
    args = parse_args()
    torch.set_num_threads(1)  # shared 2-core build machine; also keeps results reproducible
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    chapters = kjv_corpus.chapters(kjv_corpus.load_verses())
    by_split = {s: [c for c in chapters if split_of(c[0].chapter_index) == s]
                for s in ("train", "val", "test")}
    tok = train_tokenizer([v.text for c in by_split["train"] for v in c], args.vocab_size,
                          args.out)
    val = make_examples(by_split["val"], rng)
    test = make_examples(by_split["test"], rng)
    check_tokenizers_agree(args.out, [(a, b) for a, b, _ in val[:50]])
    print({s: len(c) for s, c in by_split.items()}, "chapters;", len(val), "val,",
          len(test), "test examples", flush=True)

    config = BertConfig(vocab_size=len(tok), hidden_size=args.hidden,
                        num_hidden_layers=args.layers, num_attention_heads=args.heads,
                        intermediate_size=4 * args.hidden, max_position_embeddings=MAX_LEN,
                        type_vocab_size=2, id2label=ID2LABEL,
                        label2id={v: k for k, v in ID2LABEL.items()},
                        pad_token_id=tok.pad_token_id)
    model = BertForSequenceClassification(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params} parameters", flush=True)

    # Fresh negatives every epoch (seeded) give the small model more distinct pairs.
    epochs = [make_examples(by_split["train"], rng) for _ in range(args.epochs)]
    plan = [length_bucketed_batches(tok, ex, args.batch, rng) for ex in epochs]
    total_steps = sum(len(p) for p in plan)
    warmup = total_steps // 20
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / (total_steps - warmup))))
    history = []
    train_started = time.time()
    step, running = 0, None
    for epoch, batches in enumerate(plan):
        for b in batches:
            enc = encode(tok, b)
            loss = model(**enc).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if step % 200 == 0:
                print(json.dumps({"step": step, "of": total_steps, "loss_ema": round(running, 4),
                                  "seconds": round(time.time() - train_started, 1)}), flush=True)
        c, n = accuracy(model, tok, val)
        history.append({"epoch": epoch + 1, "train_loss_ema": round(running, 4),
                        "val_accuracy": round(c / n, 4),
                        "seconds": round(time.time() - train_started, 1)})
        print(json.dumps(history[-1]), flush=True)
    train_seconds = time.time() - train_started

    # A fixed, balanced sample of the test split for vkinfer to re-check later.
    sample_rng = random.Random(args.seed + 1)
    positives = [e for e in test if e[2] == 1]
    negatives = [e for e in test if e[2] == 0]
    sample_rng.shuffle(positives)
    sample_rng.shuffle(negatives)
    half = args.test_rows // 2
    rows = positives[:half] + negatives[:half]
    sample_rng.shuffle(rows)
    tsv_path = os.path.join(args.out, "test_split.tsv")
    with open(tsv_path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n")
        w.writerow(["text", "pair", "label"])
        w.writerows(rows)
    rows = read_tsv(tsv_path)  # evaluate exactly what was written

    full_fp32 = accuracy(model, tok, test)
    tsv_fp32 = accuracy(model, tok, rows)
    model.half()
    model.save_pretrained(args.out, safe_serialization=True)
    reloaded = BertForSequenceClassification.from_pretrained(args.out, torch_dtype=torch.float32)
    full_fp16 = accuracy(reloaded, tok, test)
    tsv_fp16 = accuracy(reloaded, tok, rows)
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump({"rows": tsv_fp16[1], "accuracy": round(tsv_fp16[0] / tsv_fp16[1], 4),
                   "correct": tsv_fp16[0],
                   "computed_with": "transformers 4.40.2, fp16 checkpoint upcast to fp32"},
                  f, indent=1)
        f.write("\n")

    def acc(cn):
        return {"correct": cn[0], "rows": cn[1], "accuracy": round(cn[0] / cn[1], 4)}
    report = {
        "command": "python tools/train/train_bert.py " + " ".join(sys.argv[1:]),
        "args": vars(args), "parameters": n_params, "train_steps": total_steps,
        "train_examples_per_epoch": len(epochs[0]), "val_examples": len(val),
        "test_examples": len(test),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - started, 1),
        "machine": f"{platform.processor() or platform.machine()}, torch "
                   f"{torch.__version__}, 1 thread",
        "history": history,
        "test_accuracy": {"fp32_full_test": acc(full_fp32), "fp16_full_test": acc(full_fp16),
                          "fp32_test_split_tsv": acc(tsv_fp32),
                          "fp16_test_split_tsv": acc(tsv_fp16)},
        "model_bytes": os.path.getsize(os.path.join(args.out, "model.safetensors")),
    }
    with open(os.path.join(args.out, "training_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report["test_accuracy"]), report["train_seconds"], report["model_bytes"])


if __name__ == "__main__":
    main()
