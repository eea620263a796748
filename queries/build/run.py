"""`queries build`: gather candidates from each requested source, assemble, write.

Sources run as asked: the dump (unigram, bigram) and pageviews (title) through one Beam
pipeline (`queries.build.counting`), WordNet and `--embedded` words in the driver (they
are small). Inputs are checked before any job starts (a missing dump, pageviews file or
WordNet folder fails at once); files that turn out unreadable while counting fail the
build after the job with the pipeline's message naming them. Beam is imported only when
a dump or pageviews are counted: the embedded build never loads it.
"""

from __future__ import annotations

import math
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

from queries.build.assemble import assemble, breakdown, write
from queries.build.config import BuildConfig, Thresholds
from queries.build.embedded import embedded_unigrams
from queries.build.errors import QueryBuildError
from queries.build.wordnet import read_wordnet
from queries.segment import UnsupportedLanguage, check_language
from runtime import storage
from runtime.logs import quiet_workers
from schemas.records import QueryEntry
from schemas.vocab import QuerySource

DEFAULT_WORDNET = "/usr/share/wordnet"


@dataclass
class BuildResult:
    """The rows written, entries per source, page/file statistics, notes for the user."""

    rows: list[QueryEntry]
    per_source: dict[str, int]
    stats: dict[str, int]
    notes: list[str]


def expand_files(patterns: list[str], what: str) -> list[str]:
    """Files matching each pattern (local or Beam filesystem); an unmatched one is an error."""
    if not patterns:
        return []
    files: set[str] = set()
    for pattern in patterns:
        try:
            found = storage.glob(pattern)
        except Exception as e:  # a store that cannot be listed
            raise QueryBuildError(f"{pattern}: {what} file not found ({e})") from e
        if not found:
            raise QueryBuildError(f"{pattern}: {what} file not found (nothing matches)")
        files.update(found)
    return sorted(files)


def build(config: BuildConfig, beam_args: list[str] | None = None) -> BuildResult:
    """Build the list described by `config`, write it to `config.out`, return a summary.

    `beam_args` (pass-through Beam flags) are used only when a dump or pageviews are
    given; local defaults come from `runtime.beam`.
    """
    if config.embedded and (config.wikipedia_dump or config.pageviews):
        raise QueryBuildError("--embedded builds without a dump: drop --wikipedia-dump/--pageviews")
    language = _language(config.language)
    if config.wikipedia_dump or config.pageviews or "://" in config.out:
        storage.configure(beam_args or [])  # --s3_* flags before the first listing
    dumps = expand_files(config.wikipedia_dump, "Wikipedia dump")
    views = expand_files(config.pageviews, "pageviews")
    # Princeton WordNet is English: other languages get a wordnet only when one is given
    default_wordnet = DEFAULT_WORDNET if config.embedded and language == "en" else None
    wordnet_dir = config.wordnet or default_wordnet
    if not (dumps or views or wordnet_dir or config.embedded):
        raise QueryBuildError(
            "no source given: pass --wikipedia-dump, --pageviews, --wordnet or --embedded"
        )
    candidates: dict[QuerySource, dict[str, float]] = {}
    counts: Any = None
    if wordnet_dir:  # read first: a missing folder should fail before a long job
        candidates[QuerySource.WORDNET] = dict.fromkeys(read_wordnet(wordnet_dir), 0.0)
    if dumps or views:
        counts = _count(dumps, views, config.thresholds, beam_args or [], language)
        candidates[QuerySource.UNIGRAM] = counts.unigram
        candidates[QuerySource.BIGRAM] = counts.bigram
        candidates[QuerySource.TITLE] = counts.title
    if config.embedded:
        candidates[QuerySource.UNIGRAM] = embedded_unigrams(language)
    rows = assemble(candidates, config.max_size)
    write(config.out, rows)
    stats = counts.stats if counts else {}
    return BuildResult(rows, breakdown(rows), stats, _notes(stats, config, dumps))


def _language(code: str) -> str:
    try:
        return check_language(code)
    except UnsupportedLanguage as e:
        raise QueryBuildError(f"--language: {e}") from e


def _count(dumps, views, thresholds: Thresholds, beam_args: list[str], language: str):
    """Run the counting pipeline; its `Counts`, or the first file error raised."""
    # deferred (start-up cost): the embedded build never loads Beam
    from queries.build.counting import build_pipeline, read_results
    from runtime import engines
    from runtime.beam import pipeline_options

    beam_options = pipeline_options(engines.dask_defaults(beam_args))
    work_dir = _work_dir(beam_options)
    try:
        with quiet_workers(), engines.pipeline(beam_options) as p:
            build_pipeline(p, dumps, views, thresholds, work_dir, language)
        counts = read_results(work_dir)
    finally:
        _remove(work_dir)
    if counts.errors:
        more = f" (and {len(counts.errors) - 1} more)" if len(counts.errors) > 1 else ""
        raise QueryBuildError(counts.errors[0] + more)
    return counts


def _work_dir(beam_options) -> str:
    """Where the job writes its candidates: under --temp_location if set, else local tmp."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    temp = beam_options.view_as(GoogleCloudOptions).temp_location
    if temp:
        return storage.join(temp, f"queries-build-{uuid.uuid4().hex}")
    return tempfile.mkdtemp(prefix="queries-build-")


def _remove(work_dir: str) -> None:
    try:
        storage.delete_tree(work_dir)
    except Exception:  # leftovers under temp_location are harmless; never mask the result
        pass


def _notes(stats: dict[str, int], config: BuildConfig, dumps: list[str]) -> list[str]:
    """Human notes for the summary: the PMI ceiling of the corpus counted."""
    if not dumps:
        return []
    from queries.build.bigram import pmi_ceiling  # deferred: imports Beam

    n = stats.get("tokens", 0)
    t = config.thresholds
    ceiling = pmi_ceiling(n, t.bigram_min_count)
    note = (
        f"corpus: {n:,} word tokens; PMI ceiling log2(N / bigram-min-count) = {ceiling:.2f}"
        f" (log2 N = {math.log2(n) if n else float('-inf'):.2f})"
    )
    if t.bigram_min_pmi > ceiling:
        note += (
            f"; --bigram-min-pmi {t.bigram_min_pmi:g} is above it, so no bigram can pass "
            f"(needs N >= {t.bigram_min_count} * 2**{t.bigram_min_pmi:g} tokens)"
        )
    return [note]


__all__ = ["BuildConfig", "BuildResult", "Thresholds", "build", "expand_files"]
