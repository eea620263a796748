"""The column-wise batch path (queries.columnar) against the plain rule and the per-text path."""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queries import matcher as matcher_module
from queries.columnar import ColumnarIndex, KeyTable, matchable
from queries.matcher import QueryMatcher
from tests.queries.test_matcher import reference_match

# long tokens (past the 8 code points kept inline in a table row), astral and surrogate code
# points, NUL, and tokens that differ only after their 8th character
WORDS = [
    "dog",
    "cat",
    "hot",
    "a",
    "",
    "é",
    "犬",
    "😀",
    "\ud83d",
    "\x00",
    "photograph",
    "photographs",
    "photographer",
    "internationalization",
    "Schwarzwälder",
    "x.y",
    "U.S",
    "new",
    "york",
    "abcdefghijkl",
    "abcdefghijlk",
    "ba",
    "ab",
]
SEPARATORS = [" ", "  ", ",", ".", ";", ":", "?", "!", "`", "\t", "\n", "\r", "'", "(", ", "]


def _text(rng):
    return "".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(rng.randint(0, 14)))


def _entries(rng, n):
    entries = {
        " ".join(rng.choice(WORDS) for _ in range(rng.choice([1, 1, 2, 2, 3, 5]))) for _ in range(n)
    }
    entries.update([".", "photograph , cat", " dog", "dog ", "a  b", "x\ty", "😀 犬"])
    return sorted(entries)


@pytest.mark.parametrize("seed", range(4))
def test_batch_equals_the_rule_on_random_texts(seed):
    rng = random.Random(seed)
    entries = _entries(rng, 150)
    texts = [_text(rng) for _ in range(1500)]
    expected = [reference_match(entries, t) for t in texts]
    index = ColumnarIndex(list(dict.fromkeys(entries)))
    assert index.usable
    assert index.match_batch(texts) == expected
    assert QueryMatcher(entries).match_batch(texts) == expected


def test_colliding_keys_are_verified_not_trusted():
    # base 1: a field's key is its code-point sum and length, so anagrams share a key
    index = ColumnarIndex(["ab", "abcdefghijkl", "ab abcdefghijkl"], bases=(1,))
    assert index.usable
    texts = ["ba", "ab", "abcdefghijlk", "abcdefghijkl", "ba abcdefghijlk", "ab abcdefghijkl"]
    assert index.match_batch(texts) == [
        [],
        ["ab"],
        [],
        ["abcdefghijkl"],
        [],
        ["ab", "ab abcdefghijkl", "abcdefghijkl"],
    ]


def test_list_whose_tokens_share_a_key_falls_back_to_the_per_text_path(monkeypatch):
    assert not ColumnarIndex(["ab", "ba"], bases=(1,)).usable
    monkeypatch.setattr(matcher_module, "ColumnarIndex", lambda e: ColumnarIndex(e, bases=(1,)))
    m = QueryMatcher(["ab", "ba", "ab ba"])
    texts = ["ab ba", "ba", "x"] * 40
    assert m.match_batch(texts) == [reference_match(["ab", "ba", "ab ba"], t) for t in texts]


def test_chunks_and_very_long_texts(monkeypatch):
    rng = random.Random(9)
    entries = _entries(rng, 80)
    texts = [_text(rng) for _ in range(300)]
    texts[17] = " ".join(texts[:60])  # longer than a chunk: matched on its own
    monkeypatch.setattr(matcher_module, "CHUNK_TEXTS", 7)
    monkeypatch.setattr(matcher_module, "CHUNK_CHARS", 200)
    assert QueryMatcher(entries).match_batch(texts) == [reference_match(entries, t) for t in texts]


def test_entries_the_rule_can_never_match_are_recognised():
    assert matchable("dog") and matchable(".") and matchable("a , b") and matchable(" dog")
    assert not matchable("U.S.") and not matchable("x\ty") and not matchable("dog,")


class OneSlotTable(KeyTable):
    def _slots(self, keys):
        return np.zeros(len(keys), np.int64)  # every key collides


def test_key_table_probes_past_collisions():
    keys = np.array([0, 5, 2**64 - 1, 17, 1 << 40], dtype=np.uint64)
    table = OneSlotTable(keys, np.arange(5), np.arange(10, dtype=np.uint64).reshape(5, 2))
    probe = np.array([17, 0, 3, 2**64 - 1, 6, 1 << 40], dtype=np.uint64)
    present, rows = table.probe(probe)
    assert present.tolist() == [True, True, False, True, False, True]
    assert (rows[present, 1] - 1).tolist() == [3, 0, 2, 4]  # stored as value + 1
    assert rows[present, 2:].tolist() == [[6, 7], [0, 1], [4, 5], [8, 9]]


@pytest.mark.parametrize("entries", [[], ["U.S.", "x\ty", "dog,"], ["\n", "a\nb", "dog"]])
def test_empty_and_unmatchable_lists(entries):
    texts = ["U.S. dog, x\ty", "dog", "", "a\nb dog"] * 30
    assert QueryMatcher(entries).match_batch(texts) == [reference_match(entries, t) for t in texts]


def test_batches_never_build_the_per_text_tables():
    m = QueryMatcher(["dog", "hot dog", "a b c"])
    texts = ["hot dog", "a b c d", "x"]
    assert m.match_batch(texts) == [["dog", "hot dog"], ["a b c"], []]
    assert m._unigrams is None  # a batch job pays for the column-wise index only
    assert m.match("hot dog.") == ["dog", "hot dog"]
    assert m.match_batch(texts) == [["dog", "hot dog"], ["a b c"], []]


def test_threads_sharing_one_matcher():
    """Beam's SDK harness runs several threads per process over one shared matcher."""
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(3)
    entries = _entries(rng, 100)
    batches = [[_text(rng) * (1 + i % 7) for _ in range(80 + i)] for i in range(24)]
    m = QueryMatcher(entries)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(m.match_batch, batches))
    assert results == [[reference_match(entries, t) for t in b] for b in batches]


@pytest.mark.parametrize("texts", [[""], ["a"], [","], ["", ""], ["a b"], [" "], ["\t"]])
def test_tiny_batches(texts):
    entries = ["a", "a b", ",", ""]
    assert ColumnarIndex(entries).match_batch(texts) == [reference_match(entries, t) for t in texts]
    assert QueryMatcher(entries).match_batch(texts) == [reference_match(entries, t) for t in texts]


_CHARS = st.sampled_from(list("ab ,.;\t\n\r`é犬😀\x00\ud800") + ["ab", "a b", " a"])


@settings(max_examples=150, deadline=None)
@given(
    entries=st.lists(st.lists(_CHARS, max_size=4).map("".join), max_size=12),
    texts=st.lists(st.lists(_CHARS, max_size=12).map("".join), min_size=1, max_size=20),
)
def test_property_batch_equals_the_rule(entries, texts):
    expected = [reference_match(entries, t) for t in texts]
    assert QueryMatcher(entries).match_batch(texts) == expected
