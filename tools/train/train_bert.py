"""Trains vkinfer's bundled BERT sentence-pair classifier on the King James Bible, on CPU,
from scratch.

Task ("next verse", the default): given sentence A (a verse) and sentence B, is B the verse
that follows A in the same chapter? Balanced: for each A a seeded coin picks either the true
next verse (label 1, "next") or a random other verse of the same split (label 0,
"not_next"); negatives are redrawn for every pass over the data. `--task same_book` is a
fallback ("is B from the same book as A?") kept for models that fail to learn next-verse.

Two phases, both step-counted (never time-based), so a seed fixes the run:
1. `--mlm-steps` of masked-LM only (BERT's 15% / 80-10-10 recipe) on the same pairs. A
   from-scratch post-LN BERT trained on the pair label alone sits at chance for a long
   time; this warm start gives it word representations and cross-segment attention first.
2. `--steps` of the pair classifier, with the MLM loss kept at `--mlm-weight`. The MLM
   head is tied to the word embeddings and thrown away; only
   BertForSequenceClassification is saved.
Each phase has its own AdamW with 5% warm-up and linear decay to zero.

Splits are by chapter so no verse is shared between them: chapter_index % 20 == 9 is
validation, == 19 is test, everything else is training (negatives are drawn within the
split too). The WordPiece vocabulary (lower-cased) is trained on the training split only.

Outputs an ordinary Hugging Face folder (fp16 safetensors, BertTokenizerFast files that
the slow BertTokenizer also loads), plus test_split.tsv (a fixed, balanced sample of the
test split), eval.json (the accuracy PyTorch gets on exactly that file with the saved fp16
checkpoint upcast to fp32) and training_report.json (write_model_cards.py renders the card).

Usage (from the repo root; see tools/train/README.md for the OpenBLAS environment):
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

# The tokenizer trainers use rayon; one thread keeps merge tie-breaking out of scheduling's hands.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import torch  # noqa: E402
from tokenizers import BertWordPieceTokenizer  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer, \
    BertTokenizerFast  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kjv_corpus  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LABELS = {"next": {0: "not_next", 1: "next"},
          "same_book": {0: "other_book", 1: "same_book"}}
# vkinfer pads to buckets from 128 up to max_position_embeddings, and truncates at it.
MAX_LEN = 128


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (HF model folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--task", choices=sorted(LABELS), default="next")
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=512)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--mlm-steps", type=int, default=0, help="masked-LM warm-start steps")
    p.add_argument("--mlm-lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=3000, help="classifier steps")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--mlm-weight", type=float, default=0.0,
                   help="weight of the auxiliary MLM loss during the classifier phase")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--val-rows", type=int, default=2000,
                   help="fixed validation sample used for the learning curve")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (OpenBLAS threads come from OPENBLAS_NUM_THREADS)")
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


def next_verse_examples(chapters, rng):
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


def same_book_examples(chapters, rng):
    """One example per verse: B is another verse of A's book (label 1) or a verse of a
    different book (label 0), both from the same split; books with one verse are skipped."""
    by_book = {}
    for c in chapters:
        by_book.setdefault(c[0].book, []).extend(v.text for v in c)
    books = sorted(by_book)
    examples = []
    for book in books:
        verses = by_book[book]
        for i, a in enumerate(verses):
            if len(verses) < 2:
                continue
            if rng.random() < 0.5:
                j = rng.randrange(len(verses) - 1)
                examples.append((a, verses[j + (j >= i)], 1))
            else:
                other = rng.choice([b for b in books if b != book])
                examples.append((a, rng.choice(by_book[other]), 0))
    return examples


def encode(tok, examples):
    enc = tok([e[0] for e in examples], [e[1] for e in examples], truncation=True,
              max_length=MAX_LEN, padding=True, return_tensors="pt")
    enc["labels"] = torch.tensor([e[2] for e in examples])
    return enc


def batch_stream(make_examples, chapters, batch, rng):
    """Endless shuffled batches of similar length (padding wastes little CPU time); every
    pass over the data draws fresh negatives."""
    while True:
        examples = make_examples(chapters, rng)
        rng.shuffle(examples)
        chunk = batch * 50
        batches = []
        for i in range(0, len(examples) - batch + 1, chunk):
            part = sorted(examples[i:i + chunk], key=lambda e: len(e[0]) + len(e[1]))
            batches += [part[j:j + batch] for j in range(0, len(part) - batch + 1, batch)]
        rng.shuffle(batches)
        yield from batches


@torch.no_grad()
def evaluate(model, tok, examples, batch=128):
    """(correct, rows, mean cross-entropy) of the classifier, in eval mode."""
    was_training = model.training
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(examples), batch):
        enc = encode(tok, examples[i:i + batch])
        labels = enc.pop("labels")
        logits = model(**enc).logits
        correct += (logits.argmax(-1) == labels).sum().item()
        loss += torch.nn.functional.cross_entropy(logits, labels, reduction="sum").item()
    model.train(was_training)
    return correct, len(examples), loss / len(examples)


class MaskedLmHead(torch.nn.Module):
    """BERT's MLM transform + decoder tied to the word embeddings; training-only."""

    def __init__(self, bert):
        super().__init__()
        h = bert.config.hidden_size
        self.transform = torch.nn.Sequential(torch.nn.Linear(h, h), torch.nn.GELU(),
                                             torch.nn.LayerNorm(h, eps=bert.config.layer_norm_eps))
        self.word_embeddings = bert.embeddings.word_embeddings
        self.bias = torch.nn.Parameter(torch.zeros(bert.config.vocab_size))

    def forward(self, hidden):
        return torch.nn.functional.linear(self.transform(hidden), self.word_embeddings.weight,
                                          self.bias)


