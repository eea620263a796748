"""Soak: `pipeline run` over 50,000 URLs (`OPENWIT_SOAK_URLS`) against the local image host with
good, slow, failing and hostile routes (each failing the same way on every run), killed twice
at random moments and rerun: the final shards equal an uninterrupted run's by (key, status,
image bytes); the uninterrupted run's memory (PSS of the whole process tree, sampled every
`OPENWIT_SOAK_SAMPLE_S` = 1 s while shards are being written: more often than the 5 s asked,
so that the descriptor and thread counts, which swing by ~100 with the requests in flight, are
compared over enough samples; 10 samples of a 67 s run made that check a coin toss) stays flat,
and so do its open file descriptors and threads; all of it within 30 minutes."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import time

import pyarrow.parquet as pq
import pytest

from synth.concepts import COLORS, SHAPES, Concept, image_url
from tests.hardening.procwatch import TreeSampler, flat, no_growth
from tests.pipeline.download.conftest import RESOLVE, write_jsonl

pytestmark = pytest.mark.slow
N = int(os.environ.get("OPENWIT_SOAK_URLS", "50000"))
EVERY = float(os.environ.get("OPENWIT_SOAK_SAMPLE_S", "1"))
# Per 100 rows; every kind fails (or not) the same way on every run.
KINDS = (
    [("good", None)] * 70
    + [("404", "/hostile/404/")] * 8
    + [("chain", "/hostile/redirect-chain/")] * 5
    + [("dns", None)] * 5
    + [("noai", "/hostile/noai/")] * 3
    + [("corrupt", "/hostile/corrupt-png/")] * 3
    + [("reset", "/hostile/reset/")] * 2
    + [("never", "/hostile/slow-first-byte/")] * 2
    + [("loop", "/hostile/redirect-loop/")] * 2
)
FLAGS = ["--allow-networks", "127.0.0.1/32", "--resolve", RESOLVE, "--timeout", "1",
         "--retries", "1", "--request-timeout", "3", "--shard-size", str(max(N // 20, 50)),
         "--direct_num_workers=2"]  # fmt: skip


def soak_rows(port: int) -> list[dict]:
    rows = []
    for i in range(N):
        kind, route = KINDS[i * 37 % 100]
        shape, color = SHAPES[i % len(SHAPES)], tuple(COLORS)[i // 8 % len(COLORS)]
        host = f"h{i % 300:03d}.openwit-demo.test:{port}"
        if kind == "good":
            c = Concept(shape, color, "white", 1 + i % 4)
            url = image_url(host, f"s{i}", c, ("jpg", "png")[i % 2], (40 + i % 23, 36))
        elif kind == "dns":
            url = f"http://h{i % 300:03d}.openwit-demo.invalid/img/s{i}.jpg"
        else:
            url = f"http://{host}{route}s{i}" + ("?wait=8" if kind == "never" else "")
        rows.append({"url": url, "caption": f"a photo of a {color} {shape}, picture {i}"})
    return rows


def start(cmd: list[str]) -> subprocess.Popen:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def tars(out: str) -> int:
    return len(glob.glob(os.path.join(out, "shards", "*.tar")))


def run_watched(cmd: list[str], out: str) -> tuple[list, float]:
    """Run to its end; (samples taken while shards were being written, seconds): from the
    first shard's tar to the last one's, so start-up and the final summary stay out."""
    begin, proc = time.monotonic(), start(cmd)
    sampler, first, last, seen = TreeSampler(proc.pid, EVERY), None, None, 0
    sampler.start()
    while proc.poll() is None:
        now, count = time.monotonic(), tars(out)
        if count > seen:
            first, last, seen = first or now, now, count
        time.sleep(0.5)
    samples = sampler.stop()
    assert proc.returncode == 0
    return [s for s in samples if first and first <= s[0] <= last], time.monotonic() - begin


def kill_after(cmd: list[str], seconds: float) -> None:
    proc = start(cmd)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def outcome(out: str) -> dict[str, tuple]:
    """key -> (status, sha256 of the sample's image bytes or None)."""
    images = {}
    for path in glob.glob(os.path.join(out, "shards", "*.tar")):
        with tarfile.open(path) as tar:
            for m in tar:
                if m.isfile() and not m.name.endswith((".txt", ".json")):
                    key = m.name.split(".", 1)[0]
                    images[key] = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
    rows = {}
    for path in glob.glob(os.path.join(out, "shards", "*.parquet")):
        for r in pq.read_table(path, columns=["key", "status"]).to_pylist():
            rows[r["key"]] = (r["status"], images.get(r["key"]))
    return rows


@pytest.fixture(scope="module")
def soak_host(tmp_path_factory):
    base = tmp_path_factory.mktemp("soak")
    with socket_port() as port:
        rows = soak_rows(port)
    urls = base / "urls.txt"
    urls.write_text("\n".join(r["url"] for r in rows))
    cmd = [sys.executable, "-m", "synth.image_host", "--port", str(port), "--prerender", str(urls)]
    host = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        for line in host.stdout:
            if line.startswith("serving"):
                break
        yield base, rows
    finally:
        host.terminate()
        host.wait()


class socket_port:
    """A free port on 127.0.0.1 (closed again before the host binds it)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        pass


def test_soak_killed_twice_equals_uninterrupted_with_flat_memory(soak_host):
    base, rows = soak_host
    began = time.monotonic()
    table = write_jsonl(base / "in.jsonl", rows)
    (base / "q.txt").write_text("\n".join(SHAPES) + "\n")
    run = [sys.executable, "-m", "pipeline", "run", "--input", table, "--queries",
           str(base / "q.txt"), *FLAGS]  # fmt: skip
    ref, out = str(base / "ref"), str(base / "out")
    samples, seconds = run_watched([*run, "--output", ref], ref)
    rng = random.Random(N)
    for _ in range(2):
        kill_after([*run, "--output", out], rng.uniform(0.3, 0.8) * seconds)
    assert run_watched([*run, "--output", out], out)[1] > 0
    want, got = outcome(ref), outcome(out)
    assert len(want) >= N // 2 and got == want  # curate keeps most rows (the same on each run)
    stats = json.load(open(os.path.join(ref, "stats.json")))
    assert stats["count"] == len(want)
    assert len(samples) >= 25, f"{len(samples)} samples: raise N or lower the interval"
    pss, fds, threads = ([s[i] for s in samples] for i in (1, 2, 3))
    assert flat(pss, 1.25), [p >> 20 for p in pss]
    assert no_growth(fds, slack=8), fds
    assert no_growth(threads, slack=4), threads
    report = {"urls": N, "ref_seconds": round(seconds), "samples": len(samples),
              "pss_mib_first_last": [pss[0] >> 20, pss[-1] >> 20], "fds": [min(fds), max(fds)],
              "threads": [min(threads), max(threads)],
              "total_seconds": round(time.monotonic() - began)}  # fmt: skip
    print("soak:", json.dumps(report))
    assert time.monotonic() - began < 30 * 60
