"""`python -m demo` (what `make demo` runs): the whole flow offline on a small synthetic web.

Everything goes under `--out` (default `out/demo/`); a rerun reuses the stages that
completed (see `demo.stages`); `--fresh` deletes the folder first. Only 127.0.0.1 is
contacted (the image host this command starts and stops).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import fields

from demo import evalset
from demo.config import DemoConfig
from demo.flow import Demo
from demo.stages import StageFailed
from demo.summary import print_summary

HELP = {
    "out": "output folder (git-ignored out/demo by default)",
    "pages": "crawl size in pages (~6 images each)",
    "files": "WARC files the crawl is split into",
    "port": "image host port on 127.0.0.1 (another free one if busy)",
    "hostile_fraction": "share of image URLs on hostile routes (slow, broken, bombs, noai, ...)",
    "max_per_query": "balancing threshold t (small, so the demo's head gets flattened)",
    "image_size": "shard image side in pixels",
    "eval_classes": "zero-shot classes: color | shape | color-shape",
    "eval_per_class": "held-out zero-shot images per class",
    "retrieval_n": "held-out image-caption pairs for retrieval",
    "epochs": "training epochs over the shards",
    "languages": "curated languages: en, or en plus others (en,de: worldwide curation over "
    "per-language lists, wordfreq's for the others)",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    for f in fields(DemoConfig):
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            type=type(f.default),
            default=f.default,
            help=HELP.get(f.name, "") + f" (default {f.default})",
        )
    p.add_argument("--fresh", action="store_true", help="delete the output folder first")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = vars(p.parse_args(argv))
    if args["eval_classes"] not in evalset.KINDS:
        p.error(f"--eval-classes: one of {', '.join(evalset.KINDS)}")
    fresh = args.pop("fresh")
    cfg = DemoConfig(**args)
    if fresh:
        shutil.rmtree(cfg.out, ignore_errors=True)
    t0 = time.monotonic()
    demo = Demo(cfg)
    try:
        result = demo.run()
    except (StageFailed, RuntimeError, OSError) as e:
        print(f"[demo] failed: {e}", file=sys.stderr)
        return 1
    print_summary(demo, result, time.monotonic() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
