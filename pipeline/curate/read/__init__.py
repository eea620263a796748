"""Read stage: input files -> candidate pairs, read rejects and per-file facts.

`ReadCandidates(files, opts)` is a PTransform over the pipeline root. Output: a tuple
`(pairs, rejects, files)`:
- pairs: candidate tuples (`elements` module), reshuffled after reading (gzip files are not
  splittable: one file is read by one worker; the Reshuffle spreads its pairs over all workers);
- rejects: reject tuples (stage `read`), including `unreadable_file` / `truncated_file` rows that
  name a file that could not be read to its end (or `BadFileError` under `--fail-on-bad-file`);
- files: `(path, bytes read, sha256 or None)` per file read to its end.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.curate.read.elements import FILE, PAIR, REJECT, reject
from pipeline.curate.read.table import read_table
from pipeline.curate.read.warc import read_warc
from pipeline.curate.read.wat import read_wat
from schemas.vocab import Reason

log = logging.getLogger("pipeline.curate")
SUFFIXES = ((".wat", "wat"), (".warc", "warc"), (".parquet", "parquet"), (".jsonl", "jsonl"),
            (".csv", "csv"), (".tsv", "tsv"))
PROGRESS_EVERY = 200_000


class BadFileError(RuntimeError):
    """An input file that cannot be read, under `--fail-on-bad-file` (names the file)."""


def detect_format(path: str, override: str = "auto") -> str | None:
    """The input format of `path` from its name (`override` wins unless `auto`); None if unknown."""
    if override != "auto":
        return override
    name = path.lower().rsplit("/", 1)[-1]
    name = name[:-3] if name.endswith(".gz") else name
    for suffix, fmt in SUFFIXES:
        if name.endswith(suffix):
            return fmt
    return None


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


class _Hashing:
    """A read-only stream that hashes and counts the bytes read through it."""

    def __init__(self, raw):
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def read(self, n=-1):
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data

    def tell(self):
        return self.size

    def readable(self):
        return True


class ReadFileFn(beam.DoFn):
    """path -> candidates; tagged `rejects` and `files` outputs (see the package doc)."""

    def __init__(self, opts):
        self.opts = opts

    def process(self, path: str):
        fmt = detect_format(path, self.opts.input_format)
        start, pairs, rejects = time.monotonic(), 0, 0
        stream = None
        try:
            stream = _Hashing(FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED))
            for kind, value in self._records(stream, fmt, path):
                if kind == PAIR:
                    pairs += 1
                    if pairs % PROGRESS_EVERY == 0:
                        log.info("reading %s: %d candidates so far", path, pairs)
                    yield value
                else:
                    rejects += 1
                    yield beam.pvalue.TaggedOutput(REJECT, value)
        except BaseException as e:  # pyo3 panics (fastwarc) derive from BaseException
            if isinstance(e, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            # any failure of the file itself: count it and name it, or stop if asked to
            if self.opts.fail_on_bad_file:
                raise BadFileError(f"cannot read input file {path}: {e!r}") from e
            reason = Reason.TRUNCATED_FILE if pairs or rejects else Reason.UNREADABLE_FILE
            log.warning("%s: %s after %d candidates: %r", path, reason, pairs, e)
            yield beam.pvalue.TaggedOutput(REJECT, reject(None, repr(e), reason, path))
            return
        yield beam.pvalue.TaggedOutput(FILE, (path, stream.size, stream.sha.hexdigest()))
        log.info("read %s: %d candidates, %d rejects in %.1fs", path, pairs, rejects,
                 time.monotonic() - start)

    def _records(self, stream, fmt: str, path: str):
        o = self.opts
        if fmt == "warc":
            return read_warc(stream, path, o.max_images_per_page)
        if fmt == "wat":
            return read_wat(stream, path, o.max_images_per_page)
        data = stream.read()
        if path.lower().endswith(".gz"):
            data = gzip.decompress(data)
        return read_table(data, fmt, path, o.url_col, o.caption_col)


class ReadCandidates(beam.PTransform):
    """Root -> (pairs, rejects, files) over the given input paths (see the package doc)."""

    def __init__(self, paths: list[str], opts):
        super().__init__()
        self.paths, self.opts = list(paths), opts

    def expand(self, root):
        read = (
            root
            | "Files" >> beam.Create(self.paths)
            | "ReadFile" >> beam.ParDo(ReadFileFn(self.opts)).with_outputs(REJECT, FILE, main=PAIR)
        )
        pairs = read[PAIR] | "Reshuffle" >> beam.Reshuffle()
        return pairs, read[REJECT], read[FILE]
