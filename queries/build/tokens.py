"""Tokenisation of article text into words and word runs, for unigram and bigram counting.

A *word* is a maximal run of letters and digits, with single inner apostrophes or hyphens
(`don't`, `O'Brien`, `well-known`, `1990s`, `mp3`), that contains at least one letter.
Curly apostrophes (U+2019) count as `'`. Case is kept: the matcher
(`queries.matcher`) is case-sensitive, so `Paris` and `paris` are different entries.
Pure numbers (`1990`, `3.14`), punctuation, symbols and the periods of `U.S.` are not
words.

A *run* is a sequence of words each separated from the next by exactly one space: a bigram
is two consecutive words of a run. Anything else between two words (punctuation, a
number, a line break) ends the run, because the matcher finds `"x y"` only where the text
has `x`, one space, `y`. Text from `queries.build.wikitext.strip_markup` has its spaces
collapsed, so words one space apart in the rendered article are one space apart here.

Every word counts once towards N, the token total used by PMI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def word_runs(text: str) -> Iterator[list[str]]:
    """Runs of words (module doc) in `text`, in order; every word is in exactly one run."""
    text = text.replace("\u2019", "'")
    run: list[str] = []
    end = -1
    for m in _TOKEN.finditer(text):
        token = m.group()
        if not _HAS_LETTER.search(token):
            if run:
                yield run
            run, end = [], -1
            continue
        if run and not (m.start() == end + 1 and text[end] == " "):
            yield run
            run = []
        run.append(token)
        end = m.end()
    if run:
        yield run


def words(text: str) -> list[str]:
    """All words of `text` in order (the unigram stream)."""
    return [w for run in word_runs(text) for w in run]
