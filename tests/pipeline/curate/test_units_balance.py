"""Balancing draws and rules as pure functions (the pipeline test checks them end to end)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.curate import balance
from schemas.layout import pair_id


def test_draw_is_deterministic_uniform_and_keyed_by_seed_query_pair():
    pids = [pair_id(f"http://h/{i}.jpg", "t") for i in range(20000)]
    draws = [balance.draw(0, "red", p) for p in pids]
    assert draws == [balance.draw(0, "red", p) for p in pids]
    assert abs(sum(draws) / len(draws) - 0.5) < 0.01
    assert abs(sum(d < 0.1 for d in draws) / len(draws) - 0.1) < 0.01
    assert balance.draw(1, "red", pids[0]) != draws[0]
    assert balance.draw(0, "blue", pids[0]) != draws[0]


def test_rule_keeps_min_one_t_over_count_per_entry():
    n, t = 20000, 2000
    counts = {"red": n, "rare": 10}
    pids = [pair_id(f"http://h/{i}.jpg", "t") for i in range(n)]
    kept = sum(balance.keep_rule(3, t, p, ("red",), counts) for p in pids)
    sd = math.sqrt(n * 0.1 * 0.9)
    assert abs(kept - t) < 4 * sd
    assert all(balance.keep_rule(3, t, p, ("rare",), counts) for p in pids[:10])


def test_rule_combines_entries_as_independent_draws():
    n, t = 20000, 2000
    counts = {"a": n, "b": n}  # p = 0.1 each: kept with 1 - 0.9 ** 2 = 0.19
    pids = [pair_id(f"http://h/{i}.jpg", "t") for i in range(n)]
    kept = sum(balance.keep_rule(0, t, p, ("a", "b"), counts) for p in pids)
    expected, sd = n * 0.19, math.sqrt(n * 0.19 * 0.81)
    assert abs(kept - expected) < 4 * sd


def test_exact_threshold_selects_the_smallest_draws():
    pids = [pair_id(f"http://h/{i}.jpg", "t") for i in range(1000)]
    keyed = sorted((balance.draw(0, "q", p), p) for p in pids)
    thresholds = {"q": keyed[99]}
    kept = [p for p in pids if balance.keep_exact(0, p, ("q",), thresholds)]
    assert sorted(kept) == sorted(p for _, p in keyed[:100])
    assert balance.keep_exact(0, pids[0], ("unlimited",), thresholds)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from("abcdef"), min_size=1, max_size=5, unique=True),
    st.dictionaries(st.sampled_from("abcdef"), st.integers(1, 60), min_size=6),
    st.integers(0, 40),
    st.integers(0, 10_000),
)
def test_rule_decides_as_drawing_every_entry_in_order(queries, counts, t, i):
    """`keep_rule` skips the draws when an entry keeps the pair without one: the same decision
    as drawing each entry in order (the rule as first written)."""
    pid = pair_id(f"http://h/{i}.jpg", "t")
    drawn = any(balance.draw(7, q, pid) < min(1.0, t / counts[q]) for q in queries)
    assert balance.keep_rule(7, t, pid, tuple(sorted(queries)), counts) == drawn
