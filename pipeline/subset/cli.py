"""`python -m pipeline subset --shards DIR --keep FILE --output DIR [--shard-size N]
[--shuffle-seed S]`: the kept samples of a shard folder, re-sharded in the same layout.

Beam options pass through to Beam; any other unknown flag exits 2. Exit codes: 0 done, 2 bad
flags or input.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.subset.job import execute
from runtime import cli, storage
from schemas.layout import SIZES_FILE

FLAGS = (
    cli.Flag("--shards", required=True, help="a download output DIR or a folder of tars"),
    cli.Flag("--keep", required=True, help=".txt ids | .parquet key/pair_id | uid .npy"),
    cli.Flag("--output", required=True, help=f"output folder (shards/, {SIZES_FILE}, ...)"),
    cli.Flag("--shard-size", type=int, default=10000),
    cli.Flag("--shuffle-seed", type=int, help="default: source order"),
)


def parser() -> argparse.ArgumentParser:
    return cli.parser("python -m pipeline subset",
                      "keep listed samples of a shard folder, re-sharded (no network)",
                      FLAGS, beam=True)  # fmt: skip


def run(argv: list[str] | None = None) -> int:
    args, beam_args = cli.parse(parser(), sys.argv[1:] if argv is None else argv, beam=True)
    storage.configure(beam_args)
    if args.shard_size < 1:
        print("pipeline subset: --shard-size must be >= 1", file=sys.stderr)
        return 2
    try:
        stats = execute(
            args.shards,
            args.keep,
            args.output.rstrip("/") or "/",
            args.shard_size,
            args.shuffle_seed,
            beam_args,
            dict(vars(args)),
        )
    except (ValueError, OSError) as e:
        print(f"pipeline subset: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: stats[k] for k in ("shards", "successes", "requested", "missing_ids")}))
    return 0
