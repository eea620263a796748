"""Which query-list entries a text contains, by MetaCLIP's substring rule.

The rule (MetaCLIP's, so results compare with the leading open reproduction):

1. turn tab, newline and carriage return into spaces;
2. pad each of `, . ; : ? ! `` ` (comma, period, semicolon, colon, question mark,
   exclamation mark, backtick) with a space on both sides;
3. wrap the text in spaces;
4. entry `e` matches when `" " + e + " "` occurs in that text. Case-sensitive.

So "a dog." and "dog, cat" match "dog"; "dogs", "dog's", "(dog)" and "Dog" do not;
"hot dog" matches both "hot dog" and "dog"; "U.S." never matches (its periods are
padded apart in the text, not in the entry).

Why it is fast: after steps 1-3 every space in the padded text is a boundary, so
`" " + e + " "` occurs exactly when the space-separated tokens of `e` occur as a
contiguous run of the text's tokens (`text.split(" ")`, empty tokens included). So
matching is a lookup per token and per run of tokens, not a scan of every character
through an Aho-Corasick automaton, with exactly the same answers. `match` does it per
text with Python sets (one-token entries against the tokens, two-token entries against
adjacent pairs, longer ones checked from their first two tokens); `match_batch` does it
for a whole batch in numpy (`queries.columnar`: no Python object per token, one cache
line per token lookup), falling back to `match` for small batches and very long texts.

Languages written without spaces (`language="zh"`, `"ja"`, `"ko"`; `queries.segment`): entries
and texts are first split into words by the language's segmenter (the one the list was built
with), so an entry matches when its words occur as a run of the text's words. Only texts holding
a character of the language's script are segmented (others cannot hold its words and are
matched as they are). Results are the entries as given, never their segmented form. Other
languages match as above; a language we cannot segment raises `UnsupportedLanguage`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from queries.arrays import PADDED, TO_SPACE
from queries.columnar import ColumnarIndex
from queries.segment import SCRIPT_CHARS, segmenter, segmenter_kind

COLUMNAR_MIN_TEXTS = 64  # smaller batches: the per-text path if built (numpy's fixed costs)
CHUNK_TEXTS = 8192  # texts per columnar pass
CHUNK_CHARS = 1 << 20  # characters per columnar pass (arrays ~60 bytes per character)


def pad_text(text: str) -> str:
    """Steps 1-2 of the rule (without the wrapping spaces)."""
    for ch in TO_SPACE:
        if ch in text:
            text = text.replace(ch, " ")
    for ch in PADDED:
        if ch in text:
            text = text.replace(ch, f" {ch} ")
    return text


class QueryMatcher:
    """Matches texts against a fixed list of entries; build once, reuse across texts."""

    def __init__(self, entries: Iterable[str], language: str | None = None):
        entries = list(dict.fromkeys(entries))
        self.language = language
        kind = segmenter_kind(language)
        self._script = SCRIPT_CHARS[kind] if kind else None
        self._segment = segmenter(language)
        self._originals: dict[str, list[str]] | None = None
        if self._segment is not None:  # entries in segmented form -> the entries as given
            self._originals = {}
            for entry in entries:
                self._originals.setdefault(self._segment(entry), []).append(entry)
            entries = list(self._originals)
        self._columnar = ColumnarIndex(entries)
        # the per-text path's tables, built on first use (a batch job may never need them):
        self._unigrams: set[str] | None = None
        # (token, token) -> (the two-token entry or None, token tuples of longer entries
        # starting with those two tokens): one lookup per adjacent pair of the text.
        self._pairs: dict[tuple[str, str], tuple[str | None, tuple[tuple[str, ...], ...]]] = {}

    def _build_per_text(self) -> None:
        unigrams: set[str] = set()
        for entry in self._columnar.entries.tolist():
            tokens = tuple(entry.split(" "))
            if len(tokens) == 1:
                unigrams.add(entry)
                continue
            two, longer = self._pairs.get(tokens[:2], (None, ()))
            if len(tokens) == 2:
                two = entry
            else:
                longer = (*longer, tokens)
            self._pairs[tokens[:2]] = (two, longer)
        self._unigrams = unigrams

    def __len__(self) -> int:
        return len(self._columnar.entries)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_segment": None}  # a segmenter is rebuilt, not pickled

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._segment = segmenter(self.language)

    def _segmented(self, text: str) -> str:
        return self._segment(text) if self._script.search(text) else text

    def _as_given(self, found: list[str]) -> list[str]:
        originals = self._originals
        return sorted({e for f in found for e in originals[f]}) if found else found

    def match(self, text: str) -> list[str]:
        """The distinct entries `text` contains, sorted."""
        if self._segment is not None:
            return self._as_given(self._match(self._segmented(text)))
        return self._match(text)

    def _match(self, text: str) -> list[str]:
        if self._unigrams is None:
            self._build_per_text()
        tokens = pad_text(text).split(" ")
        found = self._unigrams.intersection(tokens)
        if len(tokens) > 1:
            hits = self._pairs.keys() & zip(tokens, tokens[1:])
            if hits:
                self._add_pair_hits(tokens, hits, found)
        return sorted(found)

    def match_batch(self, texts: Iterable[str]) -> list[list[str]]:
        """`match` over many texts, in order: column-wise (`queries.columnar`) in chunks."""
        texts = texts if isinstance(texts, list) else list(texts)
        if self._segment is not None:
            found = self._match_batch([self._segmented(t) for t in texts])
            return [self._as_given(f) for f in found]
        return self._match_batch(texts)

    def _match_batch(self, texts: list[str]) -> list[list[str]]:
        small = len(texts) < COLUMNAR_MIN_TEXTS and self._unigrams is not None
        if small or not self._columnar.usable:  # small: only once `match` built its tables
            return [self._match(t) for t in texts]
        lengths = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)))
        out: list[list[str]] = []
        start = 0
        while start < len(texts):
            base = lengths[start - 1] if start else 0
            stop = int(np.searchsorted(lengths, base + CHUNK_CHARS, side="right"))
            stop = min(max(stop, start + 1), start + CHUNK_TEXTS)
            if stop == start + 1 and lengths[start] - base > CHUNK_CHARS:
                out.append(self._match(texts[start]))  # one very long text
            else:
                out.extend(self._columnar.match_batch(texts[start:stop]))
            start = stop
        return out

    def _add_pair_hits(self, tokens: list[str], hits, found: set[str]) -> None:
        check_longer = False
        for pair in hits:
            two, longer = self._pairs[pair]
            if two is not None:
                found.add(two)
            check_longer = check_longer or bool(longer)
        if not check_longer:
            return
        for i in range(len(tokens) - 2):
            pair = (tokens[i], tokens[i + 1])
            if pair not in hits:
                continue
            for cand in self._pairs[pair][1]:
                if tuple(tokens[i : i + len(cand)]) == cand:
                    found.add(" ".join(cand))
