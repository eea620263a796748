"""Per-language balancing thresholds (MetaCLIP 2's t-to-p and p-to-t).

English's t fixes how much of the English matches sits in the tail: p = the share of English
matches that fall on entries with fewer than t matches (`t_to_p`). Each other language gets the
count threshold at which its own cumulative share comes nearest p (`p_to_t`): sort its
entries' counts ascending, take the running sum over the total, and pick the count where that
share is nearest p. A language with few matches so gets a small t, and every language keeps
about the same tail share as English. Pure functions of the per-entry match counts.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

REFERENCE = "en"


def t_to_p(t: float, counts: Iterable[int]) -> float:
    """Share of all matches on entries matched fewer than `t` times (0 with no matches)."""
    c = np.fromiter(counts, np.int64)
    total = c.sum()
    return float(c[c < t].sum() / total) if total else 0.0


def p_to_t(p: float, counts: Iterable[int]) -> int:
    """The entry count whose cumulative share (counts ascending, that entry included) is
    nearest `p`; the smaller count on a tie. 0 for a language without matches."""
    c = np.sort(np.fromiter(counts, np.int64))
    if not c.size or not c.sum():
        return 0
    share = np.cumsum(c) / c.sum()
    return int(c[int(np.argmin(np.abs(share - p)))])


def language_thresholds(
    counts: dict[str, dict[str, int]], t: int, reference: str = REFERENCE
) -> tuple[dict[str, int], float | None]:
    """({language: t}, p) from {language: {entry: matches}}: the reference language keeps
    `t`; the others get `p_to_t(t_to_p(t, reference counts))`. Without reference matches
    (p is None) every language keeps `t`. A language with a t of 0 has no matches."""
    ref = counts.get(reference)
    if not ref:
        return {lang: t for lang in counts}, None
    p = t_to_p(t, ref.values())
    out = {lang: (t if lang == reference else p_to_t(p, c.values())) for lang, c in counts.items()}
    return out, p
