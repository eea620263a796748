"""One input file -> tagged records: open it (any Beam filesystem), read it by format, count it.

`read_file(path, opts)` yields `(PAIR, candidate)`, `(REJECT, reject)` and, for a file read to
its end, one `(FILE, (path, bytes, sha256))`. A file that fails (not the format its name says,
a truncated gzip member, a table that does not parse) yields one reject naming it:
`unreadable_file` if nothing was read from it, else `truncated_file` (what came before stays);
under `opts.fail_on_bad_file` it raises `BadFileError` instead.

Tables are read whole (one file per worker at a time); a gzipped table that inflates more than
`MAX_GZIP_RATIO` times its size (and past 64 MiB) is a gzip bomb, not a table: it stops, as an
unreadable file, before it fills memory (text tables compress 5-20x).

Gzip integrity is checked while reading: FastWARC stops quietly at a truncated member, and a
silent partial read would look like a whole file. Gzipped WAT files are inflated member by member
by `InflatingStream`, which FastWARC reads as plain records (one inflate per byte); other gzipped
files are checked beside their reader (`CheckedStream`: a second, discarded inflate). WARC files
are framed by `warc_records`, which checks every member as it inflates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from pipeline.curate.read import gzip_member
from pipeline.curate.read.elements import FILE, REJECT, reject
from pipeline.curate.read.table import read_table
from pipeline.curate.read.warc import read_warc
from pipeline.curate.read.wat import read_wat
from pipeline.tables import MAX_GZIP_RATIO, gunzip_capped
from runtime import storage

__all__ = ["MAX_GZIP_RATIO", "BadFileError", "detect_format", "gunzip_capped", "read_file"]
from schemas.vocab import Reason

SUFFIXES = (
    (".wat", "wat"),
    (".warc", "warc"),
    (".parquet", "parquet"),
    (".jsonl", "jsonl"),
    (".csv", "csv"),
    (".tsv", "tsv"),
)


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


class CheckedStream:
    """A read-only stream that hashes and counts the bytes read through it and, for gzip
    files, checks that every member is complete."""

    def __init__(self, raw, gzipped: bool):
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0
        self._inflate = gzip_member.inflater() if gzipped else None
        self._open = False  # inside a gzip member (bytes fed, member end not seen)

    def read(self, n=-1):
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        if self._inflate is not None and data:
            self._check(data)
        return data

    def _check(self, data: bytes) -> None:
        while data:
            inflate = self._inflate
            inflate.decompress(data, 1 << 16)  # output discarded: only integrity matters
            self._open = True
            if inflate.eof:  # next member (one per record in Common Crawl files)
                data = inflate.unused_data
                self._inflate, self._open = gzip_member.inflater(), False
            else:
                data = inflate.unconsumed_tail

    def complete(self) -> bool:
        """True when the whole file ends exactly at the end of a gzip member (or is not gzip)."""
        while self.read(1 << 20):  # drain what the reader left unread
            pass
        return not self._open

    def tell(self):
        return self.size

    def readable(self):
        return True


class InflatingStream(CheckedStream):
    """A gzip file read as its inflated bytes (hashed and counted as stored), member by member,
    so the reader parses plain records and the file is inflated once: checking the members
    beside a reader that inflates them itself cost a second inflate (~1 us per WAT
    candidate). `complete()` as in `CheckedStream`."""

    CHUNK = 1 << 16

    def __init__(self, raw):
        super().__init__(raw, gzipped=False)
        self._member, self._pending = gzip_member.inflater(), b""

    def read(self, n=-1):
        n = self.CHUNK if n is None or n < 0 else n
        out, size = [], 0
        while size < n:
            if not self._pending:
                data = super().read(self.CHUNK)
                if not data:
                    break
                self._pending = data
            inflate = self._member
            chunk = inflate.decompress(self._pending, n - size)
            self._open = True
            if inflate.eof:  # next member (one per record in Common Crawl files)
                self._pending = inflate.unused_data
                self._member, self._open = gzip_member.inflater(), False
            else:
                self._pending = inflate.unconsumed_tail
            out.append(chunk)
            size += len(chunk)
        return b"".join(out)


def _records(stream, fmt: str, path: str, opts) -> Iterator[tuple]:
    if fmt == "warc":
        return read_warc(stream, path, opts.max_images_per_page)
    if fmt == "wat":
        return read_wat(stream, path, opts.max_images_per_page)
    data = stream.read()
    if path.lower().endswith(".gz"):
        data = gunzip_capped(data)
    return read_table(data, fmt, path, opts.url_col, opts.caption_col)


def read_file(path: str, opts) -> Iterator[tuple]:
    """See the module doc."""
    fmt = detect_format(path, opts.input_format)
    read = 0
    try:
        raw = storage.open_read(path)
        # WARC framing inflates and checks every gzip member itself: no second inflate for it.
        gzipped = path.lower().endswith(".gz")
        if gzipped and fmt == "wat":
            stream = InflatingStream(raw)
        else:
            stream = CheckedStream(raw, gzipped and fmt != "warc")
        records = _records(stream, fmt, path, opts)
        for first in records:  # `read` tells a truncated file from an unreadable one
            read = 1
            yield first
            yield from records  # no Python-level step per element of this layer
        if not stream.complete():
            raise OSError("gzip stream ends inside a member (truncated file)")
    except BaseException as e:  # pyo3 panics (fastwarc) derive from BaseException
        if isinstance(e, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        if opts.fail_on_bad_file:
            raise BadFileError(f"cannot read input file {path}: {e!r}") from e
        reason = Reason.TRUNCATED_FILE if read else Reason.UNREADABLE_FILE
        yield REJECT, reject(None, f"{type(e).__name__}: {e}", reason, path)
        return
    yield FILE, (path, stream.size, stream.sha.hexdigest())
