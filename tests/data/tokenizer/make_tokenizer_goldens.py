"""Makes tokenizer_goldens.json: Hugging Face's ids and decoded text for the
tokenizer tests (tests/tokenizer_test.cpp).

The corpus is the tricky one in ../shared/golden/tokenizers.json plus extra
strings that stress what that file does not: emoji and CJK under byte
fallback, accents, whitespace runs, numbers, contractions, special tokens
written inside the text, and bytes that are not valid UTF-8 on decode.

Run from the repository root:
  /work/main/.venv/bin/python tests/data/tokenizer/make_tokenizer_goldens.py
"""
import json
import os
import sys

import transformers
from transformers import AutoTokenizer, BertTokenizer, GPT2Tokenizer

SHARED = os.environ.get("VKINFER_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../../shared"))
OUT = os.path.join(os.path.dirname(__file__), "tokenizer_goldens.json")

EXTRA = [
    "Emoji only: 🙂🙃😀👩‍👩‍👧‍👦🇯🇵",
    "漢字とかなカナ、한글, 中文标点。",
    "Crème brûlée à la façon de Noël; ĳ ǅ Ǆ ǆ",
    "ﬁnancial ﬂow ＦＵＬＬＷＩＤＴＨ １２３",
    "spaces    four, tabs\t\t\ttwo, newline\r\nwindows\n\n",
    "   leading three",
    "trailing three   ",
    "\n\nstarts with newlines",
    "3.14159265358979 1,000,000 0x1F 1e+10 -0.5 ½ ² ٣ ௫",
    "I can't won't shouldn't y'all o'clock 'tis ''double'' rock'n'roll",
    "The END. HELLO? okay! x , y ' z n't",
    "a<|endoftext|>b <|endoftext|> c<|endoftext|>",
    "[CLS] hello [SEP] world [MASK] end [UNK]",
    "<s>Hello</s> world <unk>",
    "Ω≈ç√∫˜µ≤≥÷ åß∂ƒ©˙∆˚¬…æ",
    "control\x01\x02chars\x7f and\u2028line\u2029separators",
    "Lily and Ben went to the park. They saw a big, red ball!",
    # GPT-2's merges.txt has "Ġ Cla ude" whose result is not in vocab.json:
    # the slow tokenizer maps it to <|endoftext|> (its unk token).
    "Claude and  Claude and Claudette",
]

# Ids for decode-only cases: byte tokens that do or do not form valid UTF-8.
def llama_byte_ids(tok, hex_bytes):
    return [tok.convert_tokens_to_ids(f"<0x{b:02X}>") for b in hex_bytes]


def main():
    base = json.load(open(os.path.join(SHARED, "golden/tokenizers.json")))
    corpus = [e["text"] for e in base["gpt2"]] + EXTRA
    pairs = [(e["text"], e["pair"]) for e in base["bert-base-uncased-pairs"]] + [
        ("Short one.", "A considerably longer second sentence that goes on and on for a while."),
        ("A considerably longer first sentence that goes on and on for a while.", "Short two."),
        ("equal length text here", "equal length text there"),
    ]
    out = {"reference": f"transformers {transformers.__version__}; made by make_tokenizer_goldens.py"}

    llama = AutoTokenizer.from_pretrained(os.path.join(SHARED, "models/stories260K"))
    gpt2 = GPT2Tokenizer.from_pretrained(os.path.join(SHARED, "models/gpt2-tokenizer"))
    gpt2_fast = None  # the venv's tokenizers cannot parse this newer tokenizer.json; the slow one is the reference
    bert = BertTokenizer.from_pretrained(os.path.join(SHARED, "models/bert-base-uncased-tokenizer"))

    def singles(tok, fast=None):
        rows = []
        for text in corpus:
            ids = tok(text)["input_ids"]
            row = {
                "text": text,
                "ids": ids,
                "ids_no_special": tok(text, add_special_tokens=False)["input_ids"],
                "decoded": tok.decode(ids),
                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            }
            if fast is not None:
                assert fast(text)["input_ids"] == ids, f"slow and fast GPT-2 disagree on {text!r}"
            rows.append(row)
        return rows

    def pair_rows(tok, max_lengths):
        rows = []
        for a, b in pairs:
            for max_length in max_lengths:
                kw = {"truncation": True, "max_length": max_length} if max_length else {}
                enc = tok(a, b, **kw)
                rows.append({"text": a, "pair": b, "max_length": max_length,
                             "ids": enc["input_ids"], "type_ids": enc.get("token_type_ids")})
        return rows

    out["stories260K"] = singles(llama)
    out["stories260K-pairs"] = pair_rows(llama, [0])
    out["gpt2"] = singles(gpt2, gpt2_fast)
    out["bert-base-uncased"] = singles(bert)
    out["bert-base-uncased-pairs"] = pair_rows(bert, [0, 8, 13, 16, 21])

    # Decode-only: sequences a model may generate that no encode produces.
    dec = []
    for hexes in ([0xE2, 0x82, 0xAC], [0xE2, 0x82], [0xE2, 0x82, 0xAC, 0xFF], [0xF0, 0x9F], [0x80], [0xC3, 0xA9, 0xE2]):
        for tail in ([], llama.convert_tokens_to_ids(["▁a"])):
            ids = [1] + llama_byte_ids(llama, hexes) + tail
            dec.append({"tokenizer": "stories260K", "ids": ids, "decoded": llama.decode(ids),
                        "decoded_skip_special": llama.decode(ids, skip_special_tokens=True)})
    # GPT-2 single-byte tokens: ids of the byte-level characters for raw bytes.
    enc = {b: gpt2.byte_encoder[b] for b in range(256)}
    for hexes in ([0xE2, 0x82, 0xAC], [0xE2, 0x82], [0xE2, 0x82, 0xAC, 0xFF, 0x41], [0xF0, 0x9F, 0x41], [0x80, 0xC3]):
        ids = [gpt2.convert_tokens_to_ids(enc[b]) for b in hexes] + [50256]
        dec.append({"tokenizer": "gpt2", "ids": ids, "decoded": gpt2.decode(ids),
                    "decoded_skip_special": gpt2.decode(ids, skip_special_tokens=True)})
    out["decode"] = dec

    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {sum(len(v) for v in out.values() if isinstance(v, list))} cases")


if __name__ == "__main__":
    sys.exit(main())
