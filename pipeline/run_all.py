"""`python -m pipeline run --input ... --queries FILE --output DIR [flags of both]`.

Curate into `DIR/curate/`, then download from it into `DIR/`. The flags split by
parser: download's flags (without `--manifest`/`--url-col`/`--caption-col`, which are
curate's input columns here) are taken first; everything else goes to curate, whose
parser keeps its own flags and leaves Beam flags, which both stages then receive.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.curate import cli as curate_cli
from pipeline.curate import options as curate_options
from pipeline.download.job import ResumeMismatch, execute
from pipeline.download.manifest import ManifestError, list_inputs
from pipeline.download.options import config_from_args, download_flags
from runtime import cli, storage

CURATE_SUBDIR = "curate"


def split_argv(argv: list[str]) -> tuple[argparse.Namespace, list[str], list[str]]:
    """(download namespace, curate argv incl. Beam flags, Beam flags) from `run`'s argv.

    Exits 2 (argparse) on a flag that is neither download's, curate's nor a Beam option."""
    flags = [*download_flags(manifest=False), cli.Flag("--output", required=True)]
    p = cli.parser("python -m pipeline run", "curate + download in one command", flags)
    dl, rest = p.parse_known_args(argv)
    curate_out = storage.join(dl.output, CURATE_SUBDIR)
    curate_argv = [*rest, "--log-level", dl.log_level, "--output", curate_out]
    _, beam_args = curate_options.parse(curate_argv, prog="python -m pipeline run")
    return dl, curate_argv, beam_args


def help_parser() -> argparse.ArgumentParser:
    """A parser for `--help` only: curate's flags and download's (each from its one
    declaration), with this module's doc as the description."""
    flags = [*cli.flags_of(curate_options.CurateOptions), *download_flags(manifest=False)]
    p = cli.parser("python -m pipeline run", __doc__, flags, beam=True)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    return p


def run(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(help_parser().format_help())
        return 0
    try:
        dl, curate_argv, beam_args = split_argv(argv)
    except SystemExit as e:  # argparse already printed why
        return int(e.code or 2)
    storage.configure(beam_args)
    output = dl.output.rstrip("/") or "/"
    try:
        cfg = config_from_args(dl, output)
    except ValueError as e:
        print(f"pipeline run: {e}", file=sys.stderr)
        return 2
    rc = int(curate_cli.run(curate_argv) or 0)
    if rc != 0:
        return rc
    try:
        inputs = list_inputs([storage.join(output, CURATE_SUBDIR)])
    except ManifestError as e:
        print(f"pipeline run: {e}", file=sys.stderr)
        return 2
    try:
        stats = execute(cfg, inputs, beam_args, {"run": storage.public_args(argv)})
    except ResumeMismatch as e:
        print(f"pipeline run: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: stats[k] for k in ("shards", "count", "successes", "success_rate")}))
    return 0
