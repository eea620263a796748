"""Benchmark: curate and download on Beam's Dask runner (2 workers) beside the FnApiRunner
(2 workers), same inputs, one run.

    NO_ALBUMENTATIONS_UPDATE=1 .venv/bin/python bench/engines.py [--pages 6000] [--files 4]
        [--shard-size 500] [--dir /tmp/bench-dask]

Writes a synthetic crawl whose images point at the local image host (its own process, on a
free port of 127.0.0.1), then times each whole command in a subprocess (start-up included):
`pipeline curate`, then `pipeline download --manifest <the FnApiRunner's curate output>` on
- the FnApiRunner, multi-processing, `--direct_num_workers=2`;
- Beam's Dask runner on a dask.distributed cluster on 127.0.0.1: one `dask scheduler`, two
  `dask worker` processes with one thread each (`--nworkers 1 --nthreads 1`), started once
  before the timings (`tests/dask_cluster.py`), `--dask_npartitions` defaulted to 2.
Both sides must write the same manifest rows, rejects and stats (curate) and byte-identical
shards (download, from the same manifest: sample keys follow the manifest's row order, and how
curate's rows fall into parquet parts follows the runner's bundles); the script checks it. It
also reports how the Dask cluster spread the work over its workers (seconds of task compute
per worker, from the scheduler's task stream). Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from demo.host import pick_port  # noqa: E402
from demo.world import write_crawl  # noqa: E402
from synth import concepts  # noqa: E402
from tests.dask_cluster import start_cluster  # noqa: E402
from tests.pipeline.curate.conftest import write_queries  # noqa: E402

DASK = "apache_beam.runners.dask.dask_runner.DaskRunner"


def run(cmd: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": ROOT, "NO_ALBUMENTATIONS_UPDATE": "1"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", *cmd], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def rows(folder: str) -> list:
    import pyarrow.parquet as pq

    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.parquet"))):
        out += pq.read_table(path).to_pylist()
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def same_curate(a: str, b: str) -> bool:
    stats = [json.load(open(os.path.join(d, "stats.json"))) for d in (a, b)]
    return stats[0] == stats[1] and all(
        rows(os.path.join(a, sub)) == rows(os.path.join(b, sub)) for sub in ("manifest", "rejects")
    )


def same_shards(a: str, b: str) -> bool:
    """Byte-identical tars and equal per-shard parquet rows."""
    names = [sorted(os.listdir(os.path.join(d, "shards"))) for d in (a, b)]
    if names[0] != names[1]:
        return False
    for name in (n for n in names[0] if n.endswith(".tar")):
        blobs = [open(os.path.join(d, "shards", name), "rb").read() for d in (a, b)]
        if blobs[0] != blobs[1]:
            return False
    return rows(os.path.join(a, "shards")) == rows(os.path.join(b, "shards"))


def worker_spread(address: str) -> dict:
    """{worker name: seconds of task compute} over everything the cluster ran (the Dask
    side's curate and download): how evenly the two workers shared the work."""
    from distributed import Client

    def compute_seconds(dask_scheduler):
        out = {}
        for task in dask_scheduler.plugins["bench"].buffer:
            for ss in task["startstops"]:
                if ss["action"] == "compute":
                    out[task["worker"]] = out.get(task["worker"], 0) + ss["stop"] - ss["start"]
        return out

    with Client(address) as client:
        seconds = client.run_on_scheduler(compute_seconds)
        names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
    return {names.get(w, w): round(s, 1) for w, s in sorted(seconds.items())}


def record_tasks(address: str) -> None:
    from distributed import Client
    from distributed.diagnostics.task_stream import TaskStreamPlugin

    with Client(address) as client:
        client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.add_plugin(
                TaskStreamPlugin(dask_scheduler), name="bench"
            )
        )


def fresh(folder: str) -> str:
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def report(result: dict) -> None:
    print(json.dumps(result), flush=True)


@contextlib.contextmanager
def image_host(port: int, manifest: str, tls: str):
    """The image host in its own process, every image of `manifest` drawn before serving."""
    urls = os.path.join(os.path.dirname(manifest), "urls.txt")
    with open(urls, "w") as f:
        f.writelines(r["url"] + "\n" for r in rows(os.path.join(manifest, "manifest")))
    proc = subprocess.Popen([sys.executable, "-m", "synth.image_host", "--port", str(port),
                             "--prerender", urls, "--tls-dir", tls], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        for line in proc.stdout:
            if line.startswith("serving"):
                break
        else:
            raise RuntimeError("image host did not start")
        yield
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=6000)
    p.add_argument("--files", type=int, default=4)
    p.add_argument("--shard-size", type=int, default=500)
    p.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "bench-dask"))
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    port = pick_port(0)
    crawl_dir = os.path.join(a.dir, f"crawl-{a.pages}-{a.files}-{port}")
    write_crawl(crawl_dir, a.pages, a.files, seed=1, port=port, hostile_fraction=0.0)
    queries = write_queries(os.path.join(a.dir, "q.txt"))
    tls = os.path.join(a.dir, "tls")
    dl_flags = ["--ca-bundle", os.path.join(tls, "ca.pem"), "--resolve",
                f"*.{concepts.DOMAIN}:127.0.0.1", "--allow-networks", "127.0.0.1/32",
                "--shard-size", str(a.shard_size), "--timeout", "5", "--retries", "1"]  # fmt: skip
    cluster = start_cluster(tempfile.mkdtemp(dir=a.dir, prefix="cluster-"), workers=2)
    sides = {
        "fnapi": ["--direct_num_workers=2"],
        "dask": ["--runner", DASK, "--dask_client_address", cluster.address],
    }
    try:
        record_tasks(cluster.address)
        for side, flags in sides.items():
            cur = fresh(os.path.join(a.dir, f"{side}-curate"))
            secs = run(["curate", "--input", os.path.join(crawl_dir, "*.warc.gz"),
                        "--queries", queries, "--output", cur, *flags])  # fmt: skip
            flow = json.load(open(os.path.join(cur, "stats.json")))["flow"]
            report({"side": side, "command": "curate", "wall_s": round(secs, 2),
                    "candidates": flow["read"], "kept": flow["kept"]})  # fmt: skip
        manifest = os.path.join(a.dir, "fnapi-curate")  # one manifest for both sides
        with image_host(port, manifest, tls):
            for side, flags in sides.items():
                dl = fresh(os.path.join(a.dir, f"{side}-dl"))
                secs = run(["download", "--manifest", manifest, "--output", dl, *dl_flags, *flags])
                stats = json.load(open(os.path.join(dl, "stats.json")))
                report({"side": side, "command": "download", "wall_s": round(secs, 2),
                        "rows": stats["count"], "successes": stats["successes"],
                        "shards": stats["shards"]})  # fmt: skip
        spread = worker_spread(cluster.address)
    finally:
        cluster.stop()
    same = {
        "curate_equal": same_curate(*(os.path.join(a.dir, f"{s}-curate") for s in sides)),
        "shards_equal": same_shards(*(os.path.join(a.dir, f"{s}-dl") for s in sides)),
        "dask_compute_s_per_worker": spread,
    }
    print(json.dumps(same))
    return 0 if same["curate_equal"] and same["shards_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
