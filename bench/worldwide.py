"""Benchmark: the costs issue 17 adds: the loader's per-epoch draw, and matching several languages.

    .venv/bin/python bench/worldwide.py [--pool 100000] [--texts 8192] [--dir /tmp/bench-world]

1. Balancing in the loader (`trainer.balance`): a Zipf pool of `--pool` rows in 20 per-shard
   parquets (5,000 entries, a third of the samples with two; every 10th row failed), timing
   `BalancePlan.build` (read the parquets, count, keep probabilities), one epoch's `draw` and
   `write` (DIR/balance/epoch_0000*.parquet).
2. Matching (`queries.lists.UnionMatcher`): the embedded lists of en, de and zh (built into
   --dir on first use with `queries build --embedded --language XX`), on `--texts` captions
   drawn as the synthetic crawl draws them (English ~62%, de/fr/zh ~13%, junk, empty), each
   set matched twice, the second timed: en alone, the union en+de, the union en+de+zh.
Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import queries  # noqa: E402
from queries.lists import UnionMatcher  # noqa: E402
from queries.matcher import QueryMatcher  # noqa: E402
from synth import concepts, pages  # noqa: E402
from tests.trainer.test_balance import zipf_pool  # noqa: E402
from trainer.balance import BalancePlan  # noqa: E402


def bench_draw(folder: Path, rows: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    urls = zipf_pool(folder, n_shards=20, per_shard=rows // 20, n_entries=5000)
    t0 = time.perf_counter()
    plan = BalancePlan.build(urls, 40.0, seed=0)
    t1 = time.perf_counter()
    mask = plan.draw(0)
    t2 = time.perf_counter()
    plan.write(str(folder / "run"), 0, mask)
    t3 = time.perf_counter()
    n = len(plan.pool.keys)
    return {
        "bench": "loader draw",
        "success_rows": n,
        "build_us_per_row": round((t1 - t0) / n * 1e6, 2),
        "draw_us_per_row": round((t2 - t1) / n * 1e6, 2),
        "write_s": round(t3 - t2, 2),
        "drawn": int(mask.sum()),
    }


def captions(n: int) -> list[str]:
    rng = random.Random(0)
    langs = ("en", "de", "fr", "zh")
    return [pages.random_caption(rng, concepts.concept_from(str(i)), langs, i) for i in range(n)]


def bench_match(folder: Path, n: int) -> list[dict]:
    lists = {}
    for lang in ("en", "de", "zh"):
        path = folder / f"{lang}.parquet"
        if not path.exists():
            args = ["build", "--embedded", "--language", lang, "--out", str(path)]
            subprocess.run([sys.executable, "-m", "queries", *args], check=True,
                           capture_output=True, cwd=ROOT)  # fmt: skip
        lists[lang] = queries.load(path)
    texts = captions(n)
    out = []
    for name, build in (
        ("en", lambda: QueryMatcher(lists["en"])),
        ("en+de", lambda: UnionMatcher({k: lists[k] for k in ("en", "de")})),
        ("en+de+zh", lambda: UnionMatcher(lists)),
    ):
        t0 = time.perf_counter()
        m = build()
        t1 = time.perf_counter()
        m.match_batch(texts)
        t2 = time.perf_counter()
        m.match_batch(texts)
        t3 = time.perf_counter()
        out.append({
            "bench": "match", "lists": name, "entries": sum(len(lists[k]) for k in name.split("+")),
            "build_s": round(t1 - t0, 1), "us_per_text": round((t3 - t2) / n * 1e6, 1),
        })  # fmt: skip
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pool", type=int, default=100_000)
    p.add_argument("--texts", type=int, default=8192)
    p.add_argument("--dir", default="/tmp/bench-world")
    args = p.parse_args()
    folder = Path(args.dir)
    os.makedirs(folder, exist_ok=True)
    print(json.dumps(bench_draw(folder / "pool", args.pool)), flush=True)
    for line in bench_match(folder, args.texts):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
