"""The Beam pipeline that counts a Wikipedia dump (and sums pageviews) into candidates.

Graph (each dump file and each pageview file is one element; a worker streams it):

    dump files --ReadDumpFn--> (word, n) partial counts --CombinePerKey(sum)--> unigrams
                           \\-> ("x y", n) partial counts --CombinePerKey(sum)--> bigrams
                           \\-> token totals --CombineGlobally(sum)--> N
    unigrams --FrequentUnigrams--> unigram candidates
    bigrams + unigrams + N --ScoreBigrams--> bigram candidates (PMI)
    pageview files --ReadPageviewsFn--> (title, views) --TitleViews--> title candidates

Candidates, page statistics and file errors are written as JSON lines under `work_dir`
(local, or `gs://...` when the job runs on Dataflow); `read_results` reads them back for
assembly. A file that cannot be read becomes an `error` line naming it (the job
finishes; the driver then fails the build with that message): a bad file never kills a
worker with a traceback.

Parallelism is per file: the full English dump is published as ~60 `pages-articlesN.xml-
p...bz2` parts, so Dataflow reads them in parallel; a single-file dump reads on one worker.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import apache_beam as beam

from queries.build.bigram import ScoreBigrams
from queries.build.config import Thresholds
from queries.build.dump import DumpStats, iter_articles
from queries.build.errors import QueryBuildError
from queries.build.jsonlines import WriteJsonLines
from queries.build.title import ReadPageviewsFn, TitleViews
from queries.build.tokens import word_runs
from queries.build.unigram import FrequentUnigrams
from queries.build.wikitext import strip_markup
from queries.segment import segmenter
from runtime import storage
from runtime.engines import finish, with_outputs

# Emit partial counts once a worker holds this many distinct keys (bounds its memory;
# the CombinePerKey after it merges the partial counts).
_FLUSH_AT = 300_000

OUTPUTS = ("unigram", "bigram", "title", "stats", "error")
CANDIDATE_SHARDS = 4  # files per candidate list (each written by one worker)


class ReadDumpFn(beam.DoFn):
    """Dump file name -> partial counts of its articles' words and bigrams.

    Output tags: main `(word, int)`; `bigram` `("x y", int)`; `tokens` `int`;
    `stats` `(str, int)` (articles, redirects, other_namespaces); `error` `str`
    (a message naming the file: truncated bz2, not XML, ...). With a `language` written
    without spaces, article text is split into words by `queries.segment` first.
    """

    def __init__(self, language: str | None = None):
        self.language = language

    def setup(self):
        self.segment = segmenter(self.language)

    def process(self, path: str) -> Iterator:
        unigrams: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        stats = DumpStats()
        tokens = 0
        try:
            for article in iter_articles(path, stats):
                text = strip_markup(article.text)
                for run in word_runs(self.segment(text) if self.segment else text):
                    tokens += len(run)
                    unigrams.update(run)
                    bigrams.update(f"{a} {b}" for a, b in zip(run, run[1:]))
                if len(bigrams) + len(unigrams) >= _FLUSH_AT:
                    yield from _flush(unigrams, bigrams)
        except QueryBuildError as e:
            yield beam.pvalue.TaggedOutput("error", str(e))
        yield from _flush(unigrams, bigrams)
        yield beam.pvalue.TaggedOutput("tokens", tokens)
        for name in ("articles", "redirects", "other_namespaces"):
            yield beam.pvalue.TaggedOutput("stats", (name, getattr(stats, name)))


def _flush(unigrams: Counter, bigrams: Counter) -> Iterator:
    yield from unigrams.items()
    for item in bigrams.items():
        yield beam.pvalue.TaggedOutput("bigram", item)
    unigrams.clear()
    bigrams.clear()


@dataclass
class Counts:
    """What the pipeline found: candidates per source, page stats, N, and file errors."""

    unigram: dict[str, float] = field(default_factory=dict)
    bigram: dict[str, float] = field(default_factory=dict)
    title: dict[str, float] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def build_pipeline(
    p, dump_files, pageview_files, thresholds: Thresholds, work_dir: str, language: str = "en"
):
    """Add the counting graph to pipeline `p`; results go to `work_dir/<output>-*.jsonl`.
    `language`: the dump's language (segmentation) and the pageviews' domain code."""
    outputs: dict[str, list] = {name: [] for name in OUTPUTS}
    if dump_files:
        files = (
            p | "DumpFiles" >> beam.Create(sorted(dump_files)) | "SpreadDumps" >> beam.Reshuffle()
        )
        read = with_outputs(files, "ReadDump", ReadDumpFn(language), "unigram",
                            ["bigram", "tokens", "stats", "error"])  # fmt: skip
        unigrams = read["unigram"] | "SumUnigrams" >> beam.CombinePerKey(sum)
        bigrams = read["bigram"] | "SumBigrams" >> beam.CombinePerKey(sum)
        n = read["tokens"] | "SumTokens" >> beam.CombineGlobally(sum)
        outputs["unigram"].append(unigrams | FrequentUnigrams(thresholds.unigram_min_count))
        outputs["bigram"].append(
            {"bigrams": bigrams, "unigrams": unigrams, "n": n}
            | ScoreBigrams(thresholds.bigram_min_count, thresholds.bigram_min_pmi)
        )
        tokens = n | "TokensStat" >> beam.Map(lambda v: ("tokens", v))
        outputs["stats"] += [read["stats"], tokens]
        outputs["error"].append(read["error"])
    if pageview_files:
        files = (
            p
            | "PageviewFiles" >> beam.Create(sorted(pageview_files))
            | "SpreadPageviews" >> beam.Reshuffle()
        )
        views = with_outputs(files, "ReadPageviews", ReadPageviewsFn(language), "title",
                             ["stats", "error"])  # fmt: skip
        outputs["title"].append(views["title"] | TitleViews(thresholds.title_min_views))
        outputs["stats"].append(views["stats"])
        outputs["error"].append(views["error"])
    written = []
    for name, pcolls in outputs.items():
        if not pcolls:
            continue
        merged = pcolls | f"Merge_{name}" >> beam.Flatten()
        if name == "stats":
            merged = merged | "SumStats" >> beam.CombinePerKey(sum)
        shards = CANDIDATE_SHARDS if name in ("unigram", "bigram", "title") else 1
        written.append(merged | f"Write_{name}" >> WriteJsonLines(work_dir, name, shards))
    finish(written)  # engines that compute only the last transform run every writer


def read_results(work_dir: str) -> Counts:
    """The JSON lines `build_pipeline` wrote under `work_dir`, as `Counts`."""
    counts = Counts()
    for name in OUTPUTS:
        for path in storage.glob(storage.join(work_dir, name) + "*.jsonl"):
            for line in storage.read_bytes(path).splitlines():
                _collect(counts, name, json.loads(line))
    counts.errors.sort()
    return counts


def _collect(counts: Counts, name: str, value) -> None:
    if name == "error":
        counts.errors.append(value)
    elif name == "stats":
        counts.stats[value[0]] = counts.stats.get(value[0], 0) + int(value[1])
    else:
        getattr(counts, name)[value[0]] = float(value[1])
