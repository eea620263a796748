"""`python -m pipeline SUBCOMMAND ...`: dispatch only; each subcommand lives in its own module.

Every subcommand module exposes `run(argv: list[str]) -> int`.
"""

from __future__ import annotations

import os

from runtime.cli import Command, dispatch

PROG = "python -m pipeline"
SUBCOMMANDS = (
    Command(
        "curate", "crawl or tables -> balanced, deduplicated manifest", "pipeline.curate.cli:run"
    ),
    Command("download", "manifest -> webdataset shards", "pipeline.download.cli:run"),
    Command("run", "curate + download in one command", "pipeline.run_all:run"),
    Command("report", "(re)write DIR/report.html", "pipeline.report.cli:run"),
    Command("verify", "check shards, parquet and sizes.json agree", "pipeline.verify:run"),
    Command(
        "subset",
        "keep listed samples of shards, re-sharded (no network)",
        "pipeline.subset.cli:run",
    ),
)


def main(argv: list[str] | None = None) -> int:
    # albumentations (pulled in by img2dataset) checks PyPI at import unless told not to.
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    return dispatch(PROG, SUBCOMMANDS, argv)
