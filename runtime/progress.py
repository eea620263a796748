"""Progress of a running job, seen from the launcher.

Beam's workers are other processes (other machines on Dask or Dataflow), so they cannot print
progress themselves. They leave small count files instead, which the launcher sums:

- workers: `tick({"files": 1, "bytes": n, ...})` adds counts (deltas, summed by the reader),
  written now and then as one small json file into the job's progress folder, named by the
  environment variable `OPENWIT_PROGRESS_DIR` (set by the launcher; the local runner's
  workers inherit it; where it is unset, ticks are skipped). Any Beam filesystem path works (through
  `runtime.storage`); a failed tick is ignored: progress never fails a job.
- launcher: `Ticks(folder).poll()` sums the files not yet read (each is read once);
  `watching(describe, ...)` shows `describe(elapsed)` while the job runs: a tqdm bar on a
  terminal, else one line every `interval` seconds (default 30, `OPENWIT_PROGRESS_INTERVAL`).

Stages that already write one file per unit of work (download's `NNNNN_stats.json` per shard)
need no ticks: their `describe` reads those files the same way (`Ticks(folder, pattern)`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from runtime import storage
from schemas.layout import is_tmp_name

ENV = "OPENWIT_PROGRESS_DIR"
INTERVAL_ENV = "OPENWIT_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 30.0
log = logging.getLogger("runtime.progress")


def tick(counts: dict[str, float], urgent: bool = False) -> None:
    """Add `counts` to the job's totals if the launcher asked for progress. Counts are kept in
    the process and written at most every `FLUSH_SECONDS` (some runners make every element
    its own bundle: one file per bundle would be one per element), at once when `urgent`
    (a unit of work the user counts, such as an input file, is done), and at exit."""
    if not os.environ.get(ENV) or not any(counts.values()):
        return
    with _pending["lock"]:
        _pending["counts"].update(counts)
        due = urgent or time.monotonic() - _pending["flushed"] >= FLUSH_SECONDS
    if due:
        flush()


def flush() -> None:
    """Write the counts not yet written as one file (never raises)."""
    folder = os.environ.get(ENV)
    with _pending["lock"]:
        counts, _pending["counts"] = dict(_pending["counts"]), Counter()
        _pending["flushed"] = time.monotonic()
    if not folder or not counts:
        return
    try:
        storage.write_json(storage.join(folder, f"{uuid.uuid4().hex}.json"), counts, indent=None)
    except Exception as e:  # noqa: BLE001 - progress must never fail the work it reports on
        log.debug("progress tick not written: %s", e)


FLUSH_SECONDS = 2.0
_pending: dict = {"counts": Counter(), "flushed": 0.0, "lock": threading.Lock()}
atexit.register(flush)


class Ticks:
    """Sums the json count files under `folder` matching `pattern`; each file is read once
    (they never change once written), so a poll costs one listing plus the new files."""

    def __init__(self, folder: str, pattern: str = "*.json", fields: tuple[str, ...] = ()):
        self.folder, self.pattern, self.fields = folder, pattern, fields
        self.seen: set[str] = set()
        self.totals: Counter = Counter()

    def poll(self) -> Counter:
        try:
            paths = storage.glob(storage.join(self.folder, self.pattern))
        except Exception:  # noqa: BLE001 - a folder not there yet
            return self.totals
        for path in paths:
            if path in self.seen or is_tmp_name(storage.basename(path)):
                continue
            try:
                data = storage.read_json(path)
            except Exception:  # noqa: BLE001 - being written; read at the next poll
                continue
            self.seen.add(path)
            self.totals["_files"] += 1
            for key, value in data.items():
                if (not self.fields or key in self.fields) and isinstance(value, int | float):
                    self.totals[key] += value
        return self.totals


@dataclass
class Status:
    """What `describe` returns: the line's text, and the bar's position (done of total)."""

    text: str
    done: float = 0
    total: float | None = None


def interval_seconds() -> float:
    try:
        return float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL


def _loop(label, describe, stop: threading.Event, stream, interval: float, tty: bool) -> None:
    start = time.monotonic()
    bar = None
    if tty:
        from tqdm import tqdm  # deferred: only on a terminal

        bar = tqdm(desc=label, file=stream, leave=False, dynamic_ncols=True)
    shown = False
    try:
        while not stop.wait(1.0 if tty else interval):
            _show(label, describe(time.monotonic() - start), bar, stream)
            shown = True
        if shown:  # the block is done: a display that showed progress ends on the final counts
            _show(label, describe(time.monotonic() - start), bar, stream)
    except Exception as e:  # noqa: BLE001 - a broken progress display must not stop the job
        log.debug("progress display stopped: %s", e)
    finally:
        if bar is not None:
            bar.close()


def _show(label: str, status: Status, bar, stream) -> None:
    if bar is not None:
        bar.total = status.total
        bar.n = status.done
        bar.set_postfix_str(status.text, refresh=False)
        bar.refresh()
    else:
        print(f"{label}: {status.text}", file=stream, flush=True)


@contextlib.contextmanager
def watching(
    label: str,
    describe: Callable[[float], Status],
    folder: str | None = None,
    interval: float | None = None,
    stream=None,
) -> Iterator[None]:
    """Show progress while the block runs (`describe(elapsed_seconds)` each time). `folder`:
    the job's progress folder, exported to workers as `OPENWIT_PROGRESS_DIR` for `tick`, and
    deleted afterwards."""
    stream = stream or sys.stderr
    tty = bool(getattr(stream, "isatty", lambda: False)())
    previous = os.environ.get(ENV)
    if folder:
        os.environ[ENV] = folder
    stop = threading.Event()
    args = (label, describe, stop, stream, interval or interval_seconds(), tty)
    thread = threading.Thread(target=_loop, args=args, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if folder:
            _restore(previous)
            with contextlib.suppress(Exception):
                storage.delete_tree(folder)


def _restore(previous: str | None) -> None:
    if previous is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = previous


def rate(amount: float, seconds: float) -> float:
    return amount / seconds if seconds > 0 else 0.0


def clock(seconds: float | None) -> str:
    """`1:02:03` / `2:03`; `?` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
