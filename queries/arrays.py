"""numpy building blocks of the column-wise matcher (`queries.columnar`): a batch of texts as
one array of code points, the rule's padding, polynomial keys of fields, an open-addressing
key table with cache-line rows, and word-wise comparison of code-point segments."""

from __future__ import annotations

import numpy as np

PADDED = ",.;:?!`"  # the rule's padded characters (queries.matcher)
TO_SPACE = "\t\n\r"  # ... and the ones it turns into spaces

_OTHER, _CONTROL, _PUNCT = 0, 1, 2
_CLASS = np.zeros(0x110000, np.uint8)  # by code point (1.1 MB; only its first lines stay hot)
_CLASS[[ord(c) for c in TO_SPACE]] = _CONTROL
_CLASS[[ord(c) for c in PADDED]] = _PUNCT
_WIDTH = np.array([1, 1, 3], np.intp)  # slots per character class
U64 = np.uint64
_LEN_MIX = U64(0xC2B2AE3D27D4EB4F)
_SLOT_MIX = U64(0x9E3779B97F4A7C15)


class Powers:
    """base^i and base^-i (mod 2^64) for i < n, grown on demand. Both series are replaced
    together (one attribute): threads sharing a matcher never see a mixed pair."""

    def __init__(self, base: int):
        self.base, self.inverse = base, pow(base, -1, 1 << 64)
        self.series = (np.ones(1, U64), np.ones(1, U64))

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        series = self.series
        if len(series[0]) < n:
            size = max(n, 2 * len(series[0]))
            series = self.series = (self._series(self.base, size), self._series(self.inverse, size))
        return series

    @staticmethod
    def _series(factor: int, n: int) -> np.ndarray:
        out = np.full(n, factor, U64)
        out[0] = 1
        return np.cumprod(out, out=out)  # wraps mod 2^64, as intended


def field_keys(cp: np.ndarray, start: np.ndarray, length: np.ndarray, powers: Powers) -> np.ndarray:
    """Key of each field cp[start:start+length]: polynomial hash mod 2^64 mixed with length."""
    up, down = powers.get(len(cp) + 1)
    prefix = np.zeros(len(cp) + 1, U64)
    np.cumsum(cp.astype(U64) * up[: len(cp)], out=prefix[1:])
    with np.errstate(over="ignore"):
        return (prefix[start + length] - prefix[start]) * down[start] + length.astype(
            U64
        ) * _LEN_MIX


def aligned_zeros(rows: int, width: int) -> np.ndarray:
    """A zeroed (rows, width) uint64 array starting on a 64-byte boundary, so that a row of
    up to 64 bytes is one cache line (large numpy arrays start 16 bytes past a page)."""
    raw = np.zeros(rows * width + 8, U64)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip : skip + rows * width].reshape(rows, width)


class BitFilter:
    """One bit per bucket of keys (~50 buckets per key, a few MB: cache-resident): a clear bit
    proves a key absent without touching the table; ~2% of absent keys pass anyway."""

    MIX = U64(0xD6E8FEB86659FD93)

    def __init__(self, keys: np.ndarray):
        self.bits = max(10, int(48 * len(keys)).bit_length())
        self.words = np.zeros(1 << (self.bits - 6), U64)
        bucket = self._buckets(keys)
        np.bitwise_or.at(self.words, bucket >> 6, U64(1) << (bucket & 63).astype(U64))

    def _buckets(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * self.MIX) >> U64(64 - self.bits)).astype(np.int64)

    def may_hold(self, keys: np.ndarray) -> np.ndarray:
        bucket = self._buckets(keys)
        return (self.words[bucket >> 6] >> (bucket & 63).astype(U64)) & U64(1) != 0


class KeyTable:
    """Open addressing with linear probing over rows of uint64: [key, value + 1 (0: empty),
    payload...]. A lookup reads one row, so a key, its value and its payload share a cache
    line (the table is a numpy array of a few MB or more: huge pages, no TLB misses)."""

    def __init__(
        self,
        keys: np.ndarray,
        values: np.ndarray,
        payload: np.ndarray | None = None,
        max_load: float = 0.5,
    ):
        # the smallest power of two that keeps the load at most `max_load` (and over half that)
        self.bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) / max_load))))
        size = 1 << self.bits
        width = 2 if payload is None else 2 + payload.shape[1]
        self.rows = aligned_zeros(size, width)
        slots, todo = self._slots(keys), np.arange(len(keys))
        while len(todo):  # place what lands on a free slot (first claimant wins), move the rest on
            s = slots[todo]
            free = self.rows[s, 1] == 0
            _, first = np.unique(s[free], return_index=True)
            won = todo[free][first]
            at = slots[won]
            self.rows[at, 0], self.rows[at, 1] = keys[won], values[won].astype(U64) + U64(1)
            if payload is not None:
                self.rows[at, 2:] = payload[won]
            todo = np.setdiff1d(todo, won, assume_unique=True)
            slots[todo] = (slots[todo] + 1) & (size - 1)
        self.filter = BitFilter(keys)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * _SLOT_MIX) >> U64(64 - self.bits)).astype(np.int64)

    def probe_filtered(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`probe`, asking `filter` first: for tables that are mostly asked for absent keys."""
        maybe = np.flatnonzero(self.filter.may_hold(keys))
        present, rows = self.probe(keys[maybe])
        return maybe[present], rows[present]

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


def code_points(texts: list[str]) -> np.ndarray:
    """The texts, each followed by one space, as one array of code points."""
    joined = " ".join(texts) + " "
    return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)


def pad_batch(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(padded code points, indices in `cp` of the padded characters). A padded character
    becomes three slots (space, itself, space); tab, newline and CR become spaces. The slots
    of the character at `i` start at `i + 2 * (padded characters before i)`."""
    cls = _CLASS[cp]
    punct = np.flatnonzero(cls == _PUNCT)
    padded = np.repeat(cp, _WIDTH[cls])
    middle = punct + 2 * np.arange(len(punct)) + 1
    padded[middle - 1] = 32
    padded[middle + 1] = 32
    control = np.flatnonzero(cls == _CONTROL)
    if len(control):
        padded[control + 2 * np.searchsorted(punct, control)] = 32
    return padded, punct


def words(cp: np.ndarray) -> np.ndarray:
    """64-bit words, aligned, one per code point: word i holds code points i and i + 1 (a zero
    past the end), little-endian."""
    padded = np.zeros(len(cp) + 1, np.uint32)
    padded[:-1] = cp
    return np.ndarray((len(cp),), np.uint64, padded, 0, (4,)).copy()


def same_text(
    a_words: np.ndarray,
    a_start: np.ndarray,
    b_words: np.ndarray,
    b_start: np.ndarray,
    length: np.ndarray,
) -> np.ndarray:
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
