"""The exact fast path of text repair (`filters.ftfy_cannot_change`) against ftfy itself."""

from __future__ import annotations

import ftfy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.curate.filters import ftfy_cannot_change

# mojibake, quotes, ligatures, widths, controls, combining marks, scripts the crawl holds
PIECES = ("Ã©", "Ã", "Â", "â€™", "â€œ", "ÐºÑ€Ð°", "ï¬", "ﬁ", "’", "“", "ʼ", "　", "Ａ", "ｶ")
PIECES += ("\u0301", "e\u0301", "é", "\x85", "\x1b[0m", "&amp;", "\u2028", "\ufeff", "\u206a")
PIECES += ("красный", "背景", "図形", "schön", "ĳ", "Ǆ", " ", "a", "\n", "\r", "\t", "\udcff")
TEXTS = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=8).map("".join),
)


@settings(max_examples=4000, deadline=None)
@given(TEXTS)
@example("vÃ©lo rouge")
@example("ＲＥＤ")
@example("cafe\u0301")
def test_fast_path_only_where_ftfy_changes_nothing(text):
    if ftfy_cannot_change(text):
        assert ftfy.fix_text(text) == text


def test_fast_path_takes_plain_non_ascii_text():
    for text in ("два красных круга", "背景の上に赤い図形", "zwei rote Kreise, schön"):
        assert ftfy_cannot_change(text)
    assert not ftfy_cannot_change("vÃ©lo")  # mojibake: ftfy repairs it
