"""Download's dedup as Beam transforms: the plan of `dedup.plan`, computed by the workers.

`PlanDedup(t, exclude)`: PCollection[entry] -> one-element PCollection[{key: (sid,
status, error_message)}] (no element when nothing is removed). An entry is a hash
sidecar row plus its shard: {`key`, `sha256`, `phash` (16 hex digits), `sid`}.

The graph (each step a transform that scales with workers; only the last is global):
1. entries near an `--exclude-images` hash become `excluded` (the eval hashes are few:
   each worker holds their band index);
2. the others, grouped by sha256 and by perceptual hash: each group links its members
   to its smallest key (exact edges);
3. one representative per distinct perceptual hash, grouped by each of the t+1 bands
   (`dedup.bands`): pairs in a bucket within Hamming distance t are linked (near edges;
   by pigeonhole every such pair shares a band);
4. one combine unions every edge (union-find, smallest key the root) and names each
   non-root's decision exactly as `dedup.plan` does, exclusions added.
The components are those of `dedup.plan` (same edges up to which member links a group),
so the removals are equal; tests compare both on the same entries.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.download.dedup import BandIndex, UnionFind, bands
from runtime.engines import widen, with_outputs
from schemas.vocab import DownloadReason, Status


class MarkExcludedFn(beam.DoFn):
    """entry -> main `(key, sha256, sid)` node with its hash, or `excluded` record
    `(key, (sid, status, message))` when near an exclusion hash."""

    def __init__(self, t: int, exclude: list[int]):
        self.t, self.exclude = t, list(exclude)
        self.index = None

    def setup(self):
        self.index = BandIndex(self.t)
        for h in set(self.exclude):  # same insertion order as dedup.plan: same first hit
            self.index.add(h)

    def process(self, e):
        h = int(e["phash"], 16)
        hit = next(self.index.near(h), None) if self.exclude else None
        if hit is None:
            yield (e["key"], e["sha256"], e["sid"]), h
            return
        message = f"{DownloadReason.EVAL_OVERLAP}: hamming {(h ^ hit).bit_count()}"
        yield beam.pvalue.TaggedOutput("excluded", (e["key"], (e["sid"], Status.EXCLUDED, message)))


def _star_edges(kv):
    """(group key, [nodes]) -> (smallest node, other node) for every other member."""
    nodes = sorted(set(kv[1]))
    for node in nodes[1:]:
        yield nodes[0], node


def _band_keys(rep, t: int):
    h, node = rep
    for i, (shift, mask) in enumerate(bands(t)):
        yield (i, (h >> shift) & mask), (h, node)


def _near_edges(kv, t: int):
    """(band bucket, [(phash, node)]) -> (node, node) for pairs within distance t."""
    members = sorted(set(kv[1]))
    for i, (h, node) in enumerate(members):
        for other_h, other in members[i + 1 :]:
            if (h ^ other_h).bit_count() <= t:
                yield node, other


class UnionEdgesFn(beam.CombineFn):
    """Edges `(node, node)` and exclusions `("excluded", key, decision)` -> removals
    {key: (sid, status, message)}: in each connected group the smallest key stays.

    The accumulator is (union-find, {key: node}, exclusions): its size is the number of
    linked samples, not of edges (a dense band bucket yields many edges)."""

    def create_accumulator(self):
        return UnionFind(), {}, {}

    def add_input(self, acc, item):
        uf, nodes, excluded = acc
        if item[0] == "excluded":
            excluded[item[1]] = item[2]
        else:
            a, b = item
            nodes[a[0]], nodes[b[0]] = a, b
            uf.union(a[0], b[0])
        return acc

    def merge_accumulators(self, accs):
        uf, nodes, excluded = self.create_accumulator()
        for other_uf, other_nodes, other_excluded in accs:
            for key, parent in other_uf.parent.items():
                uf.union(key, parent)
            nodes.update(other_nodes)
            excluded.update(other_excluded)
        return uf, nodes, excluded

    def extract_output(self, acc):
        uf, nodes, excluded = acc
        out = dict(excluded)
        for key, (_, sha, sid) in nodes.items():
            root = uf.find(key)
            if root != key:
                reason = (DownloadReason.EXACT_DUPLICATE if nodes[root][1] == sha
                          else DownloadReason.NEAR_DUPLICATE)  # fmt: skip
                out[key] = (sid, Status.DUPLICATE, f"{reason}: of {root}")
        return out


def _keyed(pair, label: str):
    node, h = pair
    return (node[1] if label == "sha" else h), node


class PlanDedup(beam.PTransform):
    """PCollection[entry] -> PCollection[{key: (sid, status, message)}] (0 or 1 element)."""

    def __init__(self, t: int, exclude: list[int] = ()):
        super().__init__()
        self.t, self.exclude = t, list(exclude)

    def expand(self, entries):
        t = self.t
        marked = with_outputs(entries, "MarkExcluded", MarkExcludedFn(t, self.exclude), "kept",
                              ["excluded"])  # fmt: skip
        kept = widen(marked["kept"], "SpreadNodes")
        by_sha = kept | "KeySha" >> beam.Map(_keyed, "sha") | "BySha" >> beam.GroupByKey()
        by_phash = kept | "KeyPhash" >> beam.Map(_keyed, "phash") | "ByPhash" >> beam.GroupByKey()
        reps = by_phash | "Representative" >> beam.Map(lambda kv: (kv[0], min(kv[1])))
        near = (
            reps
            | "BandKeys" >> beam.FlatMap(_band_keys, t)
            | "ByBand" >> beam.GroupByKey()
            | "NearEdges" >> beam.FlatMap(_near_edges, t)
        )
        excluded = marked["excluded"] | "ExcludedItems" >> beam.Map(lambda kv: ("excluded", *kv))
        return (
            (
                by_sha | "ShaEdges" >> beam.FlatMap(_star_edges),
                by_phash | "PhashEdges" >> beam.FlatMap(_star_edges),
                near,
                excluded,
            )
            | "AllEdges" >> beam.Flatten()
            | "Union" >> beam.CombineGlobally(UnionEdgesFn()).without_defaults()
        )
