"""`python -m queries stats FILE`: entries per source next to MetaCLIP's, and examples.

MetaCLIP's list (Xu et al. 2023, Table 1): 251,465 unigrams + 100,646 bigrams + 61,235
titles + 86,654 WordNet synsets = 500,000.
"""

from __future__ import annotations

import os

import pyarrow.parquet as pq

from queries.build.errors import QueryBuildError
from schemas.vocab import QuerySource

METACLIP = {"unigram": 251_465, "bigram": 100_646, "title": 61_235, "wordnet": 86_654}
EXAMPLES = 8


def format_breakdown(per_source: dict[str, int]) -> str:
    """A table of entries per source beside MetaCLIP's counts, with the total."""
    lines = [f"{'source':<9} {'entries':>10} {'MetaCLIP':>10}"]
    for source in QuerySource:
        lines.append(f"{source:<9} {per_source.get(source, 0):>10,} {METACLIP[source]:>10,}")
    total = sum(per_source.get(s, 0) for s in QuerySource)
    lines.append(f"{'total':<9} {total:>10,} {sum(METACLIP.values()):>10,}")
    return "\n".join(lines)


def read_list(path: str) -> list[tuple[str, str, float]]:
    """(query, source, score) rows of a `queries build` parquet file, in file order."""
    if not os.path.exists(path):
        raise QueryBuildError(f"{path}: file not found")
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for missing or bad files
        raise QueryBuildError(f"{path}: not a readable parquet file ({e})") from e
    missing = {"query", "source", "score"} - set(table.column_names)
    if missing:
        raise QueryBuildError(f"{path}: not a query list (no column {sorted(missing)})")
    cols = [table.column(c).to_pylist() for c in ("query", "source", "score")]
    return list(zip(*cols))


def render(path: str) -> str:
    """The report `queries stats` prints for the list at `path`."""
    rows = read_list(path)
    per_source: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    for query, source, score in rows:
        per_source[source] = per_source.get(source, 0) + 1
        shown = examples.setdefault(source, [])
        if len(shown) < EXAMPLES:
            shown.append(f"{query} ({score:g})")
    out = [f"{path}: {len(rows):,} entries", format_breakdown(per_source), ""]
    for source in QuerySource:
        if source in examples:
            out.append(f"{source} (highest scores): " + ", ".join(examples[source]))
    unknown = sorted(set(per_source) - {str(s) for s in QuerySource})
    if unknown:
        out.append(f"unknown sources: {', '.join(unknown)}")
    return "\n".join(out)
