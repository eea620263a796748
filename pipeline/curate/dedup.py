"""Exact dedup stage: one pair per (image url, text) over the whole input.

`DedupPairs` (PTransform): batches (lists) of candidate tuples in; batches of
`(pair_id, candidate)` out, one per distinct (url, text), `pair_id =
schemas.layout.pair_id(url, text)` (grouped one pair at a time, sent on in batches). The copy kept is the smallest by
(input_file, page_url, text_source), so the choice does not depend on grouping order, runner or
worker count. Every other copy is a `duplicate_pair` reject (batches, tagged `rejects`).

URL-level policy: only exact (url, text) repeats are merged. The same image URL with different
texts stays as separate pairs (as in CLIP's and MetaCLIP's pools: each alt text is its own
training caption); the downloader's perceptual-hash dedup merges repeated images later.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.curate.counting import STATS, BufferingFn
from pipeline.curate.read.elements import REJECT, reject
from schemas.layout import pair_id
from schemas.vocab import Reason


def _order(cand: tuple) -> tuple:
    return (cand[4], cand[3] or "", cand[2])


def keyed(cand: tuple) -> tuple[str, tuple]:
    return pair_id(cand[0], cand[1]), cand


def keyed_batch(batch: list) -> list[tuple[str, tuple]]:
    """A batch of candidates -> one (pair_id, candidate) element each (the grouping key)."""
    return [(pair_id(c[0], c[1]), c) for c in batch]


class PickFn(BufferingFn):
    """(pair_id, copies) -> the kept copy and the duplicate rejects, sent in batches."""

    FLOW = "deduplicated"

    def process(self, item):
        pid, cands = item
        # one pass, constant memory: a site-wide banner can repeat a pair millions of times
        best = None
        for cand in cands:
            if best is None:
                best = cand
                continue
            if _order(cand) < _order(best):
                best, cand = cand, best
            self.rejects.append(self.count_reject(
                reject(cand[0], cand[1], Reason.DUPLICATE_PAIR, cand[4])))
        self.kept.append((pid, best))
        return self.flush_full()


class DedupPairs(beam.PTransform):
    """candidates -> (batches of (pair_id, candidate) distinct by (url, text), rejects, stats)."""

    def expand(self, pairs):
        out = (
            pairs
            | "PairId" >> beam.FlatMap(keyed_batch)
            | "GroupByPairId" >> beam.GroupByKey()
            | "Pick" >> beam.ParDo(PickFn()).with_outputs(REJECT, STATS, main="pairs")
        )
        return out.pairs, out[REJECT], out[STATS]
