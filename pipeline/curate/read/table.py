"""URL + caption tables (parquet, jsonl[.gz], csv, tsv) -> candidate pairs (`text_source` caption).

The rows come from the table reader download shares (`pipeline.tables`). Contract of
`read_table(data, fmt, input_file, url_col, caption_col)`: `data` is the whole file's
bytes (decompressed). Yields `(PAIR, Candidate(url, caption, "caption", None, input_file))` per
row with an http(s) URL; rejects: `missing_column` (once, for a file lacking either column:
nothing else is read from it), `bad_record` (a jsonl line that is not a JSON object, a csv row
of the wrong width), `bad_url` / `unsupported_scheme` (per row).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.curate.read.elements import PAIR, REJECT, as_candidate, reject
from pipeline.curate.read.images import resolve
from pipeline.tables import MISSING, table_rows
from schemas.vocab import Reason, TextSource

CAPTION = str(TextSource.CAPTION)


def read_table(
    data: bytes, fmt: str, input_file: str, url_col: str, caption_col: str
) -> Iterator[tuple]:
    """See the module doc."""
    for row in table_rows(data, fmt, (url_col, caption_col)):
        if row is MISSING:
            yield REJECT, reject(None, None, Reason.MISSING_COLUMN, input_file)
            return
        if row is None:
            yield REJECT, reject(None, None, Reason.BAD_RECORD, input_file)
            continue
        yield from _row(row[0], row[1], input_file)


def _row(url, caption, input_file: str) -> Iterator[tuple]:
    url = url if isinstance(url, str) else None
    caption = caption if isinstance(caption, str) else ""
    resolved, reason = resolve("", url)
    if reason is not None:
        yield REJECT, reject(resolved, caption, reason, input_file)
    else:
        yield PAIR, as_candidate((resolved, caption, CAPTION, None, input_file))
