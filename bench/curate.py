"""Benchmark: candidate pairs/s through the whole `pipeline curate` command vs a plain loop.

    .venv/bin/python bench/curate.py [--pages 60000] [--files 8] [--workers 2] [--dir
    /tmp/bench-curate]

Generates a crawl (`synth.crawl`, cached in --dir), then in the same run measures:
- `python -m pipeline curate` (a subprocess: the whole command, Beam start-up included) on
  FnApiRunner multi-processing with --workers workers;
- a plain single-process loop doing the same work with the same libraries (FastWARC,
  selectolax, lid.176, the same QueryMatcher, in-memory dedup, counting and MetaCLIP
  balancing, then the manifest and rejects written as parquet).
Prints one JSON line per side and the ratio per rep (sides alternate which runs first); cost per
billion candidates in core-hours = wall seconds x cores used (the pipeline: --workers; its
runner process shares those cores) / candidates. `cpu_seconds` (the command and all its worker
processes, or the loop's process) shows the work each side did, whatever the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pyarrow.parquet as pq  # noqa: E402

from pipeline.curate import balance, filters, options  # noqa: E402
from pipeline.curate.language import _Model, default_model_path  # noqa: E402
from pipeline.curate.read.elements import PAIR, REJECT, reject  # noqa: E402
from pipeline.curate.read.files import read_file  # noqa: E402
from queries.matcher import QueryMatcher  # noqa: E402
from schemas.layout import pair_id  # noqa: E402
from schemas.vocab import Reason  # noqa: E402
from synth import concepts, crawl  # noqa: E402

T = 20000


def query_list(path: str) -> list[str]:
    """Concept words plus the 50,000 most frequent English words (wordfreq): a realistic size."""
    from wordfreq import top_n_list

    words = list(concepts.SHAPES) + [s + "s" for s in concepts.SHAPES] + list(concepts.COLORS)
    words += list(concepts.BACKGROUNDS) + top_n_list("en", 50000)
    words = list(dict.fromkeys(w for w in words if w.strip() and " " not in w))
    with open(path, "w") as f:
        f.write("\n".join(words) + "\n")
    return words


def plain_loop(files: list[str], entries: list[str], out: str, t: int) -> dict:
    """The same work in one process, no Beam."""
    model, matcher = _Model(default_model_path()), QueryMatcher(entries)
    rejects, seen, distinct, langs = [], {}, [], Counter()
    read = 0
    opts, _ = options.parse(["--input", "-", "--queries", "-", "--output", "-"])
    for path in files:
        for kind, value in read_file(path, opts):
            if kind != PAIR:
                if kind == REJECT:
                    rejects.append(value)
                continue
            read += 1
            url, text, source, page, input_file = value
            text = filters.normalize(text) if len(text) < 5000 else text
            reason = filters.check_text(text, 5, 1000)
            if reason is None:
                lang, prob = model.top(text)
                langs[lang] += 1
                reason = (
                    Reason.WRONG_LANGUAGE
                    if lang != "en"
                    else Reason.LOW_LANGUAGE_CONFIDENCE
                    if prob < 0.5
                    else None
                )
            if reason is not None:
                rejects.append(reject(url, text, reason, input_file))
                continue
            pid = pair_id(url, text)
            if pid in seen:
                rejects.append(reject(url, text, Reason.DUPLICATE_PAIR, input_file))
                continue
            seen[pid] = True
            distinct.append((pid, (url, text, source, page, input_file)))
    rows = match_and_balance(matcher, distinct, rejects, t)
    from pipeline.curate.write import write_table
    from schemas.records import ManifestRow, RejectRow

    os.makedirs(out, exist_ok=True)
    write_table(os.path.join(out, "manifest.parquet"), ManifestRow, sorted(rows))
    write_table(
        os.path.join(out, "rejects.parquet"),
        RejectRow,
        sorted(rejects, key=lambda r: tuple(v or "" for v in r)),
    )
    return {"read": read, "kept": len(rows)}


def match_and_balance(matcher, distinct: list, rejects: list, t: int) -> list:
    """Match (as the pipeline: `match_batch`, 4,096 per call), count, balance by the rule."""
    matched = []
    for start in range(0, len(distinct), 4096):
        part = distinct[start : start + 4096]
        for (pid, cand), found in zip(part, matcher.match_batch([c[1] for _, c in part])):
            if found:
                matched.append((pid, cand, tuple(found)))
            else:
                rejects.append(reject(cand[0], cand[1], Reason.NO_MATCH, cand[4]))
    counts = defaultdict(int)
    for _, _, qs in matched:
        for q in qs:
            counts[q] += 1
    rows = []
    for pid, cand, qs in matched:
        if balance.keep_rule(0, t, pid, qs, counts):
            rows.append(balance.manifest_row(pid, cand, qs))
        else:
            rejects.append(reject(cand[0], cand[1], Reason.BALANCED_OUT, cand[4]))
    return rows


def _child_cpu() -> float:
    """CPU seconds of finished child processes (the curate command and its Beam workers)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--pages", type=int, default=60000)
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--page-bytes", type=int, default=4000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--dir", default="/tmp/bench-curate")
    p.add_argument("--reps", type=int, default=1)
    a = p.parse_args()
    crawl_dir = os.path.join(a.dir, f"crawl-{a.pages}-{a.files}-{a.page_bytes}")
    if not os.path.isdir(crawl_dir):
        crawl.generate(crawl_dir, a.pages, a.files, seed=0, page_bytes=a.page_bytes)
    files = sorted(os.path.join(crawl_dir, f) for f in os.listdir(crawl_dir))
    size = sum(os.path.getsize(f) for f in files)
    qpath = os.path.join(a.dir, "queries.txt")
    entries = query_list(qpath)
    print(
        json.dumps(
            {
                "crawl": crawl_dir,
                "files": len(files),
                "mb": round(size / 1e6, 1),
                "queries": len(entries),
                "cores": os.cpu_count(),
            }
        )
    )

    for rep in range(a.reps):
        # alternate which side runs first: load from other jobs on the machine varies
        sides = [run_pipeline, run_loop] if rep % 2 == 0 else [run_loop, run_pipeline]
        results = {}
        for side in sides:
            results.update(side(a, crawl_dir, files, qpath, entries))
        beam_r, loop_r = results["pipeline curate"], results["plain loop"]
        assert beam_r["candidates"] == loop_r["candidates"] and beam_r["kept"] == loop_r["kept"]
        for r in (beam_r, loop_r):
            print(json.dumps({"rep": rep, **r}))
        print(
            json.dumps(
                {
                    "rep": rep,
                    "first": sides[0].__name__,
                    "ratio_pipeline_over_loop": round(
                        beam_r["pairs_per_s"] / loop_r["pairs_per_s"], 2
                    ),
                    "cpu_ratio_loop_over_pipeline": round(
                        loop_r["cpu_seconds"] / beam_r["cpu_seconds"], 2
                    ),
                    "load_avg_1m": round(os.getloadavg()[0], 1),
                    "target": 1.5,
                }
            )
        )
    return 0


