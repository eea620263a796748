"""The matching rule for a whole batch of texts at once, in numpy, with no Python object per token.

`ColumnarIndex(entries).match_batch(texts)` returns exactly what `QueryMatcher.match` returns
for each text (the rule is in `queries.matcher`); `QueryMatcher.match_batch` uses it for
batches. Why it is faster than the per-text path: the per-text path makes a Python string per
token and probes Python hash tables twice per token (unigrams, then adjacent pairs), and on a
500,000-entry list most of that time is cache and TLB misses into tables spread over tens of
MB of the Python heap. Here the batch becomes one array of code points, and every step is a
pass over arrays:

1. padding: each character is classified with a 128-entry table (space, tab, newline, CR ->
   space; the seven padded characters -> three slots, space-char-space) and scattered into the
   padded array; each text is followed by one space, so fields (`split(" ")`) never span texts;
2. each field's polynomial hash (mod 2^64, from prefix sums) and length form a key, looked
   up in an open-addressing table of the list's tokens (numpy arrays, a few MB: huge pages);
3. every hit is verified character by character against the token's code points (exact:
   a colliding field is a miss, never a wrong match);
4. runs of tokens are followed through a table of entry prefixes keyed by (prefix node,
   next token id), a level per token, only at the positions where a longer entry can start;
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

import numpy as np

PADDED = ",.;:?!`"
SPACE_LIKE = " \t\n\r"
_OTHER, _SPACE, _PUNCT = 0, 1, 2
_CLASS = np.zeros(0x110000, np.uint8)  # by code point (1.1 MB; only its first lines stay hot)
_CLASS[[ord(c) for c in SPACE_LIKE]] = _SPACE
_CLASS[[ord(c) for c in PADDED]] = _PUNCT
_U64 = np.uint64
_LEN_MIX = _U64(0xC2B2AE3D27D4EB4F)
_SLOT_MIX = _U64(0x9E3779B97F4A7C15)
INLINE_WORDS = 4  # code points 0-7 of a token live in its table row (a 64-byte line)
_LONGER, _RANK = _U64(1 << 62), _U64((1 << 62) - 1)
BASES = (0x100000001B3, 0x5BD1E9955BD1E995, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)
# a token no padded field can equal: a space-like character, or a padded one next to another
_UNMATCHABLE = re.compile(r"[\t\n\r]|[^ ][,.;:?!`]|[,.;:?!`][^ ]")


def matchable(entry: str) -> bool:
    """Whether the rule can ever match `entry` (every token can equal a field)."""
    return _UNMATCHABLE.search(entry) is None



class Powers:
    """base^i and base^-i (mod 2^64) for i < n, grown on demand."""

    def __init__(self, base: int):
        self.base, self.inverse = base, pow(base, -1, 1 << 64)
        self.up = self.down = np.ones(1, _U64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < n:
            size = max(n, 2 * len(self.up))
            self.up, self.down = self._series(self.base, size), self._series(self.inverse, size)
        return self.up, self.down

    @staticmethod
    def _series(factor: int, n: int) -> np.ndarray:
        out = np.full(n, factor, _U64)
        out[0] = 1
        return np.cumprod(out, out=out)  # wraps mod 2^64, as intended


def field_keys(cp: np.ndarray, start: np.ndarray, length: np.ndarray,
               powers: Powers) -> np.ndarray:
    """Key of each field cp[start:start+length]: polynomial hash mod 2^64 mixed with length."""
    up, down = powers.get(len(cp) + 1)
    prefix = np.zeros(len(cp) + 1, _U64)
    np.cumsum(cp.astype(_U64) * up[: len(cp)], out=prefix[1:])
    with np.errstate(over="ignore"):
        return ((prefix[start + length] - prefix[start]) * down[start]
                + length.astype(_U64) * _LEN_MIX)


class KeyTable:
    """Open addressing with linear probing over rows of uint64: [key, value + 1 (0: empty),
    payload...]. A lookup reads one row, so a key, its value and its payload share a cache
    line (the table is a numpy array of a few MB or more: huge pages, no TLB misses)."""

    def __init__(self, keys: np.ndarray, values: np.ndarray, payload: np.ndarray | None = None):
        self.bits = max(4, int(2 * len(keys)).bit_length())  # load 0.25-0.5
        size = 1 << self.bits
        width = 2 if payload is None else 2 + payload.shape[1]
        self.rows = np.zeros((size, width), _U64)
        slots, todo = self._slots(keys), np.arange(len(keys))
        while len(todo):  # place what lands on a free slot (first claimant wins), move the rest on
            s = slots[todo]
            free = self.rows[s, 1] == 0
            _, first = np.unique(s[free], return_index=True)
            won = todo[free][first]
            at = slots[won]
            self.rows[at, 0], self.rows[at, 1] = keys[won], values[won].astype(_U64) + _U64(1)
            if payload is not None:
                self.rows[at, 2:] = payload[won]
            todo = np.setdiff1d(todo, won, assume_unique=True)
            slots[todo] = (slots[todo] + 1) & (size - 1)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * _SLOT_MIX) >> _U64(64 - self.bits)).astype(np.int64)

    def probe(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether each key is present, the row of each key: its own where present)."""
        slots, mask = self._slots(keys), len(self.rows) - 1
        rows = self.rows[slots]
        todo = np.flatnonzero((rows[:, 0] != keys) & (rows[:, 1] != 0))
        while len(todo):  # an occupied slot with another key: probe the next one
            slots[todo] = (slots[todo] + 1) & mask
            rows[todo] = self.rows[slots[todo]]
            todo = todo[(rows[todo, 0] != keys[todo]) & (rows[todo, 1] != 0)]
        return (rows[:, 0] == keys) & (rows[:, 1] != 0), rows

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, -1 where absent."""
        present, rows = self.probe(keys)
        return np.where(present, rows[:, 1].astype(np.int64) - 1, -1)


def code_points(texts: list[str]) -> np.ndarray:
    """The texts, each followed by one space, as one array of code points."""
    joined = " ".join(texts) + " "
    return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)


def pad_batch(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Padded code points, and where each input character's last slot landed."""
    cls = _CLASS[cp]
    punct = (cls == _PUNCT).astype(np.int64)
    end = np.cumsum(1 + 2 * punct)
    padded = np.full(int(end[-1]), 32, np.uint32)
    keep = cls != _SPACE
    padded[(end - 1 - punct)[keep]] = cp[keep]
    return padded, end


