"""`python -m pipeline download --manifest SRC ... --output DIR [flags]` (DESIGN.md).

Flags we don't know pass through to Beam. Exit codes: 0 done, 2 bad flags or input.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.download.manifest import ManifestError, list_inputs
from pipeline.download.options import add_download_args, config_from_args


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline download", allow_abbrev=False,
        description="manifest -> webdataset shards (Beam flags pass through)",
    )  # fmt: skip
    add_download_args(p)
    p.add_argument("--output", required=True, help="output folder (shards/, stats.json, ...)")
    return p


def run(argv: list[str] | None = None) -> int:
    args, beam_args = parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    from runtime import storage

    storage.configure(beam_args)  # before any read: --manifest may be s3://, gs://
    try:
        cfg = config_from_args(args, args.output.rstrip("/") or "/")
        inputs = list_inputs(args.manifest, args.url_col, args.caption_col)
    except (ValueError, OSError, ManifestError) as e:
        print(f"pipeline download: {e}", file=sys.stderr)
        return 2
    from pipeline.download.job import ResumeMismatch, execute

    try:
        stats = execute(cfg, inputs, beam_args, dict(vars(args)))
    except ResumeMismatch as e:
        print(f"pipeline download: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: stats[k] for k in ("shards", "count", "successes", "success_rate")}))
    return 0