def _result(name, secs, cpu, n, cores, kept) -> dict:
    return {
        name: {
            "side": name,
            "seconds": round(secs, 1),
            "cpu_seconds": round(cpu, 1),
            "candidates": n,
            "kept": kept,
            "pairs_per_s": round(n / secs),
            "cores": cores,
            "core_hours_per_billion": round(secs * cores / n * 1e9 / 3600, 1),
        }
    }


def run_pipeline(a, crawl_dir, files, qpath, entries) -> dict:
    """The whole command in a subprocess (Beam start-up included)."""
    out = os.path.join(a.dir, "out-beam")
    start, cpu0 = time.monotonic(), _child_cpu()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "curate",
            "--input",
            os.path.join(crawl_dir, "*.warc.gz"),
            "--queries",
            qpath,
            "--output",
            out,
            f"--direct_num_workers={a.workers}",
        ],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    secs, cpu = time.monotonic() - start, _child_cpu() - cpu0
    with open(os.path.join(out, "stats.json")) as f:
        flow = json.load(f)["flow"]
    kept = pq.read_table(os.path.join(out, "manifest")).num_rows
    return _result("pipeline curate", secs, cpu, flow["read"], a.workers, kept)


def run_loop(a, crawl_dir, files, qpath, entries) -> dict:
    start, cpu0 = time.monotonic(), time.process_time()
    loop = plain_loop(files, entries, os.path.join(a.dir, "out-loop"), T)
    secs, cpu = time.monotonic() - start, time.process_time() - cpu0
    return _result("plain loop", secs, cpu, loop["read"], 1, loop["kept"])


if __name__ == "__main__":
    raise SystemExit(main())
