"""Load a query list from any of the formats users have: ours, plain text, or a JSON list.

- `.parquet`: our `queries build` output (the `query` column).
- `.txt`: one entry per line; surrounding whitespace stripped, blank lines skipped.
- `.json`: a JSON list of strings (MetaCLIP's published `metadata.json`).

Entries keep their first-seen order; repeats are dropped. Anything else raises
`QueryListError` naming the file. Imports no Beam: the trainer or a notebook can use it.
"""

from __future__ import annotations

import io
import json
import os

import pyarrow.parquet as pq


class QueryListError(ValueError):
    """A query list that cannot be read; the message names the file and the problem."""


def load(path: str | os.PathLike) -> list[str]:
    """Read the query list at local `path` (see the module doc for formats)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise QueryListError(f"{path}: cannot read query list: {e.strerror or e}") from e
    return loads(data, path)


def loads(data: bytes, name: str) -> list[str]:
    """Parse query-list bytes; `name` (a path or URL) picks the format and names errors."""
    lower = name.lower()
    if lower.endswith(".parquet"):
        entries = _from_parquet(data, name)
    elif lower.endswith(".txt"):
        entries = _from_text(data, name)
    elif lower.endswith(".json"):
        entries = _from_json(data, name)
    else:
        raise QueryListError(
            f"{name}: unknown query list format (expected .parquet, .txt or .json)"
        )
    return list(dict.fromkeys(entries))


def _from_parquet(data: bytes, name: str) -> list[str]:
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as e:  # pyarrow raises several types for bad files
        raise QueryListError(f"{name}: not a readable parquet file: {e}") from e
    if "query" not in table.column_names:
        raise QueryListError(f"{name}: parquet file has no 'query' column")
    values = table.column("query").to_pylist()
    if any(not isinstance(v, str) for v in values):
        raise QueryListError(f"{name}: 'query' column holds non-string values")
    return values


def _from_text(data: bytes, name: str) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise QueryListError(f"{name}: not UTF-8 text: {e}") from e
    return [line.strip() for line in text.splitlines() if line.strip()]


def _from_json(data: bytes, name: str) -> list[str]:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise QueryListError(f"{name}: not valid JSON: {e}") from e
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise QueryListError(f"{name}: expected a JSON list of strings")
    return value
