"""`render(ReportData) -> str`: the report as one self-contained HTML page.

Sections in order: dataset card, flow, query balancing, rejects, languages, download,
dedup, image sizes, example pairs, training, provenance (inputs, flags, versions).
A section whose data is missing says so; plots are PNG data URIs, thumbnails too.
"""

from __future__ import annotations

import base64
import io

from pipeline.report import numbers, plots, worldwide
from pipeline.report.data import ReportData
from pipeline.report.html_parts import CSS, MIME, esc, fmt, missing, plot, section, table


def card(d: ReportData) -> str:
    return section(
        "Dataset card",
        table(numbers.card(d)),
        "<p class=note>Where the numbers come "
        "from: <code>stats.json</code> and <code>run.json</code> of the download and curate "
        "folders; inputs, flags and versions are at the end.</p>",
    )


def flow(d: ReportData) -> str:
    counts = numbers.flow(d)
    return section(
        "Flow", plot(plots.hbar(counts, "elements out of each stage"), "the flow"), table(counts)
    )


def balancing(d: ReportData) -> str:
    t = numbers.threshold(d)
    matches = [m for _, m, _ in d.query_counts]
    kept = [k for _, _, k in d.query_counts]
    top = sorted(d.query_counts, key=lambda r: -r[1])[:15]
    top_rows = "".join(
        f"<tr><td>{esc(q)}</td><td class=n>{m:,}</td><td class=n>{k:,}</td></tr>" for q, m, k in top
    )
    note = (
        "<p class=note>Each entry q is drawn with probability min(1, t / count(q)); a pair is "
        "kept when any of its entries draws it. Entries over t are thinned, entries under t keep "
        "every pair. An entry's kept count can stay above t when its pairs are kept through "
        "rarer entries they also contain: that is the rule working as MetaCLIP defines it.</p>"
    )
    share = numbers.head_share(d)
    return section(
        "Query distribution before and after balancing",
        plot(plots.query_distribution(matches, kept, t), "the query distribution"),
        note,
        "<h3>Share of matches held by head entries</h3>",
        table(share or {}),
        "<h3>Most matched entries</h3>",
        f"<table><tr><th>entry</th><th>matches</th><th>kept</th></tr>{top_rows}</table>"
        if top_rows
        else missing("no queries_counts.parquet"),
        "<h3>curate's summary (stats.json)</h3>",
        table(_before_after(d)),
    )


def _before_after(d: ReportData) -> dict:
    q = d.curate_stats.get("queries", {})
    return {f"{when}: {k}": v for when in ("before", "after") for k, v in q.get(when, {}).items()}


def rejects(d: ReportData) -> str:
    by_stage = numbers.rejects(d)
    flat, colors = {}, []
    for i, (stage, reasons) in enumerate(by_stage.items()):
        for reason, n in reasons.items():
            flat[f"{stage}: {reason}"] = n
            colors.append(plots.STAGE_COLORS[i % len(plots.STAGE_COLORS)])
    if list(by_stage) == ["download"]:  # a download alone: the Download section plots them
        return section(
            "Rejects per stage and reason",
            "<p class=note>Only download's: plotted in the Download section below.</p>",
            table(flat),
        )
    return section(
        "Rejects per stage and reason",
        plot(
            plots.hbar(
                flat,
                "rejected records (download: failed and duplicate rows)",
                colors=colors,
                log=True,
            ),
            "rejects",
        ),
        table(flat),
    )


def languages(d: ReportData) -> str:
    langs = dict(sorted(d.curate_stats.get("languages", {}).items(), key=lambda kv: -kv[1]))
    return section(
        "Language mix",
        plot(plots.hbar(langs, "language of texts reaching language id"), "languages"),
        table(langs),
        *worldwide.per_language(d.curate_stats),
    )


def download(d: ReportData) -> str:
    s = d.download_stats
    if not s:
        return section("Download", missing("no download in this folder (curate output only)"))
    return section(
        "Download",
        plot(plots.hbar(s.get("status", {}), "rows by status", color=plots.GREEN), "status"),
        plot(
            plots.hbar(s.get("errors", {}), "error and duplicate reasons", color=plots.ORANGE),
            "download errors",
        ),
        table(
            {
                **{f"status: {k}": v for k, v in s.get("status", {}).items()},
                **{f"throughput: {k}": v for k, v in s.get("throughput", {}).items()},
                "bytes downloaded": s.get("bytes_downloaded"),
                "bytes written": s.get("bytes_written"),
            }
        ),
    )


