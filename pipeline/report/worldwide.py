"""The report's per-language table for worldwide curation (stats.json `worldwide`).

Shown under the language mix when more than one language was curated: per language its t
(English's t for English, the count with English's tail share p for the others), the entries
of its list, matches and kept pairs' entries, and the entries over its t.
"""

from __future__ import annotations

import html

HEAD = ("language", "pairs", "pairs kept", "t", "list entries", "matches (summed over entries)",
        "kept (same)", "entries over t")  # fmt: skip


def _cell(v) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return f"<td class=n>{v:,}</td>"
    return f"<td>{html.escape(str(v))}</td>"


def per_language(curate_stats: dict) -> list[str]:
    """HTML parts (a heading and a table), or [] with fewer than two languages."""
    w = curate_stats.get("worldwide")
    if not isinstance(w, dict) or len(w.get("languages") or {}) < 2:
        return []
    rows = "".join(
        "<tr>"
        + "".join(
            _cell(x)
            for x in (
                lang,
                v.get("pairs"),
                v.get("pairs_kept"),
                v.get("t"),
                v.get("entries"),
                v["before"]["total"],
                v["after"]["total"],
                v["before"]["entries_over_t"],
            )
        )  # fmt: skip
        + "</tr>"
        for lang, v in w["languages"].items()
    )
    p = w.get("p")
    note = f"t from English's tail share p = {p:.4g}" if p is not None else "no English matches"
    head = "".join(f"<th>{h}</th>" for h in HEAD)
    return [f"<h3>Per language ({note})</h3>", f"<table><tr>{head}</tr>{rows}</table>"]
