"""Statistics as data: every stage's DoFn counts what it saw per bundle and outputs the partial
counts (tagged `stats`) from `finish_bundle`: one element per (key, bundle), not per record, so
counting costs no extra pass. The graph sums them (`CombinePerKey(sum)`) into stats.json.

Keys are tuples: ("flow", stage output), ("reject", stage, reason), ("lang", code),
("match", query), ("kept", query), ("file", path, bytes, sha256).

Batches: between stages, candidates travel as lists of up to `BATCH` elements (a batch is one
Beam element), so each DoFn hop and each runner round trip is paid per batch, not per
candidate (Beam's Python SDK costs microseconds per element and hop). Rejects too: the
`reject` output carries lists of reject tuples.
"""

from __future__ import annotations

from collections import Counter

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

STATS = "stats"
BATCH = 500


class CountingFn(beam.DoFn):
    """A DoFn with a per-bundle `self.counts` Counter, flushed to the `stats` output."""

    def start_bundle(self):
        self.counts = Counter()

    def finish_bundle(self):
        for key, n in self.counts.items():
            yield beam.pvalue.TaggedOutput(STATS, WindowedValue((key, n), 0, [GlobalWindow()]))

    def reject(self, row: tuple):
        """Count a reject tuple and return its tagged output (one row)."""
        self.counts["reject", row[2], row[3]] += 1
        return beam.pvalue.TaggedOutput("reject", row)

    def count_reject(self, row: tuple) -> tuple:
        """Count a reject tuple and return it (for a batch of rejects)."""
        self.counts["reject", row[2], row[3]] += 1
        return row

    @staticmethod
    def emit(kept: list, rejects: list):
        """The outputs of one processed batch: the kept list (main), the rejects list (tagged);
        empty lists are not sent."""
        if kept:
            yield kept
        if rejects:
            yield beam.pvalue.TaggedOutput("reject", rejects)


def in_window(value):
    """`value` as an output of `finish_bundle` (which must name its window)."""
    return WindowedValue(value, 0, [GlobalWindow()])


class BufferingFn(CountingFn):
    """A CountingFn for a stage that gets one element at a time (after a GroupByKey) but sends
    batches: `self.kept` and `self.rejects` buffer outputs, sent when `BATCH` long
    (`flush_full`) and at the end of the bundle. `FLOW` names the ("flow", ...) count."""

    FLOW = ""

    def start_bundle(self):
        super().start_bundle()
        self.kept, self.rejects = [], []

    def flush_full(self):
        if len(self.kept) >= BATCH or len(self.rejects) >= BATCH:
            return self._flush()
        return ()

    def _flush(self):
        if self.kept:  # no zero counts: stats.json lists only what happened
            self.counts["flow", self.FLOW] += len(self.kept)
        out = list(self.emit(self.kept, self.rejects))
        self.kept, self.rejects = [], []
        return out

    def finish_bundle(self):
        yield from outputs_in_window(self._flush())
        yield from super().finish_bundle()


def outputs_in_window(outputs):
    """Outputs of `emit` (lists, tagged lists) as outputs of `finish_bundle`."""
    for value in outputs:
        if isinstance(value, list):
            yield in_window(value)
        else:
            yield beam.pvalue.TaggedOutput(value.tag, in_window(value.value))
