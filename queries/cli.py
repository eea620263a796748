"""`python -m queries build ...` and `python -m queries stats FILE`.

Flags of `build` are declared on `BuildConfig`/`Thresholds` (docs/design.md, "queries"); Beam
options pass through (`--runner DataflowRunner --project ... --temp_location gs://...`,
`--direct_num_workers 4`); any other flag exits 2, naming it. Bad input (missing, truncated or
non-XML file, missing WordNet folder) prints one line naming it and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from queries.build.config import BuildConfig, Thresholds
from queries.build.errors import QueryBuildError
from queries.build.run import build
from queries.stats import format_breakdown, render
from runtime import cli


def _build_parser() -> argparse.ArgumentParser:
    flags = cli.flags_of(BuildConfig)
    flags[-1:-1] = cli.flags_of(Thresholds)  # before --max-size, as the help always listed
    return cli.parser(
        "python -m queries build",
        "Build the query list (query, source, score) from Wikipedia and WordNet.",
        flags,
        beam=True,
    )


def run_build(argv: list[str]) -> int:
    args, beam_args = cli.parse(_build_parser(), argv, beam=True)
    config = cli.from_args(BuildConfig, args, thresholds=cli.from_args(Thresholds, args))
    start = time.monotonic()
    result = build(config, beam_args)
    print(f"wrote {config.out}: {len(result.rows):,} entries in {time.monotonic() - start:.1f} s")
    print(format_breakdown(result.per_source))
    if result.stats:
        print(
            "pages and files: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result.stats.items()))
        )
    for note in result.notes:
        print(note)
    return 0


def run_stats(argv: list[str]) -> int:
    p = cli.parser("python -m queries stats", "Entries per source and examples.",
                   [cli.Flag("file", help="a queries build parquet file")])  # fmt: skip
    print(render(cli.parse(p, argv)[0].file))
    return 0


COMMANDS = (
    cli.Command("build", "the query list from Wikipedia and WordNet", "queries.cli:run_build"),
    cli.Command("stats", "entries per source and examples", "queries.cli:run_stats"),
)


def main(argv: list[str] | None = None) -> int:
    try:
        return cli.dispatch("python -m queries", COMMANDS, argv)
    except QueryBuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
