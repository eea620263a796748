"""The demo's closing summary: paths, counts per stage, evaluation against chance, timings.

Read back from the files the stages wrote (not from memory), so a rerun that reused
every stage prints the same numbers.
"""

from __future__ import annotations

import json
import os

from demo.stages import last_json_line


def _json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return json.loads(text) if path.endswith("stats.json") else last_json_line(text)
    except (OSError, ValueError):
        return {}


def _last_metrics(run: str) -> dict:
    try:
        with open(os.path.join(run, "metrics.jsonl"), encoding="utf-8") as f:
            lines = [ln for ln in f if ln.strip()]
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


def counts(p) -> list[tuple[str, object]]:
    """(label, value) rows: crawl -> curate -> download -> training."""
    cur = _json(os.path.join(p.data, "curate", "stats.json"))
    dl = _json(os.path.join(p.data, "stats.json"))
    held = _json(os.path.join(p.heldout, "stats.json"))
    flow = cur.get("flow", {})
    order = ("read", "filtered", "deduplicated", "matched", "language", "kept")  # the stages' order
    rows: list[tuple[str, object]] = [(f"curate {k}", flow[k]) for k in order if k in flow]
    rows.append(
        ("curate rejects by stage", {s: sum(r.values()) for s, r in cur.get("rejects", {}).items()})
    )
    rows.append(("download status", dl.get("status")))
    rows.append(
        (
            "download dedup",
            {k: dl.get("dedup", {}).get(k) for k in ("exact_duplicate", "near_duplicate")},
        )
    )
    rows.append(("pairs in shards", dl.get("successes")))
    rows.append(("held-out retrieval pairs", held.get("successes")))
    m = _last_metrics(p.run)
    rows.append(("training", {k: m.get(k) for k in ("step", "samples_seen", "loss")}))
    return rows


def print_summary(demo, result: dict, seconds: float) -> None:
    p = demo.p
    zs, rt = _json(p.zeroshot), _json(p.retrieval)
    print("\n== openwit demo: summary")
    print("paths:")
    for label, path in (
        ("query list", p.queries),
        ("crawl (WARC)", p.crawl),
        ("shards", os.path.join(p.data, "shards")),
        ("curate output", os.path.join(p.data, "curate")),
        ("checkpoint", demo.checkpoint()),
        ("zero-shot images", p.eval_images),
        ("zeroshot.json", p.zeroshot),
        ("retrieval.json", p.retrieval),
        ("report", result["report"]),
        ("logs", os.path.join(p.out, "logs")),
    ):
        print(f"  {label:18s} {path}")
    print("counts:")
    for label, value in counts(p):
        print(f"  {label:26s} {json.dumps(value) if isinstance(value, dict) else value}")
    if zs:
        chance = 1 / zs["classes"] if zs.get("classes") else float("nan")
        print(
            f"zero-shot: top-1 {zs.get('top1', 0):.3f} vs chance {chance:.3f} "
            f"({zs.get('top1', 0) / chance:.1f}x), top-5 {zs.get('top5', 0):.3f}, "
            f"{zs.get('classes')} classes, {zs.get('n')} images"
        )
    if rt:
        r = {k: rt.get(k, 0) for k in ("image_to_text_r1", "image_to_text_r5")}
        r |= {k: rt.get(k, 0) for k in ("text_to_image_r1", "text_to_image_r5")}
        chance = 1 / max(rt.get("n") or 1, 1)
        print(
            f"retrieval ({rt.get('n')} held-out pairs): "
            f"image->text R@1 {r['image_to_text_r1']:.3f} R@5 {r['image_to_text_r5']:.3f}; "
            f"text->image R@1 {r['text_to_image_r1']:.3f} R@5 {r['text_to_image_r5']:.3f} "
            f"(chance R@1 {chance:.3f})"
        )
    steps = ", ".join(
        f"{n} {'reused' if reused else f'{s:.0f}s'}" for n, s, reused in demo.st.timings
    )
    print(f"stages: {steps}")
    print(f"wall time: {seconds:.0f} s")
