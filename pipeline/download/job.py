"""A whole download job: clean up, run the Beam job (shards + dedup), write the job files.

`execute(cfg, inputs, beam_args, flags) -> dict` (the job's stats). Steps:
1. remove temporary files a killed run left behind; list shards already complete; split the
   shards to do into parts when they are too few for the workers (`parts.prepare`, which
   also removes the part files no longer needed);
2. Beam (`graph.build`): download every shard not complete, then dedup over every
   shard's hash sidecar and rewrite the shards it touches, all on the workers; a small job
   on a local runner dedups in the launcher once the shards are written (`dedup_local`);
3. `shards/sizes.json`, `stats.json`, `run.json` (each atomically, through `runtime.storage`;
   `run.json` last: a folder without it is incomplete), then `report.html`.
Step 3 reads only small files (per-shard stats, the job's dedup summary) in the launcher.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import math
import platform
import sys
import threading
import time
import uuid
from collections import Counter

from pipeline.download import dedup, dedup_local, parts, shardio
from pipeline.download.manifest import InputFile
from pipeline.download.options import DownloadConfig, shard_config
from pipeline.download.stats import job_stats
from runtime import progress, storage
from runtime.logs import quiet_workers
from schemas import layout


def _run_beam(cfg: DownloadConfig, inputs: list[InputFile], done: set[int], sids: list[int],
              beam_args, cleaned: list[str]) -> dict:  # fmt: skip
    """Run the download + dedup job; the dedup summary as `stats.json` reports it. The part
    files the plan drops (`parts.prepare`) are removed and their names added to `cleaned`."""
    # deferred imports: Beam start-up only when shards remain
    from pipeline.download.graph import build
    from pipeline.download.transforms import image_threads, workers
    from runtime.beam import pipeline_options
    from runtime.engines import close, dask_defaults
    from runtime.forked_runner import new_pipeline

    exclude = dedup.exclude_hashes(cfg.exclude_images) if cfg.exclude_images else []
    p = new_pipeline(pipeline_options(dask_defaults(beam_args)))
    total = sum(f.rows for f in inputs)
    in_launcher = dedup_local.wanted(p, total)
    summary_path = None if in_launcher else storage.join(
        cfg.output, shardio.HASHES_DIR, f"summary-{uuid.uuid4().hex}.json")  # fmt: skip
    plan, stale = parts.prepare(cfg.output, total, cfg.shard_size, done, workers(p))
    cleaned += stale
    cfg = dataclasses.replace(cfg, image_threads=image_threads(p, cfg))
    build(p, cfg, inputs, done, exclude, summary_path, plan)
    todo = math.ceil(total / cfg.shard_size) - len(done)
    gc.freeze()  # the ~1M objects of the imports: no collection walks them again (allocator)
    _import_report_in_background()  # after new_pipeline: the workers fork without matplotlib
    with quiet_workers(), progress.watching("download", describe(cfg.output, todo)):
        result = p.run()
        try:
            result.wait_until_finish()
        finally:
            close(result)
    counts = dedup_local.run(cfg, sids, exclude) if in_launcher else _read_summary(summary_path)
    return {"near_dup_hamming": cfg.near_dup_hamming, "exclude_images": len(exclude),
            **{k: counts.get(k, 0) for k in dedup.SUMMARY_KEYS}}  # fmt: skip


def _read_summary(path: str) -> dict:
    """The dedup summary the job graph wrote (then deleted)."""
    try:
        counts = storage.read_json(path)
        storage.delete([path])
    except FileNotFoundError as e:
        raise RuntimeError(f"the job wrote no dedup summary ({path})") from e
    return counts


# Seconds after the graph is built before the report's modules load in the background: the
# launcher's own start of the job (the job's proto, the workers' start, the first stage) takes
# ~0.3 s after `build`, and importing matplotlib (~0.2 s holding the GIL) alongside delayed
# the first shard by as much (measured: 0.19 s). Later the launcher only waits.
IMPORT_REPORT_AFTER_S = 1.0


def _import_report_in_background() -> None:
    """Import the report's modules (matplotlib: ~0.25 s) in a thread while the job runs, once
    its start is past (`IMPORT_REPORT_AFTER_S`): the launcher mostly waits then. The report's
    own import later finds them loaded (or, after a shorter job, loads them itself)."""

    def load():
        with contextlib.suppress(Exception):  # the report says why itself, after the job
            importlib.import_module("pipeline.report.cli")

    timer = threading.Timer(IMPORT_REPORT_AFTER_S, load)
    timer.name, timer.daemon = "import-report", True
    timer.start()


def _empty_summary(cfg: DownloadConfig) -> dict:
    """The dedup summary of a job with no rows (what the graph reports for nothing hashed)."""
    return {"near_dup_hamming": cfg.near_dup_hamming, "exclude_images": 0,
            **dict.fromkeys(dedup.SUMMARY_KEYS, 0)}  # fmt: skip


def describe(output: str, todo: int):
    """The progress line of a download from the `NNNNN_stats.json` each finished shard writes
    (shards complete before the job are not counted)."""
    ticks = progress.Ticks(storage.join(output, layout.SHARDS_DIR), "*_stats.json",
                           fields=("count", "successes"))  # fmt: skip
    base = Counter(ticks.poll())

    def status(elapsed: float) -> progress.Status:
        t = ticks.poll()
        shards, rows = t["_files"] - base["_files"], t["count"] - base["count"]
        ok = t["successes"] - base["successes"]
        eta = elapsed / shards * (todo - shards) if shards else None
        text = (
            f"shards {shards}/{todo}, {progress.rate(ok, elapsed):,.1f} images/s, "
            f"success rate {ok / rows if rows else 0:.1%}, ETA {progress.clock(eta)}"
        )
        return progress.Status(text, shards, todo)

    return status


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("apache_beam", "PIL", "pyarrow", "numpy"):
        m = sys.modules.get(mod) or __import__(mod)
        out[mod] = getattr(m, "__version__", "?")
    return out


class ResumeMismatch(ValueError):
    """Complete shards in the output were written with other shard-content flags."""


def _check_resumable(cfg: DownloadConfig, done: set[int]) -> None:
    want = shard_config(cfg)
    for sid in sorted(done):
        have = shardio.read_stats(cfg.output, sid).get("shard_config", want)
        diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
        if diff:
            raise ResumeMismatch(
                f"{cfg.output}: shard {sid} was written with other flags {diff} (was, now); "
                "rerun with the same flags or use a new --output"
            )


def execute(cfg: DownloadConfig, inputs: list[InputFile], beam_args: list[str], flags: dict
            ) -> dict:  # fmt: skip
    """Run the job described by `cfg` over `inputs`; returns the job's stats."""
    started = time.time()
    for sub in (layout.SHARDS_DIR, shardio.HASHES_DIR):
        storage.makedirs(storage.join(cfg.output, sub))
    cleaned = shardio.clean_tmp(cfg.output)
    total = sum(f.rows for f in inputs)
    sids = list(range(math.ceil(total / cfg.shard_size)))
    done = shardio.complete_shards(cfg.output, sids)
    _check_resumable(cfg, done)
    # an empty manifest has no shard to write nor hash: nothing for the job to run
    summary = (
        _run_beam(cfg, inputs, done, sids, beam_args, cleaned) if sids else _empty_summary(cfg)
    )
    missing = sorted(set(sids) - shardio.complete_shards(cfg.output, sids))
    if missing:
        raise RuntimeError(f"shards not written: {missing[:10]}")
    shard_stats = [shardio.read_stats(cfg.output, s) for s in sids]
    new_rows = sum(s["count"] for sid, s in zip(sids, shard_stats) if sid not in done)
    stats = job_stats(shard_stats, summary, time.time() - started, new_rows)
    sizes = {layout.shard_tar(s): st["successes"] for s, st in zip(sids, shard_stats)}
    storage.write_json(storage.join(cfg.output, layout.SHARDS_DIR, layout.SIZES_FILE), sizes)
    storage.write_json(storage.join(cfg.output, layout.STATS_FILE), stats)
    # run.json last: the folder's "complete" marker (object stores have no folder rename)
    storage.write_json(storage.join(cfg.output, layout.RUN_FILE), {
        "command": "download", "flags": flags, "beam_args": storage.public_args(beam_args),
        "inputs": [{"path": f.path, "rows": f.rows, "bytes": f.size} for f in inputs],
        "shards": len(sids), "resumed_shards": sorted(done), "cleaned_tmp_files": cleaned,
        "started": started, "finished": time.time(), "versions": _versions(),
    })  # fmt: skip
    try:
        from pipeline.report.cli import write_report

        write_report(cfg.output)
    except Exception as e:  # noqa: BLE001 - a report failure must not fail a finished job
        print(f"warning: report.html not written: {e}", file=sys.stderr)
    return stats
