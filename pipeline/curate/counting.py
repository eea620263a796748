"""Statistics as data, and the outputs every curate stage shares.

Every stage's DoFn counts what it saw per bundle and outputs the partial counts (tagged
`stats`) from `finish_bundle`: one element per (key, bundle), not per record, so counting costs
no extra pass. The graph sums them (`CombinePerKey(sum)`) into stats.json.

Keys are tuples: ("flow", stage output), ("reject", stage, reason), ("lang", code),
("match", query), ("kept", query), ("file", path, bytes, sha256). Only what happened is
counted: no zero counts.

Batches: between stages, candidates travel as lists of up to `BATCH` elements (a batch is one
Beam element), so each DoFn hop and each runner round trip is paid per batch, not per
candidate (Beam's Python SDK costs microseconds per element and hop). Rejects too: the
`reject` output carries lists of reject tuples.

`apply_stage` is the one place where a stage's DoFn is applied and its three outputs (main,
`reject`, `stats`) are split: a runner whose multi-output ParDo hands every tag's elements to
each consumer would tag the records there and filter them per tag.
"""

from __future__ import annotations

import gc
from collections import Counter

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.curate.elements import REJECT, REJECT_NAMES, Batch, reject_candidate
from runtime import progress
from runtime.engines import with_outputs
from schemas.vocab import Reason

STATS = "stats"
BATCH = 500


def apply_stage(pcoll, label: str, fn: beam.DoFn, *side, main: str = "pairs") -> tuple:
    """`pcoll | label >> ParDo(fn, *side)` -> (main output, rejects, stats); on Beam's Dask
    runner through tagged records and a filter per tag (`runtime.engines.with_outputs`)."""
    out = with_outputs(pcoll, label, fn, main, [REJECT, STATS], *side)
    out[main].element_type = Batch  # its coder (`elements.BatchCoder`)
    return out[main], out[REJECT], out[STATS]


# allocations between young collections (Python's default: 700). Each young collection walks
# every young object still alive, and a stage keeps its batches and buffers (up to 50,000 rows
# per writer) alive for a while: at 50,000 the walks still took ~6% of a worker's CPU (perf),
# at 1,000,000 -4% CPU for the whole job (3 runs each; gc disabled outright: -5%)
GC_YOUNG = 1_000_000


def settle_gc() -> None:
    """Keep the cyclic garbage collector off the long-lived heap of a worker: what is loaded
    by now (Beam's harness, the query matcher, the fastText model) is frozen out of every
    collection, and young collections run every `GC_YOUNG` allocations. Curate's elements
    (tuples, lists, strings) hold no cycles and are freed by reference counting; with the
    defaults, collections scanning the worker's heap took ~27% of a curate's CPU (bench/RESULTS.md,
    `curate wat`). Cycles that some library creates are still collected, at most `GC_YOUNG`
    allocations late. Called from every stage's setup (again after the big loads)."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 20, 20)


class CountingFn(beam.DoFn):
    """A DoFn with a per-bundle `self.counts` Counter, flushed to the `stats` output. `FLOW`
    names the ("flow", ...) count of the elements it keeps (`emit`)."""

    FLOW = ""

    def setup(self):
        settle_gc()  # the first stage of a worker runs before the matcher's or model's loads

    def start_bundle(self):
        self.counts = Counter()

    def finish_bundle(self):
        if self.FLOW not in ("", "read"):  # read ticks per file (runtime.progress)
            progress.tick({self.FLOW: self.counts["flow", self.FLOW]})
        for key, n in self.counts.items():
            yield beam.pvalue.TaggedOutput(STATS, WindowedValue((key, n), 0, [GlobalWindow()]))

    def count_reject(self, row: tuple) -> tuple:
        """Count a reject tuple and return it (for a batch of rejects)."""
        self.counts["reject", row[2], row[3]] += 1
        return row

    def count_rejects(self, reason: Reason, n: int) -> None:
        """Count `n` rejects for `reason` at once (rejects built without `count_reject`)."""
        self.counts["reject", *REJECT_NAMES[reason]] += n

    def drop(self, cand, reason: Reason) -> tuple:
        """The counted reject tuple of a candidate dropped for `reason`."""
        return self.count_reject(reject_candidate(cand, reason))

    def emit(self, kept: list, rejects: list):
        """The outputs of one processed batch: the kept list (main, counted as `FLOW`), the
        rejects list (tagged); empty lists are neither sent nor counted."""
        if kept:
            self.counts["flow", self.FLOW] += len(kept)
            yield kept
        if rejects:
            yield beam.pvalue.TaggedOutput(REJECT, rejects)


def in_window(value):
    """`value` as an output of `finish_bundle` (which must name its window)."""
    return WindowedValue(value, 0, [GlobalWindow()])


class BufferingFn(CountingFn):
    """A CountingFn for a stage that gets one element at a time (after a GroupByKey) but sends
    batches: `self.kept` and `self.rejects` buffer outputs, sent when `BATCH` long
    (`flush_full`) and at the end of the bundle."""

    def start_bundle(self):
        super().start_bundle()
        self.kept, self.rejects = [], []

    def flush_full(self):
        if len(self.kept) >= BATCH or len(self.rejects) >= BATCH:
            return self._flush()
        return ()

    def _flush(self):
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
