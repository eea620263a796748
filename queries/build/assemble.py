"""Assembly: precedence between sources, the deterministic order, `--max-size`, parquet.

Precedence: an entry belongs to the first source that yields it, in the order unigram,
bigram, title, wordnet (`schemas.vocab.QuerySource`). Entries are compared exactly
(case-sensitive, as the matcher matches them).

Order of the rows (the file's order and the trim order): by source in that precedence
order; within a source by score descending, then by query ascending (Unicode code
points). `--max-size N` (N > 0) keeps the first N rows of that order: the lowest-ranked
source loses its lowest-scored entries first (WordNet entries, all scored 0, go from the
end of the alphabet). 0 means no limit.

Same candidates and flags give the same rows in the same order, and pyarrow writes the
same bytes for the same table: the file is byte-identical across runs, runners and
worker counts.
"""

from __future__ import annotations

from runtime import storage
from schemas.arrow import parquet_bytes
from schemas.records import QueryEntry
from schemas.vocab import QuerySource

ORDER = tuple(QuerySource)


def assemble(
    candidates: dict[QuerySource, dict[str, float]], max_size: int = 0
) -> list[QueryEntry]:
    """Rows of the query list from per-source candidates (query -> score); module doc."""
    owner: dict[str, tuple[str, float]] = {}
    for source in ORDER:
        for query, score in candidates.get(source, {}).items():
            query = query.strip()
            if query and query not in owner:
                owner[query] = (str(source), float(score))
    rows = [QueryEntry(query, source, score) for query, (source, score) in owner.items()]
    rank = {str(s): i for i, s in enumerate(ORDER)}
    rows.sort(key=lambda r: (rank[r.source], -r.score, r.query))
    return rows[:max_size] if max_size > 0 else rows


def breakdown(rows: list[QueryEntry]) -> dict[str, int]:
    """Entries per source, every source present (0 where none)."""
    counts = {str(s): 0 for s in ORDER}
    for row in rows:
        counts[row.source] += 1
    return counts


def write(path: str, rows: list[QueryEntry]) -> None:
    """Write rows atomically to a local path or s3://, gs:// (`runtime.storage`)."""
    storage.write_bytes(path, parquet_bytes(QueryEntry, rows))
