"""Benchmark: peak memory of `pipeline curate` and `pipeline download` at two sizes (4x apart).

    .venv/bin/python bench/memory.py curate --sizes 25000,100000 [--workers 2] [--dir
    /tmp/bench-memory]
    .venv/bin/python bench/memory.py download --sizes 5000,20000 [--workers 2] [--dir ...]

curate: a generated crawl (`synth.crawl`, N pages over 8 WARC files, cached in --dir)
through `python -m pipeline curate` (FnApiRunner, multi-processing, --workers workers).
download: N image URLs on the local image host (its own process, not measured) through
`python -m pipeline download` (--shard-size 1000). Each command runs as a subprocess; a
sampler reads /proc every 0.2 s and sums over the command's whole process tree (runner,
Beam workers, their children): `peak_rss_mib` (sum of RSS: counts pages shared between forked
workers once per process, an upper bound) and `peak_pss_mib` (sum of PSS, shared pages split:
the machine's real cost). Prints one JSON line per run, then the large/small ratios. No
psutil: /proc only (Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.hardening.procwatch import tree  # noqa: E402

PY = sys.executable
RESOLVE = ["--allow-networks", "127.0.0.1/32"]
QUERIES = (
    "circle",
    "square",
    "triangle",
    "star",
    "red",
    "blue",
    "green",
    "yellow",
    "white",
    "black",
    "photo",
    "drawing",
    "squares",
    "circles",
    "stars",
)


def _rss_pss(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) once it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class TreeSampler(threading.Thread):
    """Samples the summed RSS/PSS of a process tree until `stop()`; keeps the peaks."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.done = pid, every, threading.Event()
        self.peak_rss = self.peak_pss = self.peak_procs = 0
        self.per_pid: dict[int, int] = {}  # pid -> its own peak PSS (KiB)

    def run(self) -> None:
        while not self.done.is_set():
            pids = tree(self.pid)
            sizes = [_rss_pss(p) for p in pids]
            for pid, (_, pss) in zip(pids, sizes):
                self.per_pid[pid] = max(self.per_pid.get(pid, 0), pss)
            self.peak_rss = max(self.peak_rss, sum(r for r, _ in sizes))
            self.peak_pss = max(self.peak_pss, sum(p for _, p in sizes))
            self.peak_procs = max(self.peak_procs, sum(1 for r, _ in sizes if r))
            self.done.wait(self.every)

    def stop(self) -> dict:
        self.done.set()
        self.join()
        others = sorted(
            (v for pid, v in self.per_pid.items() if pid != self.pid and v), reverse=True
        )
        return {
            "peak_rss_mib": round(self.peak_rss / 1024, 1),
            "peak_pss_mib": round(self.peak_pss / 1024, 1),
            "processes": self.peak_procs,
            # each process's own peak: the command's (the Beam runner), then the largest others
            "peak_pss_mib_runner": round(self.per_pid.get(self.pid, 0) / 1024),
            "peak_pss_mib_others": [round(v / 1024) for v in others[:6]],
        }


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run `cmd` to completion (it must succeed) and return its tree's peaks and wall time."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    _, err = proc.communicate()
    out = sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[3]} failed ({proc.returncode}): {err[-2000:]}")
    return {**out, "wall_s": round(time.perf_counter() - t0, 1)}


def curate_run(pages: int, workers: int, base: str) -> dict:
    from synth import crawl

    crawl_dir = os.path.join(base, f"crawl-{pages}")
    if not os.path.isdir(crawl_dir):
        crawl.generate(crawl_dir + ".part", pages=pages, files=8, seed=11)
        os.replace(crawl_dir + ".part", crawl_dir)
    size = sum(os.path.getsize(os.path.join(crawl_dir, n)) for n in os.listdir(crawl_dir))
    queries = os.path.join(base, "queries.txt")
    with open(queries, "w") as f:
        f.write("\n".join(QUERIES) + "\n")
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        res = measure(
            [
                PY,
                "-m",
                "pipeline",
                "curate",
                "--input",
                f"{crawl_dir}/*.warc.gz",
                "--queries",
                queries,
                "--output",
                os.path.join(tmp, "out"),
                f"--direct_num_workers={workers}",
            ]
        )
        with open(os.path.join(tmp, "out", "stats.json")) as f:
            read = json.load(f)["flow"]["read"]
    return {
        "stage": "curate",
        "pages": pages,
        "input_mib": round(size / 2**20, 1),
        "candidates": read,
        **res,
    }


def download_run(images: int, workers: int, base: str) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synth.image_host import ImageHost

    with ImageHost(log_requests=False) as host, tempfile.TemporaryDirectory(dir=base) as tmp:
        urls = [
            f"http://127.0.0.1:{host.port}/img/mem{i}.{('jpg', 'png', 'webp')[i % 3]}"
            f"?count={1 + i % 4}&w={200 + i % 200}&h={150 + i % 150}"
            for i in range(images)
        ]
        manifest = os.path.join(tmp, "urls.parquet")
        pq.write_table(pa.table({"url": urls, "caption": [f"image {i}" for i in urls]}), manifest)
        res = measure(
            [
                PY,
                "-m",
                "pipeline",
                "download",
                "--manifest",
                manifest,
                "--output",
                os.path.join(tmp, "out"),
                *RESOLVE,
                "--shard-size",
                "1000",
                "--retries",
                "0",
                f"--direct_num_workers={workers}",
            ],
            {"NO_ALBUMENTATIONS_UPDATE": "1"},
        )
        with open(os.path.join(tmp, "out", "stats.json")) as f:
            stats = json.load(f)
    return {
        "stage": "download",
        "images": images,
        "successes": stats["successes"],
        "errors": stats.get("errors"),
        "dedup": stats.get("dedup"),
        **res,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("stage", choices=("curate", "download"))
    p.add_argument("--sizes", default=None, help="small,large (pages or images)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "bench-memory"))
    args = p.parse_args(argv)
    sizes = args.sizes or ("25000,100000" if args.stage == "curate" else "5000,20000")
    small, large = (int(s) for s in sizes.split(","))
    os.makedirs(args.dir, exist_ok=True)
    run = curate_run if args.stage == "curate" else download_run
    results = [run(n, args.workers, args.dir) for n in (small, large)]
    for r in results:
        print(json.dumps(r), flush=True)
    a, b = results
    print(
        json.dumps(
            {
                "ratio_of_size": round(large / small, 2),
                "ratio_peak_rss": round(b["peak_rss_mib"] / a["peak_rss_mib"], 2),
                "ratio_peak_pss": round(b["peak_pss_mib"] / a["peak_pss_mib"], 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
