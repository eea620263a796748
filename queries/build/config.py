"""What a build is asked for: plain dataclasses, no Beam (the embedded build never loads it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Thresholds:
    """The flags that decide which candidates pass (names as the CLI flags)."""

    unigram_min_count: int = 100
    bigram_min_pmi: float = 30.0
    bigram_min_count: int = 10
    title_min_views: int = 70


@dataclass
class BuildConfig:
    """What to build from; field names follow the CLI flags."""

    out: str
    wikipedia_dump: list[str] = field(default_factory=list)
    pageviews: list[str] = field(default_factory=list)
    wordnet: str | None = None
    embedded: bool = False
    language: str = "en"  # Wikipedia / wordfreq language code (queries.segment)
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_size: int = 500_000
