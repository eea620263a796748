"""Counts of a shard (`NNNNN_stats.json`) and of the whole job (`stats.json`).

Per shard: `count` (input rows), `successes`, `status` ({status: n}), `errors`
({reason: n}, the prefix of `error_message`), `bytes_downloaded`, `bytes_written`,
`start_time`, `end_time`, `duration_s`. The job's stats add these up and add the
success rate, dedup counts and throughput.
"""

from __future__ import annotations

from collections import Counter

from schemas.vocab import Status


def reason_of(error_message: str | None) -> str | None:
    return error_message.split(":", 1)[0] if error_message else None


def counts_from_rows(rows: list[dict]) -> dict:
    """`count`, `successes`, `status` and `errors` from parquet rows."""
    status = Counter(r["status"] for r in rows)
    errors = Counter(reason_of(r["error_message"]) for r in rows if r["error_message"])
    return {
        "count": len(rows),
        "successes": status.get(Status.SUCCESS, 0),
        "status": dict(sorted(status.items())),
        "errors": dict(sorted(errors.items())),
    }


def shard_stats(sid: str, rows: list[dict], start: float, end: float, downloaded: int,
                written: int) -> dict:  # fmt: skip
    out = {"shard": sid, **counts_from_rows(rows)}
    out.update(bytes_downloaded=downloaded, bytes_written=written, start_time=start,
               end_time=end, duration_s=round(end - start, 3))  # fmt: skip
    return out


def after_dedup(stats: dict, rows: list[dict]) -> dict:
    """`stats` with its counts recomputed from the rewritten rows."""
    return {**stats, **counts_from_rows(rows)}


def job_stats(shards: list[dict], dedup: dict, wall_s: float, downloaded_now: int) -> dict:
    """The whole job: sums over shard stats, rates, dedup summary, throughput of this run."""
    status: Counter = Counter()
    errors: Counter = Counter()
    for s in shards:
        status.update(s.get("status", {}))
        errors.update(s.get("errors", {}))
    count = sum(s["count"] for s in shards)
    successes = status.get(Status.SUCCESS, 0)
    return {
        "shards": len(shards),
        "count": count,
        "successes": successes,
        "success_rate": round(successes / count, 4) if count else 0.0,
        "status": dict(sorted(status.items())),
        "errors": dict(sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))),
        "bytes_downloaded": sum(s.get("bytes_downloaded", 0) for s in shards),
        "bytes_written": sum(s.get("bytes_written", 0) for s in shards),
        "dedup": dedup,
        "throughput": {
            "wall_s": round(wall_s, 3),
            "rows_downloaded_this_run": downloaded_now,
            "rows_per_s": round(downloaded_now / wall_s, 2) if wall_s > 0 else 0.0,
        },
    }
