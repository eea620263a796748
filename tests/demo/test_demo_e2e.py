"""`python -m demo` end to end at a tiny size, then a rerun that reuses every stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from pipeline.verify import verify

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = [
    "--pages",
    "60",
    "--files",
    "2",
    "--epochs",
    "2",
    "--eval-per-class",
    "2",
    "--retrieval-n",
    "30",
    "--port",
    "0",
]


def _demo(out: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "demo", "--out", out, *TINY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_demo_runs_end_to_end_and_reuses_stages(tmp_path):
    out = str(tmp_path / "demo")
    first = _demo(out)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for folder in ("data", "heldout"):
        problems, summary = verify(os.path.join(out, folder))
        assert problems == [] and summary["samples"] > 0
    zs = json.loads(open(os.path.join(out, "zeroshot.json")).read().strip().splitlines()[-1])
    assert set(zs) >= {"top1", "top5", "n", "classes"} and zs["classes"] == 8 and zs["n"] == 16
    rt = json.loads(open(os.path.join(out, "retrieval.json")).read().strip().splitlines()[-1])
    assert set(rt) >= {f"{d}_r{k}" for d in ("image_to_text", "text_to_image") for k in (1, 5, 10)}
    html = open(os.path.join(out, "data", "report.html"), encoding="utf-8").read()
    assert "alt='the loss curve'" in html and "zeroshot.json" in html
    assert os.listdir(os.path.join(out, "runs", "tiny", "checkpoints"))
    assert "zero-shot: top-1" in first.stdout and "vs chance 0.125" in first.stdout
    assert os.path.join(out, "zeroshot.json") in first.stdout  # the summary prints the paths
    # https image URLs (protocol-relative ones on https pages) are real TLS fetches now
    import glob

    import pyarrow.parquet as pq

    cols = ["url", "status", "error_message"]
    rows = [r for p in glob.glob(os.path.join(out, "data", "shards", "*.parquet"))
            for r in pq.read_table(p, columns=cols).to_pylist()]  # fmt: skip
    https = [r for r in rows if r["url"].startswith("https://")]
    assert any(r["status"] == "success" for r in https)
    tls_fail = ("tls_error", "cert_", "protocol_error")
    assert not [r for r in https if (r["error_message"] or "").startswith(tls_fail)]
    log = open(os.path.join(out, "logs", "pipeline_run.log")).read()
    assert "--allow-networks 127.0.0.1/32" in log and "--allow-private-networks" not in log

    t0 = time.monotonic()
    second = _demo(out)
    assert second.returncode == 0, second.stderr[-3000:]
    for stage in ("crawl", "pipeline_run", "heldout_download", "train", "zeroshot", "retrieval"):
        assert f"[demo] {stage}: done before, reused" in second.stdout
    assert "image host: starting" not in second.stdout and time.monotonic() - t0 < 120
    assert (
        json.loads(open(os.path.join(out, "zeroshot.json")).read().strip().splitlines()[-1]) == zs
    )
