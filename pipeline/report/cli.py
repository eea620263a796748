"""`python -m pipeline report DIR [--train-run DIR]`: (re)write `DIR/report.html`.

DIR (local, or `s3://`/`gs://` with Beam's `--s3_*` flags): a download output (with
`DIR/curate/` after `pipeline run`) or a curate output.
`--train-run`: a trainer output folder (loss curve, last metrics, `zeroshot.json` /
`retrieval.json` found in it or up to two levels above). One static page, plots and
thumbnails embedded; nothing is fetched. Parts that are missing are shown as missing.
"""

from __future__ import annotations

import sys

from pipeline.report.data import load
from pipeline.report.render import render
from runtime import cli, storage
from schemas import layout


def write_report(out: str, train_run: str | None = None) -> str:
    """Write `out/report.html` atomically; returns its path."""
    path = storage.join(out, layout.REPORT_FILE)
    storage.write_text(path, render(load(out, train_run)))
    return path


FLAGS = (
    cli.Flag("dir", help="a download or curate output folder"),
    cli.Flag("--train-run", help="a trainer output folder"),
)


def run(argv: list[str] | None = None) -> int:
    """Beam options (e.g. `--s3_endpoint_url`, for folders on object storage) are accepted."""
    p = cli.parser("python -m pipeline report", __doc__.split("\n")[0], FLAGS, beam=True)
    args, beam_args = cli.parse(p, sys.argv[1:] if argv is None else argv, beam=True)
    storage.configure(beam_args)  # --s3_endpoint_url ... for an s3:// DIR
    if not storage.isdir(args.dir):
        print(f"pipeline report: {args.dir}: no such folder", file=sys.stderr)
        return 2
    if args.train_run and not storage.isdir(args.train_run):
        print(f"pipeline report: --train-run {args.train_run}: no such folder", file=sys.stderr)
        return 2
    print(write_report(args.dir, args.train_run))
    return 0
