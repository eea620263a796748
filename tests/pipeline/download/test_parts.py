"""Shards written in parts (too few shards for the workers): the split, byte-identity with a
shard written whole, resume from complete parts, clean-up of part files. Real Beam runner
(FnApiRunner, 2 processes) against the real local image host."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.download import parts, worker
from pipeline.download.fetch import Fetcher
from pipeline.download.options import DownloadConfig
from synth.concepts import IMAGE_HOSTS
from tests.hardening.watch import FinalNameWatcher
from tests.pipeline.download.conftest import RESOLVE, SAFE, download, write_jsonl

FLAGS = ["--timeout", "2", "--retries", "1", "--min-image-size", "10"]
TIMES = ("start_time", "end_time", "duration_s")


def _rows(host, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        ext = ("jpg", "png", "webp")[i % 3]
        url = host.url(IMAGE_HOSTS[i % 4], f"/img/part{i}.{ext}?count={1 + i % 3}&w=90&h=70")
        rows.append({"url": url, "caption": f"part {i}"})
    rows[5]["url"] = host.url(IMAGE_HOSTS[0], "/hostile/404/x")  # a failure in part 0
    rows[-1] = {**rows[0], "caption": "exact-dup"}  # a dedup rewrite of a merged shard
    return rows


def _manifest(host, tmp_path, n: int) -> str:
    rows = _rows(host, n)
    host.server.prerender(r["url"] for r in rows)
    return write_jsonl(tmp_path / "in.jsonl", rows)


def _files(out: str) -> dict[str, bytes]:
    """Every shard, parquet and hash file of `out` by name, and the shard stats minus times."""
    got = {}
    for path in sorted(glob.glob(f"{out}/shards/*.tar") + glob.glob(f"{out}/shards/*.parquet")
                       + glob.glob(f"{out}/hashes/*.parquet")):  # fmt: skip
        got[os.path.relpath(path, out)] = open(path, "rb").read()
    for path in sorted(glob.glob(f"{out}/shards/*_stats.json")):
        stats = json.load(open(path))
        got[os.path.relpath(path, out)] = {k: v for k, v in stats.items() if k not in TIMES}
    return got


def _part_files(out: str) -> list[str]:
    return sorted(n for n in os.listdir(f"{out}/shards") if ".part-" in n)


def test_count_splits_only_when_the_shards_cannot_keep_the_workers_even():
    assert parts.count(3, 2, 15) == 2  # 6 parts: 3 a worker
    assert parts.count(1, 2, 15) == 2
    assert parts.count(3, 4, 15) == 4  # 12 parts: 3 a worker
    assert parts.count(1, 16, 15) == 15  # capped by the rows a part needs
    assert parts.count(4, 2, 15) == parts.count(3, 1, 15) == parts.count(3, 0, 15) == 1
    assert parts.count(40, 16, 15) == 2  # 3 shards for some, 2.5 the mean: 1.2x
    assert parts.count(165, 16, 15) == 1  # 11 for some, 10.3 the mean: within BALANCE
    assert parts.count(3, 2, 1) == 1  # shards too small to split


def test_plan_parts_are_contiguous_and_none_empty():
    plan = parts.Plan(shard_size=1000, total=2130, split={0: 3, 2: 2})
    for sid in (0, 1, 2):
        n, rows = plan.parts_of(sid), plan.rows_of(sid)
        got = [plan.part_of(sid, i) for i in range(rows)]
        assert got == sorted(got) and set(got) == set(range(n))
    assert plan.rows_of(2) == 130 and plan.parts_of(1) == 1


def test_parts_merge_to_the_bytes_of_whole_shards(host, tmp_path):
    manifest = _manifest(host, tmp_path, 3 * 128)
    split, whole = str(tmp_path / "split"), str(tmp_path / "whole")
    plan, _ = parts.prepare(split, 3 * 128, 128, set(), 2)
    assert plan.split == {0: 2, 1: 2, 2: 2}  # what the 2-worker run below does
    assert download(manifest, split, "--shard-size", "128", *FLAGS) == 0
    assert download(manifest, whole, "--shard-size", "128", *FLAGS,
                    "--direct_num_workers=1") == 0  # fmt: skip
    got, want = _files(split), _files(whole)
    assert len(want) == 3 * 4 and got == want
    assert want["shards/00000_stats.json"]["errors"]["http_error"] == 1
    assert json.load(open(f"{split}/stats.json"))["dedup"]["exact_duplicate"] == 1
    assert _part_files(split) == []


def _plant_part(host, out: str, manifest_rows: list[dict], part: int, n: int) -> None:
    """Write part `part` of `n` of shard 0 (of a one-shard job) as a job's worker does."""
    cfg = DownloadConfig(output=out, allow_networks=("127.0.0.1/32",), resolve=(RESOLVE,),
                         shard_size=128, timeout=2, retries=1, min_image_size=10)  # fmt: skip
    plan = parts.Plan(128, len(manifest_rows), {0: n})
    rows = [(i, r) for i, r in enumerate(manifest_rows) if plan.part_of(0, i) == part]
    for sub in ("shards", "hashes"):
        os.makedirs(f"{out}/{sub}", exist_ok=True)
    fetcher = Fetcher(cfg)
    try:
        worker.download_part(0, part, n, rows, cfg, fetcher)
    finally:
        fetcher.close()


