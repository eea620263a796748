"""HTML building blocks of the report: escaping, number formatting, two-column tables, plots
and sections (`str` in, HTML `str` out), and the page's style sheet (`CSS`)."""

from __future__ import annotations

import html
import json

CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;
padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;
text-align:left;font-size:13px;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:8px}figure{width:128px;margin:0;font-size:11px}
figure img{width:128px;height:128px;image-rendering:pixelated;border:1px solid #ccc}
.missing{color:#999;font-style:italic}.note{color:#555;font-size:13px;max-width:800px}
img.plot{max-width:100%}code{font-size:12px;word-break:break-all}"""
MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def esc(v) -> str:
    return html.escape(str(v))


def fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return esc(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return f"<code>{esc(json.dumps(v, ensure_ascii=False))}</code>"
    return esc(v)


def table(rows: dict, head: tuple[str, str] | None = None) -> str:
    if not rows:
        return missing("nothing recorded")
    th = f"<tr><th>{esc(head[0])}</th><th>{esc(head[1])}</th></tr>" if head else ""
    body = "".join(
        f"<tr><td>{esc(k)}</td><td{_num_class(v)}>{fmt(v)}</td></tr>" for k, v in rows.items()
    )
    return f"<table>{th}{body}</table>"


def _num_class(v) -> str:
    # numbers right-aligned in columns; text, lists and paths left-aligned so they wrap sanely
    return " class=n" if isinstance(v, (int, float)) and not isinstance(v, bool) else ""


def missing(what: str) -> str:
    return f"<p class=missing>{esc(what)}</p>"


def plot(uri: str | None, what: str) -> str:
    return (
        f"<img class=plot src='{uri}' alt='{esc(what)}'>" if uri else missing(f"no data for {what}")
    )


def section(title: str, *parts: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f"<h2 id='{esc(anchor)}'>{esc(title)}</h2>" + "".join(parts)
