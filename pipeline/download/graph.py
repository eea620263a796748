"""The whole Beam job of `pipeline download`: shards, then dedup, in one graph.

`build(p, cfg, inputs, done, exclude, summary_path, plan)` adds to pipeline `p`:
1. `DownloadShards` over the input rows (shards in `done` are not fetched again; those `plan`
   splits are written in parts, then merged: `parts`);
2. every shard's hash sidecar (fresh shards as they finish, plus those in `done`) ->
   `dedup_graph.PlanDedup` -> the removals, grouped by shard -> `RewriteShardFn`;
3. the dedup counts summed in one combine and written as JSON to `summary_path`
   (`hashed`, `exact_duplicate`, `near_duplicate`, `excluded`, `groups`,
   `shards_rewritten_this_run`), which the launcher reads once the job is done.
Every sink feeds the last transform (`runtime.engines.finish`), so engines that compute
only what the last transform needs (Beam's Dask runner) still run all of them.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.download import allocator, shardio
from pipeline.download.dedup import SUMMARY_KEYS, removal_counts
from pipeline.download.dedup_graph import PlanDedup
from pipeline.download.manifest import InputFile
from pipeline.download.options import DownloadConfig
from pipeline.download.parts import Plan
from pipeline.download.stats import after_dedup
from pipeline.download.transforms import DownloadShards
from runtime import storage
from runtime.engines import finish, widen, with_outputs


class ReadHashesFn(beam.DoFn):
    """shard id -> main: its sidecar rows with `sid` added; `hashed`: their count."""

    def __init__(self, output: str):
        self.output = output

    def setup(self):
        allocator.freeze_startup_heap()  # a worker that wrote no shard (see allocator)

    def process(self, sid: int):
        entries = shardio.read_hashes(self.output, sid)
        for e in entries:
            yield {**e, "sid": sid}
        yield beam.pvalue.TaggedOutput("hashed", {"hashed": len(entries)})


class RewriteShardFn(beam.DoFn):
    """(shard id, [(key, status, message)]) -> {`shards_rewritten_this_run`: 0 or 1}."""

    def __init__(self, output: str):
        self.output = output

    def process(self, element):
        sid, decisions = element
        removals = {key: (status, message) for key, status, message in decisions}
        done = shardio.rewrite_shard(self.output, sid, removals, after_dedup)
        yield {"shards_rewritten_this_run": int(done)}


def _by_shard(removals: dict):
    for key, (sid, status, message) in removals.items():
        yield sid, (key, status, message)


def _sum_counts(dicts) -> dict:
    out = dict.fromkeys(SUMMARY_KEYS, 0)
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def _write_summary(summary: dict, path: str) -> str:
    storage.write_json(path, summary, indent=None)
    return path


def build(p, cfg: DownloadConfig, inputs: list[InputFile], done: set[int], exclude: list[int],
          summary_path: str | None, plan: Plan | None = None) -> None:  # fmt: skip
    """Add the download job to `p` (see the module docstring); with no `summary_path`, only
    step 1 (the launcher dedups the shards itself: `dedup_local`)."""
    stats = p | "Inputs" >> beam.Create(inputs) | DownloadShards(cfg, frozenset(done), plan)
    if summary_path is None:
        finish([stats])
        return
    sids = stats | "ShardIds" >> beam.Map(lambda st: int(st["shard"]))
    if done:  # a resumed job hashes the shards complete before it too (a first run: no stage)
        earlier = p | "CompleteShards" >> beam.Create(sorted(done))
        sids = (sids, earlier) | "AllShards" >> beam.Flatten()
    hashes = with_outputs(sids, "ReadHashes", ReadHashesFn(cfg.output), "entry", ["hashed"])
    removals = hashes["entry"] | "PlanDedup" >> PlanDedup(cfg.near_dup_hamming, exclude)
    rewritten = (
        widen(removals | "ByShard" >> beam.FlatMap(_by_shard), "SpreadRewrites")
        | "GroupRewrites" >> beam.GroupByKey()
        | "RewriteShards" >> beam.ParDo(RewriteShardFn(cfg.output))
    )
    counts = removals | "RemovalCounts" >> beam.Map(removal_counts)
    written = (
        (hashes["hashed"], counts, rewritten)
        | "SummaryParts" >> beam.Flatten()
        | "SumSummary" >> beam.CombineGlobally(_sum_counts).without_defaults()
        | "WriteSummary" >> beam.Map(_write_summary, summary_path)
    )
    finish([written])
