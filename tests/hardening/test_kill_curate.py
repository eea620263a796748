"""Kill -9 `pipeline curate` mid-run (twice: while reading, then while writing), rerun the same
command: the output equals an uninterrupted run's, no killed run's leftovers remain, and a
watcher polling the output's parent folder never sees a partial file under a final name."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pytest

from synth import crawl
from tests.hardening.watch import FinalNameWatcher
from tests.pipeline.curate.conftest import rows, write_queries

pytestmark = pytest.mark.slow


def _cmd(crawl_dir: str, queries: str, out: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline",
        "curate",
        "--input",
        f"{crawl_dir}/*.warc.gz",
        "--queries",
        queries,
        "--output",
        out,
        "--direct_num_workers=2",
    ]


def _kill_when(cmd: list[str], ready, timeout: float = 300) -> bool:
    """Start `cmd`, SIGKILL its whole process group once `ready()`; True if it was killed
    while still running (False: it finished first)."""
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.005)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and every Beam worker
    proc.wait()
    return alive


def test_kill_curate_twice_then_rerun_equals_an_uninterrupted_run(tmp_path):
    crawl_dir = str(tmp_path / "crawl")
    crawl.generate(crawl_dir, pages=12000, files=4, seed=3, wat=False)
    queries = write_queries(tmp_path / "q.txt")
    parent = tmp_path / "runs"
    parent.mkdir()
    ref, out = str(parent / "ref"), str(parent / "out")
    watcher = FinalNameWatcher(str(parent))
    watcher.start()
    try:
        assert (
            subprocess.run(_cmd(crawl_dir, queries, ref), stderr=subprocess.DEVNULL).returncode == 0
        )
        cmd = _cmd(crawl_dir, queries, out)

        def reading():  # a worker has spilled its first read candidates to dedup's buckets
            # (a fixed delay after the temporary folder appeared let a fast run finish first)
            return bool(glob.glob(out + ".openwit-tmp-*/_spill/dedup/*"))

        def writing():  # a writer has a part under its scratch name
            return bool(glob.glob(out + ".openwit-tmp-*/*/_tmp/*"))

        assert _kill_when(cmd, reading), "curate finished before the first kill"
        assert not os.path.exists(out)  # complete or absent
        killed_writing = _kill_when(cmd, writing)
        assert not os.path.exists(out)
        assert subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode == 0
    finally:
        violations = watcher.stop()
    assert violations == []
    assert any(p.startswith(out + os.sep) for p in watcher.checked)  # it did watch the output
    if not killed_writing:  # the write phase can be shorter than a poll on a fast machine
        warnings.warn("curate finished before it could be killed while writing", stacklevel=1)
    assert rows(out, "manifest") == rows(ref, "manifest") and rows(ref, "manifest")
    assert rows(out, "rejects") == rows(ref, "rejects")
    assert rows(out, "queries_counts.parquet") == rows(ref, "queries_counts.parquet")
    stats = [json.load(open(os.path.join(d, "stats.json"))) for d in (out, ref)]
    assert stats[0] == stats[1]
    assert sorted(os.listdir(parent)) == ["out", "ref"]  # the killed runs' folders are gone
