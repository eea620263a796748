"""Match stage: which query-list entries a pair's text contains (`queries.matcher`).

`MatchQueries` (PTransform): `(pair_id, candidate)` in; batches (lists, up to `BATCH`) of
`(pair_id, candidate, queries)` out with `queries` the sorted tuple of matched entries (the
matched pairs are materialized for the balance step: batches make that round trip cheap).
Rejects (batches; stage `match`, tagged `rejects`): `no_match`. The query list is read through Beam's FileSystems (local, gs://, ...) and the
matcher built once per worker process (`Shared`), never pickled with the DoFn.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from pipeline.curate.counting import BATCH, STATS, CountingFn, in_window
from pipeline.curate.read.elements import REJECT, reject
from queries import loads
from queries.matcher import QueryMatcher
from schemas.vocab import Reason


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path) as f:
        return f.read()


class _Matcher:
    def __init__(self, path: str):
        self.matcher = QueryMatcher(loads(read_bytes(path), path))


class MatchFn(CountingFn):
    def __init__(self, queries_path: str, queries_hash: str):
        self.queries_path, self.queries_hash = queries_path, queries_hash
        self._shared = shared.Shared()

    def setup(self):
        path = self.queries_path
        holder = self._shared.acquire(lambda: _Matcher(path), tag=f"q:{self.queries_hash}")
        self.match = holder.matcher.match

    def start_bundle(self):
        super().start_bundle()
        self.matched, self.rejects = [], []

    def process(self, item):
        pid, cand = item
        found = self.match(cand[1])
        if not found:
            self.rejects.append(self.count_reject(reject(cand[0], cand[1], Reason.NO_MATCH, cand[4])))
        else:
            self.matched.append((pid, cand, tuple(found)))
        if len(self.matched) >= BATCH or len(self.rejects) >= BATCH:
            yield from self._flush()

    def _flush(self):
        """The buffered batches (the element comes one pair at a time out of the dedup)."""
        if self.matched:  # no zero counts: stats.json lists only what happened
            self.counts["flow", "matched"] += len(self.matched)
        out = self.emit(self.matched, self.rejects)
        self.matched, self.rejects = [], []
        return out

    def finish_bundle(self):
        for value in list(self._flush()):
            yield in_window(value) if isinstance(value, list) else beam.pvalue.TaggedOutput(
                value.tag, in_window(value.value))
        yield from super().finish_bundle()


class MatchQueries(beam.PTransform):
    """(pair_id, candidate) -> (batches of (pair_id, candidate, queries), rejects, stats)."""

    def __init__(self, queries_path: str, queries_hash: str):
        super().__init__()
        self.queries_path, self.queries_hash = queries_path, queries_hash

    def expand(self, pairs):
        fn = MatchFn(self.queries_path, self.queries_hash)
        out = pairs | "Match" >> beam.ParDo(fn).with_outputs(REJECT, STATS, main="pairs")
        return out.pairs, out[REJECT], out[STATS]
