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
contiguous run of the text's tokens (`text.split(" ")`, empty tokens included).
Matching is then set intersection: one-token entries against the text's tokens,
two-token entries against its token bigrams, longer entries checked from their
first two tokens. That is less work per text than scanning every character
through an Aho-Corasick automaton, with exactly the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable

_PADDED = (",", ".", ";", ":", "?", "!", "`")
_TO_SPACE = ("\t", "\n", "\r")


def pad_text(text: str) -> str:
    """Steps 1-2 of the rule (without the wrapping spaces)."""
    for ch in _TO_SPACE:
        if ch in text:
            text = text.replace(ch, " ")
    for ch in _PADDED:
        if ch in text:
            text = text.replace(ch, f" {ch} ")
    return text


class QueryMatcher:
    """Matches texts against a fixed list of entries; build once, reuse across texts."""

    def __init__(self, entries: Iterable[str]):
        self._unigrams: set[str] = set()
        self._bigrams: set[str] = set()
        # first two tokens joined -> token tuples of the entries with 3+ tokens
        self._long: dict[str, list[tuple[str, ...]]] = {}
        for entry in dict.fromkeys(entries):
            self._add(entry)
        self._long_prefixes = frozenset(self._long)

    def _add(self, entry: str) -> None:
        tokens = entry.split(" ")
        if len(tokens) == 1:
            self._unigrams.add(entry)
        elif len(tokens) == 2:
            self._bigrams.add(entry)
        else:
            self._long.setdefault(f"{tokens[0]} {tokens[1]}", []).append(tuple(tokens))

    def __len__(self) -> int:
        return len(self._unigrams) + len(self._bigrams) + sum(map(len, self._long.values()))

    def match(self, text: str) -> list[str]:
        """The distinct entries `text` contains, sorted."""
        tokens = pad_text(text).split(" ")
        found = self._unigrams.intersection(tokens)
        if len(tokens) > 1:
            pairs = set(map(" ".join, zip(tokens, tokens[1:])))
            found.update(self._bigrams.intersection(pairs))
            if self._long_prefixes and not self._long_prefixes.isdisjoint(pairs):
                found.update(self._match_long(tokens))
        return sorted(found)

    def match_batch(self, texts: Iterable[str]) -> list[list[str]]:
        """`match` over many texts, in order."""
        return [self.match(t) for t in texts]

    def _match_long(self, tokens: list[str]) -> list[str]:
        found = []
        for i in range(len(tokens) - 2):
            candidates = self._long.get(f"{tokens[i]} {tokens[i + 1]}")
            if not candidates:
                continue
            for cand in candidates:
                if tuple(tokens[i : i + len(cand)]) == cand:
                    found.append(" ".join(cand))
        return found
