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


def test_query_source_reads_a_folder_of_lists(tmp_path):
    from pipeline.curate.lists import QuerySource

    (tmp_path / "en.txt").write_text("dog\ncat\n")
    (tmp_path / "de.txt").write_text("hund\n")
    every = QuerySource.open(str(tmp_path), ("all",))
    assert every.worldwide and every.languages(("all",)) == ("de", "en")
    assert every.entries == ("de:hund", "en:dog", "en:cat")
    only = QuerySource.open(str(tmp_path), ("de",))
    assert only.lists == {"de": ["hund"]} and only.digest != every.digest
    with pytest.raises(ValueError, match="--languages fr: no list for it"):
        QuerySource.open(str(tmp_path), ("en", "fr"))
    one = QuerySource.open(str(tmp_path / "en.txt"), ("all",))
    assert (
        not one.worldwide and one.entries == ("dog", "cat") and one.languages(("all",)) == ("all",)
    )


def test_language_stage_keeps_the_detected_languages_entries():
    from pipeline.curate.language import LanguageFn
    from schemas.vocab import Reason

    fn = LanguageFn(("en", "de", "nb"), 0.5, None, worldwide=True)
    found = ("de:hund", "en:dog", "en:hund", "nb:hund")
    assert fn.decide("en", 0.9, found) == (("en:dog", "en:hund"), None)
    assert fn.decide("no", 0.9, found) == (("nb:hund",), None)  # lid.176's no is wordfreq's nb
    assert fn.decide("de", 0.9, ("en:dog",)) == (None, Reason.NO_MATCH)
    assert fn.decide("fr", 0.9, found) == (None, Reason.WRONG_LANGUAGE)
    assert fn.decide("de", 0.3, found) == (None, Reason.LOW_LANGUAGE_CONFIDENCE)
    anything = LanguageFn(("all",), 0.5, None)
    assert anything.decide("fr", 0.9, ("dog",)) == (("dog",), None)
