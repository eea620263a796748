"""Records that cross a stage boundary: frozen dataclasses and their pyarrow schemas.

Each record class carries `ARROW`, the pyarrow schema of its table, whose field
names and order equal the dataclass fields. `schemas.arrow` converts both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa


@dataclass(frozen=True)
class QueryEntry:
    """One row of `queries.parquet`: `score` is a count, a PMI, page views, or 0."""

    query: str
    source: str  # vocab.QuerySource
    score: float

    ARROW: ClassVar[pa.Schema] = pa.schema(
        [("query", pa.string()), ("source", pa.string()), ("score", pa.float64())]
    )


@dataclass(frozen=True)
class CandidatePair:
    """An (image url, text) pair as read from a crawl page or a table, before filtering."""

    url: str
    text: str
    text_source: str  # vocab.TextSource
    page_url: str | None
    input_file: str

    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            ("url", pa.string()),
            ("text", pa.string()),
            ("text_source", pa.string()),
            ("page_url", pa.string()),
            ("input_file", pa.string()),
        ]
    )


@dataclass(frozen=True)
class ManifestRow:
    """One kept pair in `manifest/*.parquet`; `pair_id` is `schemas.keys.pair_id(url, text)`."""

    pair_id: str
    url: str
    text: str
    text_source: str
    page_url: str | None
    queries: tuple[str, ...]
    input_file: str

    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            ("pair_id", pa.string()),
            ("url", pa.string()),
            ("text", pa.string()),
            ("text_source", pa.string()),
            ("page_url", pa.string()),
            ("queries", pa.list_(pa.string())),
            ("input_file", pa.string()),
        ]
    )


@dataclass(frozen=True)
class RejectRow:
    """One rejected record in `rejects/*.parquet`; `text` is None where not known."""

    url: str | None
    text: str | None
    stage: str  # vocab.Stage
    reason: str  # vocab.Reason
    input_file: str

    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            ("url", pa.string()),
            ("text", pa.string()),
            ("stage", pa.string()),
            ("reason", pa.string()),
            ("input_file", pa.string()),
        ]
    )


@dataclass(frozen=True)
class QueryCount:
    """One row of `queries_counts.parquet`: matches before balancing, kept after."""

    query: str
    matches: int
    kept: int

    ARROW: ClassVar[pa.Schema] = pa.schema(
        [("query", pa.string()), ("matches", pa.int64()), ("kept", pa.int64())]
    )


@dataclass(frozen=True)
class ShardRow:
    """One row of a per-shard `NNNNN.parquet`: every input row, whatever became of it.

    `queries` are the sample's matched entries as curate's manifest gave them (empty for
    foreign tables), so a loader can count entries without opening a tar."""

    key: str
    url: str
    caption: str | None
    status: str  # vocab.Status
    error_message: str | None
    queries: tuple[str, ...] = ()

    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            ("key", pa.string()),
            ("url", pa.string()),
            ("caption", pa.string()),
            ("status", pa.string()),
            ("error_message", pa.string()),
            ("queries", pa.list_(pa.string())),
        ]
    )


@dataclass(frozen=True)
class SampleMeta:
    """`KEY.json` inside a shard tar: where the sample came from and what was done to it.

    `sha256` hashes the downloaded bytes as served (before decoding); `phash` is the
    64-bit perceptual hash of the decoded image as 16 hex digits.
    """

    key: str
    url: str
    caption: str
    pair_id: str | None = None
    page_url: str | None = None
    text_source: str | None = None
    queries: tuple[str, ...] = ()
    width: int | None = None
    height: int | None = None
    original_width: int | None = None
    original_height: int | None = None
    sha256: str | None = None
    phash: str | None = None
    extra: dict = field(default_factory=dict)
