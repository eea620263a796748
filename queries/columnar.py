"""The matching rule for a whole batch of texts at once, in numpy, with no Python object per token.

`ColumnarIndex(entries).match_batch(texts)` returns exactly what `QueryMatcher.match` returns
for each text (the rule is in `queries.matcher`); `QueryMatcher.match_batch` uses it for
batches. Why it is faster than the per-text path: the per-text path makes a Python string per
token and probes Python hash tables twice per token (unigrams, then adjacent pairs), and on a
500,000-entry list most of that time is cache and TLB misses into tables spread over tens of
MB of the Python heap. Here the batch becomes one array of code points, and every step is a
pass over arrays:

1. padding: one class per code point (a 1.1 MB table); the seven padded characters become
   three slots (space, itself, space) by `np.repeat`, tab/newline/CR become spaces; each text
   is followed by one space, so fields (`split(" ")`) never span texts;
2. each field's key is its polynomial hash (mod 2^64, from prefix sums) mixed with its
   length, looked up in an open-addressing table of the list's tokens whose 64-byte rows hold
   key, id, length, entry info and the token's first 8 code points: one cache line per field;
3. every hit is verified code point by code point (the first 8 from the row, the rest from
   the token array): exact, a colliding field is a miss, never a wrong match;
4. runs of tokens are followed through a table of entry prefixes keyed by (prefix node,
   next token id), a level per token, only where a longer entry can start, behind a bit
   filter that answers most absent pairs without touching the table;
5. (text, entry rank) pairs are sorted and deduplicated in one pass (ranks follow Python's
   string order, so each text's list comes out sorted), and become lists of the entries'
   own string objects.

Tokens of an entry that can never equal a field (one containing a space-like character, or a
padded character next to others, e.g. "U.S.") are left out, with their entries: such entries
never match under the rule. If two of the list's tokens share a key (for every base tried),
`ColumnarIndex.usable` is False and the caller keeps its per-text path.
"""

from __future__ import annotations

import re
from itertools import count, repeat

import numpy as np

from queries.arrays import (
    PADDED,
    TO_SPACE,
    U64,
    KeyTable,
    Powers,
    code_points,
    field_keys,
    pad_batch,
    same_text,
    words,
)

TOKEN_LOAD = 0.5  # most fields are tokens of the list: probes end at their first slot
INLINE_WORDS = 4  # code points 0-7 of a token live in its table row (a 64-byte line)
_LONGER, _RANK = U64(1 << 62), U64((1 << 62) - 1)
BASES = (0x100000001B3, 0x5BD1E9955BD1E995, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)
# a token no padded field can equal: a space-like character, or a padded one next to another
_P = re.escape(PADDED)
_UNMATCHABLE = re.compile(rf"[{TO_SPACE}]|[^ ][{_P}]|[{_P}][^ ]")
# the same over entries joined by newlines (a newline there separates entries)
_UNMATCHABLE_LINES = re.compile(rf"[{TO_SPACE.replace(chr(10), '')}]|[^ \n][{_P}]|[{_P}][^ \n]")


def matchable(entry: str) -> bool:
    """Whether the rule can ever match `entry` (every token can equal a field)."""
    return _UNMATCHABLE.search(entry) is None


def matchable_mask(entries: list[str]) -> np.ndarray:
    """`matchable` of each entry, from one scan of the entries joined by newlines."""
    joined = "\n".join(entries)
    if joined.count("\n") != max(len(entries) - 1, 0):  # an entry holds a newline
        return np.fromiter(map(matchable, entries), bool, len(entries))
    lengths = np.fromiter(map(len, entries), np.int64, len(entries))
    starts = np.cumsum(lengths + 1) - (lengths + 1)
    bad = [m.start() for m in _UNMATCHABLE_LINES.finditer(joined)]
    mask = np.ones(len(entries), bool)
    mask[np.searchsorted(starts, bad, side="right") - 1] = False
    return mask


