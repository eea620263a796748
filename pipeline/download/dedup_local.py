"""Download's dedup in the launcher, for local jobs small enough that Beam's stages cost more
than the work itself.

`wanted(p, rows) -> bool`: the job runs on one of Beam's local runners and has at most
`MAX_ROWS` rows. Then the job graph only downloads (`graph.build` without a summary path) and
`run(cfg, sids, exclude)` dedups afterwards: it reads every shard's hash sidecar, plans with
`dedup.plan` (the reference the graph's `dedup_graph.PlanDedup` equals) and rewrites the shards
that lose samples (`shardio.rewrite_shard`, idempotent, a few at once). Measured on 3,000
images: the ten dedup and summary stages took 0.37 s of the job's end (0.52 s at 6,000), this
0.15-0.18 s. Past `MAX_ROWS` the graph does it on the workers (its memory is spread over
them; this holds every sidecar row in the launcher, ~400 bytes each).
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from pipeline.download import dedup, shardio
from pipeline.download.options import DownloadConfig
from pipeline.download.stats import after_dedup

MAX_ROWS = 100_000
REWRITE_THREADS = 4  # shards rewritten at once (each reads and writes its tar: I/O bound)


def wanted(p, rows: int) -> bool:
    """Whether job `p` of `rows` input rows dedups in the launcher (see the module doc)."""
    from pipeline.download.transforms import on_local_runner  # deferred: imports Beam

    return rows <= MAX_ROWS and on_local_runner(p)


def run(cfg: DownloadConfig, sids: list[int], exclude: list[int]) -> dict:
    """Dedup shards `sids` (every shard of the job, complete); the summary as the graph's
    (`dedup.SUMMARY_KEYS`)."""
    entries, sid_of = [], {}
    for sid in sids:
        for e in shardio.read_hashes(cfg.output, sid):
            entries.append(e)
            sid_of[e["key"]] = sid
    removals = dedup.plan(entries, cfg.near_dup_hamming, exclude)
    by_shard: dict[int, dict] = defaultdict(dict)
    for key, decision in removals.items():
        by_shard[sid_of[key]][key] = decision
    with ThreadPoolExecutor(REWRITE_THREADS) as pool:
        rewritten = pool.map(
            lambda item: shardio.rewrite_shard(cfg.output, item[0], item[1], after_dedup),
            sorted(by_shard.items()),
        )
        shards_rewritten = sum(map(int, rewritten))
    counts = dedup.removal_counts({k: (sid_of[k], *d) for k, d in removals.items()})
    return {**counts, "hashed": len(entries), "shards_rewritten_this_run": shards_rewritten}
