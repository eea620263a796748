"""Count and balance stage: matches per query over the whole input, then per-query sampling.

`BalancePairs(mode, t, seed, exchange)` (PTransform): batches (lists) of
`(pair_id, candidate, queries)` in; returns `(manifest rows, rejects, stats)`: batches of
manifest rows, tuples in `schemas.ManifestRow` field order; batches of `balanced_out` rejects;
stats are partial counts (`counting`), with
(("match", query), matches) from per-bundle partial counts summed by a CombineFn (Beam lifts
it: partial counts are combined before the shuffle) and ("kept", query) per kept row.

The decision needs the counts over the whole input (a side input), so the matched pairs must
wait until every pair has been counted: the graph's exchange parks them (`exchange.park`).
With spill files they wait on disk, not in the runner (`spill`): the
stage that matches writes them to spill files under `folder/_spill/matched/` (`SpillFn`) and
sends only the refs; the counting (and for `exact` the draws, through a lifted top-t combine:
at most t draws per query per bundle) runs fused in that same stage, so the matched pairs
themselves never cross a stage boundary. `BalanceFn` reads one spill file at a time and its
rows go to the writers fused behind it. With the shuffle exchange (runners with a shuffle
service) the matched batches wait in the runner, packed, as any PCollection does there.

Every draw is `draw(seed, query, pair_id)`, a keyed blake2b mapped to [0, 1): the same input
and seed give the same manifest on any runner, worker count or bundle retry.

- `rule` (MetaCLIP): entry q is "hit" when draw < min(1, t / count(q)); a pair is kept when any
  of its entries is hit, i.e. with probability 1 - prod(1 - p_q), draws independent per entry.
- `exact`: each entry selects the t pairs with the smallest (draw, pair_id); a pair is kept when
  any of its entries selects it. No entry selects more than t pairs (a kept pair also counts
  toward its other entries' `kept`, as in the rule).
- `none`: every matched pair is kept.

Worldwide (`worldwide=True`, a folder of per-language lists): entries arrive qualified by
language (`worldwide.qualify`); each language has its own t (`worldwide.language_thresholds`,
from English's t and the per-entry counts, computed once per worker from the side input), and
the rule uses the t of each entry's language. Manifest rows carry the plain entries. `exact` is
refused there (its top-t combine would need each language's t before the counts exist).
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from itertools import chain
from operator import itemgetter

import apache_beam as beam

from pipeline.curate.counting import BATCH, CountingFn, apply_stage, in_window
from pipeline.curate.elements import Candidate
from pipeline.curate.worldwide import by_language, language_thresholds, plain, split
from runtime.engines import broadcast_join, is_dask, pardo, partitions
from schemas.vocab import Reason

_SCALE = float(1 << 64)


@functools.cache
def _keyed(seed: int):
    """The blake2b state keyed for `seed` (copied per draw: ~0.4 us against ~0.65 for a new
    keyed hasher)."""
    return hashlib.blake2b(key=f"openwit-balance-v1:{seed}".encode(), digest_size=8)


def draw(seed: int, query: str, pid: str) -> float:
    """A uniform number in [0, 1), a pure function of (seed, query, pair id)."""
    h = _keyed(seed).copy()
    h.update(query.encode("utf-8", "surrogatepass") + b"\x00" + pid.encode())
    return int.from_bytes(h.digest(), "big") / _SCALE


# The rule: entry q is hit when draw < min(1, t / count(q)). An entry with at most t pairs is
# hit by every pair (p = 1), so no draw is made for it (most entries: the draws were most of
# the stage's cost). The one difference from drawing: a 64-bit draw within 2^-53 of 1 rounds
# to the float 1.0, which compared against 1.0 dropped the pair (odds ~1e-16 per draw).


def keep_rule(seed: int, t: int, pid: str, queries, counts) -> bool:
    # the rule is an OR over the entries and draws are pure: an entry kept without a draw
    # decides first, so a pair that also matched a common word (count over t) draws nothing
    for q in queries:
        if counts[q] <= t:
            return True
    return any(draw(seed, q, pid) < t / counts[q] for q in queries)


def keep_rule_by_language(seed: int, ts: dict, pid: str, queries, counts) -> bool:
    """The rule with the t of each (qualified) entry's language."""
    for q in queries:
        t, n = ts[split(q)[0]], counts[q]
        if n <= t or draw(seed, q, pid) < t / n:
            return True
    return False


def thresholds(counts, t: int) -> dict[str, int]:
    """{language: t} for qualified per-entry counts (a side input's mapping)."""
    return language_thresholds(by_language(dict(counts)), t)[0]


def keep_exact(seed: int, pid: str, queries, thresholds) -> bool:
    """`thresholds[q]`: the largest selected (draw, pair_id) of an entry with more than t pairs."""
    for q in queries:
        limit = thresholds.get(q)
        if limit is None or (draw(seed, q, pid), pid) <= tuple(limit):
            return True
    return False


