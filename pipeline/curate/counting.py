"""Statistics as data: every stage's DoFn counts what it saw per bundle and outputs the partial
counts (tagged `stats`) from `finish_bundle`: one element per (key, bundle), not per record, so
counting costs no extra pass. The graph sums them (`CombinePerKey(sum)`) into stats.json.

Keys are tuples: ("flow", stage output), ("reject", stage, reason), ("lang", code),
("match", query), ("kept", query), ("file", path, bytes, sha256).
"""

from __future__ import annotations

from collections import Counter

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

STATS = "stats"


class CountingFn(beam.DoFn):
    """A DoFn with a per-bundle `self.counts` Counter, flushed to the `stats` output."""

    def start_bundle(self):
        self.counts = Counter()

    def finish_bundle(self):
        for key, n in self.counts.items():
            yield beam.pvalue.TaggedOutput(STATS, WindowedValue((key, n), 0, [GlobalWindow()]))

    def reject(self, row: tuple):
        """Count a reject tuple and return its tagged output."""
        self.counts["reject", row[2], row[3]] += 1
        return beam.pvalue.TaggedOutput("reject", row)
