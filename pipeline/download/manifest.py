"""Download's input: a curate output folder or URL+caption tables, in a fixed row order.

`list_inputs(specs, url_col, caption_col) -> list[InputFile]` resolves the sources in the
launcher: a curate folder `DIR` means `DIR/manifest/*.parquet` read with curate's own
columns (`url`, `text`, plus `pair_id`, `page_url`, `text_source`, `queries` carried
into each sample's json); anything else is files/globs of parquet, jsonl[.gz], csv or
tsv read with `--url-col`/`--caption-col` (img2dataset's convention). Files are sorted
and each gets the global row offset of its first row, so shard assignment
(`global row // shard_size`) is deterministic and needs no shuffle of the whole input.

`read_rows(input_file) -> Iterator[dict]` yields every row in file order (a row whose
url is null is still yielded: it becomes a `failed` row with a reason, never dropped).
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import os
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from schemas.layout import MANIFEST_DIR

MANIFEST_COLS = ("url", "text", "pair_id", "page_url", "text_source", "queries")
FORMATS = (".parquet", ".jsonl", ".jsonl.gz", ".csv", ".tsv")


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


def _fmt(path: str) -> str:
    for ext in FORMATS:
        if path.endswith(ext):
            return ext.lstrip(".").removesuffix(".gz")
    raise ManifestError(f"{path}: unknown table format (expected one of {', '.join(FORMATS)})")


def _table(f: InputFile, columns: list[str] | None = None) -> pa.Table:
    if f.fmt == "parquet":
        return pq.read_table(f.path, columns=columns)
    if f.fmt == "jsonl":
        opener = gzip.open if f.path.endswith(".gz") else open
        with opener(f.path, "rt", encoding="utf-8", errors="replace") as fh:
            rows = [_json_row(line) for line in fh if line.strip()]
        present = {k for r in rows for k in r}
        if rows and columns and f.url_col not in present:
            raise ManifestError(f"{f.path}: no column {f.url_col!r} (columns: {sorted(present)})")
        names = columns or sorted(present)
        return pa.table({c: pa.array([_text(r.get(c)) for r in rows], pa.string()) for c in names})
    opts = pacsv.ParseOptions(delimiter="\t" if f.fmt == "tsv" else ",")
    conv = pacsv.ConvertOptions(include_columns=columns, strings_can_be_null=True)
    with open(f.path, "rb") as fh:
        return pacsv.read_csv(io.BytesIO(fh.read()), parse_options=opts, convert_options=conv)


def _json_row(line: str) -> dict:
    """A jsonl line as a dict; a broken line becomes an empty row (it fails as `bad_url`)."""
    try:
        row = json.loads(line)
    except ValueError:
        return {}
    return row if isinstance(row, dict) else {}


def _text(value) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _columns(f: InputFile) -> list[str]:
    if f.curated:
        names = pq.read_schema(f.path).names
        return [c for c in MANIFEST_COLS if c in names]
    return [f.url_col, f.caption_col]


def _count(f: InputFile) -> int:
    if f.fmt == "parquet":
        names = pq.read_schema(f.path).names
        need = ["url", "text"] if f.curated else [f.url_col, f.caption_col]
        missing = [c for c in need if c not in names]
        if missing:
            raise ManifestError(f"{f.path}: no column(s) {missing} (columns: {names})")
        return pq.ParquetFile(f.path).metadata.num_rows
    try:
        return _table(f, _columns(f)).num_rows
    except (KeyError, pa.ArrowInvalid) as e:
        raise ManifestError(f"{f.path}: {e}") from e


def list_inputs(specs: list[str], url_col: str = "url", caption_col: str = "caption"
                ) -> list[InputFile]:  # fmt: skip
    """The input files in order, each with its global row offset and row count."""
    files: list[InputFile] = []
    for spec in specs:
        if os.path.isdir(spec):
            mdir = os.path.join(spec, MANIFEST_DIR)
            if not os.path.isdir(mdir):
                raise ManifestError(
                    f"{spec}: a folder without {MANIFEST_DIR}/ (not a curate output)"
                )
            paths = sorted(glob.glob(os.path.join(mdir, "*.parquet")))
            files += [InputFile(p, "parquet", "url", "text", True) for p in paths]
            continue
        paths = sorted(glob.glob(spec)) or ([spec] if os.path.exists(spec) else [])
        if not paths:
            raise ManifestError(f"{spec}: no such file")
        files += [InputFile(p, _fmt(p), url_col, caption_col, False) for p in paths]
    out, offset = [], 0
    for f in files:
        n = _count(f)
        out.append(InputFile(f.path, f.fmt, f.url_col, f.caption_col, f.curated, offset, n))
        offset += n
    return out


def read_rows(f: InputFile):
    """Rows of `f` as dicts: `url`, `caption`, and curate's metadata where present."""
    table = _table(f, _columns(f))
    for row in table.to_pylist():
        url = row.get(f.url_col)
        caption = row.get(f.caption_col)
        out = {
            "url": url if isinstance(url, str) else None,
            "caption": caption
            if isinstance(caption, str)
            else ("" if caption is None else str(caption)),
        }
        if f.curated:
            out.update({k: row.get(k) for k in ("pair_id", "page_url", "text_source", "queries")})
        yield out
