"""The Beam part of `pipeline download`: input files -> shards on disk.

`DownloadShards(cfg)`: PCollection[InputFile] -> PCollection[dict] (one stats dict per
shard). Only small records are shuffled: each row is keyed by its shard id
(`global row // shard_size`) and grouped; `DownloadShardFn` then fetches, resizes
and writes the whole shard in one call (image bytes never cross a shuffle). A shard
whose files are all in place is not fetched again (resume); its stats are read back.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.download import allocator, shardio
from pipeline.download.fetch import Fetcher
from pipeline.download.manifest import InputFile, read_rows
from pipeline.download.options import DownloadConfig
from pipeline.download.worker import download_shard
from runtime.engines import widen


def keyed_rows(f: InputFile, shard_size: int, skip: frozenset[int]):
    """(shard id, (index in shard, row)) for every row of `f`; shards in `skip` omitted."""
    for i, row in enumerate(read_rows(f)):
        g = f.offset + i
        sid = g // shard_size
        if sid not in skip:
            yield sid, (g % shard_size, row)


class DownloadShardFn(beam.DoFn):
    """(shard id, [(index, row)]) -> the shard's stats dict, after writing it.

    The Fetcher (DNS cache, robots.txt cache, per-host caps) lives once per worker
    process, made in `setup`, which also tunes the process's allocator for image buffers
    when asked to (`allocator.wanted`).
    """

    def __init__(self, cfg: DownloadConfig):
        self.cfg = cfg
        self.fetcher = None

    def setup(self):
        if allocator.wanted():  # opt-in: see allocator
            allocator.tune()
        allocator.freeze_startup_heap()
        self.fetcher = Fetcher(self.cfg)

    def teardown(self):
        if self.fetcher is not None:
            self.fetcher.close()

    def process(self, element):
        sid, rows = element
        if shardio.is_complete(self.cfg.output, sid):
            yield shardio.read_stats(self.cfg.output, sid)
            return
        yield download_shard(sid, list(rows), self.cfg, self.fetcher)


class DownloadShards(beam.PTransform):
    """PCollection[InputFile] -> PCollection[shard stats dict]."""

    def __init__(self, cfg: DownloadConfig, skip: frozenset[int] = frozenset()):
        super().__init__()
        self.cfg, self.skip = cfg, skip

    def expand(self, files):
        size, skip = self.cfg.shard_size, self.skip
        keyed = files | "KeyByShard" >> beam.FlatMap(keyed_rows, size, skip)
        return (
            widen(keyed, "SpreadShards")
            | "GroupByShard" >> beam.GroupByKey()
            | "DownloadShard" >> beam.ParDo(DownloadShardFn(self.cfg))
        )
