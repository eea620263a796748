"""A whole `pipeline subset` job: list the source shards, run the Beam job, write the job files.

`execute(shards, keep_path, out, shard_size, seed, beam_args, flags) -> dict` (the job's stats):
1. the source tars: `DIR/shards/*.tar` when DIR is a download output, else `DIR/*.tar`;
2. the Beam job (`graph.build`) writes `out/shards/NNNNN.{tar,parquet}` + `_stats.json`;
3. `shards/sizes.json`, `stats.json`, then `run.json` last (the folder's "complete" marker),
   each atomically through `runtime.storage`. Nothing is fetched from the network.
Rejected (ValueError): no source tars, an output that already holds a finished job.
"""

from __future__ import annotations

import time
import uuid

from pipeline.subset.keep import load_keep
from runtime import progress, storage
from runtime.logs import quiet_workers
from schemas import layout


def source_tars(shards: str) -> list[str]:
    sub = storage.join(shards, layout.SHARDS_DIR)
    folder = sub if storage.isdir(sub) or storage.listdir(sub) else shards
    names = sorted(n for n in storage.listdir(folder) if layout.shard_id_of(n) is not None)
    names = names or sorted(n for n in storage.listdir(folder) if n.endswith(".tar"))
    if not names:
        raise ValueError(f"--shards {shards}: no .tar shards there or in its {layout.SHARDS_DIR}/")
    return [storage.join(folder, n) for n in names]


def _run_beam(tars, keep, out, shard_size, seed, beam_args) -> dict:
    # deferred imports: Beam start-up only when the job runs
    from pipeline.subset.graph import build
    from runtime.beam import pipeline_options
    from runtime.engines import close, dask_defaults
    from runtime.forked_runner import new_pipeline

    summary_path = storage.join(out, layout.SHARDS_DIR, f"summary-{uuid.uuid4().hex}.json")
    p = new_pipeline(pipeline_options(dask_defaults(beam_args)))
    build(p, tars, keep, out, shard_size, seed, summary_path)
    with quiet_workers(), progress.watching("subset", describe(out, len(tars))):
        result = p.run()
        try:
            result.wait_until_finish()
        finally:
            close(result)
    summary = storage.read_json(summary_path)
    storage.delete([summary_path])
    return summary


def describe(out: str, sources: int):
    """The progress line: subset shards written so far (from their `_stats.json`) and samples
    copied; the total is known only once the keep list is matched, so no ETA."""
    ticks = progress.Ticks(storage.join(out, layout.SHARDS_DIR), "*_stats.json", ("successes",))

    def status(elapsed: float) -> progress.Status:
        t = ticks.poll()
        text = (
            f"from {sources} source shards: shards written {t['_files']}, "
            f"samples {t['successes']:,} ({progress.rate(t['successes'], elapsed):,.1f}/s)"
        )
        return progress.Status(text, t["_files"], None)

    return status


def execute(shards: str, keep_path: str, out: str, shard_size: int, seed: int | None,
            beam_args: list[str], flags: dict) -> dict:  # fmt: skip
    started = time.time()
    if storage.exists(storage.join(out, layout.RUN_FILE)):
        raise ValueError(f"--output {out} already holds a finished job; use a new folder")
    tars = source_tars(shards)
    keep = load_keep(keep_path)
    sdir = storage.join(out, layout.SHARDS_DIR)
    storage.makedirs(sdir)
    storage.clean_tmp(sdir)
    summary = _run_beam(tars, keep, out, shard_size, seed, beam_args)
    names = sorted(n for n in storage.listdir(sdir) if layout.shard_id_of(n) is not None)
    shard_stats = [storage.read_json(storage.join(sdir, layout.shard_stats(layout.shard_id_of(n))))
                   for n in names]  # fmt: skip
    sizes = {n: st["successes"] for n, st in zip(names, shard_stats, strict=True)}
    stats = {"shards": len(names), "count": sum(sizes.values()), "successes": sum(sizes.values()),
             "source_shards": len(tars), "keep_kind": keep.kind, **summary,
             "wall_s": round(time.time() - started, 3)}  # fmt: skip
    storage.write_json(storage.join(sdir, layout.SIZES_FILE), sizes)
    storage.write_json(storage.join(out, layout.STATS_FILE), stats)
    storage.write_json(storage.join(out, layout.RUN_FILE), {
        "command": "subset", "flags": flags, "beam_args": storage.public_args(beam_args),
        "source_tars": tars, "started": started, "finished": time.time(),
    })  # fmt: skip
    return stats
