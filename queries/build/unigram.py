"""Source 1, `unigram`: words occurring at least `--unigram-min-count` times in the dump.

Words are as defined in `queries.build.tokens` (case kept, at least one letter). Counts
are summed over every article of every dump file (`queries.build.counting`); the score
of an entry is its count.
"""

from __future__ import annotations

import apache_beam as beam


class FrequentUnigrams(beam.PTransform):
    """PCollection[(word, total count)] -> the same, only counts >= min_count."""

    def __init__(self, min_count: int):
        super().__init__()
        self.min_count = min_count

    def expand(self, pcoll):
        min_count = self.min_count
        return pcoll | "MinCount" >> beam.Filter(lambda kv: kv[1] >= min_count)
