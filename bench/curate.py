"""Benchmark: CPU per candidate and wall time of `pipeline curate` against a plain loop.

    .venv/bin/python bench/curate.py [--format wat|warc] [--pages 20000] [--files 8]
        [--page-bytes 30000] [--workers 2] [--reps 1] [--dir /tmp/bench-curate]

Generates a Common Crawl-shaped crawl (`synth.crawl --shape cc --wat`: the same pages as
`.warc.gz` and `.warc.wat.gz`, cached in --dir), then in the same run, on the files of
`--format`, measures:
- `python -m pipeline curate` (a subprocess: the whole command, Beam start-up included) on
  FnApiRunner multi-processing with --workers workers;
- the frozen plain single-process loop (`bench/curate_loop.py`: the per-candidate work in the
  order curate had before issue 14, stdlib json, ftfy and language id on every candidate).
Both must keep the same pairs (asserted). Prints one JSON line per side and the ratios per rep
(sides alternate which runs first), first each side's CPU on a 5-page crawl (start-up and
fixed costs: Beam's runner and workers, imports, matcher and model loads), so the marginal
CPU per candidate (what a long job pays per candidate) is printed beside the whole one, and
likewise the wall time less each side's start-up wall time (`marginal_wall_loop_over_pipeline`).
`cpu_seconds`: user + system CPU of the whole process tree (the command, Beam's runner and
every worker process: the finished children's rusage, cross-checked by sampling the tree with
psutil every 0.1 s; the larger is reported), or of the loop's process; `cpu_us_per_candidate`
= cpu_seconds / candidates read. Core-hours per billion candidates = cpu_us_per_candidate / 3.6.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psutil  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from bench.curate_loop import plain_loop  # noqa: E402
from synth import concepts, crawl  # noqa: E402

T = 20000
SUFFIX = {"wat": ".warc.wat.gz", "warc": ".warc.gz"}


def query_list(path: str) -> list[str]:
    """Concept words plus the 50,000 most frequent English words (wordfreq): a realistic size."""
    from wordfreq import top_n_list

    words = list(concepts.SHAPES) + [s + "s" for s in concepts.SHAPES] + list(concepts.COLORS)
    words += list(concepts.BACKGROUNDS) + top_n_list("en", 50000)
    words = list(dict.fromkeys(w for w in words if w.strip() and " " not in w))
    with open(path, "w") as f:
        f.write("\n".join(words) + "\n")
    return words


class TreeCpu:
    """Samples the CPU seconds of a process and all its descendants until stopped."""

    def __init__(self, pid: int):
        self.root, self.seen, self.stop = psutil.Process(pid), {}, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            for p in procs:
                try:
                    t = p.cpu_times()
                    self.seen[(p.pid, p.create_time())] = t.user + t.system
                except psutil.Error:
                    pass
            self.stop.wait(0.1)

    def total(self) -> float:
        self.stop.set()
        self.thread.join()
        return sum(self.seen.values())


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _result(name, secs, cpu, n, kept, **extra) -> dict:
    return {
        "side": name,
        "seconds": round(secs, 1),
        "cpu_seconds": round(cpu, 1),
        "candidates": n,
        "kept": kept,
        "pairs_per_s": round(n / secs),
        "cpu_us_per_candidate": round(cpu / n * 1e6, 1),
        **extra,
    }


def run_pipeline(a, files, qpath, entries, tag: str = "") -> dict:
    """The whole command in a subprocess (Beam start-up included)."""
    out = os.path.join(a.dir, f"out-beam-{a.format}{tag}")
    cmd = [sys.executable, "-m", "pipeline", "curate", "--input", *files]
    cmd += ["--queries", qpath, "--output", out, f"--direct_num_workers={a.workers}"]
    start, cpu0 = time.monotonic(), _child_cpu()
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    tree = TreeCpu(proc.pid)
    if proc.wait() != 0:
        raise SystemExit(f"pipeline curate failed: {proc.returncode}")
    secs, rusage = time.monotonic() - start, _child_cpu() - cpu0
    sampled = tree.total()
    with open(os.path.join(out, "stats.json")) as f:
        flow = json.load(f)["flow"]
    kept = pq.read_table(os.path.join(out, "manifest")).num_rows
    cpu = max(rusage, sampled)
    return _result(
        "pipeline curate",
        secs,
        cpu,
        flow["read"],
        kept,
        rusage_cpu=round(rusage, 1),
        sampled_cpu=round(sampled, 1),
        workers=a.workers,
    )


def run_loop(a, files, qpath, entries, tag: str = "") -> dict:
    start, cpu0 = time.monotonic(), time.process_time()
    out = os.path.join(a.dir, f"out-loop-{a.format}{tag}")
    loop = plain_loop(files, entries, out, T, a.format)
    secs, cpu = time.monotonic() - start, time.process_time() - cpu0
    return _result("plain loop", secs, cpu, loop["read"], loop["kept"])


def start_up(a, qpath, entries) -> dict:
    """CPU seconds of each side on a 5-page crawl: start-up and the fixed costs (Beam's
    runner and workers, imports, the matcher and model loads), paid once per job (per worker
    process on a cluster), not per candidate."""
    tiny = os.path.join(a.dir, "tiny")
    if not os.path.isdir(tiny):
        crawl.generate(tiny, 5, 1, 0, True, 0.0, a.page_bytes, "cc")
    files = [
        os.path.join(tiny, f) for f in sorted(os.listdir(tiny)) if f.endswith(SUFFIX[a.format])
    ]
    files = [f for f in files if a.format == "wat" or ".wat" not in f]
    return {
        r["side"]: {"cpu": r["cpu_seconds"], "wall": r["seconds"]}
        for r in (run(a, files, qpath, entries, "-tiny") for run in (run_pipeline, run_loop))
    }


def crawl_files(a) -> list[str]:
    crawl_dir = os.path.join(a.dir, f"cc-{a.pages}-{a.files}-{a.page_bytes}")
    if not os.path.isdir(crawl_dir):
        crawl.generate(crawl_dir, a.pages, a.files, 0, True, 0.0, a.page_bytes, "cc")
    names = sorted(f for f in os.listdir(crawl_dir) if f.endswith(SUFFIX[a.format]))
    return [os.path.join(crawl_dir, f) for f in names if a.format == "wat" or ".wat" not in f]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--format", default="wat", choices=("wat", "warc"))
    p.add_argument("--pages", type=int, default=20000)
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--page-bytes", type=int, default=30000)  # WAT ~0.44x the WARC
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--dir", default="/tmp/bench-curate")
    p.add_argument("--reps", type=int, default=1)
    a = p.parse_args()
    files = crawl_files(a)
    qpath = os.path.join(a.dir, "queries.txt")
    entries = query_list(qpath)
    size = sum(os.path.getsize(f) for f in files)
    head = {"format": a.format, "files": len(files), "mb": round(size / 1e6, 1)}
    print(json.dumps({**head, "queries": len(entries), "cores": os.cpu_count()}), flush=True)
    start = start_up(a, qpath, entries)
    fixed = {side: v["cpu"] for side, v in start.items()}
    fixed_wall = {side: v["wall"] for side, v in start.items()}
    print(json.dumps({"start_up_cpu_seconds": fixed, "start_up_wall_seconds": fixed_wall}))
    for rep in range(a.reps):
        # alternate which side runs first: load from other jobs on the machine varies
        sides = [run_pipeline, run_loop] if rep % 2 == 0 else [run_loop, run_pipeline]
        results = {}
        for side in sides:
            r = side(a, files, qpath, entries)
            results[r["side"]] = r
            print(json.dumps({"rep": rep, "format": a.format, **r}), flush=True)
        beam_r, loop_r = results["pipeline curate"], results["plain loop"]
        assert beam_r["candidates"] == loop_r["candidates"] and beam_r["kept"] == loop_r["kept"]
        marginal = {side: results[side]["cpu_seconds"] - fixed[side] for side in fixed}
        ratios = {
            "cpu_per_candidate_pipeline_over_loop": round(
                beam_r["cpu_seconds"] / loop_r["cpu_seconds"], 3
            ),
            "marginal_cpu_us_per_candidate": {
                side: round(cpu / beam_r["candidates"] * 1e6, 1) for side, cpu in marginal.items()
            },
            "marginal_cpu_pipeline_over_loop": round(
                marginal["pipeline curate"] / marginal["plain loop"], 3
            ),
            "wall_loop_over_pipeline": round(loop_r["seconds"] / beam_r["seconds"], 2),
            "marginal_wall_loop_over_pipeline": round(
                (loop_r["seconds"] - fixed_wall["plain loop"])
                / (beam_r["seconds"] - fixed_wall["pipeline curate"]),
                2,
            ),
        }
        load = round(os.getloadavg()[0], 1)
        print(json.dumps({"rep": rep, "first": sides[0].__name__, **ratios, "load_avg_1m": load}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
