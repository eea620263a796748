"""Read stage: input files -> candidate pairs, read rejects and per-file facts.

`ReadCandidates(files, opts, reshuffle, exchange)` is a PTransform over the pipeline root.
Output: a tuple `(pairs, rejects, files)`:
- pairs: lists of up to `counting.BATCH` `Candidate`s (`elements` module), reshuffled
  after reading when `reshuffle` (gzip
  files are not splittable: one file is read by one worker; the Reshuffle spreads its pairs over
  all workers. With many files per worker the files already spread the work, and the dedup
  GroupByKey redistributes everything after language id, so `--reshuffle auto` skips it).
  The Reshuffle goes through the graph's exchange (`exchange.spread`): with spill files it
  moves spill refs, not candidates, so the local runner does not hold them between stages;
- rejects: lists of reject tuples (stage `read`), including `unreadable_file` /
  `truncated_file` rows that
  name a file that could not be read to its end (or `BadFileError` under `--fail-on-bad-file`);
- stats: partial counts (`counting`), including ("file", path, bytes, sha256) for each file
  read to its end.
"""

from __future__ import annotations

import logging
import time

import apache_beam as beam

from pipeline.curate.counting import BATCH, CountingFn, apply_stage
from pipeline.curate.elements import FILE, PAIR
from pipeline.curate.read.files import BadFileError, detect_format, read_file
from runtime import progress, storage

__all__ = ["BadFileError", "ReadCandidates", "ReadFileFn", "detect_format", "expand_inputs"]
log = logging.getLogger("pipeline.curate")
PROGRESS_EVERY = 200_000


def expand_inputs(specs: list[str] | tuple[str, ...]) -> list[tuple[str, int]]:
    """(path, size) of every file the specs (paths or globs) name, sorted; ValueError if a spec
    names nothing."""
    found: dict[str, int] = {}
    for spec in specs:
        matched = storage.glob_sized(spec)
        if not matched:
            raise ValueError(f"--input {spec!r} matches no file")
        found.update(matched)
    return sorted(found.items())


class ReadFileFn(CountingFn):
    """path -> candidates; tagged `reject` and `stats` outputs (see the package doc)."""

    FLOW = "read"

    def __init__(self, opts):
        self.opts = opts

    def process(self, path: str):
        start, pairs, ticked, size = time.monotonic(), 0, 0, 0
        batch, rejects = [], []
        for kind, value in read_file(path, self.opts):
            if kind == PAIR:  # per candidate: an append and a length check, no more
                batch.append(value)
                if len(batch) < BATCH:
                    continue
                yield from self.emit(batch, [])
                pairs, batch = pairs + len(batch), []
                if pairs - ticked >= PROGRESS_EVERY:
                    log.info("reading %s: %d candidates so far", path, pairs)
                    progress.tick({"candidates": pairs - ticked})
                    ticked = pairs
            elif kind == FILE:
                self.counts["file", *value] = 1
                size = value[1]
            else:
                url, detail, _, reason, rejected = value
                if url is None and detail and rejected == path:  # the file itself failed
                    log.warning("%s: %s (%s)", path, reason, detail)
                rejects.append(self.count_reject(value))
                if len(rejects) >= BATCH:
                    yield from self.emit([], rejects)
                    rejects = []
        yield from self.emit(batch, rejects)
        pairs += len(batch)
        progress.tick({"files": 1, "bytes": size, "candidates": pairs - ticked}, urgent=True)
        log.info("read %s: %d candidates in %.1fs", path, pairs, time.monotonic() - start)


class ReadCandidates(beam.PTransform):
    """Root -> (pairs, rejects, stats) over the given input paths (see the package doc)."""

    def __init__(self, paths: list[str], opts, reshuffle: bool, exchange):
        super().__init__()
        self.paths, self.opts, self.reshuffle = list(paths), opts, reshuffle
        self.exchange = exchange

    def expand(self, root):
        files = root | "Files" >> beam.Create(self.paths)
        pairs, rejects, stats = apply_stage(files, "ReadFile", ReadFileFn(self.opts), main=PAIR)
        if self.reshuffle:
            pairs = self.exchange.spread(pairs)
        return pairs, rejects, stats
