"""Read stage: input files -> candidate pairs, read rejects and per-file facts.

`ReadCandidates(files, opts, reshuffle, folder, spill)` is a PTransform over the pipeline root.
Output: a tuple `(pairs, rejects, files)`:
- pairs: lists of up to `counting.BATCH` candidate tuples (`elements` module), reshuffled
  after reading when `reshuffle` (gzip
  files are not splittable: one file is read by one worker; the Reshuffle spreads its pairs over
  all workers. With many files per worker the files already spread the work, and the dedup
  GroupByKey redistributes everything after language id, so `--reshuffle auto` skips it).
  With `spill` the Reshuffle moves spill refs, not candidates (files under
  `folder/_spill/read/`), so the local runner does not hold the candidates between stages;
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
from apache_beam.io.filesystems import FileSystems

from pipeline.curate.counting import BATCH, STATS, CountingFn
from pipeline.curate.read.elements import FILE, PAIR, REJECT
from pipeline.curate.read.files import BadFileError, detect_format, read_file
from pipeline.curate.spill import LoadFn, SpillFn, spill_folder

__all__ = ["BadFileError", "ReadCandidates", "ReadFileFn", "detect_format", "expand_inputs"]
log = logging.getLogger("pipeline.curate")
PROGRESS_EVERY = 200_000


def expand_inputs(specs: list[str] | tuple[str, ...]) -> list[tuple[str, int]]:
    """(path, size) of every file the specs (paths or globs) name, sorted; ValueError if a spec
    names nothing."""
    found: dict[str, int] = {}
    for spec in specs:
        result = FileSystems.match([spec])[0]
        if not result.metadata_list:
            raise ValueError(f"--input {spec!r} matches no file")
        for m in result.metadata_list:
            found[m.path] = m.size_in_bytes
    return sorted(found.items())


class ReadFileFn(CountingFn):
    """path -> candidates; tagged `reject` and `stats` outputs (see the package doc)."""

    def __init__(self, opts):
        self.opts = opts

    def process(self, path: str):
        start, pairs = time.monotonic(), 0
        batch, rejects = [], []
        for kind, value in read_file(path, self.opts):
            if kind == PAIR:
                pairs += 1
                batch.append(value)
                if len(batch) >= BATCH:
                    self.counts["flow", "read"] += len(batch)
                    yield batch
                    batch = []
                if pairs % PROGRESS_EVERY == 0:
                    log.info("reading %s: %d candidates so far", path, pairs)
            elif kind == FILE:
                self.counts["file", *value] = 1
            else:
                if value[0] is None and value[1] and value[4] == path:
                    log.warning("%s: %s (%s)", path, value[3], value[1])
                rejects.append(self.count_reject(value))
                if len(rejects) >= BATCH:
                    yield from self.emit([], rejects)
                    rejects = []
        if batch:  # no zero counts: stats.json lists only what happened
            self.counts["flow", "read"] += len(batch)
        yield from self.emit(batch, rejects)
        log.info("read %s: %d candidates in %.1fs", path, pairs, time.monotonic() - start)


class ReadCandidates(beam.PTransform):
    """Root -> (pairs, rejects, stats) over the given input paths (see the package doc)."""

    def __init__(self, paths: list[str], opts, reshuffle: bool, folder: str, spill: bool = True):
        super().__init__()
        self.paths, self.opts, self.reshuffle = list(paths), opts, reshuffle
        self.folder, self.spill = spill_folder(folder, "read"), spill

    def expand(self, root):
        read = (
            root
            | "Files" >> beam.Create(self.paths)
            | "ReadFile" >> beam.ParDo(ReadFileFn(self.opts)).with_outputs(REJECT, STATS, main=PAIR)
        )
        pairs = read[PAIR]
        if self.reshuffle and not self.spill:
            pairs = pairs | "Reshuffle" >> beam.Reshuffle()
        elif self.reshuffle:
            pairs = (
                pairs
                | "Spill" >> beam.ParDo(SpillFn(self.folder))
                | "Reshuffle" >> beam.Reshuffle()
                | "Load" >> beam.ParDo(LoadFn())
            )
        return pairs, read[REJECT], read[STATS]
