"""`python -m pipeline report DIR [--train-run DIR]`: (re)write `DIR/report.html`.

A self-contained page from `DIR/stats.json`, `DIR/run.json` and the shards: counts,
the status and error histograms, dedup counts, throughput, and a few thumbnails
embedded as data URIs (read from the first shard). Plots come later (another issue).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import os
import sys
import tarfile

from schemas import layout

THUMBS = 12


def _load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _table(title: str, data: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in data.items()
    )
    return f"<h2>{html.escape(title)}</h2><table>{rows or '<tr><td>none</td></tr>'}</table>"


def _bars(title: str, data: dict) -> str:
    top = max(data.values(), default=0) or 1
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{v}</td>"
        f"<td><div class=bar style='width:{300 * v / top:.0f}px'></div></td></tr>"
        for k, v in data.items()
    )
    return f"<h2>{html.escape(title)}</h2><table>{rows or '<tr><td>none</td></tr>'}</table>"


def thumbnails(out: str, n: int = THUMBS) -> list[tuple[str, str, str]]:
    """(key, caption, data URI) of the first `n` samples of the first non-empty shard."""
    sdir = os.path.join(out, layout.SHARDS_DIR)
    tars = sorted(f for f in os.listdir(sdir) if layout.shard_id_of(f) is not None) if os.path.isdir(sdir) else []
    found: dict[str, dict] = {}
    for name in tars:
        with tarfile.open(os.path.join(sdir, name)) as tar:
            for m in tar:
                key, _, ext = m.name.partition(".")
                found.setdefault(key, {})[ext] = tar.extractfile(m).read()
                if len([k for k, v in found.items() if "txt" in v]) > n:
                    break
        if found:
            break
    out_list = []
    mime = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
    for key, parts in sorted(found.items())[:n]:
        ext = next((e for e in mime if e in parts), None)
        if ext and "txt" in parts:
            uri = f"data:{mime[ext]};base64,{base64.b64encode(parts[ext]).decode()}"
            out_list.append((key, parts["txt"].decode("utf-8", "replace"), uri))
    return out_list


def render(out: str) -> str:
    stats = _load(os.path.join(out, layout.STATS_FILE))
    run = _load(os.path.join(out, layout.RUN_FILE))
    head = {k: stats.get(k) for k in ("shards", "count", "successes", "success_rate",
                                      "bytes_downloaded", "bytes_written")}  # fmt: skip
    buf = io.StringIO()
    buf.write("<!doctype html><html><head><meta charset=utf-8><title>openwit download report"
              "</title><style>body{font-family:sans-serif;margin:2em}td{padding:2px 8px}"
              ".bar{background:#4a7;height:10px}figure{display:inline-block;width:160px;"
              "margin:4px;font-size:11px}img{width:156px}</style></head><body>")  # fmt: skip
    buf.write(f"<h1>Download report: {html.escape(os.path.abspath(out))}</h1>")
    buf.write(_table("Summary", head))
    buf.write(_bars("Status", stats.get("status", {})))
    buf.write(_bars("Errors (by reason)", stats.get("errors", {})))
    buf.write(_table("Dedup", stats.get("dedup", {})))
    buf.write(_table("Throughput", stats.get("throughput", {})))
    buf.write("<h2>Samples</h2>")
    for key, caption, uri in thumbnails(out):
        buf.write(f"<figure><img src='{uri}' alt=''><figcaption>{html.escape(key)}: "
                  f"{html.escape(caption[:120])}</figcaption></figure>")  # fmt: skip
    flags = run.get("flags", {})
    buf.write(_table("Run", {"versions": run.get("versions"), **flags}))
    buf.write("</body></html>")
    return buf.getvalue()


def write_report(out: str) -> str:
    """Write `out/report.html` atomically; returns its path."""
    path = os.path.join(out, layout.REPORT_FILE)
    tmp = layout.tmp_name(path, str(os.getpid()))
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(render(out))
    os.replace(tmp, path)
    return path


def run(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline report")
    p.add_argument("dir")
    p.add_argument("--train-run", default=None, help="a trainer output folder (not used yet)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.isdir(args.dir):
        print(f"pipeline report: {args.dir}: no such folder", file=sys.stderr)
        return 2
    print(write_report(args.dir))
    return 0
