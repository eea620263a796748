"""Source 3, `title`: Wikipedia article titles with at least `--title-min-views` page views.

Input: Wikimedia pageview files (`pageviews-YYYYMMDD-HH[.gz|.bz2]`), one line per
(domain, page): `domain_code page_title count_views total_response_size`. Views of a
title are summed over all the files given (MetaCLIP sampled 25 days).

Rules (chosen to match MetaCLIP's build, which took the `en ` lines only):

- only domain code `en` (English Wikipedia, desktop) counts; with `--language XX`, `XX`
  (that language's Wikipedia, desktop). `en.m` (mobile web) is left
  out: MetaCLIP's threshold of 70 was set on desktop counts, and counting both would
  shift which titles pass. Other `en.*` codes are other projects (`en.d` Wiktionary, ...).
- titles with a `:` are skipped: namespaced pages (`Special:Search`, `User:X`,
  `Talk:Y`, `File:Z`) are not articles. (Articles with a colon in their title, like
  `Star Wars: Episode IV`, go too, as in MetaCLIP.) `-` and `Main_Page` are skipped.
- `%XX` escapes are decoded, underscores become spaces, runs of whitespace one space.
- a line with fewer than 3 fields or a non-integer view count is counted as bad and
  skipped; a bad line never stops the build.

Score: the summed view count. Unlike MetaCLIP, an hourly line is counted whatever its
size (MetaCLIP dropped lines with fewer than 50 views before summing).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

import apache_beam as beam

from queries.build.dump import open_maybe_compressed
from queries.build.errors import QueryBuildError

DOMAIN = "en"
_SKIP_TITLES = frozenset({"-", "Main Page"})
# Emit a file's partial sums once this many titles are held, to bound worker memory.
_FLUSH_AT = 500_000

BAD_LINE = "bad_line"


def parse_line(line: str, domain: str = DOMAIN) -> tuple[str, int] | None | str:
    """(title, views) for an article line of Wikipedia `domain`, None for other lines,
    BAD_LINE if bad."""
    parts = line.split(" ")
    if len(parts) < 3:
        return BAD_LINE if line.strip() else None
    if parts[0] != domain:
        return None
    try:
        views = int(parts[2])
    except ValueError:
        return BAD_LINE
    title = " ".join(unquote(parts[1]).replace("_", " ").split())
    if not title or ":" in title or title in _SKIP_TITLES or views <= 0:
        return None
    return title, views


class ReadPageviewsFn(beam.DoFn):
    """File name -> (title, views) partial sums of that file; ("error", msg) on TaggedOutput.

    Output tags: main `(str, int)`; `stats` `(str, int)` counts (`bad_line`);
    `error` `str` (a message naming the file; the build fails after the pipeline).
    """

    def __init__(self, domain: str = DOMAIN):
        self.domain = domain

    def process(self, path: str) -> Iterator:
        sums: dict[str, int] = {}
        bad = 0
        try:
            with open_maybe_compressed(path) as f:
                for raw in f:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    parsed = parse_line(line, self.domain)
                    if parsed is None:
                        continue
                    if parsed == BAD_LINE:
                        bad += 1
                        continue
                    title, views = parsed
                    sums[title] = sums.get(title, 0) + views
                    if len(sums) >= _FLUSH_AT:
                        yield from sums.items()
                        sums = {}
        except QueryBuildError as e:
            yield beam.pvalue.TaggedOutput("error", str(e))
        except (EOFError, OSError) as e:
            yield beam.pvalue.TaggedOutput("error", f"{path}: truncated or corrupt ({e})")
        yield from sums.items()
        if bad:
            yield beam.pvalue.TaggedOutput("stats", (f"pageviews_{BAD_LINE}", bad))


class TitleViews(beam.PTransform):
    """PCollection[(title, views)] partial sums -> PCollection[(title, total)] >= min_views."""

    def __init__(self, min_views: int):
        super().__init__()
        self.min_views = min_views

    def expand(self, pcoll):
        min_views = self.min_views
        return (
            pcoll
            | "SumViews" >> beam.CombinePerKey(sum)
            | "MinViews" >> beam.Filter(lambda kv: kv[1] >= min_views)
        )
