import random

import ahocorasick
import pytest

from queries.matcher import QueryMatcher, pad_text


def reference_match(entries, text):
    """The rule as MetaCLIP states it, done the plain way (substring search per entry)."""
    t = text
    for ch in "\t\n\r":
        t = t.replace(ch, " ")
    for ch in ",.;:?!`":
        t = t.replace(ch, f" {ch} ")
    t = f" {t} "
    return sorted({e for e in entries if f" {e} " in t})


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a dog.", ["dog"]),
        ("dog, cat", ["cat", "dog"]),
        ("dogs", []),
        ("dog's", []),
        ("(dog)", []),
        ("Dog", []),
        ("hot dog", ["dog", "hot dog"]),
        ("the hot dog stand", ["dog", "hot dog", "hot dog stand"]),
        ("U.S. army", []),
        ("dog\tcat\nhot\rdog", ["cat", "dog", "hot dog"]),
        ("", []),
        ("dog!dog?dog", ["dog"]),
        ("café au lait", ["café", "café au lait"]),
        ("hot  dog", ["dog"]),  # two spaces: not the entry "hot dog"
    ],
)
def test_rule_examples(text, expected):
    entries = ["dog", "cat", "hot dog", "hot dog stand", "U.S.", "café", "café au lait", "Cat"]
    m = QueryMatcher(entries)
    assert m.match(text) == expected
    assert reference_match(entries, text) == expected


def test_pad_text():
    assert pad_text("a,b.\tc") == "a , b .  c"


def test_duplicates_in_entries_and_len():
    m = QueryMatcher(["dog", "dog", "hot dog", "a b c", "a b c"])
    assert len(m) == 3
    assert m.match("x a b c y dog") == ["a b c", "dog"]


def test_match_batch_order():
    m = QueryMatcher(["red", "blue"])
    assert m.match_batch(["red", "none", "blue red"]) == [["red"], [], ["blue", "red"]]


DEGENERATE_TEXTS = ["", "dog", " dog", "dog  ", "a  b", "a,b", "x\ty", "a.b", ",,", "  ", "a b c"]


def test_degenerate_entries_follow_the_rule():
    entries = ["", " dog", "dog ", "a  b", ".", "a , b", "x\ty", ", ,", "a b c", " a b"]
    m = QueryMatcher(entries)
    for text in DEGENERATE_TEXTS:
        assert m.match(text) == reference_match(entries, text), repr(text)
    assert m.match_batch(DEGENERATE_TEXTS) == [
        reference_match(entries, t) for t in DEGENERATE_TEXTS
    ]


ALPHABET = ["dog", "cat", "hot", "Dog", "the", "a", "é", "犬", "x.y", "", "new", "york"]
SEPARATORS = [" ", "  ", ",", ".", ";", ":", "?", "!", "`", "\t", "\n", "\r", "'", "(", "-"]


def _random_text(rng):
    parts = []
    for _ in range(rng.randint(0, 12)):
        parts.append(rng.choice(ALPHABET))
        parts.append(rng.choice(SEPARATORS))
    return "".join(parts)


def _random_entries(rng, n):
    entries = set()
    for _ in range(n):
        k = rng.choice([1, 1, 1, 2, 2, 3, 4])
        entries.add(" ".join(rng.choice(ALPHABET) for _ in range(k)))
    entries.update([".", "dog , cat", "new york", "new york city"])
    return sorted(entries)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_reference_on_random_texts(seed):
    rng = random.Random(seed)
    entries = _random_entries(rng, 200)
    m = QueryMatcher(entries)
    texts = [_random_text(rng) for _ in range(2000)]
    expected = [reference_match(entries, t) for t in texts]
    assert [m.match(t) for t in texts] == expected
    assert m.match_batch(texts) == expected


def test_agrees_with_aho_corasick_scan():
    """The straightforward automaton implementation of the same rule (bench/matching.py's peer)."""
    rng = random.Random(7)
    entries = _random_entries(rng, 300)
    automaton = ahocorasick.Automaton()
    for e in entries:
        automaton.add_word(f" {e} ", e)
    automaton.make_automaton()
    m = QueryMatcher(entries)
    for _ in range(2000):
        text = _random_text(rng)
        padded = f" {pad_text(text)} "
        expected = sorted({e for _, e in automaton.iter(padded)})
        assert m.match(text) == expected
