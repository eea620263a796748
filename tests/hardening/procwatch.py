"""Sample a process tree's memory (PSS), open file descriptors and threads from /proc (Linux).

`TreeSampler(pid, every)` is a thread: every `every` seconds it sums, over `pid` and all its
descendants, the PSS of `/proc/P/smaps_rollup`, the entries of `/proc/P/fd` and the `Threads:`
of `/proc/P/status`, and appends `(time, pss_bytes, fds, threads)` to `samples`. Processes that
end between listing and reading are skipped (the tree changes while it runs).
"""

from __future__ import annotations

import os
import threading
import time


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants now (also used by bench/memory.py)."""
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _sample(pid: int) -> tuple[int, int, int]:
    pss = fds = threads = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                pss += sum(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
            fds += len(os.listdir(f"/proc/{p}/fd"))
            with open(f"/proc/{p}/status") as f:
                threads += next(int(line.split()[1]) for line in f if line.startswith("Threads:"))
        except (OSError, StopIteration, ValueError):
            continue
    return pss, fds, threads


class TreeSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 5.0):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int, int, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.samples.append((time.monotonic(), *_sample(self.pid)))

    def stop(self) -> list[tuple[float, int, int, int]]:
        self.done.set()
        self.join()
        return self.samples


def flat(values: list[float], ratio: float) -> bool:
    """Every one of the last 20% of `values` stays within `ratio` x the first 20%'s mean."""
    k = max(1, len(values) // 5)
    first, last = values[:k], values[-k:]
    return max(last) <= ratio * (sum(first) / len(first))


def no_growth(values: list[int], slack: int) -> bool:
    """The last 20% of `values` average no more than the first 20%'s peak (+ `slack`): counts
    (descriptors, threads) swing with the requests in flight, a leak climbs past that."""
    k = max(1, len(values) // 5)
    first, last = values[:k], values[-k:]
    return sum(last) / len(last) <= max(first) + slack
