"""Slow and hostile hosts under load: a whole-request deadline bounds every row (and so every
shard), per-host caps hold with hundreds of host names, `.invalid` names never reach DNS, and
every row ends as one accounted parquet row, in bounded memory."""

from __future__ import annotations

import glob
import json
import os
import resource
import socket
import threading
import time

import pyarrow.parquet as pq
import pytest

from pipeline.download.fetch import Fetcher
from pipeline.download.http import FetchError
from pipeline.download.options import DownloadConfig
from schemas.vocab import DownloadReason as R
from tests.pipeline.download.conftest import RESOLVE, download, write_jsonl

H = "img0.openwit-demo.test"
NEVER = "/hostile/slow-first-byte/n?wait=30"  # answers after 30 s: never, for any sane timeout


def fetcher(**kw) -> Fetcher:
    base = dict(output="unused", allow_networks=("127.0.0.1/32",), resolve=(RESOLVE,),
                timeout=1.0, retries=4, backoff=0.5, request_timeout=2.0)  # fmt: skip
    base.update(kw)
    return Fetcher(DownloadConfig(**base))


def timed_reason(f: Fetcher, url: str) -> tuple[R, float]:
    start = time.monotonic()
    with pytest.raises(FetchError) as e:
        f.fetch_image(url)
    return e.value.reason, time.monotonic() - start


@pytest.mark.parametrize("path", [NEVER, "/hostile/slow-body/t", "/hostile/reset/r"])
def test_whole_request_deadline_bounds_retries_of_slow_hosts(host, path):
    # 5 attempts of 1 s plus backoffs would take 8+ s; the deadline ends the row at 2 s.
    want = R.CONNECTION_RESET if "reset" in path else R.TIMEOUT
    reason, took = timed_reason(fetcher(), host.url(H, path))
    assert reason == want and took < 2.6


def test_retry_after_is_honoured_unless_the_deadline_comes_first(host):
    for code in ("429", "503"):
        path = f"/hostile/{code}/ra"
        before = [t for h, p, t in host.requests if p == path]
        reason, took = timed_reason(fetcher(retries=1, request_timeout=5.0), host.url(H, path))
        times = [t for h, p, t in host.requests if p == path][len(before) :]
        assert reason == R.HTTP_ERROR and len(times) == 2 and times[1] - times[0] >= 0.95
        reason, took = timed_reason(fetcher(retries=3, request_timeout=0.8), host.url(H, path))
        assert reason == R.HTTP_ERROR and took < 0.5  # a 1 s wait would pass the deadline


def test_invalid_names_fail_without_a_dns_lookup(monkeypatch):
    looked_up = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: looked_up.append(a) or [])
    f = fetcher(resolve=())
    for url in ("http://nowhere.invalid/a.jpg", "https://x.y.INVALID./b.jpg"):
        assert timed_reason(f, url)[0] == R.DNS_ERROR
    assert looked_up == []


def test_waiting_for_a_busy_hosts_slot_is_bounded_by_the_deadline(host):
    f = fetcher(per_host_connections=1, retries=0, timeout=5.0, request_timeout=5.0)
    hog = threading.Thread(target=lambda: pytest.raises(FetchError, f.fetch_image,
                                                        host.url(H, NEVER)))  # fmt: skip
    f.fetch_image(host.url(H, "/img/warm.jpg"))  # robots.txt cached before the hog takes the slot
    hog.start()
    time.sleep(0.3)
    g = Fetcher(DownloadConfig(**{**f.cfg.__dict__, "request_timeout": 1.0}))
    g._slots = f._slots  # the same worker's host slots  # noqa: SLF001
    g.robots = f.robots
    reason, took = timed_reason(g, host.url(H, "/img/queued.jpg"))
    assert reason == R.TIMEOUT and took < 1.5
    hog.join()


# --- under load: the real CLI, 2 worker processes, 1,000 rows over 250 host names -----------
ROUTES = {  # route -> (path, expected status, reason)
    "good": ("/img/{n}.jpg?w=64&h=48", "success", None),
    "trickle": ("/hostile/slow-body/{n}", "failed", "timeout"),
    "never": ("/hostile/slow-first-byte/{n}?wait=30", "failed", "timeout"),
    "reset": ("/hostile/reset/{n}", "failed", "connection_reset"),
    "loop": ("/hostile/redirect-loop/{n}", "failed", "too_many_redirects"),
    "429": ("/hostile/429/{n}", "failed", "http_error"),
    "503": ("/hostile/503/{n}", "failed", "http_error"),
    "endless": ("/hostile/endless/{n}", "failed", "too_large"),
}
MIX = ["good"] * 12 + ["trickle", "never", "reset", "loop", "429", "503", "endless", "dns"]
HOT = "hot.openwit-demo.test"
# The hot host's good images answer after 0.1 s, so its requests overlap and reach the cap
# (a prerendered image answers in ~1 ms: whether two overlapped was up to the scheduler).
HOT_PATH = "/hostile/slow-first-byte/{n}?wait=0.1&w=64&h=48"
DEADLINE, CAP = 3.0, 2


def load_rows(host) -> list[dict]:
    rows = []
    for i in range(1000):
        kind = MIX[i % len(MIX)]
        name = HOT if i % 10 == 3 and kind == "good" else f"h{i % 250:03d}.openwit-demo.test"
        if kind == "dns":
            url = f"http://h{i % 250:03d}.openwit-demo.invalid/img/{i}.jpg"
        else:
            path = HOT_PATH if name == HOT else ROUTES[kind][0]
            url = host.url(name, path.format(n=f"load{i}"))
        rows.append({"url": url, "caption": f"{kind} {i}"})
    return rows


@pytest.mark.slow
def test_hostile_hosts_under_load_are_bounded_capped_and_accounted(host, tmp_path):
    rows = load_rows(host)
    assert len({r["url"].split("/")[2] for r in rows}) >= 250
    host.server.prerender(r["url"] for r in rows)
    out = str(tmp_path / "out")
    start = time.monotonic()
    code = download(write_jsonl(tmp_path / "m.jsonl", rows), out, "--shard-size", "250",
                    "--threads", "250", "--timeout", "1.5", "--retries", "4",
                    "--request-timeout", str(DEADLINE), "--per-host-connections", str(CAP),
                    "--max-bytes", "2000000")  # fmt: skip
    wall = time.monotonic() - start
    assert code == 0
    got = {}
    for p in glob.glob(os.path.join(out, "shards", "*.parquet")):
        for r in pq.read_table(p).to_pylist():
            got[r["caption"]] = (r["status"], (r["error_message"] or "").split(":")[0] or None)
    assert len(got) == len(rows)  # every row accounted for, once
    for caption, (status, reason) in got.items():
        kind = caption.split()[0]
        want = ("failed", "dns_error") if kind == "dns" else ROUTES[kind][1:]
        if kind == "good" and status == "duplicate":  # small drawn images may share a pHash
            continue
        assert (status, reason) == want, caption
    # Per-host caps: at most CAP connections per worker process (2 processes) to any host.
    assert max(host.server.max_active.values()) <= 2 * CAP
    assert host.server.max_active[f"{HOT}:{host.port}"] >= 2
    # Each shard ends within the deadline (+ its images' processing), not 5 x the timeout.
    for p in glob.glob(os.path.join(out, "shards", "*_stats.json")):
        with open(p) as f:
            assert json.load(f)["duration_s"] < DEADLINE + 6.0, p
    assert wall < 120
    child_peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert child_peak_mib < 1500  # 40 endless bodies of 256 MB were cut at --max-bytes
