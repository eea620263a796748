"""URL + caption tables, read one way for curate and download.

Formats, from the name: `.parquet`, `.jsonl`, `.csv`, `.tsv`, each optionally `.gz`
(`table_format`). `table_bytes(data, path)` gunzips a `.gz` file's bytes, refusing a gzip bomb
(output over `MAX_GZIP_RATIO` x the input, and past 64 MiB).

`table_rows(data, fmt, columns) -> Iterator[tuple | None | MISSING]` over a whole file's
(decompressed) bytes, in file order; `columns[:2]` are the url and caption columns (required),
any further ones optional (None where a file lacks them):
- a tuple of the values (as stored: a jsonl value may be any JSON type, a csv value is a str);
- `None` for a bad record: a jsonl line that is not a JSON object or lacks a required column
  (after the first), a csv row of the wrong width;
- `MISSING` once, and nothing after it, for a file without a required column (a csv header or
  parquet schema without it, a jsonl file whose first row lacks it).
Curate makes `bad_record` / `missing_column` rejects of these; download a failed row per bad
record and an error for a file with a missing column.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterator

import pyarrow.parquet as pq

FORMATS = ("parquet", "jsonl", "csv", "tsv")
MAX_GZIP_RATIO = 200
MISSING = object()


def table_format(path: str) -> str | None:
    """`parquet`, `jsonl`, `csv` or `tsv` from the file name (a `.gz` suffix allowed); None."""
    name = path.lower().rsplit("/", 1)[-1]
    name = name[:-3] if name.endswith(".gz") else name
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    return ext if ext in FORMATS else None


def gunzip_capped(data: bytes) -> bytes:
    """`gzip.decompress(data)` (all members), refusing output over MAX_GZIP_RATIO x the input."""
    limit = max(64 << 20, MAX_GZIP_RATIO * len(data))
    out, size = [], 0
    while data:
        inflate, pending = zlib.decompressobj(wbits=31), data
        while not inflate.eof:
            chunk = inflate.decompress(pending, 1 << 20)
            pending = inflate.unconsumed_tail
            size += len(chunk)
            if size > limit:
                raise OSError(f"gzip inflates past {limit} bytes ({MAX_GZIP_RATIO}x): a gzip bomb")
            out.append(chunk)
            if not chunk and not pending:
                raise EOFError("gzip stream ends inside a member (truncated file)")
        data = inflate.unused_data
    return b"".join(out)


def table_bytes(data: bytes, path: str) -> bytes:
    """A table file's bytes as stored -> its content (gunzipped when the name ends in `.gz`)."""
    return gunzip_capped(data) if path.lower().endswith(".gz") else data


def table_rows(data: bytes, fmt: str, columns: tuple[str, ...] | list[str]) -> Iterator:
    """See the module doc."""
    return {"parquet": _parquet_rows, "jsonl": _jsonl_rows, "csv": _csv_rows, "tsv": _csv_rows}[
        fmt
    ](data, fmt, tuple(columns))


def _parquet_rows(data: bytes, fmt: str, columns: tuple[str, ...]):
    f = pq.ParquetFile(io.BytesIO(data))
    names = set(f.schema_arrow.names)
    if not set(columns[:2]) <= names:
        yield MISSING
        return
    present = [c for c in columns if c in names]
    for batch in f.iter_batches(columns=present, batch_size=65536):
        values = {c: batch.column(i).to_pylist() for i, c in enumerate(present)}
        empty = [None] * batch.num_rows
        yield from zip(*(values.get(c, empty) for c in columns))


def _jsonl_rows(data: bytes, fmt: str, columns: tuple[str, ...]):
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
        elif not all(c in obj for c in columns[:2]):
            # jsonl has no header: a first row without the columns marks the whole file
            yield MISSING if first else None
            if first:
                return
        else:
            yield tuple(obj.get(c) for c in columns)
        first = False


def _csv_rows(data: bytes, fmt: str, columns: tuple[str, ...]):
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    header = next(reader, [])
    if not all(c in header for c in columns[:2]):
        yield MISSING
        return
    index = [header.index(c) if c in header else None for c in columns]
    for fields in reader:
        if not fields:
            continue
        if len(fields) != len(header):
            yield None
            continue
        yield tuple(None if i is None else fields[i] for i in index)
