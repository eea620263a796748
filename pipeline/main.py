"""`python -m pipeline SUBCOMMAND ...`: dispatch only; each subcommand lives in its own module.

Every subcommand module exposes `run(argv: list[str]) -> int`.
"""

from __future__ import annotations

import importlib
import os
import sys

SUBCOMMANDS = {
    "curate": ("pipeline.curate.cli", "crawl or tables -> balanced, deduplicated manifest"),
    "download": ("pipeline.download.cli", "manifest -> webdataset shards"),
    "run": ("pipeline.run_all", "curate + download in one command"),
    "report": ("pipeline.report.cli", "(re)write DIR/report.html"),
    "verify": ("pipeline.verify", "check shards, parquet and sizes.json agree"),
    "subset": ("pipeline.subset.cli", "keep listed samples of shards, re-sharded (no network)"),
}


def usage() -> str:
    lines = ["usage: python -m pipeline SUBCOMMAND [flags]", "", "subcommands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines.append("\n`python -m pipeline SUBCOMMAND --help` lists a subcommand's flags.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"unknown subcommand {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    # albumentations (pulled in by img2dataset) checks PyPI at import unless told not to.
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return int(module.run(rest) or 0)
