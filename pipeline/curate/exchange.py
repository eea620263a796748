"""How candidates and matched pairs cross the stage boundaries where they move between workers
or wait: the exchange, chosen once per graph (`exchange_for`, flag `--exchange`).

Three crossings, one method each:
- `spread(batches)`: the read Reshuffle (one gzip file is read by one worker);
- `buckets(pairs, count) -> (items, pick DoFn, side inputs)`: dedup's grouping by bucket of
  the pair id; the pick DoFn gets every item with the side inputs;
- `park(matched)` / `unpark(item)`: balance's wait for the per-query counts over the whole
  input; `unpark` gives back the list a parked item holds.

`SpillExchange(folder)`: through spill files in the job's temporary folder (`spill`), only
references cross (constant memory on the local runners, which hold every crossing
PCollection). `ShuffleExchange()`: through the runner (Dataflow, Spark, Flink stream their
shuffles through a service), batches packed into bytes (`elements.pack`) on the way.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.curate.dedup import BucketFn, PickFn, ShuffleBucketFn, ShufflePickFn
from pipeline.curate.elements import Batch, pack, unpack
from pipeline.curate.spill import LoadFn, SpillFn, read_segment, spill_folder
from runtime.engines import pardo, widen


class SpillExchange:
    """Spill files under `folder/_spill/{read,dedup,matched}/`; refs cross, not candidates."""

    def __init__(self, folder: str):
        self.folder = folder

    def spread(self, batches):
        return (
            batches
            | "Spill" >> beam.ParDo(SpillFn(spill_folder(self.folder, "read")))
            | "Reshuffle" >> beam.Reshuffle()
            | "Load" >> beam.ParDo(LoadFn()).with_output_types(Batch)  # elements.BatchCoder
        )

    def buckets(self, pairs, count: int) -> tuple:
        fn = BucketFn(count, spill_folder(self.folder, "dedup"))
        files = pairs | "PairId" >> beam.ParDo(fn)
        items = pairs.pipeline | "Buckets" >> beam.Create(range(count))
        return items, PickFn(), (beam.pvalue.AsList(files),)

    def park(self, matched):
        return matched | "Spill" >> beam.ParDo(SpillFn(spill_folder(self.folder, "matched")))

    unpark = staticmethod(read_segment)


class ShuffleExchange:
    """Through the runner's shuffles; batches travel packed."""

    def spread(self, batches):
        return (
            batches
            | "Pack" >> beam.Map(pack)
            | "Reshuffle" >> beam.Reshuffle()
            | "Unpack" >> beam.Map(unpack)
        )

    def buckets(self, pairs, count: int) -> tuple:
        keyed = pardo(pairs, "PairId", ShuffleBucketFn(count))
        grouped = widen(keyed, "SpreadBuckets") | "GroupByBucket" >> beam.GroupByKey()
        return grouped, ShufflePickFn(), ()

    def park(self, matched):
        return matched | "Pack" >> beam.Map(pack)

    unpark = staticmethod(unpack)


def exchange_for(spill: bool, folder: str):
    """The exchange of a graph writing into `folder` (`options.spills` decides `spill`)."""
    return SpillExchange(folder) if spill else ShuffleExchange()
