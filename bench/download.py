"""Benchmark: `pipeline download` vs `img2dataset.download()` on the same URL list.

    NO_ALBUMENTATIONS_UPDATE=1 .venv/bin/python bench/download.py [--images 3000] [--reps 1]

Serves N drawn images of realistic sizes (300-1200 px sides; jpg/png/webp/gif mix)
from the local image host, run in its own process with every image pre-rendered so
serving costs little CPU. Both downloaders get the same URL parquet, image size 256,
border resize, jpg quality 95, 2 processes, 1000 samples per shard; each whole
command is timed in a subprocess (start-up included). Ours runs with every check on
(address policy with --allow-networks 127.0.0.1/32, robots.txt, X-Robots-Tag,
per-host cap 16, dedup). Prints images/s for each run and the ratio ours/img2dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
EXTS = ["jpg"] * 14 + ["png"] * 3 + ["webp"] * 2 + ["gif"]

I2D = """
import sys
from img2dataset import download
if __name__ == "__main__":
    download(url_list=sys.argv[1], output_folder=sys.argv[2], input_format="parquet",
             url_col="url", caption_col="caption", output_format="webdataset",
             image_size=256, resize_mode="border", encode_format="jpg", encode_quality=95,
             processes_count=int(sys.argv[3]), thread_count=64, number_sample_per_shard=1000,
             timeout=10, retries=0, distributor="multiprocessing", enable_wandb=False)
"""


def make_urls(port: int, n: int) -> list[str]:
    rng = random.Random(0)
    urls = []
    for i in range(n):
        ext = rng.choice(EXTS)
        urls.append(f"http://127.0.0.1:{port}/img/bench{i}.{ext}?count={1 + i % 4}")
    return urls


def start_host(port: int, url_file: str) -> subprocess.Popen:
    proc = subprocess.Popen([PY, "-m", "synth.image_host", "--port", str(port),
                             "--prerender", url_file], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    for line in proc.stdout:
        if line.startswith("serving"):
            return proc
    raise RuntimeError("image host did not start")


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - t0


def count_ours(out: str) -> int:
    """Images fetched, checked and encoded (successes before dedup removes near copies)."""
    with open(os.path.join(out, "stats.json")) as f:
        status = json.load(f)["status"]
    return status.get("success", 0) + status.get("duplicate", 0)


def count_i2d(out: str) -> int:
    total = 0
    for name in os.listdir(out):
        if name.endswith("_stats.json"):
            with open(os.path.join(out, name)) as f:
                total += json.load(f)["successes"]
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--port", type=int, default=18931)
    args = ap.parse_args()
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        urls = make_urls(args.port, args.images)
        url_file = os.path.join(tmp, "urls.txt")
        with open(url_file, "w") as f:
            f.write("\n".join(urls))
        table = pa.table({"url": urls, "caption": [f"image {i}" for i in range(len(urls))]})
        pq.write_table(table, os.path.join(tmp, "urls.parquet"))
        script = os.path.join(tmp, "i2d.py")
        with open(script, "w") as f:
            f.write(I2D)
        t0 = time.perf_counter()
        host = start_host(args.port, url_file)
        print(f"host ready: {len(urls)} images pre-rendered in {time.perf_counter() - t0:.1f}s")
        try:
            results = {"ours": [], "img2dataset": []}
            for rep in range(args.reps):
                ours_out, i2d_out = os.path.join(tmp, f"ours{rep}"), os.path.join(tmp, f"i2d{rep}")
                ours = [PY, "-m", "pipeline", "download", "--manifest",
                        os.path.join(tmp, "urls.parquet"), "--output", ours_out,
                        "--image-size", "256", "--shard-size", "1000",
                        "--allow-networks", "127.0.0.1/32",
                        f"--direct_num_workers={args.processes}"]  # fmt: skip
                i2d = [PY, script, os.path.join(tmp, "urls.parquet"), i2d_out, str(args.processes)]
                for name, cmd, out, count in (
                    ("ours", ours, ours_out, count_ours),
                    ("img2dataset", i2d, i2d_out, count_i2d),
                ):
                    secs = timed(cmd, env)
                    n = count(out)
                    results[name].append(n / secs)
                    print(
                        f"rep {rep} {name:<12} {n} images in {secs:6.1f}s = {n / secs:7.1f} img/s"
                    )
        finally:
            host.terminate()
            host.wait()
    best = {k: max(v) for k, v in results.items()}
    print(f"best: ours {best['ours']:.1f} img/s, img2dataset {best['img2dataset']:.1f} img/s, "
          f"ratio {best['ours'] / best['img2dataset']:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
