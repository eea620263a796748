"""Match stage: which query-list entries a pair's text contains (`queries.matcher`).

`MatchQueries` (PTransform): batches (lists) of `(pair_id, candidate)` in; batches of
`(pair_id, candidate, queries)` out with `queries` the sorted tuple of matched entries (fused
with dedup's pick before it and the balance step's spill writer after it: the pairs stay in
the worker).
Rejects (batches; stage `match`, tagged `rejects`): `no_match`. The query list is read through Beam's FileSystems (local, gs://, ...) and the
matcher built once per worker process (`Shared`), never pickled with the DoFn.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from pipeline.curate.counting import STATS, CountingFn
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
        self.match_batch = holder.matcher.match_batch

    def process(self, batch: list):
        kept, rejects = [], []
        # the whole batch at once: the matcher's column-wise path (queries.columnar)
        for (pid, cand), found in zip(batch, self.match_batch([c[1] for _, c in batch])):
            if found:
                kept.append((pid, cand, tuple(found)))
            else:
                rejects.append(self.count_reject(reject(cand[0], cand[1], Reason.NO_MATCH, cand[4])))
        if kept:  # no zero counts: stats.json lists only what happened
            self.counts["flow", "matched"] += len(kept)
        return self.emit(kept, rejects)


class MatchQueries(beam.PTransform):
    """batches of (pair_id, candidate) -> (batches of (pair_id, candidate, queries), rejects,
    stats)."""

    def __init__(self, queries_path: str, queries_hash: str):
        super().__init__()
        self.queries_path, self.queries_hash = queries_path, queries_hash

    def expand(self, pairs):
        fn = MatchFn(self.queries_path, self.queries_hash)
        out = pairs | "Match" >> beam.ParDo(fn).with_outputs(REJECT, STATS, main="pairs")
        return out.pairs, out[REJECT], out[STATS]
