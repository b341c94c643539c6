"""Reads the King James Bible from Debian's `bible-kjv` package into verse records.

Both training scripts (GPT-2 language model, BERT next-verse classifier) share this so
that they see the same text and the same chapter-based split. `bible -f` prints one
verse per line as "<Book><chapter>:<verse> <text>"; the reference is stripped here so the
models learn the text itself, while (book, chapter, verse) stay available to keep verse
and chapter boundaries.

The KJV text is public domain (see /usr/share/doc/bible-kjv/copyright).
"""

import re
import subprocess
from dataclasses import dataclass

# The whole canon, Genesis 1:1 through Revelation 22:21.
WHOLE_BIBLE_RANGE = "Gen1:1-Rev22:21"
_REFERENCE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")


@dataclass(frozen=True)
class Verse:
    book: str         # the package's abbreviation, e.g. "Ge", "1Sm", "Rev"
    chapter: int      # 1-based within the book
    verse: int        # 1-based within the chapter
    chapter_index: int  # 0-based over the whole Bible (0..1188); the split key
    text: str         # the verse without its reference, whitespace normalised


def load_verses():
    """Runs `bible -f` and parses every line; fails loudly on anything unexpected."""
    try:
        out = subprocess.run(["bible", "-f", WHOLE_BIBLE_RANGE], check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise SystemExit("`bible` not found: install the Debian package bible-kjv "
                         "(apt-get install bible-kjv)")
    verses = []
    last_chapter_key = None
    chapter_index = -1
    for line_no, line in enumerate(out.splitlines(), 1):
        match = _REFERENCE.match(line)
        if not match:
            raise SystemExit(f"bible -f output line {line_no} has no verse reference: {line!r}")
        book, chapter, verse, text = match.groups()
        key = (book, int(chapter))
        if key != last_chapter_key:
            chapter_index += 1
            last_chapter_key = key
        verses.append(Verse(book, int(chapter), int(verse), chapter_index,
                            " ".join(text.split())))
    # 31,102 verses in 1,189 chapters is the Protestant KJV canon; anything else means the
    # package printed something we did not expect and the split would silently change.
    if len(verses) != 31102 or chapter_index + 1 != 1189:
        raise SystemExit(f"expected 31102 verses in 1189 chapters from `bible -f`, got "
                         f"{len(verses)} verses in {chapter_index + 1} chapters")
    return verses


def chapters(verses):
    """Groups verses into chapters (lists), in canonical order."""
    grouped = []
    for v in verses:
        if not grouped or grouped[-1][0].chapter_index != v.chapter_index:
            grouped.append([])
        grouped[-1].append(v)
    return grouped
