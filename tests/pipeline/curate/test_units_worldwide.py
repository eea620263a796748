"""Per-language thresholds: MetaCLIP 2's t-to-p and p-to-t on hand-computed counts."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.curate.worldwide import language_thresholds, p_to_t, t_to_p


def test_t_to_p_is_the_tail_share():
    counts = [1, 2, 3, 4, 10]  # 20 matches; entries under t=4 hold 1+2+3 = 6
    assert t_to_p(4, counts) == pytest.approx(6 / 20)
    assert t_to_p(1, counts) == 0.0 and t_to_p(11, counts) == 1.0
    assert t_to_p(5, []) == 0.0


def test_p_to_t_picks_the_count_whose_cumulative_share_is_nearest():
    counts = [10, 1, 4, 3, 2]  # ascending 1 2 3 4 10: shares .05 .15 .30 .50 1.0
    assert p_to_t(0.30, counts) == 3
    assert p_to_t(0.42, counts) == 4
    assert p_to_t(0.2, counts) == 2  # .15 and .30 are .05 and .10 away
    assert p_to_t(0.99, counts) == 10 and p_to_t(0.0, counts) == 1
    assert p_to_t(0.5, []) == 0


def test_language_thresholds_keep_the_tail_share_of_english():
    rng = np.random.default_rng(0)
    en = {f"e{i}": int(c) for i, c in enumerate(rng.zipf(1.6, 20_000))}
    de = {f"d{i}": int(c) for i, c in enumerate(rng.zipf(1.6, 2_000))}  # a tenth the size
    t = 50
    ts, p = language_thresholds({"en": en, "de": de, "xx": {}}, t)
    assert p == pytest.approx(t_to_p(t, en.values()))
    assert ts["en"] == t and ts["xx"] == 0
    assert ts["de"] == p_to_t(p, de.values()) and ts["de"] < t  # a smaller language, a smaller t
    share = sum(c for c in de.values() if c <= ts["de"]) / sum(de.values())
    assert abs(share - p) < 0.05  # nearly the same tail share as English
    no_en, p_none = language_thresholds({"de": de}, t)
    assert no_en == {"de": t} and p_none is None