def test_resume_takes_complete_parts_and_fetches_the_rest(host, tmp_path):
    manifest = _manifest(host, tmp_path, 128)
    rows = [json.loads(line) for line in open(manifest)]
    out, whole = str(tmp_path / "out"), str(tmp_path / "whole")
    assert download(manifest, whole, "--shard-size", "128", *FLAGS,
                    "--direct_num_workers=1") == 0  # fmt: skip
    _plant_part(host, out, rows, 0, 2)  # complete
    _plant_part(host, out, rows, 1, 2)  # then cut: members never committed
    half = parts.part_paths(out, 0, 1, 2)
    os.rename(half["tar"], half["tar"] + ".openwit-tmp-deadbeef")
    assert not parts.is_complete(out, 0, 1, 2)
    before = len(host.requests)
    assert download(manifest, out, "--shard-size", "128", *FLAGS) == 0
    fetched = {path for _, path, _ in host.requests[before:] if path.startswith("/img/")}
    urls = [r["url"].split(":", 2)[2].split("/", 1)[1] for r in rows]
    # part 0 taken as it was (row 0's url is also the last row's, in part 1)
    assert not fetched & {"/" + u for u in urls[1:64]}
    assert {"/" + u for u in urls[64:-1]} <= fetched  # part 1 fetched again
    assert _files(out) == _files(whole)
    assert _part_files(out) == []
    assert ".openwit-tmp" in str(json.load(open(f"{out}/run.json"))["cleaned_tmp_files"])


def test_part_files_of_complete_shards_and_other_splits_are_removed(host, tmp_path):
    manifest = _manifest(host, tmp_path, 128)
    out = str(tmp_path / "out")
    assert download(manifest, out, "--shard-size", "128", *FLAGS) == 0
    done = _files(out)
    stray = [parts.part_paths(out, 0, 1, 2)["tar"], parts.part_paths(out, 0, 0, 3)["parquet"],
             parts.part_paths(out, 7, 0, 2)["stats"]]  # fmt: skip
    for path in stray:
        open(path, "wb").write(b"left by a killed run")
    assert download(manifest, out, "--shard-size", "128", *FLAGS) == 0
    assert _part_files(out) == [] and _files(out) == done
    cleaned = json.load(open(f"{out}/run.json"))["cleaned_tmp_files"]
    assert sorted(cleaned) == sorted(os.path.basename(p) for p in stray)


@pytest.mark.parametrize("have", [{}, {0: 3}])
def test_prepare_keeps_the_split_of_an_earlier_run(tmp_path, have):
    out = str(tmp_path)
    os.makedirs(f"{out}/shards")
    for sid, n in have.items():
        open(parts.part_paths(out, sid, 1, n)["tar"], "wb").close()
    plan, stale = parts.prepare(out, 3 * 1000, 1000, set(), 2)
    assert plan.split == {0: have.get(0, 2), 1: 2, 2: 2} and stale == []
    plan, stale = parts.prepare(out, 3 * 1000, 1000, {0}, 2)  # shard 0 complete since
    assert 0 not in plan.split and len(stale) == len(have)


def _kill_after_a_part(manifest: str, out: str) -> list[str]:
    """Run the download in a subprocess, kill -9 its whole process group once a part is
    complete; the complete parts' members files at that moment."""
    cmd = [sys.executable, "-m", "pipeline", "download", "--manifest", manifest, "--output", out,
           *SAFE, "--shard-size", "128", *FLAGS, "--direct_num_workers=2"]  # fmt: skip
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if any(n.endswith(".members") for n in _listing(out)):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the job ended before a part was complete"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return [n for n in _listing(out) if n.endswith(".members")]


def _listing(out: str) -> list[str]:
    return os.listdir(f"{out}/shards") if os.path.isdir(f"{out}/shards") else []


@pytest.mark.slow
def test_a_killed_split_job_reruns_to_the_same_shards_reusing_its_parts(host, tmp_path):
    manifest = _manifest(host, tmp_path, 3 * 128)
    rows = [json.loads(line) for line in open(manifest)]
    out, whole = str(tmp_path / "out"), str(tmp_path / "whole")
    assert download(manifest, whole, "--shard-size", "128", *FLAGS,
                    "--direct_num_workers=1") == 0  # fmt: skip
    watcher = FinalNameWatcher(out)
    watcher.start()
    try:
        complete = _kill_after_a_part(manifest, out)
        assert not os.path.exists(f"{out}/run.json")
        before = len(host.requests)
        assert download(manifest, out, "--shard-size", "128", *FLAGS) == 0
    finally:
        violations = watcher.stop()
    assert violations == [] and complete
    fetched = {path for _, path, _ in host.requests[before:]}
    plan = parts.Plan(128, len(rows), {0: 2, 1: 2, 2: 2})
    for name in complete:  # NNNNN.part-K-of-2.members
        sid, k = int(name[:5]), int(name.split("-")[1])
        mine = [r["url"] for g, r in enumerate(rows[1:-1], 1)
                if g // 128 == sid and plan.part_of(sid, g % 128) == k]  # fmt: skip
        assert mine and not fetched & {"/" + u.split("/", 3)[3] for u in mine}, name
    assert _files(out) == _files(whole) and _part_files(out) == []


def test_parts_on_a_dask_cluster_merge_to_the_same_shard(host, dask_cluster, tmp_path,
                                                          monkeypatch):  # fmt: skip
    manifest = _manifest(host, tmp_path, 128)
    out, whole = str(tmp_path / "dask"), str(tmp_path / "whole")
    assert download(manifest, whole, "--shard-size", "128", *FLAGS,
                    "--direct_num_workers=1") == 0  # fmt: skip
    plans, real = [], parts.prepare  # the launcher's plan (the workers run in the cluster)
    monkeypatch.setattr(parts, "prepare", lambda *a: plans.append(real(*a)) or plans[-1])
    assert download(manifest, out, "--shard-size", "128", *FLAGS, "--runner", "DaskRunner",
                    "--dask_client_address", dask_cluster.address) == 0  # fmt: skip
    assert plans[0][0].split == {0: 2}
    assert _files(out) == _files(whole) and _part_files(out) == []
