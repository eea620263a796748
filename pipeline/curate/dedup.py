"""Exact dedup stage: one pair per (image url, text) over the whole input.

`DedupPairs(input_bytes, exchange)` (PTransform): batches (lists) of `Candidate`s in; batches
of `(pair_id, candidate)` out, one per distinct (url, text), `pair_id =
schemas.layout.pair_id(url, text)`. Grouped by a bucket of the pair id (`bucket_count` buckets
from the input size) through the graph's exchange (`exchange`, `--exchange`):
- shuffle: each worker's candidates of a bucket go as one packed list through a GroupByKey
  (`ShuffleBucketFn`, `ShufflePickFn`; a shuffle service streams it, the local runner would
  hold it all);
- spill: the candidates never cross a stage boundary themselves (`spill`): each worker buffers
  up to `flush_size` candidates and writes them to one spill file under `folder/_spill/dedup/`,
  one segment per bucket, and sends only `(path, offsets)` (8 bytes per bucket, `BucketFn`).
  Pick runs once per bucket (`Create(range(buckets))`), with the list of every spill file as a
  side input, and reads that bucket's segment of each file (`PickFn`). (A GroupByKey of one
  `(bucket, ref)` per segment cost ~1.4 KB of runner memory per ref: ~150 MB at 2 GB of
  crawl.) Memory: the runner holds the file list (~4 KB per file at 2 GB of input); a worker
  holds one spill buffer, or one bucket's distinct pairs (bounded by `bucket_count`) plus one
  segment.
The copy kept is the smallest by (input_file, page_url, text_source), so the choice does not
depend on grouping order, runner or worker count. Every other copy is a `duplicate_pair`
reject (batches, tagged `rejects`).

URL-level policy: only exact (url, text) repeats are merged. The same image URL with different
texts stays as separate pairs (as in CLIP's and MetaCLIP's pools: each alt text is its own
training caption); the downloader's perceptual-hash dedup merges repeated images later.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.curate.counting import BATCH, BufferingFn, apply_stage, in_window
from pipeline.curate.elements import Candidate, pack, unpack
from pipeline.curate.spill import read_indexed, write_indexed
from schemas.layout import pair_id
from schemas.vocab import Reason


def _order(cand: Candidate) -> tuple:
    return (cand.input_file, cand.page_url or "", cand.text_source)


BUCKET_BYTES = 4 << 20  # input bytes per dedup bucket: bounds the pairs one bucket holds
FLUSH = 20_000  # candidates a worker buffers before spilling its buckets to a file
SEGMENT_MIN = 25  # ... but at least this many per bucket on average (see flush_size)


def bucket_count(input_bytes: int) -> int:
    """Buckets for `input_bytes` of input: one per `BUCKET_BYTES` (at least 64), so a bucket
    holds ~10^4 distinct pairs whatever the input size (4 MB of gzip WARC ~ 13k candidates)."""
    return max(64, -(-input_bytes // BUCKET_BYTES))


def flush_size(buckets: int) -> int:
    """Candidates buffered per spill file: `FLUSH`, or `SEGMENT_MIN` per bucket when there are
    more than 800 buckets (inputs over ~3.2 GB). Every file's index holds 8 bytes per bucket
    and Pick opens every file once per bucket: with a fixed flush size both would grow with the
    square of the input (and the segments shrink to a few candidates each); this keeps them
    linear, at the cost of a worker buffer that grows by 25 candidates per 4 MB of input past
    3.2 GB."""
    return max(FLUSH, SEGMENT_MIN * buckets)


class BucketFn(beam.DoFn):
    """Batches of candidates -> (path, offsets) of spill files: every `flush_size` candidates
    (and at the end of the bundle) the buffered ones go to one file in `folder`, as one segment
    of [(pair_id, candidate), ...] per bucket (`spill.write_indexed`)."""

    def __init__(self, buckets: int, folder: str):
        self.buckets, self.folder, self.flush = buckets, folder, flush_size(buckets)

    def start_bundle(self):
        self.buffer, self.size = [[] for _ in range(self.buckets)], 0

    def process(self, batch: list):
        buckets, buffer = self.buckets, self.buffer
        for cand in batch:
            pid = pair_id(cand.url, cand.text)
            buffer[int(pid[:8], 16) % buckets].append((pid, cand))
        self.size += len(batch)
        if self.size >= self.flush:
            yield from self._flush()

    def _take(self) -> list[list]:
        """The buffered candidates, one list per bucket; empties the buffer."""
        lists = self.buffer
        self.buffer, self.size = [[] for _ in range(self.buckets)], 0
        return lists

    def _flush(self) -> list:
        """The outputs for the buffered candidates: one spill file's (path, offsets)."""
        return [write_indexed(self.folder, self._take())]

    def finish_bundle(self):
        if self.size:
            for out in self._flush():
                yield in_window(out)


class PickFn(BufferingFn):
    """A bucket (side input: every spill file's (path, offsets)) -> the kept copy of each pair
    of that bucket and the duplicate rejects, sent in batches."""

    FLOW = "deduplicated"

    def process(self, bucket: int, files):
        segments = (read_indexed(path, offsets, bucket) for path, offsets in files)
        yield from self.pick(segments)

    def pick(self, segments):
        # memory: the distinct pairs of one bucket (bounded by `bucket_count`) and one segment,
        # not the copies; a site-wide banner repeated millions of times is one entry
        best: dict[str, tuple] = {}
        for segment in segments:
            for pid, cand in segment:
                old = best.get(pid)
                if old is None:
                    best[pid] = cand
                    continue
                if _order(cand) < _order(old):
                    best[pid], cand = cand, old
                self.rejects.append(self.drop(cand, Reason.DUPLICATE_PAIR))
                yield from self.flush_full()
        items = list(best.items())
        for start in range(0, len(items), BATCH):  # whole batches: no call per pair
            self.kept.extend(items[start : start + BATCH])
            yield from self.flush_full()


class ShuffleBucketFn(BucketFn):
    """The shuffle exchange: batches of candidates -> (bucket, packed [(pair_id, candidate),
    ...]), each worker's candidates of a bucket sent as one list (up to `FLUSH` buffered), so
    the GroupByKey pays per list, not per candidate (`elements.pack`)."""

    def __init__(self, buckets: int):
        super().__init__(buckets, folder="")
        self.flush = FLUSH

    def _flush(self) -> list:
        return [(bucket, pack(pairs)) for bucket, pairs in enumerate(self._take()) if pairs]


class ShufflePickFn(PickFn):
    """(bucket, its packed lists from the GroupByKey) -> as `PickFn`."""

    def process(self, item):
        yield from self.pick(map(unpack, item[1]))


class DedupPairs(beam.PTransform):
    """candidates -> (batches of (pair_id, candidate) distinct by (url, text), rejects, stats),
    grouped through `exchange` (`pipeline.curate.exchange`)."""

    def __init__(self, input_bytes: int, exchange):
        super().__init__()
        self.buckets, self.exchange = bucket_count(input_bytes), exchange

    def expand(self, pairs):
        items, pick, side = self.exchange.buckets(pairs, self.buckets)
        return apply_stage(items, "Pick", pick, *side)
