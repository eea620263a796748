"""Benchmark: `pipeline download` vs `img2dataset.download()` on the same URL list.

    NO_ALBUMENTATIONS_UPDATE=1 .venv/bin/python bench/download.py [--images 3000] [--reps 1]
        [--https]

Serves N drawn images of realistic sizes (300-1200 px sides; jpg/png/webp/gif mix)
from the local image host, run in its own process with every image pre-rendered so
serving costs little CPU. Both downloaders get the same URL parquet, image size 256,
border resize, jpg quality 95, 2 processes, 1000 samples per shard; each whole
command is timed in a subprocess (start-up included). Ours runs with every check on
(address policy with --allow-networks 127.0.0.1/32, robots.txt, X-Robots-Tag,
per-host cap 16, dedup). Prints images/s for each run and the ratio ours/img2dataset,
and the CPU seconds of each command's process tree (user + sys of every waited-for
descendant: a fair measure on a shared machine, where wall time depends on the neighbours).
With `--https` ours runs a second time on the same images over HTTPS (the host speaks both on
one port, with a test CA passed as `--ca-bundle`; one kept-alive connection per host and
thread, so the TLS cost is mostly the record encryption, plus one handshake per connection).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
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


def start_host(port: int, url_file: str, tls_dir: str | None = None) -> subprocess.Popen:
    tls = ["--tls-dir", tls_dir] if tls_dir else []
    proc = subprocess.Popen([PY, "-m", "synth.image_host", "--port", str(port), *tls,
                             "--prerender", url_file], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    for line in proc.stdout:
        if line.startswith("serving"):
            return proc
    raise RuntimeError("image host did not start")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command's whole process tree)."""
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - t0, _children_cpu() - c0


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


def ours_cmd(manifest: str, out: str, processes: int, https: str | None) -> list[str]:
    tls = ["--ca-bundle", os.path.join(https, "ca.pem"), "--resolve",
           "bench.openwit-demo.test:127.0.0.1"] if https else []  # fmt: skip
    return [PY, "-m", "pipeline", "download", "--manifest", manifest, "--output", out,
            "--image-size", "256", "--shard-size", "1000", "--allow-networks", "127.0.0.1/32",
            *tls, f"--direct_num_workers={processes}"]  # fmt: skip


def write_manifest(path: str, urls: list[str]) -> str:
    table = pa.table({"url": urls, "caption": [f"image {i}" for i in range(len(urls))]})
    pq.write_table(table, path)
    return path


def run_all(args, tmp: str, urls: list[str], env: dict) -> dict:
    plain = write_manifest(os.path.join(tmp, "urls.parquet"), urls)
    https = [u.replace("http://127.0.0.1", "https://bench.openwit-demo.test") for u in urls]
    tls_manifest = write_manifest(os.path.join(tmp, "https.parquet"), https)
    script = os.path.join(tmp, "i2d.py")
    with open(script, "w") as f:
        f.write(I2D)
    results: dict[str, list] = {}
    for rep in range(args.reps):
        runs = [("ours", ours_cmd(plain, f"{tmp}/ours{rep}", args.processes, None), count_ours)]
        if args.https:
            cmd = ours_cmd(tls_manifest, f"{tmp}/tls{rep}", args.processes, f"{tmp}/tls")
            runs.append(("ours-https", cmd, count_ours))
        i2d = [PY, script, plain, f"{tmp}/i2d{rep}", str(args.processes)]
        runs.append(("img2dataset", i2d, count_i2d))
        for name, cmd, count in runs:
            secs, cpu = timed(cmd, env)
            n = count(cmd[cmd.index("--output") + 1] if "--output" in cmd else cmd[3])
            results.setdefault(name, []).append((n / secs, 1000 * cpu / n))
            print(f"rep {rep} {name:<12} {n} images in {secs:6.1f}s = {n / secs:7.1f} img/s, "
                  f"CPU {cpu:6.1f}s = {1000 * cpu / n:5.2f} ms/img")  # fmt: skip
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--port", type=int, default=18931)
    ap.add_argument("--https", action="store_true", help="also run ours over HTTPS")
    args = ap.parse_args()
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        urls = make_urls(args.port, args.images)
        url_file = os.path.join(tmp, "urls.txt")
        with open(url_file, "w") as f:
            f.write("\n".join(urls))
        t0 = time.perf_counter()
        host = start_host(args.port, url_file, os.path.join(tmp, "tls") if args.https else None)
        print(f"host ready: {len(urls)} images pre-rendered in {time.perf_counter() - t0:.1f}s")
        try:
            results = run_all(args, tmp, urls, env)
        finally:
            host.terminate()
            host.wait()
    best = {k: max(r for r, _ in v) for k, v in results.items()}
    cpu = {k: min(c for _, c in v) for k, v in results.items()}
    print(f"best: ours {best['ours']:.1f} img/s, img2dataset {best['img2dataset']:.1f} img/s, "
          f"ratio {best['ours'] / best['img2dataset']:.2f}x; CPU ms/img: "
          + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))  # fmt: skip
    if "ours-https" in best:
        print(f"https: {best['ours-https']:.1f} img/s = {best['ours-https'] / best['ours']:.2f}x "
              f"of http; TLS cost {cpu['ours-https'] - cpu['ours']:+.2f} CPU ms/img")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