def dedup(d: ReportData) -> str:
    return section("Dedup", table(numbers.dedup(d)))


def sizes(d: ReportData) -> str:
    return section(
        "Image sizes (before resizing)", plot(plots.image_sizes(d.original_sizes), "image sizes")
    )


def examples(d: ReportData) -> str:
    if not d.samples:
        return section("Example pairs", missing("no shards with samples"))
    figs = "".join(
        f"<figure><img src='data:{MIME[s.ext]};base64,{base64.b64encode(s.image).decode()}' "
        f"alt='{esc(s.key)}'><figcaption>{esc(s.caption[:140])}</figcaption></figure>"
        for s in d.samples
    )
    return section("Example pairs", f"<div class=grid>{figs}</div>")


def training(d: ReportData) -> str:
    if not d.train_run:
        return ""
    evals = []
    for name, r in d.evals.items():
        if name == "zeroshot.json" and numbers.zeroshot_chance(r) is not None:
            r = {**r, "chance (1 / classes)": numbers.zeroshot_chance(r)}
        evals.append(f"<h3>{esc(name)}</h3>" + table(r))
    last = {k: v for k, v in numbers.last_metrics(d.metrics).items()}
    cfg = train_config_rows(d.train_config)
    t = (d.train_config.get("data") or {}).get("balance_t")
    draws = [
        "<h3>Balanced draws (samples per epoch: "
        + ", ".join(f"{x['samples']:,}" for x in d.draws)
        + ")</h3>",
        plot(plots.balance_draws(d.draws, t), "the draws"),
    ]
    return section(
        f"Training: {d.train_run}",
        plot(plots.loss_curve(d.metrics), "the loss curve"),
        *(draws if d.draws else []),
        "<h3>Last logged step</h3>",
        table(last),
        *(evals or [missing("no zeroshot.json / retrieval.json found")]),
        "<h3>Config</h3>",
        table(cfg),
    )


def train_config_rows(c: dict) -> dict:
    """The trainer's config.json flattened to the lines a reader looks for."""
    model, data, train = (
        c.get(k) if isinstance(c.get(k), dict) else {} for k in ("model", "data", "train")
    )
    rows = {
        "model": model.get("name"),
        "embed_dim": model.get("embed_dim"),
        "image size": model.get("vision", {}).get("image_size"),
        "vocab size": model.get("text", {}).get("vocab_size"),
        "train data": data.get("spec"),
        "batch size per rank": data.get("batch_size"),
        "world size": c.get("world_size"),
        "total steps": c.get("total_steps"),
    }
    rows.update(
        {k: train.get(k) for k in ("epochs", "lr", "wd", "warmup", "precision", "accum_freq")}
    )
    return {k: v for k, v in rows.items() if v is not None}


def provenance(d: ReportData) -> str:
    inputs = d.curate_run.get("inputs") or d.download_run.get("inputs") or []
    rows = "".join(
        f"<tr><td><code>{esc(i.get('path'))}</code></td>"
        f"<td class=n>{fmt(i.get('size', i.get('bytes')))}"
        f"</td><td><code>{esc(str(i.get('sha256', i.get('rows', '')))[:16])}</code></td></tr>"
        for i in inputs[:50]
    )
    more = f"<p class=note>... and {len(inputs) - 50} more</p>" if len(inputs) > 50 else ""
    parts = [
        f"<table><tr><th>input</th><th>bytes</th><th>sha256 / rows</th></tr>{rows}</table>{more}"
        if rows
        else missing("no inputs recorded")
    ]
    for name, run in (("curate", d.curate_run), ("download", d.download_run)):
        if run:
            parts += [
                f"<h3>{name}: flags</h3>",
                table(_flat(run.get("flags", {}))),
                f"<h3>{name}: versions</h3>",
                table(run.get("versions", {})),
            ]
    return section("Provenance: inputs, flags, versions", *parts)


def _flat(flags) -> dict:
    if isinstance(flags, dict):
        return flags
    return {"argv": flags}


def render(d: ReportData) -> str:
    buf = io.StringIO()
    title = "openwit dataset report"
    buf.write(
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
        f"<style>{CSS}</style></head><body><h1>{title}</h1><p><code>{esc(d.dir)}</code></p>"
    )
    for part in (
        card,
        flow,
        balancing,
        rejects,
        languages,
        download,
        dedup,
        sizes,
        examples,
        training,
        provenance,
    ):
        buf.write(part(d))
    if d.notes:
        buf.write(
            section("Notes", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in d.notes) + "</ul>")
        )
    buf.write("</body></html>")
    return buf.getvalue()
