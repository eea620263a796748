"""`python -m pipeline download --manifest SRC ... --output DIR [flags]` (docs/design.md).

Beam options pass through to Beam; any other unknown flag exits 2. Exit codes: 0 done, 2 bad
flags or input.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.download.job import ResumeMismatch, execute
from pipeline.download.manifest import ManifestError, list_inputs
from pipeline.download.options import config_from_args, download_flags
from runtime import cli, storage

OUTPUT = cli.Flag("--output", required=True, help="output folder (shards/, stats.json, ...)")


def parser() -> argparse.ArgumentParser:
    return cli.parser("python -m pipeline download", "manifest -> webdataset shards",
                      [*download_flags(), OUTPUT], beam=True)  # fmt: skip


def run(argv: list[str] | None = None) -> int:
    args, beam_args = cli.parse(parser(), sys.argv[1:] if argv is None else argv, beam=True)
    storage.configure(beam_args)  # before any read: --manifest may be s3://, gs://
    try:
        cfg = config_from_args(args, args.output.rstrip("/") or "/")
        inputs = list_inputs(args.manifest, args.url_col, args.caption_col)
    except (ValueError, OSError, ManifestError) as e:
        print(f"pipeline download: {e}", file=sys.stderr)
        return 2
    try:
        stats = execute(cfg, inputs, beam_args, dict(vars(args)))
    except ResumeMismatch as e:
        print(f"pipeline download: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: stats[k] for k in ("shards", "count", "successes", "success_rate")}))
    return 0
