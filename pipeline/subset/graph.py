"""The Beam job of `pipeline subset`: match, plan, write.

`build(p, tars, keep, out, shard_size, seed, summary_path)` adds to pipeline `p`:
1. `ScanTarFn`: source tar path -> (id, SampleRef) for each id of the keep list's kind
   (`key`, `pair_id`, `uid`, or all three for `any`); no image bytes;
2. the keep ids, read on a worker (`keep.read_ids`), in a CoGroupByKey with the refs -> the
   matched refs (one per sample, however many of its ids were listed) and a count of keep ids
   that match no sample;
3. `order.AssignShards`: the (small) matched refs ordered (source tar, position; or a keyed
   blake2b of the seed and the sample when `seed` is set) and cut into shards of
   `shard_size`, group by group, never as one list;
4. `WriteShardFn` per shard (`shards.write_subset_shard`); image bytes never cross a shuffle;
5. the counts (`requested`, `matched_ids`, `missing_ids`, `kept`) as JSON at `summary_path`.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.subset.keep import ID_KINDS, read_ids
from pipeline.subset.order import AssignShards
from pipeline.subset.shards import scan_tar, write_subset_shard
from runtime import storage
from runtime.engines import finish, widen


class ScanTarFn(beam.DoFn):
    """tar path -> (id, SampleRef) for the id kinds in `kinds`."""

    def __init__(self, kinds: tuple[str, ...]):
        self.kinds = kinds

    def process(self, path: str):
        for ref in scan_tar(path):
            for kind in self.kinds:
                if kind in ref.ids:
                    yield ref.ids[kind], ref


def _match(element):
    """(id, {refs, keep}) -> ("ref", SampleRef) | ("matched_ids" or "missing_ids", 1)."""
    _, groups = element
    refs, wanted = list(groups["refs"]), list(groups["keep"])
    if not wanted:
        return
    yield ("matched_ids", 1) if refs else ("missing_ids", 1)
    for ref in refs:
        yield "ref", ref


class WriteShardFn(beam.DoFn):
    def __init__(self, out: str, shard_size: int):
        self.out, self.shard_size = out, shard_size

    def process(self, element):
        sid, refs = element
        yield write_subset_shard(self.out, sid, refs, self.shard_size)


def _summary(counts: list[tuple[str, int]]) -> dict:
    """`requested`: distinct ids in the keep list, each `matched_ids` or `missing_ids`."""
    out = {"matched_ids": 0, "missing_ids": 0, "kept": 0}
    for name, n in counts:
        out[name] = out.get(name, 0) + n
    return {"requested": out["matched_ids"] + out["missing_ids"], **out}


def build(p, tars: list[str], keep, out: str, shard_size: int, seed: int | None,
          summary_path: str) -> None:  # fmt: skip
    kinds = ID_KINDS if keep.kind == "any" else (keep.kind,)
    scanned = p | "Tars" >> beam.Create(tars) | "ScanTars" >> beam.ParDo(ScanTarFn(kinds))
    wanted = (
        p
        | "KeepList" >> beam.Create([keep])
        | "ReadKeepIds" >> beam.FlatMap(read_ids)
        | "KeyIds" >> beam.Map(lambda i: (i, None))
    )
    matched = (
        {"refs": widen(scanned, "SpreadRefs"), "keep": wanted}
        | "Join" >> beam.CoGroupByKey()
        | "Match" >> beam.FlatMap(_match)
    )
    refs = matched | "Refs" >> beam.FlatMap(lambda kv: [kv[1]] if kv[0] == "ref" else [])
    plan = refs | "AssignShards" >> AssignShards(shard_size, seed)
    stats = plan | "WriteShards" >> beam.ParDo(WriteShardFn(out, shard_size))
    counts = (
        (
            matched | "Counts" >> beam.Filter(lambda kv: kv[0] != "ref"),
            stats | "Kept" >> beam.Map(lambda st: ("kept", st["successes"])),
        )
        | "AllCounts" >> beam.Flatten()
        | "CountList" >> beam.combiners.ToList()
        | "Summary" >> beam.Map(_summary)
        | "WriteSummary" >> beam.Map(lambda s: storage.write_json(summary_path, s) or s)
    )
    finish([counts])