def mask_tokens(tok, input_ids, special_mask):
    """BERT's recipe: 15% of real tokens are targets; of those 80% become [MASK], 10% a
    random token, 10% stay. Uses the global (seeded) torch RNG, so it is deterministic."""
    targets = input_ids.clone()
    chosen = (torch.rand(input_ids.shape) < 0.15) & ~special_mask
    targets[~chosen] = -100
    masked = input_ids.clone()
    to_mask = chosen & (torch.rand(input_ids.shape) < 0.8)
    masked[to_mask] = tok.mask_token_id
    to_random = chosen & ~to_mask & (torch.rand(input_ids.shape) < 0.5)
    masked[to_random] = torch.randint(len(SPECIAL), len(tok), input_ids.shape)[to_random]
    return masked, targets


def warmup_linear(opt, steps):
    warmup = max(1, steps // 20)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))


class Ema:
    def __init__(self):
        self.value = None

    def add(self, x):
        self.value = x if self.value is None else 0.98 * self.value + 0.02 * x
        return self.value


def run_phase(name, steps, lr, cls_weight, mlm_weight, model, mlm_head, tok, stream, val,
              eval_every, history, clock):
    """One training phase; appends learning-curve points to history."""
    if steps == 0:
        return
    params = list(model.parameters()) + [p for n, p in mlm_head.named_parameters()
                                         if not n.startswith("word_embeddings")]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = warmup_linear(opt, steps)
    special_ids = torch.tensor([tok.pad_token_id, tok.cls_token_id, tok.sep_token_id])
    cls_ema, acc_ema, mlm_ema = Ema(), Ema(), Ema()
    model.train()
    for step in range(1, steps + 1):
        enc = encode(tok, next(stream))
        inputs = enc["input_ids"]
        loss = torch.zeros(())
        if mlm_weight:
            inputs, mlm_targets = mask_tokens(tok, inputs, torch.isin(inputs, special_ids))
        out = model.bert(input_ids=inputs, attention_mask=enc["attention_mask"],
                         token_type_ids=enc["token_type_ids"])
        if mlm_weight:
            chosen = mlm_targets != -100  # decode only the ~15% targets: the vocab-wide
            mlm_logits = mlm_head(out.last_hidden_state[chosen])  # projection is the big cost
            mlm_loss = torch.nn.functional.cross_entropy(mlm_logits, mlm_targets[chosen])
            loss = loss + mlm_weight * mlm_loss
            mlm_ema.add(mlm_loss.item())
        if cls_weight:
            logits = model.classifier(model.dropout(out.pooler_output))
            cls_loss = torch.nn.functional.cross_entropy(logits, enc["labels"])
            loss = loss + cls_weight * cls_loss
            cls_ema.add(cls_loss.item())
            acc_ema.add((logits.argmax(-1) == enc["labels"]).float().mean().item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % eval_every == 0 or step == steps:
            point = {"phase": name, "step": step, "of": steps,
                     "seconds": round(time.time() - clock, 1)}
            if mlm_weight:
                point["mlm_loss_ema"] = round(mlm_ema.value, 4)
            if cls_weight:
                c, n, val_loss = evaluate(model, tok, val)
                point.update({"train_loss_ema": round(cls_ema.value, 4),
                              "train_accuracy_ema": round(acc_ema.value, 4),
                              "val_loss": round(val_loss, 4), "val_accuracy": round(c / n, 4)})
            history.append(point)
            print(json.dumps(point), flush=True)


def read_tsv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["text", "pair", "label"], rows[0]
    return [(a, b, int(label)) for a, b, label in rows[1:]]


def write_test_split(path, test, rows, seed):
    """A fixed, balanced sample of the test split for vkinfer to re-check later."""
    sample_rng = random.Random(seed + 1)
    positives = [e for e in test if e[2] == 1]
    negatives = [e for e in test if e[2] == 0]
    sample_rng.shuffle(positives)
    sample_rng.shuffle(negatives)
    picked = positives[:rows // 2] + negatives[:rows // 2]
    sample_rng.shuffle(picked)
    for a, b, _ in picked:  # the TSV has no quoting, so a tab or newline would break a row
        assert not any(ch in s for s in (a, b) for ch in "\t\n\r"), (a, b)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n")
        w.writerow(["text", "pair", "label"])
        w.writerows(picked)


def main():
    args = parse_args()
    # Fixed thread count: OpenBLAS/OpenMP partition work by thread count, so it is part of
    # what makes a rerun bit-identical.
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    make_examples = {"next": next_verse_examples, "same_book": same_book_examples}[args.task]
    id2label = LABELS[args.task]

    chapters = kjv_corpus.chapters(kjv_corpus.load_verses())
    by_split = {s: [c for c in chapters if split_of(c[0].chapter_index) == s]
                for s in ("train", "val", "test")}
    tok = train_tokenizer([v.text for c in by_split["train"] for v in c], args.vocab_size,
                          args.out)
    val_all = make_examples(by_split["val"], rng)
    test = make_examples(by_split["test"], rng)
    val = random.Random(args.seed + 2).sample(val_all, min(args.val_rows, len(val_all)))
    check_tokenizers_agree(args.out, [(a, b) for a, b, _ in val[:50]])
    print({s: len(c) for s, c in by_split.items()}, "chapters;", len(val_all), "val,",
          len(test), "test examples", flush=True)

    config = BertConfig(vocab_size=len(tok), hidden_size=args.hidden,
                        num_hidden_layers=args.layers, num_attention_heads=args.heads,
                        intermediate_size=args.intermediate, max_position_embeddings=MAX_LEN,
                        type_vocab_size=2, id2label=id2label,
                        label2id={v: k for k, v in id2label.items()},
                        pad_token_id=tok.pad_token_id)
    model = BertForSequenceClassification(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params} parameters", flush=True)
    mlm_head = MaskedLmHead(model.bert)
    stream = batch_stream(make_examples, by_split["train"], args.batch, rng)

    history = []
    train_started = time.time()
    run_phase("mlm", args.mlm_steps, args.mlm_lr, 0.0, 1.0, model, mlm_head, tok, stream,
              val, args.eval_every, history, train_started)
    mlm_seconds = time.time() - train_started
    run_phase("classifier", args.steps, args.lr, 1.0, args.mlm_weight, model, mlm_head, tok,
              stream, val, args.eval_every, history, train_started)
    train_seconds = time.time() - train_started

    tsv_path = os.path.join(args.out, "test_split.tsv")
    write_test_split(tsv_path, test, args.test_rows, args.seed)
    rows = read_tsv(tsv_path)  # evaluate exactly what was written

    full_val = evaluate(model, tok, val_all)
    full_fp32 = evaluate(model, tok, test)
    tsv_fp32 = evaluate(model, tok, rows)
    model.half()
    model.save_pretrained(args.out, safe_serialization=True)
    reloaded = BertForSequenceClassification.from_pretrained(args.out, torch_dtype=torch.float32)
    full_fp16 = evaluate(reloaded, tok, test)
    tsv_fp16 = evaluate(reloaded, tok, rows)
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
        "args": vars(args), "parameters": n_params,
        "train_examples_per_pass": len(make_examples(by_split["train"], random.Random(0))),
        "val_examples": len(val_all), "val_curve_rows": len(val), "test_examples": len(test),
        "mlm_seconds": round(mlm_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - started, 1),
        # CPU time says what the run costs; wall time also counts other jobs on a shared box.
        "cpu_seconds": round(time.process_time(), 1),
        "machine": f"{platform.processor() or platform.machine()}, torch "
                   f"{torch.__version__}, {args.threads} torch thread(s), OPENBLAS_NUM_THREADS="
                   f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        "history": history,
        "val_accuracy_full": acc(full_val),
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
