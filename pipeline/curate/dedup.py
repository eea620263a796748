"""Exact dedup stage: one pair per (image url, text) over the whole input.

`DedupPairs` (PTransform): batches (lists) of candidate tuples in; batches of
`(pair_id, candidate)` out, one per distinct (url, text), `pair_id =
schemas.layout.pair_id(url, text)`. Grouped by a bucket of the pair id (`bucket_count` buckets
from the input size), with each worker's candidates of a bucket sent as one list: the shuffle
pays per list, not per candidate. The copy kept is the smallest by
(input_file, page_url, text_source), so the choice does not depend on grouping order, runner or
worker count. Every other copy is a `duplicate_pair` reject (batches, tagged `rejects`).

URL-level policy: only exact (url, text) repeats are merged. The same image URL with different
texts stays as separate pairs (as in CLIP's and MetaCLIP's pools: each alt text is its own
training caption); the downloader's perceptual-hash dedup merges repeated images later.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.curate.counting import BATCH, STATS, BufferingFn, in_window
from pipeline.curate.read.elements import REJECT, reject
from schemas.layout import pair_id
from schemas.vocab import Reason


def _order(cand: tuple) -> tuple:
    return (cand[4], cand[3] or "", cand[2])


BUCKET_BYTES = 4 << 20   # input bytes per dedup bucket: bounds the pairs one bucket holds
FLUSH = 20_000           # candidates a worker buffers before sending its buckets on


def bucket_count(input_bytes: int) -> int:
    """Buckets for `input_bytes` of input: one per `BUCKET_BYTES` (at least 64), so a bucket
    holds ~10^4 distinct pairs whatever the input size (4 MB of gzip WARC ~ 13k candidates)."""
    return max(64, -(-input_bytes // BUCKET_BYTES))


class BucketFn(beam.DoFn):
    """Batches of candidates -> (bucket, [(pair_id, candidate), ...]): the grouping key is the
    pair id's bucket, and the candidates of a bucket travel together (up to `FLUSH` candidates
    buffered per bundle), so the GroupByKey pays per list, not per candidate."""

    def __init__(self, buckets: int):
        self.buckets = buckets

    def start_bundle(self):
        self.buffer, self.size = {}, 0

    def process(self, batch: list):
        buckets, buffer = self.buckets, self.buffer
        for cand in batch:
            pid = pair_id(cand[0], cand[1])
            buffer.setdefault(int(pid[:8], 16) % buckets, []).append((pid, cand))
        self.size += len(batch)
        if self.size >= FLUSH:
            yield from self._flush()

    def _flush(self):
        out, self.buffer, self.size = list(self.buffer.items()), {}, 0
        return out

    def finish_bundle(self):
        for kv in self._flush():
            yield in_window(kv)


class PickFn(BufferingFn):
    """(bucket, lists of (pair_id, candidate)) -> the kept copy of each pair and the duplicate
    rejects, sent in batches."""

    FLOW = "deduplicated"

    def process(self, item):
        _, lists = item
        # memory: the distinct pairs of one bucket (bounded by `bucket_count`), not the copies;
        # a site-wide banner repeated millions of times is one entry
        best: dict[str, tuple] = {}
        for pairs in lists:
            for pid, cand in pairs:
                old = best.get(pid)
                if old is None:
                    best[pid] = cand
                    continue
                if _order(cand) < _order(old):
                    best[pid], cand = cand, old
                self.rejects.append(self.count_reject(
                    reject(cand[0], cand[1], Reason.DUPLICATE_PAIR, cand[4])))
                if len(self.rejects) >= BATCH:
                    yield from self._flush()
        for pid, cand in best.items():
            self.kept.append((pid, cand))
            if len(self.kept) >= BATCH:
                yield from self._flush()


class DedupPairs(beam.PTransform):
    """candidates -> (batches of (pair_id, candidate) distinct by (url, text), rejects, stats)."""

    def __init__(self, input_bytes: int = 0):
        super().__init__()
        self.buckets = bucket_count(input_bytes)

    def expand(self, pairs):
        out = (
            pairs
            | "PairId" >> beam.ParDo(BucketFn(self.buckets))
            | "GroupByBucket" >> beam.GroupByKey()
            | "Pick" >> beam.ParDo(PickFn()).with_outputs(REJECT, STATS, main="pairs")
        )
        return out.pairs, out[REJECT], out[STATS]
