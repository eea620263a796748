"""Progress: workers' count files summed by the launcher (across processes), progress lines
off a terminal at the configured interval, download's line from its shards' stats files, and a
real small curate run: quiet (few lines) by default, progress lines when the interval is short."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest

from pipeline.download.job import describe as download_status
from runtime import progress
from schemas import layout
from synth import crawl
from tests.pipeline.curate.conftest import write_queries

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICK = "from runtime import progress; progress.tick({'files': 1, 'bytes': %d})"


def _python(code: str, env: dict) -> None:
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


def test_ticks_from_other_processes_are_summed_once_each(tmp_path, monkeypatch):
    folder = str(tmp_path / "progress")
    env = {**os.environ, progress.ENV: folder, "PYTHONPATH": ROOT}
    _python(f"{TICK % 10}; {TICK.split('; ')[1] % 5}", env)  # two ticks, one process
    ticks = progress.Ticks(folder)
    assert (ticks.poll()["files"], ticks.poll()["bytes"]) == (2, 15)  # polled twice: same sums
    _python(TICK % 1, env)
    assert ticks.poll()["bytes"] == 16
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.tick({"files": 1})  # no folder asked for: nothing written
    assert len(os.listdir(folder)) == 3


def test_lines_off_a_terminal_every_interval(tmp_path):
    folder = str(tmp_path / "progress")
    ticks = progress.Ticks(folder)
    stream = io.StringIO()  # not a terminal

    def describe(elapsed):
        return progress.Status(f"{ticks.poll()['bytes']} bytes")

    with progress.watching("job", describe, folder, interval=0.1, stream=stream):
        env = {**os.environ, "PYTHONPATH": ROOT}  # watching exported the folder
        _python(TICK % 7, env)
        time.sleep(0.5)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("job: ") for line in lines)
    assert lines[-1] == "job: 7 bytes"
    assert not os.path.exists(folder) and progress.ENV not in os.environ


def test_download_line_counts_only_shards_finished_during_the_job(tmp_path):
    shards = tmp_path / layout.SHARDS_DIR
    shards.mkdir()

    def finish(sid, count, successes):
        stats = {"count": count, "successes": successes}
        (shards / layout.shard_stats(sid)).write_text(json.dumps(stats))

    finish(0, 10, 10)  # resumed: complete before the job
    status = download_status(str(tmp_path), todo=3)
    finish(1, 10, 8)
    finish(2, 10, 6)
    s = status(elapsed=7.0)
    assert (s.done, s.total) == (2, 3)
    assert "shards 2/3" in s.text and "2.0 images/s" in s.text and "70.0%" in s.text
    assert "ETA 0:03" in s.text


@pytest.fixture(scope="module")
def small_crawl(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crawl")
    crawl.generate(str(folder), pages=150, files=2, seed=3, wat=False)
    return str(folder), write_queries(folder / "q.txt")


def test_a_small_curate_is_quiet_and_shows_progress_off_a_terminal(small_crawl, tmp_path):
    folder, queries = small_crawl
    env = {**os.environ, "PYTHONPATH": ROOT, progress.INTERVAL_ENV: "0.5"}
    out = str(tmp_path / "out")
    argv = [sys.executable, "-m", "pipeline", "curate", "--input", f"{folder}/*.warc.gz",
            "--queries", queries, "--output", out, "--direct_num_workers=2"]  # fmt: skip
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    ticks = [line for line in lines if line.startswith("curate: files ")]
    others = [line for line in lines if line not in ticks]
    assert len(others) <= 15, "\n".join(others)
    assert ticks and "files 2/2" in ticks[-1], "\n".join(lines)
    assert others[-1].startswith("curate: ") and " kept, " in others[-1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal(tmp_path):
    stream = _Terminal()
    calls = []

    def describe(elapsed):
        calls.append(elapsed)
        return progress.Status("3 of 4 shards", done=3, total=4)

    with progress.watching("download", describe, interval=60, stream=stream):
        time.sleep(1.5)  # the bar refreshes every second, whatever the line interval
    assert calls and "download" in stream.getvalue() and "3/4" in stream.getvalue()
    assert "3 of 4 shards" in stream.getvalue()