def words(cp: np.ndarray) -> np.ndarray:
    """64-bit words, aligned: words(cp)[i] holds code points i and i + 1."""
    return cp[:-1].astype(np.uint64) | (cp[1:].astype(np.uint64) << np.uint64(32))


def same_text(a_words: np.ndarray, a_start: np.ndarray, b_words: np.ndarray,
              b_start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """a[a_start:+length] == b[b_start:+length] per segment, two code points per step (`words`).

    Both arrays have a space right after every segment, so a segment of odd length compares
    that space on both sides in its last step: equal by construction, no masking needed."""
    same = np.ones(len(length), bool)
    todo = np.flatnonzero(length > 0)
    a_at, b_at, left = a_start[todo], b_start[todo], length[todo]
    while len(todo):
        equal = a_words[a_at] == b_words[b_at]
        same[todo[~equal]] = False
        more = equal & (left > 2)
        todo, a_at, b_at, left = todo[more], a_at[more] + 2, b_at[more] + 2, left[more] - 2
    return same


class ColumnarIndex:
    """The entries as arrays: token keys and code points, prefix nodes, ranks in string order.

    Nodes: a token id is the node of its one-token prefix; longer prefixes get ids past
    `unknown`. A node's `info` packs the rank of the entry its prefix spells (+1; 0: none) and
    whether some entry continues past it (bit 62). Token rows: [key, id + 1, length, info,
    first `INLINE_WORDS` words]; child rows: [(node, next token) key, child + 1, info, 0].
    """

    def __init__(self, entries: list[str], bases: tuple[int, ...] = BASES):
        self.entries = np.array(sorted(entries), dtype=object)  # rank = Python string order
        vocab: dict[str, int] = {}
        tokenized = [(rank, [vocab.setdefault(t, len(vocab)) for t in e.split(" ")])
                     for rank, e in enumerate(self.entries.tolist()) if matchable(e)]
        self.unknown = len(vocab)  # the id of every field that is no token of the list
        info = self._index_prefixes(tokenized)
        self._index_tokens(list(vocab), info[: self.unknown], bases)

    def _index_prefixes(self, tokenized: list[tuple[int, list[int]]]) -> np.ndarray:
        """Builds `children`; returns every node's info."""
        stride = self.stride = self.unknown + 1
        children: dict[int, int] = {}
        rank, longer = {}, set()
        for r, ids in tokenized:
            node = ids[0]
            for tok in ids[1:]:
                longer.add(node)
                node = children.setdefault(node * stride + tok, stride + len(children))
            rank[node] = r
        info = np.zeros(stride + len(children), _U64)
        info[np.fromiter(rank, np.int64, len(rank))] = np.fromiter(rank.values(), _U64,
                                                                    len(rank)) + _U64(1)
        info[np.fromiter(longer, np.int64, len(longer))] |= _LONGER
        child = np.fromiter(children.values(), np.int64, len(children))
        payload = np.stack([info[child], np.zeros(len(child), _U64)], axis=1)
        self.children = KeyTable(np.fromiter(children, _U64, len(children)), child, payload)
        return info

    def _index_tokens(self, tokens: list[str], info: np.ndarray, bases: tuple[int, ...]) -> None:
        self.token_length = np.fromiter(map(len, tokens), np.int64, len(tokens))
        self.token_start = np.cumsum(self.token_length + 1) - (self.token_length + 1)
        self.token_words = words(code_points(tokens))
        self.usable = False
        for base in bases:
            self.powers = Powers(base)
            keys = field_keys(code_points(tokens), self.token_start, self.token_length,
                              self.powers)
            if len(np.unique(keys)) == len(keys):
                self.usable = True
                ids = np.arange(len(keys), dtype=_U64)
                payload = np.concatenate([self.token_length.astype(_U64)[:, None],
                                          info[:, None], self._inline()], axis=1)
                self.tokens = KeyTable(keys, ids, payload)
                return

    def _inline(self) -> np.ndarray:
        """Per token: its first `INLINE_WORDS` words (zeros past its end)."""
        step = 2 * np.arange(INLINE_WORDS)
        at = np.minimum(self.token_start[:, None] + step, len(self.token_words) - 1)
        return np.where(step < self.token_length[:, None], self.token_words[at], _U64(0))

    def match_batch(self, texts: list[str]) -> list[list[str]]:
        """For each text, the sorted distinct entries it contains (`QueryMatcher.match`)."""
        n = len(texts)
        if n == 0 or len(self.entries) == 0:
            return [[] for _ in texts]
        ids, info, row, left = self._fields(texts)
        hit_rows, hit_ranks = self._runs(ids, info, row, left)
        keys = np.sort(np.concatenate(hit_rows) * len(self.entries) + np.concatenate(hit_ranks),
                       kind="stable")  # runs already in text order: stable sort is the fast one
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
        padded, end = pad_batch(cp)
        spaces = np.flatnonzero(padded == 32)
        start = np.zeros(len(spaces), np.int64)
        start[1:] = spaces[:-1] + 1
        length = spaces - start
        ids, info = self._token_ids(padded, start, length)
        # each text's last field ends at the space that follows the text
        lens = np.fromiter(map(len, texts), np.int64, len(texts))
        last = np.searchsorted(spaces, end[np.cumsum(lens + 1) - 1] - 1)
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
        same = present & (rows[:, 2] == length.astype(_U64)) & inline_same.all(axis=1)
        tok = rows[:, 1].astype(np.int64) - 1
        past = np.flatnonzero(same & (length > 2 * INLINE_WORDS))
        if len(past):
            skip = 2 * INLINE_WORDS
            same[past] = same_text(text_words, start[past] + skip, self.token_words,
                                   self.token_start[tok[past]] + skip, length[past] - skip)
        return np.where(same, tok, self.unknown), np.where(same, rows[:, 3], _U64(0))

    def _runs(self, ids: np.ndarray, info: np.ndarray, row: np.ndarray, left: np.ndarray):
        """(texts, ranks) of every entry spelled by a run of fields, one level per length."""
        rank = (info & _RANK).astype(np.int64) - 1
        at = np.flatnonzero(rank >= 0)
        rows, ranks = [row[at]], [rank[at]]
        pos = np.flatnonzero(((info & _LONGER) != 0) & (left >= 1))
        node, step = ids[pos], 1
        while len(pos):
            present, found = self.children.probe((node * self.stride + ids[pos + step]).astype(_U64))
            pos, found = pos[present], found[present]
            child, info = found[:, 1].astype(np.int64) - 1, found[:, 2]
            rank = (info & _RANK).astype(np.int64) - 1
            rows.append(row[pos[rank >= 0]])
            ranks.append(rank[rank >= 0])
            step += 1
            more = ((info & _LONGER) != 0) & (left[pos] >= step)
            pos, node = pos[more], child[more]
        return rows, ranks
