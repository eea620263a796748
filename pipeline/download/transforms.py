"""The Beam part of `pipeline download`: input files -> shards on disk.

`DownloadShards(cfg, skip, plan)`: PCollection[InputFile] -> PCollection[dict] (one stats
dict per shard). Only small records are shuffled: each row is keyed by its shard id
(`global row // shard_size`) and grouped; `DownloadShardFn` then fetches, resizes and writes
the whole shard in one call (image bytes never cross a shuffle). A shard whose files are all
in place is not fetched again (resume); its stats are read back.

When `plan` splits shards (`parts.Plan`: too few shards for the workers), rows are keyed by
(shard id, part) instead: `DownloadPartFn` writes each part's files (a shard of one part is
written whole, as above), and `MergeShardFn`, after a second grouping by shard id, makes the
shard from its parts. A complete part is not fetched again.
"""

from __future__ import annotations

import os

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from pipeline.download import allocator, parts, shardio
from pipeline.download.fetch import Fetcher
from pipeline.download.manifest import InputFile, read_rows
from pipeline.download.options import DownloadConfig, shard_config
from pipeline.download.worker import download_part, download_shard
from runtime.beam import LOCAL_RUNNERS, short_name
from runtime.engines import is_dask, partitions, widen, with_outputs


def _local(p: beam.Pipeline) -> DirectOptions | None:
    """The direct options of `p` when it runs on one of Beam's local runners, else None."""
    if short_name(p._options.view_as(StandardOptions).runner or "") not in LOCAL_RUNNERS:
        return None
    return p._options.view_as(DirectOptions)


def on_local_runner(p: beam.Pipeline) -> bool:
    """Whether pipeline `p` runs on one of Beam's local runners (in this machine's processes)."""
    return _local(p) is not None


def workers(p: beam.Pipeline) -> int:
    """How many elements of a grouped stage pipeline `p` works on at once, as far as the
    launcher knows: the local runners' `--direct_num_workers` (1 in-memory), Dask's
    partitions, 1 elsewhere (a Dataflow job has many shards and scales itself)."""
    if is_dask(p):
        return partitions(p)
    direct = _local(p)
    if direct is None or direct.direct_running_mode == "in_memory":
        return 1
    return direct.direct_num_workers or 1


def image_threads(p: beam.Pipeline, cfg: DownloadConfig) -> int:
    """`cfg.image_threads` as the job will use it: a value the user set; on the local runners
    the cores per worker process (at least 1: two processes on two cores get one each, where
    two each measured ~4% slower, their four image threads contending for two cores); 0 (each
    process's own default, `worker.DEFAULT_IMAGE_THREADS`) elsewhere."""
    direct = None if cfg.image_threads or is_dask(p) else _local(p)
    if direct is None:
        return cfg.image_threads
    cores = os.cpu_count() or 1
    if direct.direct_running_mode != "multi_processing":
        return cores  # every worker is a thread of one process
    return max(1, cores // (direct.direct_num_workers or cores))


def keyed_rows(f: InputFile, shard_size: int, skip: frozenset[int], plan=None):
    """(shard id, (index in shard, row)) for every row of `f`; shards in `skip` omitted.
    With a `parts.Plan`, the key is (shard id, part) instead."""
    for i, row in enumerate(read_rows(f)):
        g = f.offset + i
        sid, index = divmod(g, shard_size)
        if sid in skip:
            continue
        yield ((sid, plan.part_of(sid, index)) if plan else sid), (index, row)


class DownloadShardFn(beam.DoFn):
    """(shard id, [(index, row)]) -> the shard's stats dict, after writing it.

    The Fetcher (DNS cache, robots.txt cache, per-host caps) lives once per worker
    process, made in `setup`, which also tunes the process's allocator for image buffers
    unless turned off (`allocator.wanted`).
    """

    def __init__(self, cfg: DownloadConfig):
        self.cfg = cfg
        self.fetcher = None

    def setup(self):
        if allocator.wanted():  # see allocator
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


class DownloadPartFn(DownloadShardFn):
    """((shard id, part), [(index, row)]) -> main: the stats dict of a shard of one part
    (written whole); `part`: (shard id, part) once that part's files are complete. A
    complete part written with this job's shard flags is not fetched again."""

    def __init__(self, cfg: DownloadConfig, plan: parts.Plan):
        super().__init__(cfg)
        self.plan = plan

    def process(self, element):
        (sid, part), rows = element
        n = self.plan.parts_of(sid)
        if n == 1:
            yield from super().process((sid, rows))
            return
        if not parts.reusable(self.cfg.output, sid, part, n, shard_config(self.cfg)):
            download_part(sid, part, n, list(rows), self.cfg, self.fetcher)
        yield beam.pvalue.TaggedOutput("part", (sid, part))


class MergeShardFn(beam.DoFn):
    """(shard id, [part]) -> the shard's stats dict, after `parts.merge` wrote it (read back
    when the shard is already complete)."""

    def __init__(self, cfg: DownloadConfig, plan: parts.Plan):
        self.cfg, self.plan = cfg, plan

    def process(self, element):
        sid, done = element
        if shardio.is_complete(self.cfg.output, sid):
            yield shardio.read_stats(self.cfg.output, sid)
            return
        n = self.plan.parts_of(sid)
        if sorted(done) != list(range(n)):
            raise RuntimeError(f"shard {sid}: parts {sorted(done)} of {n} reached the merge")
        yield parts.merge(self.cfg.output, sid, n)


class DownloadShards(beam.PTransform):
    """PCollection[InputFile] -> PCollection[shard stats dict]."""

    def __init__(self, cfg: DownloadConfig, skip: frozenset[int] = frozenset(),
                 plan: parts.Plan | None = None):  # fmt: skip
        super().__init__()
        self.cfg, self.skip = cfg, skip
        self.plan = plan if plan is not None and plan.split else None

    def expand(self, files):
        size, skip = self.cfg.shard_size, self.skip
        keyed = files | "KeyByShard" >> beam.FlatMap(keyed_rows, size, skip, self.plan)
        grouped = widen(keyed, "SpreadShards") | "GroupByShard" >> beam.GroupByKey()
        if self.plan is None:
            return grouped | "DownloadShard" >> beam.ParDo(DownloadShardFn(self.cfg))
        fn = DownloadPartFn(self.cfg, self.plan)
        out = with_outputs(grouped, "DownloadParts", fn, "shard", ["part"])
        merged = (
            widen(out["part"], "SpreadMerges")
            | "GroupParts" >> beam.GroupByKey()
            | "MergeShard" >> beam.ParDo(MergeShardFn(self.cfg, self.plan))
        )
        return (out["shard"], merged) | "AllShardStats" >> beam.Flatten()
