"""`python -m pipeline report DIR [--train-run DIR]`: (re)write `DIR/report.html`.

DIR: a download output (with `DIR/curate/` after `pipeline run`) or a curate output.
`--train-run`: a trainer output folder (loss curve, last metrics, `zeroshot.json` /
`retrieval.json` found in it or up to two levels above). One static page, plots and
thumbnails embedded; nothing is fetched. Parts that are missing are shown as missing.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipeline.report.data import load
from pipeline.report.render import render
from schemas import layout


def write_report(out: str, train_run: str | None = None) -> str:
    """Write `out/report.html` atomically; returns its path."""
    path = os.path.join(out, layout.REPORT_FILE)
    layout.write_text_atomic(path, render(load(out, train_run)))
    return path


def run(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pipeline report", description=__doc__.split("\n")[0]
    )
    p.add_argument("dir", help="a download or curate output folder")
    p.add_argument("--train-run", default=None, help="a trainer output folder")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.isdir(args.dir):
        print(f"pipeline report: {args.dir}: no such folder", file=sys.stderr)
        return 2
    if args.train_run and not os.path.isdir(args.train_run):
        print(f"pipeline report: --train-run {args.train_run}: no such folder", file=sys.stderr)
        return 2
    print(write_report(args.dir, args.train_run))
    return 0
