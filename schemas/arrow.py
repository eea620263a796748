"""Conversions between record dataclasses, pyarrow tables and parquet files.

Every parquet file written through here carries the record name and
`SCHEMA_VERSION` in its key-value metadata, and is written atomically
(temporary name, then rename), so a reader never sees half a file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.version import NAME_KEY, SCHEMA_VERSION, VERSION_KEY

R = TypeVar("R")


def to_dict(record: Any) -> dict[str, Any]:
    """A record as a plain dict (tuples become lists), ready for json or pyarrow."""
    out = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def from_dict(cls: type[R], data: dict[str, Any]) -> R:
    """Build `cls` from a dict; unknown keys are an error, lists become tuples."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)


def schema_with_metadata(cls: type) -> pa.Schema:
    """`cls.ARROW` with the record name and schema version in its metadata."""
    return cls.ARROW.with_metadata(
        {NAME_KEY: cls.__name__.encode(), VERSION_KEY: SCHEMA_VERSION.encode()}
    )


def to_table(cls: type, records: Iterable[Any]) -> pa.Table:
    """Records (dataclass instances or dicts with the same keys) as a typed table."""
    rows = [r if isinstance(r, dict) else to_dict(r) for r in records]
    return pa.Table.from_pylist(rows, schema=schema_with_metadata(cls))


def from_table(cls: type[R], table: pa.Table) -> list[R]:
    """Rows of `table` as `cls` instances; columns must include every field of `cls`."""
    names = [f.name for f in dataclasses.fields(cls) if f.name in table.column_names]
    missing = {f.name for f in dataclasses.fields(cls)} - set(names)
    if missing - _defaulted(cls):
        raise ValueError(f"{cls.__name__}: table lacks columns {sorted(missing)}")
    return [from_dict(cls, row) for row in table.select(names).to_pylist()]


def _defaulted(cls: type) -> set[str]:
    return {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }


def parquet_table(cls: type, records: Iterable[Any] | pa.Table) -> pa.Table:
    """Records of `cls` (or a table of them) as a table with `cls`'s schema and version."""
    table = records if isinstance(records, pa.Table) else to_table(cls, records)
    return table.cast(schema_with_metadata(cls))


def parquet_bytes(cls: type, records: Iterable[Any] | pa.Table) -> bytes:
    """Records of `cls` as the bytes of a parquet file with version metadata (written by the
    caller through the storage layer, atomically)."""
    sink = pa.BufferOutputStream()
    pq.write_table(parquet_table(cls, records), sink)
    return sink.getvalue().to_pybytes()


def write_parquet(path: str, cls: type, records: Iterable[Any] | pa.Table) -> None:
    """Write records of `cls` to a local parquet file, with version metadata (not atomic: the
    commands write `parquet_bytes` through `runtime.storage`)."""
    pq.write_table(parquet_table(cls, records), path)


def schema_version(path_or_schema: str | pa.Schema) -> str | None:
    """The schema version recorded in a parquet file (or schema), None if absent."""
    schema = path_or_schema
    if isinstance(schema, str):
        schema = pq.read_schema(schema)
    meta = schema.metadata or {}
    value = meta.get(VERSION_KEY)
    return value.decode() if value is not None else None
