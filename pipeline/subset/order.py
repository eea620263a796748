"""The order of a subset's samples and their cut into shards, without one list of them all.

The output order is `order_key`: the source shard then the position in it, or (with a seed) a
keyed blake2b of the seed, the source and the key. `plan_shards` states it on a list (the
contract, used by tests); `AssignShards` computes the same on Beam: the refs are grouped by
`group_of` (the source shard, or the first `BUCKET_HEX` hex digits of the hash, which the
order begins with, so groups follow each other in the output order), each group is sorted on
its own worker, the group sizes (one number a group) give each group's first position (joined
back by group), and every ref goes to shard `position // shard_size`. A sample listed under
several of its ids appears once.

In: `SampleRef`s. Out: (shard id, [SampleRef in output order]), shards of `shard_size` but
the last.
"""

from __future__ import annotations

import hashlib

import apache_beam as beam

from pipeline.subset.shards import SampleRef
from runtime import storage
from runtime.engines import widen

BUCKET_HEX = 3  # up to 4096 groups when shuffling


def order_key(ref: SampleRef, seed: int | None) -> tuple:
    if seed is None:
        return (storage.basename(ref.src), ref.src, ref.index)
    digest = hashlib.blake2b(f"{seed}\x00{ref.src}\x00{ref.key}".encode(), digest_size=8)
    return (digest.hexdigest(), ref.src, ref.index)


def group_of(ref: SampleRef, seed: int | None) -> tuple:
    key = order_key(ref, seed)
    return key[:2] if seed is None else (key[0][:BUCKET_HEX],)


def plan_shards(refs: list[SampleRef], shard_size: int, seed: int | None):
    """The distinct refs in output order, as (shard id, [refs]) of `shard_size` each."""
    unique = {(r.src, r.key): r for r in refs}
    ordered = sorted(unique.values(), key=lambda r: order_key(r, seed))
    for sid, start in enumerate(range(0, len(ordered), shard_size)):
        yield sid, ordered[start : start + shard_size]


def _sorted_group(element, seed):
    group, refs = element
    unique = {(r.src, r.key): r for r in refs}
    return group, sorted(unique.values(), key=lambda r: order_key(r, seed))


def _first_positions(sizes: list[tuple[tuple, int]]) -> dict:
    out, start = {}, 0
    for group, n in sorted(sizes):
        out[group] = start
        start += n
    return out


def _assign(element, shard_size: int):
    """(group, {"refs": [sorted refs], "start": [first position]}) -> (shard, (position, ref))."""
    _, parts = element
    (refs,), (start,) = list(parts["refs"]), list(parts["start"])
    for i, ref in enumerate(refs):
        yield (start + i) // shard_size, (start + i, ref)


def _in_order(element):
    sid, items = element
    return sid, [ref for _, ref in sorted(items, key=lambda item: item[0])]


class AssignShards(beam.PTransform):
    def __init__(self, shard_size: int, seed: int | None):
        super().__init__()
        self.shard_size, self.seed = shard_size, seed

    def expand(self, refs):
        seed = self.seed
        keyed = refs | "ByGroup" >> beam.Map(lambda r: (group_of(r, seed), r))
        groups = (
            widen(keyed, "SpreadGroups")
            | "Group" >> beam.GroupByKey()
            | "SortGroup" >> beam.Map(_sorted_group, seed)
        )
        # each group's first position reaches it through a join, not a side input (Beam's
        # Dask runner recomputes side inputs per partition)
        starts = (
            groups
            | "GroupSize" >> beam.Map(lambda g: (g[0], len(g[1])))
            | "Sizes" >> beam.combiners.ToList()
            | "Starts" >> beam.FlatMap(lambda sizes: _first_positions(sizes).items())
        )
        assigned = (
            {"refs": groups, "start": starts}
            | "JoinStarts" >> beam.CoGroupByKey()
            | "Assign" >> beam.FlatMap(_assign, self.shard_size)
        )
        return (
            widen(assigned, "SpreadShards")
            | "ByShard" >> beam.GroupByKey()
            | "InOrder" >> beam.Map(_in_order)
        )
