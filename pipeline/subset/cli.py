"""`python -m pipeline subset --shards DIR --keep FILE --output DIR [--shard-size N]
[--shuffle-seed S]`: the kept samples of a shard folder, re-sharded in the same layout.

Flags we don't know pass through to Beam. Exit codes: 0 done, 2 bad flags or input.
"""

from __future__ import annotations

import argparse
import json
import sys

from schemas.layout import SIZES_FILE


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline subset",
        allow_abbrev=False,
        description="keep listed samples of a shard folder, re-sharded (no network)",
    )
    p.add_argument("--shards", required=True, help="a download output DIR or a folder of tars")
    p.add_argument("--keep", required=True, help=".txt ids | .parquet key/pair_id | uid .npy")
    p.add_argument("--output", required=True, help=f"output folder (shards/, {SIZES_FILE}, ...)")
    p.add_argument("--shard-size", type=int, default=10000)
    p.add_argument("--shuffle-seed", type=int, default=None, help="default: source order")
    return p


def run(argv: list[str] | None = None) -> int:
    args, beam_args = parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    from runtime import storage

    storage.configure(beam_args)
    if args.shard_size < 1:
        print("pipeline subset: --shard-size must be >= 1", file=sys.stderr)
        return 2
    from pipeline.subset.job import execute

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
