"""`WriteJsonLines(folder, name, shards)`: PCollection[json-able] -> `folder/NAME-KKKKK-of-NNNNN
.jsonl` files, one per shard, the same on every runner (Beam's Dask runner included).

Each value goes to the shard picked by a CRC32 of its JSON line; a GroupByKey gathers a shard
and one call writes it, lines sorted, through the storage layer's atomic write. So a retried
shard rewrites the same file with the same bytes, and no side input or file-sink finalisation
is involved (Beam's `WriteToText` needs both; the Dask runner recomputes side inputs per
partition and computes only the branch of the last transform). An empty shard writes no file.
Output: the paths written.
"""

from __future__ import annotations

import json
import zlib

import apache_beam as beam

from runtime import storage
from runtime.engines import widen


def _keyed(value, shards: int):
    line = json.dumps(value)
    return zlib.crc32(line.encode("utf-8", "surrogatepass")) % shards, line


class _WriteShardFn(beam.DoFn):
    def __init__(self, folder: str, name: str, shards: int):
        self.folder, self.name, self.shards = folder, name, shards

    def process(self, element):
        shard, lines = element
        path = storage.join(self.folder, f"{self.name}-{shard:05d}-of-{self.shards:05d}.jsonl")
        storage.write_text(path, "".join(line + "\n" for line in sorted(lines)))
        yield path


class WriteJsonLines(beam.PTransform):
    def __init__(self, folder: str, name: str, shards: int = 4):
        super().__init__()
        self.folder, self.name, self.shards = folder, name, shards

    def expand(self, values):
        keyed = values | "Key" >> beam.Map(_keyed, self.shards)
        return (
            widen(keyed, "Spread")
            | "GroupByShard" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(_WriteShardFn(self.folder, self.name, self.shards))
        )
