"""Kill -9 `pipeline download` mid-shard (twice), rerun the same command: shards, per-shard
parquet, sizes.json and the stats equal an uninterrupted run's, the killed runs' temporary files
are gone, and a watcher polling the output never sees a partial file under a final name.
(tests/pipeline/download has the single kill after the first shard; this one kills while a
shard is being written and watches every file.)"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.verify import verify
from synth.concepts import IMAGE_HOSTS
from tests.hardening.watch import FinalNameWatcher
from tests.pipeline.download.conftest import SAFE, download, write_jsonl
from tests.pipeline.download.test_download_e2e import parquet_rows

pytestmark = pytest.mark.slow
FLAGS = ["--shard-size", "40", "--timeout", "2", "--retries", "1", "--min-image-size", "10"]
# deterministic routes only: timing-dependent ones (slow-*, 500-then-200) may differ per run
ROUTES = ("404", "corrupt-png", "truncated-jpeg", "noai", "redirect-chain", "pixel")


def _rows(host) -> list[dict]:
    rows = []
    for i in range(200):
        ext = ("jpg", "png", "webp")[i % 3]
        path = f"/img/k{i}.{ext}?count={1 + i % 4}&w={300 + i % 97}&h={280 + i % 89}"
        rows.append({"url": host.url(IMAGE_HOSTS[i % 4], path), "caption": f"ok {i}"})
        if i % 25 == 3:
            route = ROUTES[(i // 25) % len(ROUTES)]
            rows.append(
                {"url": host.url(IMAGE_HOSTS[0], f"/hostile/{route}/{i}"), "caption": route}
            )
    return rows


def _kill_mid_shard(manifest: str, out: str, finals_before: int) -> bool:
    cmd = [sys.executable, "-m", "pipeline", "download", "--manifest", manifest, "--output", out,
           *SAFE, *FLAGS, "--direct_num_workers=2"]  # fmt: skip
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    shards, deadline = os.path.join(out, "shards"), time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        names = os.listdir(shards) if os.path.isdir(shards) else []
        writing = [n for n in names if ".openwit-tmp" in n and ".tar" in n]
        if writing and sum(n.endswith(".tar") for n in names) > finals_before:
            break
        time.sleep(0.01)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return alive


def test_kill_download_mid_shard_twice_then_rerun_equals_an_uninterrupted_run(host, tmp_path):
    rows = _rows(host)
    host.server.prerender(r["url"] for r in rows)
    manifest = write_jsonl(tmp_path / "in.jsonl", rows)
    ref, out = str(tmp_path / "ref"), str(tmp_path / "out")
    assert download(manifest, ref, *FLAGS) == 0
    watcher = FinalNameWatcher(out)
    watcher.start()
    try:
        assert _kill_mid_shard(manifest, out, 0), "download finished before the first kill"
        assert _kill_mid_shard(manifest, out, 1), "download finished before the second kill"
        assert not os.path.exists(os.path.join(out, "shards", "sizes.json"))
        assert download(manifest, out, *FLAGS) == 0
    finally:
        violations = watcher.stop()
    assert violations == []
    assert len([p for p in watcher.checked if p.endswith(".tar")]) >= 6
    names = sorted(os.listdir(os.path.join(ref, "shards")))
    assert sorted(os.listdir(os.path.join(out, "shards"))) == names  # no temporary leftovers
    for name in names:
        if name.endswith((".tar", "sizes.json")):
            a = open(os.path.join(ref, "shards", name), "rb").read()
            assert a == open(os.path.join(out, "shards", name), "rb").read(), name
    assert parquet_rows(out) == parquet_rows(ref)
    stats = [json.load(open(os.path.join(d, "stats.json"))) for d in (ref, out)]
    for key in ("count", "successes", "errors", "dedup"):
        assert stats[0][key] == stats[1][key], key
    assert verify(out)[0] == []
    assert glob.glob(os.path.join(out, "shards", "*.tar"))
