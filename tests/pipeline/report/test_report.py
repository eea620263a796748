"""`pipeline report` on a real small run: `pipeline run` over a synthetic crawl (a real image
host, FnApiRunner multi-processing), then the report's sections, plots and numbers checked
against the run's own stats.json / queries_counts.parquet / shards; then degraded inputs."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from demo.world import write_crawl
from pipeline.report import data as rdata
from pipeline.report import numbers
from pipeline.report.cli import run as report_cli
from synth import concepts
from synth.image_host import ImageHost

T = 6
ENTRIES = [
    "a",
    "on",
    "of",
    "background",
    *concepts.SHAPES,
    *concepts.COLORS,
    "red circle",
    "blue square",
]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    from pipeline.main import main

    root = tmp_path_factory.mktemp("report")
    with ImageHost(log_requests=False) as host:
        write_crawl(
            str(root / "crawl"), pages=50, files=2, seed=3, port=host.port, hostile_fraction=0.1
        )
        (root / "q.txt").write_text("\n".join(ENTRIES) + "\n")
        out = str(root / "out")
        rc = main(
            [
                "run",
                "--input",
                str(root / "crawl" / "*.warc.gz"),
                "--queries",
                str(root / "q.txt"),
                "--output",
                out,
                "--max-per-query",
                str(T),
                "--allow-networks",
                "127.0.0.1/32",
                "--resolve",
                f"*.{concepts.DOMAIN}:127.0.0.1",
                "--image-size",
                "48",
                "--timeout",
                "2",
                "--retries",
                "0",
                "--shard-size",
                "60",
                "--direct_num_workers=2",
            ]
        )
    assert rc == 0
    run = root / "run"
    run.mkdir()
    metrics = [{"step": s, "loss": 4.0 - s / 10, "lr": 1e-3} for s in range(0, 30, 10)]
    metrics[-1]["zeroshot_top1"] = 0.5
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics) + '{"cut')
    (run / "zeroshot.json").write_text(
        'log line\n{"top1": 0.5, "top5": 0.9, "n": 40, "classes": 8}\n'
    )
    (root / "retrieval.json").write_text(
        '{"image_to_text_r1": 0.25, "text_to_image_r1": 0.3, "n": 20}\n'
    )
    assert report_cli([out, "--train-run", str(run)]) == 0
    return out, str(run), open(os.path.join(out, "report.html"), encoding="utf-8").read()


def _stats(out, *parts):
    return json.load(open(os.path.join(out, *parts, "stats.json")))


def test_every_section_and_plot_is_there(job):
    _, _, html = job
    for anchor in (
        "dataset-card",
        "flow",
        "query-distribution-before-and-after-balancing",
        "rejects-per-stage-and-reason",
        "language-mix",
        "download",
        "dedup",
        "image-sizes-(before-resizing)",
        "example-pairs",
        "provenance:-inputs,-flags,-versions",
    ):
        assert f"id='{anchor}'" in html, anchor
    alts = re.findall(r"class=plot src='data:image/png;base64,[A-Za-z0-9+/=]+' alt='([^']+)'", html)
    assert set(alts) >= {
        "the flow",
        "the query distribution",
        "rejects",
        "languages",
        "status",
        "download errors",
        "image sizes",
        "the loss curve",
    }
    assert (
        "no data for" not in html
        and "http://"
        not in html.split("<h2 id='provenance")[0]
        .split("id='example-pairs'")[0]
        .split("<style>")[0]
    )  # nothing to fetch: all embedded


def test_numbers_match_the_runs_stats(job):
    out, run, html = job
    dl, cur = _stats(out), _stats(out, "curate")
    d = rdata.load(out, run)
    card = numbers.card(d)
    assert (
        card["pairs in shards"] == dl["successes"]
        and card["pairs in manifest"] == cur["flow"]["kept"]
    )
    assert (
        card["t (max per query)"] == T
        and card["image size / resize / format"] == "48 px, border, jpg q95"
    )
    # head share from queries_counts.parquet agrees with curate's own summary
    share = numbers.head_share(d)
    assert share["matches: head share"] == pytest.approx(
        cur["queries"]["before"]["share_of_entries_over_t"], abs=1e-4
    )
    kept = [k for _, _, k in d.query_counts]
    assert sum(k for k in kept if k > T) / sum(kept) == pytest.approx(
        cur["queries"]["after"]["share_of_entries_over_t"], abs=1e-9
    )
    head_kept = sum(k for _, m, k in d.query_counts if m > T)
    assert share["kept: share held by the same head entries"] == pytest.approx(
        head_kept / sum(kept), abs=1e-4
    )
    assert share["kept: total"] < share["matches: total"]  # t is small: balancing dropped pairs
    assert sum(m for _, m, _ in d.query_counts) == cur["queries"]["before"]["total"]
    for stage, reasons in cur["rejects"].items():
        for reason, n in reasons.items():
            assert f"<td>{stage}: {reason}</td><td class=n>{n:,}</td>" in html
    for reason, n in dl["errors"].items():
        assert f"<td>download: {reason}</td><td class=n>{n:,}</td>" in html
    assert len(d.original_sizes) == dl["successes"]
    assert html.count("<figure>") == min(rdata.MAX_THUMBS, dl["successes"])
    for lang, n in cur["languages"].items():
        assert f"<td>{lang}</td><td class=n>{n:,}</td>" in html


def test_training_section_reads_metrics_and_results_beside_the_run(job):
    _, run, html = job
    d = rdata.load(os.path.dirname(run) + "/out", run)
    assert [m["step"] for m in d.metrics] == [0, 10, 20]  # the cut last line is skipped
    assert d.evals["zeroshot.json"]["classes"] == 8 and d.evals["retrieval.json"]["n"] == 20
    assert "<td>chance (1 / classes)</td><td class=n>0.125</td>" in html
    assert "<td>zeroshot_top1</td><td class=n>0.5</td>" in html


def test_curate_only_folder_and_missing_parts_degrade(job, tmp_path):
    out, _, _ = job
    cur = str(tmp_path / "curate")
    shutil.copytree(os.path.join(out, "curate"), cur)
    assert report_cli([cur]) == 0
    html = open(os.path.join(cur, "report.html"), encoding="utf-8").read()
    assert "no download in this folder" in html and "alt='the query distribution'" in html
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "stats.json").write_text("{not json")
    assert report_cli([str(empty)]) == 0
    html = open(empty / "report.html", encoding="utf-8").read()
    assert "unreadable" in html and "no data for the query distribution" in html


def test_cli_rejects_missing_folders(tmp_path, capsys):
    assert report_cli([str(tmp_path / "nope")]) == 2
    assert report_cli([str(tmp_path), "--train-run", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_training_section_plots_the_balanced_draws(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    run = tmp_path / "run"
    (run / "balance").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"data": {"balance_t": 5.0}}))
    matches = [50, 20, 5, 2]
    for epoch, kept in enumerate(([6, 5, 5, 2], [7, 4, 5, 2])):
        counts = {"query": ["a", "b", "c", "d"], "matches": matches, "kept": kept}
        pq.write_table(pa.table(counts), run / "balance" / f"epoch_{epoch:04d}_counts.parquet")
        draw = {"key": [f"{i:09d}" for i in range(10 + epoch)]}
        pq.write_table(pa.table(draw), run / "balance" / f"epoch_{epoch:04d}.parquet")
    out = tmp_path / "out"
    out.mkdir()
    assert report_cli([str(out), "--train-run", str(run)]) == 0
    html = open(out / "report.html", encoding="utf-8").read()
    assert "Balanced draws (samples per epoch: 10, 11)" in html
    assert re.search(r"<img class=plot src='data:image/png;base64,[^']+' alt='the draws'", html)


def test_a_download_alone_plots_its_rejects_once():
    """Download's reasons are the Download section's plot; the rejects section plots them again
    only beside curate's."""
    from pipeline.report import render
    from pipeline.report.data import ReportData

    d = ReportData(dir="unused")
    d.download_stats = {"status": {"success": 9, "failed": 4}, "errors": {"timeout": 4}}
    alone = render.rejects(d)
    assert "data:image/png" not in alone and "download: timeout" in alone
    assert render.download(d).count("data:image/png") == 2  # status, reasons
    d.curate_stats = {"rejects": {"filter": {"too_short": 30}}}
    both = render.rejects(d)
    assert both.count("data:image/png") == 1 and "filter: too_short" in both
