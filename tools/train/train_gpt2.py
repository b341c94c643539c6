"""Trains vkinfer's bundled GPT-2 model on the King James Bible, on CPU, from scratch.

It writes an ordinary Hugging Face folder (fp16 safetensors, a byte-level BPE GPT-2
tokenizer loadable by both GPT2TokenizerFast and GPT2Tokenizer, generation_config.json
and a model card) so that the README's run command shows real text with no download.

Text layout: every chapter is one document, its verses joined by "\n" (verse references
stripped), documents separated by <|endoftext|>. Every 50th chapter (chapter_index % 50 ==
49) is held out for validation and is not seen by the tokenizer trainer either.

Determinism: given --seed the tokenizer, the initial weights and the batch order are fixed,
and torch runs single-threaded with deterministic algorithms, so a rerun on the same
machine reproduces the same weights. The step count is fixed, not time-based, for the
same reason.

Usage (from the repo root):
  .venv/bin/python tools/train/train_gpt2.py --out assets/gpt2-kjv --seed 0
"""

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time

# The tokenizer trainers use rayon; one thread keeps merge tie-breaking out of scheduling's hands.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import torch  # noqa: E402
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer, GPT2TokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kjv_corpus  # noqa: E402

EOT = "<|endoftext|>"
VALIDATION_EVERY = 50  # every 50th chapter (index % 50 == 49) is validation: 23 chapters


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (HF model folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--n-embd", type=int, default=192)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=6)
    p.add_argument("--block", type=int, default=256, help="context length = n_positions")
    p.add_argument("--batch", type=int, default=16, help="sequences per step")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=60)
    p.add_argument("--eval-every", type=int, default=200)
    return p.parse_args()


def chapter_text(chapter):
    return "\n".join(v.text for v in chapter)


