"""What a build is asked for: plain dataclasses, no Beam (the embedded build never loads it).

Each field declared with `option` is also its `queries build` flag (`--unigram-min-count`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.cli import option


@dataclass(frozen=True)
class Thresholds:
    """The flags that decide which candidates pass (names as the CLI flags)."""

    unigram_min_count: int = option(100)
    bigram_min_pmi: float = option(30.0)
    bigram_min_count: int = option(10)
    title_min_views: int = option(70)


@dataclass
class BuildConfig:
    """What to build from; field names follow the CLI flags."""

    out: str = option(help="output parquet file")
    wikipedia_dump: list[str] = option(
        default_factory=list,
        nargs="+",
        repeatable=True,
        help="pages-articles*.xml[.bz2] files or globs",
    )
    pageviews: list[str] = option(
        default_factory=list,
        nargs="+",
        repeatable=True,
        help="Wikimedia pageview files (plain, .gz or .bz2) or globs",
    )
    wordnet: str | None = option(None, help="folder with WordNet data.{noun,verb,adj,adv}")
    embedded: bool = option(
        False,
        switch=True,
        help="no dump: wordfreq's English words + WordNet (default /usr/share/wordnet)",
    )
    language: str = option(  # Wikipedia / wordfreq language code (queries.segment)
        "en",
        help="Wikipedia/wordfreq language code: the pageviews domain, the dump's segmenter, "
        "wordfreq's list with --embedded (WordNet only where --wordnet is given unless en)",
    )
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_size: int = option(500_000, help="0: no limit")
