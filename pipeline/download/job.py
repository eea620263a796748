"""A whole download job: clean up, run the Beam shard pass, dedup, write the job files.

`execute(cfg, inputs, beam_args, flags) -> dict` (the job's stats). Steps:
1. remove temporary files a killed run left behind; list shards already complete;
2. Beam: download every shard not complete (`transforms.DownloadShards`);
3. dedup: plan from all hash sidecars, rewrite affected shards (`dedup`, `shardio`);
4. `shards/sizes.json`, `stats.json`, `run.json` (each atomically), then `report.html`.
Steps 3-4 read only small files (hashes, stats) and run in the launcher; at web scale
the dedup plan would become a banded GroupByKey (see DESIGN.md notes in README).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from pipeline.download import dedup, shardio
from pipeline.download.manifest import InputFile
from pipeline.download.options import DownloadConfig, shard_config
from pipeline.download.stats import after_dedup, job_stats
from schemas import layout
from schemas.vocab import Status


def _write_json(path: str, data) -> None:
    layout.write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def _run_beam(cfg: DownloadConfig, inputs: list[InputFile], skip: set[int], beam_args) -> None:
    import apache_beam as beam

    from pipeline.beam_options import pipeline_options
    from pipeline.download.transforms import DownloadShards

    with beam.Pipeline(options=pipeline_options(beam_args)) as p:
        _ = p | "Inputs" >> beam.Create(inputs) | DownloadShards(cfg, frozenset(skip))


def apply_dedup(cfg: DownloadConfig, sids: list[int]) -> dict:
    """Plan dedup over every shard's sidecar and rewrite the shards it touches; summary."""
    owner, entries = {}, []
    for sid in sids:
        for e in shardio.read_hashes(cfg.output, sid):
            owner[e["key"]] = sid
            entries.append(e)
    exclude = dedup.exclude_hashes(cfg.exclude_images) if cfg.exclude_images else []
    removals = dedup.plan(entries, cfg.near_dup_hamming, exclude)
    per_shard: dict[int, dict] = {}
    for key, decision in removals.items():
        per_shard.setdefault(owner[key], {})[key] = decision
    with ThreadPoolExecutor(4) as pool:
        rewritten = sum(pool.map(
            lambda item: shardio.rewrite_shard(cfg.output, item[0], item[1], after_dedup),
            sorted(per_shard.items()),
        ))  # fmt: skip
    reasons = [msg.split(":", 1)[0] for _, msg in removals.values()]
    return {
        "near_dup_hamming": cfg.near_dup_hamming,
        "hashed": len(entries),
        "exact_duplicate": reasons.count("exact_duplicate"),
        "near_duplicate": reasons.count("near_duplicate"),
        "excluded": sum(1 for s, _ in removals.values() if s == Status.EXCLUDED),
        "groups": len({msg.rsplit(" ", 1)[-1] for s, msg in removals.values()
                       if s == Status.DUPLICATE}),
        "exclude_images": len(exclude),
        "shards_rewritten_this_run": rewritten,
    }  # fmt: skip


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
        os.makedirs(os.path.join(cfg.output, sub), exist_ok=True)
    cleaned = shardio.clean_tmp(cfg.output)
    total = sum(f.rows for f in inputs)
    sids = list(range(math.ceil(total / cfg.shard_size)))
    done = {s for s in sids if shardio.is_complete(cfg.output, s)}
    _check_resumable(cfg, done)
    if len(done) < len(sids):
        _run_beam(cfg, inputs, done, beam_args)
    missing = [s for s in sids if not shardio.is_complete(cfg.output, s)]
    if missing:
        raise RuntimeError(f"shards not written: {missing[:10]}")
    summary = apply_dedup(cfg, sids)
    shard_stats = [shardio.read_stats(cfg.output, s) for s in sids]
    new_rows = sum(s["count"] for sid, s in zip(sids, shard_stats) if sid not in done)
    stats = job_stats(shard_stats, summary, time.time() - started, new_rows)
    sizes = {layout.shard_tar(s): st["successes"] for s, st in zip(sids, shard_stats)}
    _write_json(os.path.join(cfg.output, layout.SHARDS_DIR, layout.SIZES_FILE), sizes)
    _write_json(os.path.join(cfg.output, layout.STATS_FILE), stats)
    _write_json(os.path.join(cfg.output, layout.RUN_FILE), {
        "command": "download", "flags": flags, "beam_args": list(beam_args),
        "inputs": [{"path": f.path, "rows": f.rows, "bytes": os.path.getsize(f.path)}
                   for f in inputs],
        "shards": len(sids), "resumed_shards": sorted(done), "cleaned_tmp_files": cleaned,
        "started": started, "finished": time.time(), "versions": _versions(),
    })  # fmt: skip
    try:
        from pipeline.report.cli import write_report

        write_report(cfg.output)
    except Exception as e:  # noqa: BLE001 - a report failure must not fail a finished job
        print(f"warning: report.html not written: {e}", file=sys.stderr)
    return stats