def manifest_row(pid: str, cand: Candidate, queries: tuple) -> tuple:
    url, text, source, page, input_file = cand
    return (pid, url, text, source, page, list(queries), input_file)


class BalanceFn(CountingFn):
    """A parked item of matched pairs (`load` gives back their list) -> batches of manifest
    rows and of `balanced_out` rejects."""

    FLOW = "kept"

    def __init__(self, mode: str, t: int, seed: int, load, worldwide: bool = False):
        self.mode, self.t, self.seed, self.load = mode, t, seed, load
        self.worldwide, self.ts = worldwide, None

    def process(self, item, side):
        matched = self.load(item)
        for i in range(0, len(matched), BATCH):
            yield from self.decide(matched[i : i + BATCH], side)

    def decide(self, batch: list, side):
        rows, rejects, kept_entries = [], [], []
        if self.worldwide and self.ts is None:  # the same counts, so the same t, everywhere
            self.ts = thresholds(side, self.t)
        for pid, cand, queries in batch:
            if self.mode == "rule" and self.worldwide:
                kept = keep_rule_by_language(self.seed, self.ts, pid, queries, side)
            elif self.mode == "rule":
                kept = keep_rule(self.seed, self.t, pid, queries, side)
            elif self.mode == "exact":
                kept = keep_exact(self.seed, pid, queries, side)
            else:
                kept = True
            if self.worldwide:  # pairs per language, in and kept (stats.json `worldwide`)
                lang = split(queries[0])[0]
                self.counts["lang_in", lang] += 1
                self.counts["lang_kept", lang] += int(bool(kept))
            if kept:
                kept_entries.extend(queries)
                rows.append(manifest_row(pid, cand, plain(queries) if self.worldwide else queries))
            else:
                rejects.append(self.drop(cand, Reason.BALANCED_OUT))
        for q, n in Counter(kept_entries).items():  # a count key per entry and batch, not pair
            self.counts["kept", q] += n
        return self.emit(rows, rejects)


class GroupBalanceFn(BalanceFn):
    """(the side table as a dict, [parked items]) -> as `BalanceFn` for each item (the graph
    on Beam's Dask runner, `runtime.engines.broadcast_join`)."""

    def process(self, group):
        table, items = group
        for item in items:
            yield from super().process(item, table)


def _draws(seed: int):
    def fn(batch):
        return [(q, (draw(seed, q, pid), pid)) for pid, _, queries in batch for q in queries]

    return fn


class EntryCountsFn(beam.DoFn):
    """Batches of matched pairs -> (query, matches) partial counts, one per query per bundle
    (an element per matched entry cost more than the counting itself)."""

    def start_bundle(self):
        self.counts = Counter()

    def process(self, batch: list):
        # one update per batch: Counter.update checks its argument's type (an ABC check) per call
        self.counts.update(chain.from_iterable(map(itemgetter(2), batch)))

    def finish_bundle(self):
        for kv in self.counts.items():
            yield in_window(kv)


class BalancePairs(beam.PTransform):
    """matched pairs -> (manifest rows, balanced_out rejects, stats incl. matches per query)."""

    def __init__(self, mode: str, t: int, seed: int, exchange, worldwide: bool = False):
        super().__init__()
        self.mode, self.t, self.seed, self.exchange = mode, t, seed, exchange
        self.worldwide = worldwide

    def expand(self, matched):
        waiting = self.exchange.park(matched)  # until the counts are complete
        entries = pardo(matched, "Entries", EntryCountsFn())
        counts = entries | "CountPerQuery" >> beam.CombinePerKey(sum)
        side = counts
        if self.mode == "exact":
            t = self.t
            side = (
                matched
                | "Draws" >> beam.FlatMap(_draws(self.seed))
                | "SmallestT" >> beam.combiners.Top.SmallestPerKey(t)
                | "OverT" >> beam.Filter(lambda kv: len(kv[1]) >= t)
                | "Threshold" >> beam.Map(lambda kv: (kv[0], max(kv[1])))
            )
        args = (self.mode, self.t, self.seed, self.exchange.unpark, self.worldwide)
        if is_dask(matched.pipeline):  # its side inputs recompute their upstream per task
            slots = 4 * partitions(matched.pipeline)
            groups = broadcast_join(waiting, side, "Broadcast", slots)
            rows, rejects, stats = apply_stage(
                groups, "Balance", GroupBalanceFn(*args), main="rows"
            )
        else:
            fn = BalanceFn(*args)
            rows, rejects, stats = apply_stage(
                waiting, "Balance", fn, beam.pvalue.AsDict(side), main="rows"
            )
        matches = counts | "MatchStats" >> beam.Map(lambda kv: (("match", kv[0]), kv[1]))
        return rows, rejects, (stats, matches) | "BalanceStats" >> beam.Flatten()
