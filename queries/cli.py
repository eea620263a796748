"""`python -m queries build ...` and `python -m queries stats FILE`.

Flags of `build` are in DESIGN.md ("queries"); any flag it does not know is a Beam
option and passes through (`--runner DataflowRunner --project ... --temp_location
gs://...`, `--direct_num_workers 4`). Bad input (missing, truncated or non-XML file,
missing WordNet folder) prints one line naming it and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from queries.build.errors import QueryBuildError


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m queries build",
        description="Build the query list (query, source, score) from Wikipedia and WordNet.",
        epilog="Other flags are Beam pipeline options and pass through to Beam.",
        allow_abbrev=False,
    )
    p.add_argument("--out", required=True, help="output parquet file")
    p.add_argument(
        "--wikipedia-dump",
        nargs="+",
        action="extend",
        default=[],
        help="pages-articles*.xml[.bz2] files or globs",
    )
    p.add_argument(
        "--pageviews",
        nargs="+",
        action="extend",
        default=[],
        help="Wikimedia pageview files (plain, .gz or .bz2) or globs",
    )
    p.add_argument("--wordnet", help="folder with WordNet data.{noun,verb,adj,adv}")
    p.add_argument(
        "--embedded",
        action="store_true",
        help="no dump: wordfreq's English words + WordNet (default /usr/share/wordnet)",
    )
    p.add_argument(
        "--language",
        default="en",
        help="Wikipedia/wordfreq language code: the pageviews domain, the dump's segmenter, "
        "wordfreq's list with --embedded (WordNet only where --wordnet is given unless en)",
    )
    p.add_argument("--unigram-min-count", type=int, default=100)
    p.add_argument("--bigram-min-pmi", type=float, default=30.0)
    p.add_argument("--bigram-min-count", type=int, default=10)
    p.add_argument("--title-min-views", type=int, default=70)
    p.add_argument("--max-size", type=int, default=500_000, help="0: no limit")
    return p


_OUR_PREFIXES = (
    "--out",
    "--wiki",
    "--pageview",
    "--wordnet",
    "--embed",
    "--unigram",
    "--bigram",
    "--title",
    "--max-size",
    "--lang",
)


def run_build(argv: list[str]) -> int:
    from queries.build.config import BuildConfig, Thresholds
    from queries.build.run import build
    from queries.stats import format_breakdown

    parser = _build_parser()
    args, beam_args = parser.parse_known_args(argv)
    # A misspelt flag of ours would otherwise pass to Beam, which only warns about it.
    ours = [a for a in beam_args if a.split("=")[0].startswith(_OUR_PREFIXES)]
    if ours:
        parser.error(f"unrecognized arguments: {' '.join(ours)}")
    config = BuildConfig(
        out=args.out,
        wikipedia_dump=args.wikipedia_dump,
        pageviews=args.pageviews,
        wordnet=args.wordnet,
        embedded=args.embedded,
        language=args.language,
        thresholds=Thresholds(
            args.unigram_min_count,
            args.bigram_min_pmi,
            args.bigram_min_count,
            args.title_min_views,
        ),
        max_size=args.max_size,
    )
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
    from queries.stats import render

    p = argparse.ArgumentParser(
        prog="python -m queries stats", description="Entries per source and examples."
    )
    p.add_argument("file", help="a queries build parquet file")
    print(render(p.parse_args(argv).file))
    return 0


COMMANDS = {"build": run_build, "stats": run_stats}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m queries {build,stats} [flags]  (--help on each)", file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except QueryBuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
