"""Download's input: a curate output folder or URL+caption tables, in a fixed row order.

`list_inputs(specs, url_col, caption_col) -> list[InputFile]` resolves the sources in the
launcher: a curate folder `DIR` means `DIR/manifest/*.parquet` read with curate's own
columns (`url`, `text`, plus `pair_id`, `page_url`, `text_source`, `queries` carried
into each sample's json); anything else is files/globs of parquet, jsonl, csv or tsv (each
also `.gz`) read with `--url-col`/`--caption-col` (img2dataset's convention), by the table
reader curate uses (`pipeline.tables`); paths may be local or `s3://`/`gs://`
(`runtime.storage`). Files are sorted and each gets the global row offset of its first
row, so shard assignment (`global row // shard_size`) is deterministic and needs no
shuffle of the whole input.

`read_rows(input_file) -> Iterator[dict]` yields every row in file order (a row whose
url is null, or a bad record, is still yielded: it becomes a `failed` row with a reason
(`bad_url`, `bad_record`), never dropped).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pyarrow.parquet as pq

from pipeline.tables import MISSING, table_bytes, table_format, table_rows
from runtime import storage
from schemas.layout import MANIFEST_DIR

MANIFEST_COLS = ("url", "text", "pair_id", "page_url", "text_source", "queries")
EXTRA_COLS = MANIFEST_COLS[2:]
FORMATS = (".parquet", ".jsonl", ".csv", ".tsv", "(each also .gz)")


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class InputFile:
    path: str
    fmt: str  # parquet | jsonl | csv | tsv
    url_col: str
    caption_col: str
    curated: bool  # a curate manifest: carry its metadata columns
    offset: int = 0
    rows: int = 0
    size: int = 0  # bytes as stored


def _fmt(path: str) -> str:
    fmt = table_format(path)
    if fmt is None:
        raise ManifestError(f"{path}: unknown table format (expected one of {', '.join(FORMATS)})")
    return fmt


def _columns(f: InputFile) -> tuple[str, ...]:
    return MANIFEST_COLS if f.curated else (f.url_col, f.caption_col)


def _rows(f: InputFile):
    """The file's rows (tuples in `_columns(f)` order, None for a bad record)."""
    try:
        data = table_bytes(storage.read_bytes(f.path), f.path)
        for row in table_rows(data, f.fmt, _columns(f)):
            if row is MISSING:
                need = ", ".join(repr(c) for c in _columns(f)[:2])
                raise ManifestError(f"{f.path}: no column(s) {need}")
            yield row
    except (OSError, EOFError, ValueError) as e:
        if isinstance(e, ManifestError):
            raise
        raise ManifestError(f"{f.path}: {e}") from e


def _count(f: InputFile) -> int:
    if f.fmt != "parquet" or f.path.lower().endswith(".gz"):
        return sum(1 for _ in _rows(f))
    with storage.open_read(f.path) as fh:
        meta = pq.ParquetFile(io.BytesIO(fh.read()) if storage.is_remote(f.path) else fh)
        names = meta.schema_arrow.names
        missing = [c for c in _columns(f)[:2] if c not in names]
        if missing:
            raise ManifestError(f"{f.path}: no column(s) {missing} (columns: {names})")
        return meta.metadata.num_rows


def _curate_folder(spec: str) -> list[InputFile]:
    mdir = storage.join(spec, MANIFEST_DIR)
    if not storage.isdir(mdir):
        raise ManifestError(f"{spec}: a folder without {MANIFEST_DIR}/ (not a curate output)")
    return [
        InputFile(p, "parquet", "url", "text", True, size=n)
        for p, n in storage.glob_sized(storage.join(mdir, "*.parquet"))
    ]


def list_inputs(specs: list[str], url_col: str = "url", caption_col: str = "caption"
                ) -> list[InputFile]:  # fmt: skip
    """The input files in order, each with its global row offset and row count."""
    files: list[InputFile] = []
    for spec in specs:
        if storage.isdir(spec):
            files += _curate_folder(spec)
            continue
        found = storage.glob_sized(spec)
        if not found:
            raise ManifestError(f"{spec}: no such file")
        files += [InputFile(p, _fmt(p), url_col, caption_col, False, size=n) for p, n in found]
    out, offset = [], 0
    for f in files:
        n = _count(f)
        out.append(InputFile(f.path, f.fmt, f.url_col, f.caption_col, f.curated, offset, n, f.size))
        offset += n
    return out


def _text(value) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def read_rows(f: InputFile):
    """Rows of `f` as dicts: `url`, `caption`, and curate's metadata where present; a bad
    record is `{"url": None, "caption": "", "bad_record": True}` (it fails, never dropped)."""
    for row in _rows(f):
        if row is None:
            yield {"url": None, "caption": "", "bad_record": True}
            continue
        url, caption = row[0], row[1]
        if not isinstance(caption, str):
            caption = (
                "" if caption is None else (_text(caption) if f.fmt == "jsonl" else str(caption))
            )
        out = {"url": url if isinstance(url, str) else None, "caption": caption}
        if f.curated:
            out.update(zip(EXTRA_COLS, row[2:]))
        yield out
