"""Match stage: which query-list entries a pair's text contains (`queries.matcher`).

`MatchQueries` (PTransform): batches (lists) of `(pair_id, candidate)` in; batches of
`(pair_id, candidate, queries)` out with `queries` the sorted tuple of matched entries (fused
with dedup's pick before it and the balance step's spill writer after it: the pairs stay in
the worker).
Rejects (batches; stage `match`, tagged `rejects`): `no_match`. The query list is read through
`runtime.storage` (local, s3://, gs://) and the
matcher built once per worker process (`Shared`), never pickled with the DoFn. A folder of
per-language lists (`lists.QuerySource`) is matched as their union (`queries.lists.UnionMatcher`):
`queries` then holds every language's matches, qualified (`"de:hund"`); the language stage keeps
the detected language's.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.curate.counting import (
    BATCH,
    BufferingFn,
    apply_stage,
    outputs_in_window,
    settle_gc,
)
from pipeline.curate.lists import QuerySource
from pipeline.curate.worldwide import qualified_matches
from queries.lists import UnionMatcher
from queries.matcher import QueryMatcher
from schemas.vocab import Reason

MATCH_TEXTS = 4096  # pairs per match_batch call


__all__ = ["MatchQueries"]


class _Matcher:
    def __init__(self, path: str, languages: tuple[str, ...]):
        source = QuerySource.open(path, languages)
        if source.worldwide:
            union = UnionMatcher(source.lists)
            self.match_batch = lambda texts: [
                qualified_matches(m) for m in union.match_batch(texts)
            ]
        else:
            self.match_batch = QueryMatcher(source.entries).match_batch


class MatchFn(BufferingFn):
    """Buffers up to `MATCH_TEXTS` pairs per `match_batch` call (the column-wise matcher's
    per-call costs amortised: ~7 us/text at 500 texts per call, ~4.3 at 8,192 on a 500k-entry
    list, bench/RESULTS.md `matching`); sends batches of at most `BATCH`."""

    FLOW = "matched"

    def __init__(self, queries_path: str, queries_hash: str, languages: tuple[str, ...] = ("en",)):
        self.queries_path, self.queries_hash = queries_path, queries_hash
        self.languages = tuple(languages)
        self._shared = shared.Shared()

    def setup(self):
        path, langs = self.queries_path, self.languages
        tag = f"q:{self.queries_hash}:{','.join(langs)}"
        holder = self._shared.acquire(lambda: _Matcher(path, langs), tag=tag)
        self.match_batch = holder.match_batch
        settle_gc()

    def start_bundle(self):
        super().start_bundle()
        self.pending = []

    def process(self, batch: list):
        self.pending.extend(batch)
        if len(self.pending) >= MATCH_TEXTS:
            yield from self._match()

    def finish_bundle(self):
        yield from outputs_in_window(self._match())
        yield from super().finish_bundle()

    def _match(self) -> list:
        pending, self.pending = self.pending, []
        found_all = self.match_batch([cand.text for _, cand in pending])
        out = []
        for start in range(0, len(pending), BATCH):
            for (pid, cand), found in zip(
                pending[start : start + BATCH], found_all[start : start + BATCH]
            ):
                if found:
                    self.kept.append((pid, cand, tuple(found)))
                else:
                    self.rejects.append(self.drop(cand, Reason.NO_MATCH))
            out.extend(self._flush())
        return out


class MatchQueries(beam.PTransform):
    """batches of (pair_id, candidate) -> (batches of (pair_id, candidate, queries), rejects,
    stats)."""

    def __init__(self, queries_path: str, queries_hash: str, languages: tuple[str, ...] = ("en",)):
        super().__init__()
        self.queries_path, self.queries_hash = queries_path, queries_hash
        self.languages = tuple(languages)

    def expand(self, pairs):
        fn = MatchFn(self.queries_path, self.queries_hash, self.languages)
        return apply_stage(pairs, "Match", fn)
