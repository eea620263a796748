"""Normalize/filter functions: each check's reason, the order, unicode repair."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.curate import filters
from pipeline.curate.language import _Model, default_model_path
from schemas.vocab import Reason


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", Reason.EMPTY_TEXT),
        ("IMG_1234.jpg", Reason.FILE_NAME_TEXT),
        ("DSC01234", Reason.FILE_NAME_TEXT),
        ("holiday photo 2.PNG", Reason.FILE_NAME_TEXT),
        ("image", Reason.JUNK_TEXT),
        ("Logo", Reason.JUNK_TEXT),
        ("click here!", Reason.JUNK_TEXT),
        ("...", Reason.JUNK_TEXT),
        ("http://www0.openwit-demo.test/p/1.html", Reason.URL_TEXT),
        ("see www.example.com now", Reason.URL_TEXT),
        ("dog", Reason.TEXT_TOO_SHORT),
        ("x" * 1001, Reason.TEXT_TOO_LONG),
        ("two red circles on a sky background", None),
        ("a photo of a green star", None),
    ],
)
def test_each_check_gives_its_reason(text, reason):
    assert filters.check_text(text, 5, 1000) == reason


def test_normalize_repairs_mojibake_and_collapses_whitespace():
    assert filters.normalize("  two\tred \n circles  ") == "two red circles"
    assert filters.normalize("cafÃ© crÃ¨me") == "café crème"


def test_huge_alt_is_rejected_before_repair():
    fn = filters.FilterFn(5, 1000)
    fn.start_bundle()
    out = list(fn.process([("http://h/x.jpg", "é" * 5_000_000, "alt", None, "f")]))
    assert len(out) == 1 and out[0].tag == "reject"  # a batch of one reject, no kept batch
    [row] = out[0].value
    assert row[3] == "text_too_long" and len(row[1]) == 2000
    assert fn.counts == {("reject", "filter", "text_too_long"): 1}


def test_lid176_loads_offline_from_the_wheel():
    model = _Model(default_model_path())
    assert model.top("two red circles on a sky background")[0] == "en"
    assert model.top("zwei rote Kreise auf einem blauen Hintergrund")[0] == "de"


def test_language_predictions_are_cached_per_worker_and_bounded(monkeypatch):
    from pipeline.curate import language

    model = _Model(default_model_path())
    texts = ["two red circles on a sky background", "zwei rote Kreise auf blauem Grund"] * 3
    first = model.top_many(texts)
    assert [lang for lang, _ in first] == ["en", "de"] * 3
    assert first == [model.top(t) for t in texts]  # the wrapper's own prediction, same values
    assert len(model.found) == 2  # one entry per distinct text
    assert model.top_many(texts[:2]) == first[:2]  # read back from the cache
    monkeypatch.setattr(language, "CACHE_TEXTS", 3)
    model.top_many([f"a photo of {n} red circles" for n in range(10)])
    assert len(model.found) <= 3  # emptied when full, then refilled


def test_filter_counts_what_it_keeps_as_flow_filtered():
    fn = filters.FilterFn(5, 1000)
    fn.start_bundle()
    batch = [
        ("http://h/x.jpg", "two red circles", "alt", None, "f"),
        ("http://h/y", "", "alt", None, "f"),
    ]
    out = list(fn.process(batch))
    assert [len(o) for o in out if isinstance(o, list)] == [1]
    assert fn.counts["flow", "filtered"] == 1 and fn.counts["reject", "filter", "empty_text"] == 1


def _first_reason(text: str):
    """The reference: each check of `filters.CHECKS` in order, then the length bounds."""
    for check in filters.CHECKS:
        reason = check(text)
        if reason is not None:
            return reason
    return filters.length(text, 5, 1000)


_PIECES = st.sampled_from(
    ["http://", "HTTPS://", "ftp://", "www.", "WwW.", "://", ".", ".JPG", ".png", "img", "DSC",
     "photo", "_", "-", " ", "  ", "\t", "!", "...", "0", "12", "2024", "é", "ß", "日本",
     "\u00a0", "\u2028", "ſ", "K", "İ", "logo", "click here", "image of", "a", "Z", "x" * 20]
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join))
@example("image description")
@example("featured  image")
@example("a b c d e f g h i j k l m n o p q r s")
@example("abcdefghijklmnopqrs")
def test_fused_check_equals_each_check_in_order(text):
    """`check_text`'s prechecks skip a regex only where it cannot match."""
    assert filters.check_text(text, 5, 1000) == _first_reason(text)
