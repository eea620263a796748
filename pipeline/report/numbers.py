"""The numbers the report derives from `ReportData`: pure functions, no files, no plotting."""

from __future__ import annotations

from pipeline.report.data import ReportData

CURATE_FLOW = ("read", "filtered", "deduplicated", "matched", "language", "kept")


def threshold(d: ReportData) -> int | None:
    q = d.curate_stats.get("queries", {})
    t = q.get("max_per_query") or d.curate_run.get("flags", {}).get("max_per_query")
    return int(t) if isinstance(t, (int, float)) and t > 0 else None


def flow(d: ReportData) -> dict[str, int]:
    """Elements out of each stage, crawl candidates to samples in shards."""
    out: dict[str, int] = {}
    f = d.curate_stats.get("flow", {})
    for stage in CURATE_FLOW:
        if isinstance(f.get(stage), int):
            out[f"curate: {stage}"] = f[stage]
    s = d.download_stats
    if isinstance(s.get("count"), int):
        out["download: rows"] = s["count"]
    if isinstance(s.get("successes"), int):
        out["download: in shards"] = s["successes"]
    return out


def head_share(d: ReportData) -> dict | None:
    """How much of all matches the head (entries matched more than t times) holds, before/after."""
    t = threshold(d)
    if not d.query_counts or not t:
        return None
    head = [(m, k) for _, m, k in d.query_counts if m > t]
    total_m = sum(m for _, m, _ in d.query_counts)
    total_k = sum(k for _, _, k in d.query_counts)
    head_m, head_k = sum(m for m, _ in head), sum(k for _, k in head)
    return {
        "t": t,
        "entries matched": len(d.query_counts),
        "entries over t (head)": len(head),
        "matches: total": total_m,
        "matches: head share": round(head_m / total_m, 4) if total_m else 0.0,
        "kept: total": total_k,
        "kept: share held by the same head entries": round(head_k / total_k, 4) if total_k else 0.0,
        "tail entries (<= t) kept unchanged": sum(
            1 for _, m, k in d.query_counts if m <= t and k == m
        ),
        "tail entries (<= t)": sum(1 for _, m, _ in d.query_counts if m <= t),
    }


def rejects(d: ReportData) -> dict[str, dict[str, int]]:
    """{stage: {reason: n}}: curate's rejects, then download's failures and duplicates."""
    out = {
        stage: dict(sorted(r.items(), key=lambda kv: -kv[1]))
        for stage, r in d.curate_stats.get("rejects", {}).items()
        if isinstance(r, dict)
    }
    errors = d.download_stats.get("errors", {})
    if errors:
        out["download"] = dict(sorted(errors.items(), key=lambda kv: -kv[1]))
    return out


def dedup(d: ReportData) -> dict[str, int]:
    out = {}
    dup_pairs = d.curate_stats.get("rejects", {}).get("dedup", {})
    if dup_pairs:
        out["curate: duplicate (url, text) pairs"] = sum(dup_pairs.values())
    dd = d.download_stats.get("dedup", {})
    for k in (
        "hashed",
        "exact_duplicate",
        "near_duplicate",
        "excluded",
        "groups",
        "near_dup_hamming",
    ):
        if k in dd:
            out[f"download: {k}"] = dd[k]
    return out


def card(d: ReportData) -> dict[str, object]:
    """The dataset card's headline facts."""
    cs, ds, cr = d.curate_stats, d.download_stats, d.curate_run
    q = cs.get("queries", {})
    return {
        k: v
        for k, v in {
            "pairs in shards": ds.get("successes"),
            "shards": ds.get("shards"),
            "download success rate": ds.get("success_rate"),
            "pairs in manifest": cs.get("flow", {}).get("kept"),
            "crawl candidates read": cs.get("flow", {}).get("read"),
            "input files": len(cr.get("inputs", [])) or None,
            "query list": cr.get("queries", {}).get("path"),
            "query list entries": q.get("entries") or cr.get("queries", {}).get("entries"),
            "query list sha256": cr.get("queries", {}).get("sha256"),
            "balance": q.get("balance"),
            "t (max per query)": threshold(d),
            "seed": cr.get("seed", q.get("seed")),
            "languages": ", ".join(cr.get("flags", {}).get("languages", []) or []) or None,
            "image size / resize / format": _image_flags(d.shard_config),
        }.items()
        if v is not None
    }


def _image_flags(cfg: dict) -> str | None:
    if not cfg:
        return None
    size, mode = cfg.get("image_size"), cfg.get("resize_mode")
    return f"{size} px, {mode}, {cfg.get('encode_format')} q{cfg.get('encode_quality')}"


def zeroshot_chance(result: dict) -> float | None:
    n = result.get("classes")
    return 1.0 / n if isinstance(n, int) and n > 0 else None


def last_metrics(metrics: list[dict]) -> dict:
    """The last training line, and the last value of each evaluation metric logged."""
    if not metrics:
        return {}
    out = dict(metrics[-1])
    for m in metrics:
        for k, v in m.items():
            if k.startswith(("zeroshot_", "val_")):
                out[k] = v
    return out