class ColumnarIndex:
    """The entries as arrays: token keys and code points, prefix nodes, ranks in string order.

    Nodes: a token id is the node of its one-token prefix; longer prefixes get ids past
    `unknown`. A node's `info` packs the rank of the entry its prefix spells (+1; 0: none) and
    whether some entry continues past it (bit 62). Token rows: [key, id + 1, length, info,
    first `INLINE_WORDS` words]; child rows: [(node, next token) key, child + 1, info, 0].
    """

    def __init__(self, entries: list[str], bases: tuple[int, ...] = BASES):
        ordered = sorted(entries)
        self.entries = np.array(ordered, dtype=object)  # rank = Python string order
        ranks = np.flatnonzero(matchable_mask(ordered))
        kept = self.entries[ranks].tolist()
        counts = np.fromiter(map(str.count, kept, repeat(" ")), np.int64, len(kept)) + 1
        tokens = " ".join(kept).split(" ") if kept else []
        vocab = dict(zip(dict.fromkeys(tokens), count()))  # token -> id, by first appearance
        self.unknown = len(vocab)  # the id of every field that is no token of the list
        ids = np.fromiter(map(vocab.__getitem__, tokens), np.int64, len(tokens))
        info = self._index_prefixes(ids, counts, ranks)
        self._index_tokens(list(vocab), info[: self.unknown], bases)

    def _index_prefixes(self, ids: np.ndarray, counts: np.ndarray, ranks: np.ndarray):
        """Builds `children` one level (prefix length) at a time; returns every node's info.
        `ids`: the entries' token ids, end to end; `counts`: tokens per entry."""
        stride = self.stride = self.unknown + 1
        first = np.cumsum(counts) - counts
        spelled = [(ids[first[counts == 1]], ranks[counts == 1])]  # (node, entry rank)
        entry = np.flatnonzero(counts > 1)
        node = ids[first[entry]]
        longer, keys, level = [node], [], 1
        while len(entry):
            key, child = np.unique(node * stride + ids[first[entry] + level], return_inverse=True)
            child += stride + sum(map(len, keys))
            keys.append(key)
            level += 1
            ends = counts[entry] == level
            spelled.append((child[ends], ranks[entry[ends]]))
            entry, node = entry[~ends], child[~ends]
            longer.append(node)
        info = np.zeros(stride + sum(map(len, keys)), U64)
        for nodes, rank in spelled:
            info[nodes] = rank.astype(U64) + U64(1)
        info[np.concatenate(longer)] |= _LONGER
        child = np.arange(stride, len(info))
        payload = np.stack([info[stride:], np.zeros(len(child), U64)], axis=1)
        # mostly asked for absent keys, which its filter answers: a fuller table costs little
        self.children = KeyTable(
            np.concatenate(keys or [np.zeros(0, np.int64)]).astype(U64),
            child,
            payload,
            max_load=0.75,
        )
        return info

    def _index_tokens(self, tokens: list[str], info: np.ndarray, bases: tuple[int, ...]) -> None:
        self.token_length = np.fromiter(map(len, tokens), np.int64, len(tokens))
        self.token_start = np.cumsum(self.token_length + 1) - (self.token_length + 1)
        token_cp = code_points(tokens)
        self.token_words = words(token_cp)
        self.usable = False
        for base in bases:
            self.powers = Powers(base)
            keys = field_keys(token_cp, self.token_start, self.token_length, self.powers)
            ordered = np.sort(keys)
            if not (ordered[1:] == ordered[:-1]).any():
                self.usable = True
                ids = np.arange(len(keys), dtype=U64)
                payload = np.concatenate(
                    [self.token_length.astype(U64)[:, None], info[:, None], self._inline()], axis=1
                )
                self.tokens = KeyTable(keys, ids, payload, max_load=TOKEN_LOAD)
                self.powers = Powers(base)  # drop the build's long series: chunks grow their own
                return

    def _inline(self) -> np.ndarray:
        """Per token: its first `INLINE_WORDS` words (zeros past its end)."""
        step = 2 * np.arange(INLINE_WORDS)
        at = np.minimum(self.token_start[:, None] + step, len(self.token_words) - 1)
        return np.where(step < self.token_length[:, None], self.token_words[at], U64(0))

    def match_batch(self, texts: list[str]) -> list[list[str]]:
        """For each text, the sorted distinct entries it contains (`QueryMatcher.match`)."""
        if not self.usable:
            raise ValueError("two tokens of the list share a key: use QueryMatcher.match")
        n = len(texts)
        if n == 0 or len(self.entries) == 0:
            return [[] for _ in texts]
        ids, info, row, left = self._fields(texts)
        hit_rows, hit_ranks = self._runs(ids, info, row, left)
        keys = np.sort(
            np.concatenate(hit_rows) * len(self.entries) + np.concatenate(hit_ranks), kind="stable"
        )  # runs already in text order: stable sort is the fast one
        first = np.ones(len(keys), bool)
        first[1:] = keys[1:] != keys[:-1]
        keys = keys[first]
        text_of = keys // len(self.entries)
        found = self.entries[keys - text_of * len(self.entries)].tolist()
        bounds = np.searchsorted(text_of, np.arange(n + 1)).tolist()
        return [found[a:b] for a, b in zip(bounds, bounds[1:])]

    def _fields(self, texts: list[str]) -> tuple[np.ndarray, ...]:
        """Per field of the padded texts: token id (`unknown` if none), its info, text, and
        fields left in its text after it."""
        cp = code_points(texts)
        padded, punct = pad_batch(cp)
        spaces = np.flatnonzero(padded == 32)
        start = np.zeros(len(spaces), np.int64)
        start[1:] = spaces[:-1] + 1
        length = spaces - start
        ids, info = self._token_ids(padded, start, length)
        # each text's last field ends at the space that follows the text
        lens = np.fromiter(map(len, texts), np.int64, len(texts))
        after = np.cumsum(lens + 1) - 1  # the space after each text, in `cp`
        last = np.searchsorted(spaces, after + 2 * np.searchsorted(punct, after))
        row = np.repeat(np.arange(len(texts)), np.diff(last, prepend=-1))
        return ids, info, row, last[row] - np.arange(len(spaces))

    def _token_ids(self, padded: np.ndarray, start: np.ndarray, length: np.ndarray):
        """Token id and info of each field (`unknown`, 0 if none): key lookup, then an exact
        comparison with the token's code points (inline in its row, the rest from
        `token_words`)."""
        present, rows = self.tokens.probe(field_keys(padded, start, length, self.powers))
        text_words = words(padded)
        step = 2 * np.arange(INLINE_WORDS)
        at = np.minimum(start[:, None] + step, len(text_words) - 1)
        inline_same = (text_words[at] == rows[:, 4:]) | (step >= length[:, None])
        same = present & (rows[:, 2] == length.astype(U64)) & inline_same.all(axis=1)
        tok = rows[:, 1].astype(np.int64) - 1
        past = np.flatnonzero(same & (length > 2 * INLINE_WORDS))
        if len(past):
            skip = 2 * INLINE_WORDS
            same[past] = same_text(
                text_words,
                start[past] + skip,
                self.token_words,
                self.token_start[tok[past]] + skip,
                length[past] - skip,
            )
        return np.where(same, tok, self.unknown), np.where(same, rows[:, 3], U64(0))

    def _runs(self, ids: np.ndarray, info: np.ndarray, row: np.ndarray, left: np.ndarray):
        """(texts, ranks) of every entry spelled by a run of fields, one level per length."""
        rank = (info & _RANK).astype(np.int64) - 1
        at = np.flatnonzero(rank >= 0)
        rows, ranks = [row[at]], [rank[at]]
        pos = np.flatnonzero(((info & _LONGER) != 0) & (left >= 1))
        node, step = ids[pos], 1
        while len(pos):
            at, found = self.children.probe_filtered(
                (node * self.stride + ids[pos + step]).astype(U64)
            )
            pos = pos[at]
            child, info = found[:, 1].astype(np.int64) - 1, found[:, 2]
            rank = (info & _RANK).astype(np.int64) - 1
            rows.append(row[pos[rank >= 0]])
            ranks.append(rank[rank >= 0])
            step += 1
            more = ((info & _LONGER) != 0) & (left[pos] >= step)
            pos, node = pos[more], child[more]
        return rows, ranks
