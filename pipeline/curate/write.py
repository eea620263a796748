"""Write stage: rows -> deterministic parquet parts; small results -> json files for the driver.

`WriteRows(folder, cls, sort_key)`: tuples in `cls` field order (`ManifestRow`, `RejectRow`) ->
`folder/part-SSSSS-of-NNNNN.parquet`, N = ceil(rows / ROWS_PER_FILE) (at least 1: an empty
input writes one empty part, so readers always find the schema). A row's part is a hash of its
sort key; rows are sorted within a part; every file carries the schema version metadata. The
same rows give byte-identical files, whatever the runner or worker count.

`WriteJson(path)`: one element (any json-able value) -> `path`.
"""

from __future__ import annotations

import json
import zlib

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.arrow import schema_with_metadata

ROWS_PER_FILE = 1_000_000


def part_name(folder: str, shard: int, shards: int) -> str:
    return FileSystems.join(folder, f"part-{shard:05d}-of-{shards:05d}.parquet")


def write_table(path: str, cls: type, rows: list[tuple]) -> None:
    schema = schema_with_metadata(cls)
    columns = list(zip(*rows)) if rows else [[] for _ in schema.names]
    table = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema)],
                                 schema=schema)
    with FileSystems.create(path) as f:
        pq.write_table(table, f)


def _shards(total: int, rows_per_file: int) -> int:
    return max(1, -(-total // rows_per_file))


class _KeyFn(beam.DoFn):
    def __init__(self, sort_key, rows_per_file):
        self.sort_key, self.rows_per_file = sort_key, rows_per_file

    def process(self, row, total):
        shards = _shards(total, self.rows_per_file)
        key = repr(self.sort_key(row)).encode("utf-8", "surrogatepass")
        yield (zlib.crc32(key) % shards, shards), row


class _WritePartFn(beam.DoFn):
    def __init__(self, folder, cls, sort_key):
        self.folder, self.cls, self.sort_key = folder, cls, sort_key

    def process(self, item):
        (shard, shards), rows = item
        rows = sorted(rows, key=self.sort_key)
        write_table(part_name(self.folder, shard, shards), self.cls, rows)
        yield len(rows)


class WriteRows(beam.PTransform):
    """rows -> parquet parts in `folder`; outputs the row count (one element)."""

    def __init__(self, folder: str, cls: type, sort_key, rows_per_file: int = ROWS_PER_FILE):
        super().__init__()
        self.folder, self.cls, self.sort_key = folder, cls, sort_key
        self.rows_per_file = rows_per_file

    def expand(self, rows):
        total = rows | "Total" >> beam.combiners.Count.Globally()
        _ = (rows
             | "PartKey" >> beam.ParDo(_KeyFn(self.sort_key, self.rows_per_file),
                                       beam.pvalue.AsSingleton(total))
             | "GroupByPart" >> beam.GroupByKey()
             | "WritePart" >> beam.ParDo(_WritePartFn(self.folder, self.cls, self.sort_key)))
        folder, cls = self.folder, self.cls
        _ = total | "EmptyPart" >> beam.Map(
            lambda n: write_table(part_name(folder, 0, 1), cls, []) if n == 0 else None)
        return total


class WriteJson(beam.PTransform):
    """One element -> a json file at `path` (read back by the driver after the run)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def expand(self, one):
        path = self.path

        def write(value):
            with FileSystems.create(path) as f:
                f.write(json.dumps(value, sort_keys=True).encode())

        return one | "Write" >> beam.Map(write)
