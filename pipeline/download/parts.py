"""Parts of a shard: a shard's rows split over several elements when a job has too few shards
to keep its workers evenly busy.

Beam's FnApiRunner deals the groups of a GroupByKey to its workers once, in turn, with no
stealing: 3 shards on 2 workers leave one worker alone with the third shard while the other
idles. So the launcher may split each shard to do into `n` contiguous parts (`prepare`); each
part is fetched, processed and written by one element as *part files*, then one element per
shard merges them into the shard (`merge`).

Part `k` of `n` of shard `NNNNN` is `shards/NNNNN.part-K-of-N.{rows,hashes,stats,members}`: its
parquet rows, its hash rows, its stats json (a shard's, with `part` and `parts` added) and its
tar members without the end-of-archive, written by `shardio.ShardWriter` (each file atomically,
the members last: a part is complete when all four exist). The names never end like a shard's
final files (`.tar`, `.parquet`, `.json`), so nothing that reads shards sees them; `merge`
deletes them, and `prepare` removes those of complete shards and of other splits.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pipeline.download.shardio import ShardWriter, read_parquet_rows
from pipeline.download.stats import shard_stats
from runtime import storage
from schemas import layout

# Smaller parts cost more (each element's start, and the tail where its fetching threads run
# dry) than they balance.
MIN_PART_ROWS = 64
# A split is even enough when the busiest worker gets at most this much more than the mean.
BALANCE = 1.1
SUFFIXES = {"parquet": "rows", "hashes": "hashes", "stats": "stats", "tar": "members"}
_PART = re.compile(r"^(\d{5,})\.part-(\d+)-of-(\d+)\.(rows|hashes|stats|members)$")


def count(shards: int, workers: int, max_parts: int) -> int:
    """Parts per shard for `shards` equal shards on `workers` workers that are dealt the parts in
    turn: the smallest n <= `max_parts` whose shards * n parts give the busiest worker at most
    `BALANCE` x the mean (an even deal, when shards * n is a multiple of workers), else the most
    even n. 1 when the shards alone are even enough (always so from 10 shards a worker).

    The bench's 3 shards on 2 workers: whole shards give one worker 2 shards, the other 1
    (1.33x the mean); 2 parts each give both workers 3 half shards (1.0x)."""
    if shards < 1 or workers <= 1:
        return 1

    def excess(n: int) -> float:
        return math.ceil(shards * n / workers) * workers / (shards * n)

    best = 1
    for n in range(1, max(1, max_parts) + 1):
        if excess(n) <= BALANCE:
            return n
        if excess(n) < excess(best):
            best = n
    return best


@dataclass(frozen=True)
class Plan:
    """How the rows of a job's shards are split: `split` {shard id: parts} names the shards of
    more than one part (none: every shard is one element, as without parts). Row `index` of
    shard `sid` belongs to part `index * parts // rows of the shard` (contiguous, none empty)."""

    shard_size: int
    total: int
    split: dict[int, int] = field(default_factory=dict)

    def parts_of(self, sid: int) -> int:
        return self.split.get(sid, 1)

    def rows_of(self, sid: int) -> int:
        return min(self.shard_size, self.total - sid * self.shard_size)

    def part_of(self, sid: int, index: int) -> int:
        return index * self.parts_of(sid) // self.rows_of(sid)


def _found(names: list[str]) -> dict[int, int]:
    """{shard id: parts} of the splits whose complete parts (members files) `names` holds, the
    split with the most of them where a shard has several."""
    seen: dict[tuple[int, int], int] = {}
    for name in names:
        m = _PART.match(name)
        if m and m[4] == "members":
            key = (int(m[1]), int(m[3]))
            seen[key] = seen.get(key, 0) + 1
    best: dict[int, int] = {}
    for (sid, n), have in sorted(seen.items()):
        if have > seen.get((sid, best.get(sid, 0)), 0):
            best[sid] = n
    return best


def prepare(out: str, total: int, shard_size: int, done: set[int], workers: int
            ) -> tuple[Plan, list[str]]:  # fmt: skip
    """(the plan of a job on `workers` workers, the part files removed). A shard that has
    complete parts from an earlier run keeps that run's split (its parts are not fetched
    again); the others get `count` parts (fewer when a part would have < MIN_PART_ROWS rows).
    Part files of complete shards (`done`) and of splits not in the plan are removed."""
    sdir = storage.join(out, layout.SHARDS_DIR)
    names = storage.listdir(sdir)
    found = _found(names)
    shards = math.ceil(total / shard_size)
    n = count(shards - len(done), workers, shard_size // MIN_PART_ROWS)
    whole, split = Plan(shard_size, total), {}
    if n > 1 or found:  # else no shard is split: no need to look at each
        for sid in set(range(shards)) - done:
            split[sid] = found.get(sid) or min(n, whole.rows_of(sid) // MIN_PART_ROWS)
    plan = Plan(shard_size, total, {sid: k for sid, k in split.items() if k > 1})
    stale = [name for name in names if (m := _PART.match(name))
             and plan.split.get(int(m[1])) != int(m[3])]  # fmt: skip
    storage.delete([storage.join(sdir, name) for name in stale])
    return plan, stale


def part_paths(out: str, sid: int, part: int, parts: int) -> dict[str, str]:
    """The files of part `part` of `parts` of shard `sid`, keyed as `shardio.paths`."""
    base = f"{layout.shard_name(sid)}.part-{part}-of-{parts}"
    sdir = storage.join(out, layout.SHARDS_DIR)
    return {kind: storage.join(sdir, f"{base}.{suffix}") for kind, suffix in SUFFIXES.items()}


def part_writer(out: str, sid: int, part: int, parts: int) -> ShardWriter:
    """A `ShardWriter` of part files: `commit` writes them all, the members last."""
    return ShardWriter(out, sid, part_paths(out, sid, part, parts), trailer=False)


def is_complete(out: str, sid: int, part: int, parts: int) -> bool:
    return all(storage.exists(p) for p in part_paths(out, sid, part, parts).values())


def read_stats(out: str, sid: int, part: int, parts: int) -> dict:
    return storage.read_json(part_paths(out, sid, part, parts)["stats"])


def reusable(out: str, sid: int, part: int, parts: int, config: dict) -> bool:
    """Whether that part is complete and was written with the shard flags `config`
    (`options.shard_config`): a rerun takes it as it is."""
    if not is_complete(out, sid, part, parts):
        return False
    return read_stats(out, sid, part, parts).get("shard_config") == config


def merge(out: str, sid: int, parts: int) -> dict:
    """Write shard `sid` from its `parts` complete parts (see the module doc); its stats.
    Raises RuntimeError, writing nothing, when a part is missing."""
    files = [part_paths(out, sid, k, parts) for k in range(parts)]
    missing = [k for k in range(parts) if not is_complete(out, sid, k, parts)]
    if missing:
        raise RuntimeError(f"shard {sid}: parts {missing} of {parts} missing")
    rows, hashes, each = [], [], []
    with ShardWriter(out, sid) as writer:
        for f in files:
            rows += read_parquet_rows(f["parquet"])
            hashes += read_parquet_rows(f["hashes"])
            each.append(storage.read_json(f["stats"]))
            with storage.open_read(f["tar"]) as members:
                writer.copy_members(members)
        stats = shard_stats(layout.shard_name(sid), rows, min(s["start_time"] for s in each),
                            max(s["end_time"] for s in each),
                            sum(s["bytes_downloaded"] for s in each),
                            sum(s["bytes_written"] for s in each))  # fmt: skip
        stats["shard_config"] = each[0]["shard_config"]
        writer.commit(rows, stats, hashes)
    storage.delete([path for f in files for path in f.values()])
    return stats
