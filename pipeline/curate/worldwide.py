"""Worldwide curation (MetaCLIP 2): per-language entries and balancing thresholds.

With a folder of per-language lists (`--queries DIR`), a matched entry travels through the
job *qualified* by its list's language, `"de:hund"` (`qualify`), so counts, draws and
balancing keep the same string of two languages apart; the language stage keeps a text's
entries of its detected language only (`select`), and the manifest writes them plain.

Per-language thresholds (MetaCLIP 2's t-to-p and p-to-t):

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
SEP = ":"  # language codes never hold one, so the first one splits a qualified entry


def qualify(lang: str, entry: str) -> str:
    return f"{lang}{SEP}{entry}"


def split(qualified: str) -> tuple[str, str]:
    """`"de:hund"` -> ("de", "hund")."""
    lang, _, entry = qualified.partition(SEP)
    return lang, entry


def qualified_matches(by_lang: dict[str, list[str]]) -> tuple[str, ...]:
    """A `UnionMatcher` result -> sorted qualified entries (all languages)."""
    return tuple(sorted(qualify(lang, e) for lang, entries in by_lang.items() for e in entries))


# lid.176 labels that name a language wordfreq lists under another code
LID_ALIASES = {"no": "nb", "tl": "fil", "sr": "sh", "hr": "sh", "bs": "sh"}


def list_language(lid_label: str) -> str:
    """The list language of a lid.176 label (`no` -> `nb`, ...; most are the same code)."""
    return LID_ALIASES.get(lid_label, lid_label)


def select(queries, lang: str) -> tuple[str, ...]:
    """The qualified entries of language `lang` (still qualified, order kept)."""
    prefix = lang + SEP
    return tuple(q for q in queries if q.startswith(prefix))


def plain(queries) -> list[str]:
    """Qualified entries as the manifest writes them: the entries of their lists."""
    return [split(q)[1] for q in queries]


def by_language(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """{qualified entry: n} -> {language: {entry: n}}."""
    out: dict[str, dict[str, int]] = {}
    for q, n in counts.items():
        lang, entry = split(q)
        out.setdefault(lang, {})[entry] = n
    return out


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
