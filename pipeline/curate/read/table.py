"""URL + caption tables (parquet, jsonl[.gz], csv, tsv) -> candidate pairs (`text_source` caption).

Contract of `read_table(data, fmt, input_file, url_col, caption_col)`: `data` is the whole file's
bytes (decompressed). Yields `(PAIR, Candidate(url, caption, "caption", None, input_file))` per
row with an http(s) URL; rejects: `missing_column` (once, for a file lacking either column:
nothing else is read from it), `bad_record` (a jsonl line that is not a JSON object, a csv row
of the wrong width), `bad_url` / `unsupported_scheme` (per row).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pyarrow.parquet as pq

from pipeline.curate.read.elements import PAIR, REJECT, as_candidate, reject
from pipeline.curate.read.images import resolve
from schemas.vocab import Reason, TextSource

CAPTION = str(TextSource.CAPTION)


def read_table(
    data: bytes, fmt: str, input_file: str, url_col: str, caption_col: str
) -> Iterator[tuple]:
    """See the module doc."""
    rows = {"parquet": _parquet_rows, "jsonl": _jsonl_rows, "csv": _csv_rows, "tsv": _csv_rows}[fmt]
    for row in rows(data, fmt, url_col, caption_col):
        if row is _MISSING:
            yield REJECT, reject(None, None, Reason.MISSING_COLUMN, input_file)
            return
        if row is None:
            yield REJECT, reject(None, None, Reason.BAD_RECORD, input_file)
            continue
        yield from _row(row[0], row[1], input_file)


_MISSING = object()


def _row(url, caption, input_file: str) -> Iterator[tuple]:
    url = url if isinstance(url, str) else None
    caption = caption if isinstance(caption, str) else ""
    resolved, reason = resolve("", url)
    if reason is not None:
        yield REJECT, reject(resolved, caption, reason, input_file)
    else:
        yield PAIR, as_candidate((resolved, caption, CAPTION, None, input_file))


def _parquet_rows(data: bytes, fmt: str, url_col: str, caption_col: str):
    f = pq.ParquetFile(io.BytesIO(data))
    if not {url_col, caption_col} <= set(f.schema_arrow.names):
        yield _MISSING
        return
    for batch in f.iter_batches(columns=[url_col, caption_col], batch_size=65536):
        yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist())


def _jsonl_rows(data: bytes, fmt: str, url_col: str, caption_col: str):
    first = True
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            yield None
        elif url_col not in obj or caption_col not in obj:
            # jsonl has no header: a first row without the columns marks the whole file
            yield _MISSING if first else None
            if first:
                return
        else:
            yield obj[url_col], obj[caption_col]
        first = False


def _csv_rows(data: bytes, fmt: str, url_col: str, caption_col: str):
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    header = next(reader, [])
    if url_col not in header or caption_col not in header:
        yield _MISSING
        return
    ui, ci = header.index(url_col), header.index(caption_col)
    for fields in reader:
        if not fields:
            continue
        if len(fields) != len(header):
            yield None
            continue
        yield fields[ui], fields[ci]
