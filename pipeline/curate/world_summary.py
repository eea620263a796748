"""stats.json's `worldwide` section and the per-language `queries_counts/XX.parquet` files.

With a folder of per-language lists, the job counts matches and kept pairs per qualified
entry (`"de:hund"`), and pairs per language entering and leaving balancing. Here they become,
per language: its pairs (matched in their language; kept), its t (English's t for English;
p-to-t of English's tail share p for the others, `worldwide.language_thresholds`), its matches
and kept
distributions (as stats.json's `queries`), and `queries_counts/XX.parquet` (`query`, `matches`,
`kept`, one row per entry of its list, in list order). The root `queries_counts.parquet` then
holds each plain entry once, summed over the languages whose lists hold it (what a loader
balancing on the manifest's plain `queries` counts).
"""

from __future__ import annotations

from pipeline.curate.summary import distribution
from pipeline.curate.worldwide import REFERENCE, by_language, language_thresholds
from pipeline.curate.write import write_table
from runtime import storage
from schemas.records import QueryCount

COUNTS_DIR = "queries_counts"


def worldwide_stats(aux: dict, lists: dict[str, list[str]], t: int) -> dict:
    """The `worldwide` section of stats.json (module doc); `aux`: `summary.split_counts`."""
    matches = by_language(aux["match"])
    kept_by = by_language(aux["kept"])
    ts, p = language_thresholds({lang: matches.get(lang, {}) for lang in lists}, t)
    return {
        "reference": REFERENCE,
        "p": p,
        "languages": {
            lang: {
                "t": ts[lang],
                "entries": len(entries),
                "pairs": aux["lang_in"].get(lang, 0),  # matched in their language, to balance
                "pairs_kept": aux["lang_kept"].get(lang, 0),
                "before": distribution(matches.get(lang, {}), len(entries), ts[lang]),
                "after": distribution(kept_by.get(lang, {}), len(entries), ts[lang]),
            }
            for lang, entries in lists.items()
        },
    }


def language_rows(match: dict, kept: dict, lists: dict[str, list[str]]) -> dict[str, list]:
    """{language: [(query, matches, kept)] over its list, in list order}."""
    matches, kept_by = by_language(match), by_language(kept)
    return {
        lang: [
            (q, int(matches.get(lang, {}).get(q, 0)), int(kept_by.get(lang, {}).get(q, 0)))
            for q in entries
        ]
        for lang, entries in lists.items()
    }


def plain_rows(per_language: dict[str, list]) -> list[tuple]:
    """Each plain entry once (first list order), matches and kept summed over languages."""
    total: dict[str, list[int]] = {}
    for rows in per_language.values():
        for q, m, k in rows:
            acc = total.setdefault(q, [0, 0])
            acc[0] += m
            acc[1] += k
    return [(q, m, k) for q, (m, k) in total.items()]


def summarize(folder: str, aux: dict, lists: dict[str, list[str]], t: int) -> tuple[dict, list]:
    """Write `folder/queries_counts/XX.parquet`; (the `worldwide` section, the root rows)."""
    per_language = language_rows(aux["match"], aux["kept"], lists)
    for lang, rows in per_language.items():
        write_table(storage.join(folder, COUNTS_DIR, f"{lang}.parquet"), QueryCount, rows)
    return worldwide_stats(aux, lists, t), plain_rows(per_language)


def describe(section: dict) -> str:
    """One line per language for the command's summary: t and matched / kept pairs' entries."""
    return "; ".join(
        f"{lang}: t={v['t']:,} ({v['before']['total']:,} matches -> {v['after']['total']:,})"
        for lang, v in section["languages"].items()
    )
