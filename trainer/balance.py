"""Balancing in the loader (MetaCLIP 2): every epoch draws a fresh balanced sample of the pool.

The pool is every `success` row of the per-shard parquets beside the tars of a SPEC (column
`queries`: the sample's matched entries; no tar is opened). A sample matching entries
q1..qk is drawn with probability `1 - prod(1 - min(1, t / count(qi)))` (with one entry,
`min(1, t / count)`); a sample with no entries (a foreign table's rows) is always drawn, since
no entry of it can be over-represented. `count(q)` is curate's `queries_counts.parquet`
`matches` column when given (entries it lacks fall back to the pool's count), else the number
of pool samples matching q.

The draw of epoch E keeps a sample when `u < p`, where u is a keyed blake2b of (seed, E,
the sample's pair id) read as a fraction in [0, 1). The pair id is curate's (`pair_id(url,
caption)`); the key stands in for a row without a caption. So a draw depends on nothing but
the pool, t, the counts, the seed and the epoch: not on resume points, ranks or data workers.
Epoch E's draw is written to `DIR/balance/epoch_EEEE.parquet` (`key`, `queries`, `shard`:
the tar it lives in; sorted by key, then shard) and its per-entry numbers to
`epoch_EEEE_counts.parquet` (`query`, `matches`: the count the rule used, `kept`: samples
drawn that match it, `expected`: their expected number).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.layout import pair_id, tmp_name
from trainer import remote

log = logging.getLogger(__name__)
BALANCE_DIR = "balance"
DRAW_KEY = b"openwit-balance-draw-v1"
_SCALE = float(2**64)


def shard_parquet_of(tar_url: str) -> str:
    """`.../00042.tar` -> `.../00042.parquet` (download's per-shard table)."""
    if not tar_url.endswith(".tar"):
        raise ValueError(f"--balance-t needs shard tars named NNNNN.tar, not {tar_url!r}")
    return tar_url[: -len(".tar")] + ".parquet"


@dataclass
class Pool:
    """The pool's success rows, one list entry per sample (all lists the same length)."""

    shards: list[str]  # the tar url each sample lives in
    keys: list[str]
    ids: list[str]  # pair id, or the key where the row has no caption
    queries: list[list[str]]


def read_pool(tar_urls: list[str]) -> Pool:
    """The success rows of every tar's per-shard parquet. A missing parquet is a ValueError."""
    pool = Pool([], [], [], [])
    for url in tar_urls:
        path = shard_parquet_of(url)
        if not remote.exists(path):
            raise ValueError(f"--balance-t: {path} is missing (the per-shard table of {url})")
        table = pq.read_table(pa.BufferReader(remote.read_bytes(path)))
        table = table.filter(pc.equal(table["status"], "success"))
        keys = table["key"].to_pylist()  # column by column: no dict per row
        nothing = [None] * len(keys)
        links, captions, queries = (
            table[c].to_pylist() if c in table.column_names else nothing
            for c in ("url", "caption", "queries")
        )
        pool.shards += [url] * len(keys)
        pool.keys += keys
        pool.ids += [
            key if caption is None else pair_id(link or "", caption)
            for key, link, caption in zip(keys, links, captions)
        ]
        pool.queries += [qs or [] for qs in queries]
    if not any(pool.queries):
        raise ValueError(
            "--balance-t: no sample of the pool has matched entries (per-shard parquet column "
            "`queries`); balancing needs shards downloaded from a curate manifest"
        )
    return pool


def pool_counts(pool: Pool) -> dict[str, int]:
    """Samples of the pool matching each entry."""
    return dict(Counter(q for qs in pool.queries for q in qs))


def read_counts(path: str) -> dict[str, int]:
    """`query` -> `matches` from curate's `queries_counts.parquet`."""
    table = pq.read_table(path, columns=["query", "matches"])
    return dict(zip(table["query"].to_pylist(), table["matches"].to_pylist()))


def keep_probabilities(queries: list[list[str]], counts: dict[str, int], t: float) -> np.ndarray:
    """Per sample, `1 - prod(1 - min(1, t / count(q)))` over its entries; 1.0 with none."""
    out = np.ones(len(queries), dtype=np.float64)
    for i, entries in enumerate(queries):
        if entries:
            miss = 1.0
            for q in entries:
                miss *= 1.0 - min(1.0, t / max(counts[q], 1))
            out[i] = 1.0 - miss
    return out


def draw_fractions(seed: int, epoch: int, ids: list[str]) -> np.ndarray:
    """u in [0, 1) per id: keyed blake2b of (seed, epoch, id), its 8 bytes as a fraction."""
    prefix = f"{seed}\x00{epoch}\x00".encode()
    out = np.empty(len(ids), dtype=np.float64)
    for i, ident in enumerate(ids):
        digest = hashlib.blake2b(prefix + ident.encode(), key=DRAW_KEY, digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big") / _SCALE
    return out


class BalancePlan:
    """The pool with each sample's keep probability; `draw(epoch)` is the epoch's mask."""

    def __init__(self, pool: Pool, counts: dict[str, int], t: float, seed: int):
        missing = {q for qs in pool.queries for q in qs} - set(counts)
        if missing:
            log.warning(
                "%d entries lack a count in the counts file; using the pool's", len(missing)
            )
            own = pool_counts(pool)
            counts = {**counts, **{q: own[q] for q in missing}}
        self.pool, self.counts, self.t, self.seed = pool, counts, t, seed
        self.p = keep_probabilities(pool.queries, counts, t)

    @classmethod
    def build(cls, tar_urls: list[str], t: float, seed: int, counts_file: str | None = None):
        pool = read_pool(tar_urls)
        counts = read_counts(counts_file) if counts_file else pool_counts(pool)
        plan = cls(pool, counts, t, seed)
        log.info(
            "balance: pool %d samples, t=%g, expected draw %.0f per epoch",
            len(pool.keys),
            t,
            plan.p.sum(),
        )
        return plan

    def draw(self, epoch: int) -> np.ndarray:
        """Boolean mask over the pool: the samples drawn in `epoch`."""
        return draw_fractions(self.seed, epoch, self.pool.ids) < self.p

    def keep_map(self, mask: np.ndarray) -> dict[str, frozenset[str]]:
        """{tar url: keys drawn from it}: all a data worker needs to filter."""
        by_shard: dict[str, set[str]] = {}
        for i in np.flatnonzero(mask):
            by_shard.setdefault(self.pool.shards[i], set()).add(self.pool.keys[i])
        return {url: frozenset(keys) for url, keys in by_shard.items()}

    def entry_table(self, mask: np.ndarray) -> pa.Table:
        """Per entry: the count the rule used, samples drawn, expected samples drawn."""
        kept, expected = Counter(), Counter()
        for entries, p, hit in zip(self.pool.queries, self.p, mask):
            for q in entries:
                kept[q] += int(hit)
                expected[q] += float(p)
        names = sorted(expected)
        return pa.table(
            {
                "query": pa.array(names, pa.string()),
                "matches": pa.array([self.counts[q] for q in names], pa.int64()),
                "kept": pa.array([kept[q] for q in names], pa.int64()),
                "expected": pa.array([expected[q] for q in names], pa.float64()),
            }
        )

    def draw_table(self, mask: np.ndarray) -> pa.Table:
        rows = sorted(
            (self.pool.keys[i], self.pool.shards[i], self.pool.queries[i])
            for i in np.flatnonzero(mask)
        )
        return pa.table(
            {
                "key": pa.array([r[0] for r in rows], pa.string()),
                "queries": pa.array([r[2] for r in rows], pa.list_(pa.string())),
                "shard": pa.array([r[1] for r in rows], pa.string()),
            }
        )

    def write(self, output: str, epoch: int, mask: np.ndarray) -> str:
        """Write epoch `epoch`'s draw and per-entry counts under `output/balance/`."""
        folder = os.path.join(output, BALANCE_DIR)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"epoch_{epoch:04d}.parquet")
        for table, target in (
            (self.draw_table(mask), path),
            (self.entry_table(mask), os.path.join(folder, f"epoch_{epoch:04d}_counts.parquet")),
        ):
            tmp = tmp_name(target, str(os.getpid()))
            pq.write_table(table, tmp)
            os.replace(tmp, target)  # a reader never sees half a file
        return path


@dataclass(frozen=True)
class EpochSteps:
    """Optimizer steps per epoch (one pass over each epoch's draw) and the step <-> epoch map."""

    steps: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.steps)

    def start(self, epoch: int) -> int:
        return sum(self.steps[:epoch])

    def epoch_of(self, step: int) -> int:
        """The epoch optimizer step `step` (0-based) belongs to; the last one past the end."""
        for epoch, n in enumerate(self.steps):
            if step < n:
                return epoch
            step -= n
        return len(self.steps) - 1


def epoch_steps(plan: BalancePlan, epochs: int, step_samples: int) -> EpochSteps:
    """Steps of each epoch: its draw's size // samples per optimizer step (all ranks)."""
    steps = []
    for epoch in range(epochs):
        size = int(plan.draw(epoch).sum())
        if size < step_samples:
            raise ValueError(
                f"--balance-t: epoch {epoch} draws {size} samples, fewer than one optimizer "
                f"step of {step_samples}; raise --balance-t or lower --batch-size"
            )
        steps.append(size // step_samples)
    return EpochSteps(tuple(steps))