def train_tokenizer(train_docs, vocab_size, out_dir):
    """Byte-level BPE like GPT-2's, saved through GPT2TokenizerFast so both the fast and
    the slow (vocab.json + merges.txt) GPT-2 tokenizers load it."""
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(train_docs, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=[EOT], show_progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        bpe.save_model(tmp)
        tok = GPT2TokenizerFast(vocab_file=os.path.join(tmp, "vocab.json"),
                                merges_file=os.path.join(tmp, "merges.txt"),
                                unk_token=EOT, bos_token=EOT, eos_token=EOT,
                                add_prefix_space=False)
    tok.model_max_length = 256
    tok.save_pretrained(out_dir)
    return tok


def check_tokenizers_agree(out_dir, texts):
    """The C++ tokenizer will be checked against HF; HF's two GPT-2 tokenizers must first
    agree with each other on this vocabulary, or the folder is not an ordinary GPT-2 one."""
    fast = GPT2TokenizerFast.from_pretrained(out_dir)
    slow = GPT2Tokenizer.from_pretrained(out_dir)
    for text in texts:
        a, b = fast.encode(text), slow.encode(text)
        if a != b:
            raise SystemExit(f"fast and slow GPT-2 tokenizers disagree on {text[:60]!r}")
        if fast.decode(a) != text:
            raise SystemExit(f"tokenizer does not round-trip {text[:60]!r}")


def token_stream(tok, docs):
    eot_id = tok.convert_tokens_to_ids(EOT)
    ids = []
    for doc in docs:
        ids.extend(tok.encode(doc))
        ids.append(eot_id)
    return torch.tensor(ids, dtype=torch.long)


def blocks(stream, block):
    """Non-overlapping (block + 1)-token windows; input = w[:-1], target = w[1:]."""
    n = (len(stream) - 1) // block
    return torch.stack([stream[i * block: i * block + block + 1] for i in range(n)])


@torch.no_grad()
def mean_loss(model, windows, batch=32):
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch):
        w = windows[i:i + batch]
        logits = model(w[:, :-1]).logits.float()
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), w[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += w[:, 1:].numel()
    model.train()
    return total / count


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def greedy(model, tok, prompt, new_tokens=40):
    ids = tok(prompt, return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=new_tokens, do_sample=False,
                         pad_token_id=tok.eos_token_id)
    return tok.decode(out[0][ids.shape[1]:])


def main():
    args = parse_args()
    torch.set_num_threads(1)  # shared 2-core build machine; also keeps results reproducible
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    chapters = kjv_corpus.chapters(kjv_corpus.load_verses())
    is_val = [c[0].chapter_index % VALIDATION_EVERY == VALIDATION_EVERY - 1 for c in chapters]
    train_docs = [chapter_text(c) for c, v in zip(chapters, is_val) if not v]
    val_docs = [chapter_text(c) for c, v in zip(chapters, is_val) if v]

    tok = train_tokenizer(train_docs, args.vocab_size, args.out)
    check_tokenizers_agree(args.out, val_docs[:5] + ["And God said, Let there be light.\n"])
    train_w = blocks(token_stream(tok, train_docs), args.block)
    val_w = blocks(token_stream(tok, val_docs), args.block)
    print(f"train {len(train_w)} windows, val {len(val_w)} windows of {args.block} tokens",
          flush=True)

    eot_id = tok.convert_tokens_to_ids(EOT)
    config = GPT2Config(vocab_size=len(tok), n_positions=args.block, n_embd=args.n_embd,
                        n_layer=args.n_layer, n_head=args.n_head,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=eot_id, eos_token_id=eot_id)
    model = GPT2LMHeadModel(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params} parameters", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    order_gen = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(len(train_w), generator=order_gen)
    cursor = 0
    history = []
    train_started = time.time()
    running = None
    for step in range(args.steps):
        if cursor + args.batch > len(order):  # next epoch, new deterministic shuffle
            order = torch.randperm(len(train_w), generator=order_gen)
            cursor = 0
        w = train_w[order[cursor:cursor + args.batch]]
        cursor += args.batch
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        logits = model(w[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, config.vocab_size),
                                                 w[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            val = mean_loss(model, val_w)
            elapsed = time.time() - train_started
            history.append({"step": step + 1, "train_loss_ema": round(running, 4),
                            "val_loss": round(val, 4), "seconds": round(elapsed, 1)})
            print(json.dumps(history[-1]), flush=True)
    train_seconds = time.time() - train_started

    # Final losses measured the same way on both splits (full pass, fp32), then again on
    # the fp16 checkpoint upcast to fp32, which is what vkinfer will load.
    train_eval = train_w[torch.randperm(len(train_w), generator=torch.Generator()
                                        .manual_seed(args.seed))[:len(val_w) * 4]]
    metrics = {"fp32": {"train_loss": mean_loss(model, train_eval),
                        "val_loss": mean_loss(model, val_w)}}
    model.generation_config.do_sample = False
    model.generation_config.max_new_tokens = 32
    model.generation_config.pad_token_id = eot_id
    fp32_sample = greedy(model, tok, "And God said")
    model.half()
    model.save_pretrained(args.out, safe_serialization=True)

    reloaded = GPT2LMHeadModel.from_pretrained(args.out, torch_dtype=torch.float32)
    metrics["fp16_checkpoint"] = {"train_loss": mean_loss(reloaded, train_eval),
                                  "val_loss": mean_loss(reloaded, val_w)}
    samples = {p: greedy(reloaded, tok, p) for p in
               ["And God said", "In the beginning", "Blessed are the", "The LORD is my"]}
    report = {
        "command": "python tools/train/train_gpt2.py " + " ".join(sys.argv[1:]),
        "args": vars(args), "parameters": n_params,
        "train_tokens": int(train_w.numel() - len(train_w)),
        "val_tokens": int(val_w.numel() - len(val_w)),
        "tokens_seen": args.steps * args.batch * args.block,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - started, 1),
        # CPU time says what the run costs; wall time also counts other jobs on a shared box.
        "cpu_seconds": round(time.process_time(), 1),
        "machine": f"{platform.processor() or platform.machine()}, torch "
                   f"{torch.__version__}, 1 thread",
        "metrics": metrics, "history": history,
        "greedy_fp32_and_god_said": fp32_sample, "greedy_fp16_checkpoint": samples,
        "model_bytes": os.path.getsize(os.path.join(args.out, "model.safetensors")),
    }
    with open(os.path.join(args.out, "training_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: report[k] for k in ("metrics", "train_seconds", "model_bytes")}))
    for p, s in samples.items():
        print(repr(p + s))


if __name__ == "__main__":
    main()
