"""WARC records from a raw file (gzipped or not), framed the tolerant way old and odd crawls need.

`iter_records(stream, keep)` yields `Record(headers, block, length, declared)` for every record of
the file in order: `headers` with lower-cased names (WARC header names are case-insensitive;
continuation lines joined), `block` the first `keep(headers)` bytes of the record's content
block (what follows the WARC header: for a response, the HTTP head and body), `length` the
block's whole length, `declared` its Content-Length (None when missing or not a number).

Framing. A record is `WARC/x.y` (any version: 0.17, 0.18, 1.0, 1.1), header lines ending in an
empty line, the block, and two line ends. Line ends may be CRLF or LF. The block normally ends
where Content-Length says; when it does not end there (the next bytes are not two line ends and
the next record's version line, nor the end of the file) the length lied, and the block ends
instead where the next record begins (`\\n\\nWARC/x.y\\n`, the first one after the block's
start), or at the end of the file; a missing Content-Length is read the same way. Blocks over
`HOLD` bytes are streamed, not held, and end at their Content-Length or the next record start
found while streaming, whichever comes first. Bytes between records that
are not a record (left by a lying length) are skipped up to the next record: `skipped` on the
next record says how many.

Errors: a file that does not start with a WARC version line raises `OSError`; a file that ends
inside a record's header, or inside a block shorter than its (honest-looking) Content-Length,
raises `RecordOverrunError` after the complete records before it were yielded; a gzip member
cut short raises `EOFError` the same way. Memory: at most `HOLD` + one `CHUNK` per file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pipeline.curate.read import gzip_member

HOLD = 16 << 20
CHUNK = 1 << 20
MAX_HEADER = 256 << 10
_VERSION = re.compile(rb"WARC/\d{1,2}\.\d{1,2}\r?\n")
_NEXT = re.compile(rb"\r?\n\r?\n(?=WARC/\d{1,2}\.\d{1,2}\r?\n)")
_TAIL = re.compile(rb"[\r\n]{0,4}")
_RECORD_START = re.compile(rb"\nWARC/\d{1,2}\.\d{1,2}\r?\n")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_GAP = _HEADER_END  # two line ends: how a record ends


def _next_record(buf, start: int, end: int | None = None) -> int | None:
    """Index of the two line ends before the first record start (`\n\nWARC/x.y\n`) found in
    `buf[start:end]` (the version line may run past `end`), or None. A plain `find` first: a
    regex scan of every block would cost more than the inflate."""
    end = len(buf) if end is None else end
    while True:
        i = buf.find(b"\nWARC/", start, end)
        if i < 0:
            return None
        if _VERSION.match(buf, i + 1):
            j = i - 1 if buf[i - 1 : i] == b"\r" else i
            if j > start and buf[j - 1 : j] == b"\n":  # an empty line before the version line
                return j - 2 if buf[j - 2 : j - 1] == b"\r" else j - 1
        start = i + 1


class RecordOverrunError(OSError):
    """A record's block ends before its declared length: the file ends inside it."""


@dataclass
class Record:
    headers: dict[str, str]
    block: bytes
    length: int
    declared: int | None
    skipped: int = 0  # bytes of non-record data skipped before this record


class _Inflated:
    """The decompressed bytes of a raw stream: gzip (any number of members) if it starts with
    the gzip magic, else the bytes as they are."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        head = raw.read(2)
        self._pending = head
        self._inflate = gzip_member.inflater() if head == b"\x1f\x8b" else None
        self._open = False

    def read(self) -> bytes:
        """The next piece (b"" at the end); EOFError when the file ends inside a gzip member."""
        while True:
            data = self._pending or self.raw.read(CHUNK)
            self._pending = b""
            if self._inflate is None:
                return data
            if not data:
                if self._open:
                    raise EOFError("gzip stream ends inside a member (truncated file)")
                return b""
            out = self._inflate.decompress(data, CHUNK)
            self._open = True
            self._pending = self._inflate.unconsumed_tail
            if self._inflate.eof:  # next member (one per record in Common Crawl files)
                self._pending = self._inflate.unused_data  # (unconsumed_tail repeats it)
                self._inflate, self._open = gzip_member.inflater(), False
            if out:
                return out


class _Buffer:
    """A window on the decompressed bytes: `buf[pos:]` is what is not consumed yet."""

    def __init__(self, source: _Inflated):
        self.source, self.buf, self.pos, self.eof = source, bytearray(), 0, False
        self.error: EOFError | None = None  # a cut gzip member, raised once reached

    def avail(self) -> int:
        return len(self.buf) - self.pos

    def fill(self, n: int) -> bool:
        """True when `n` unconsumed bytes are buffered (False: the file ends before)."""
        if self.pos > CHUNK and self.pos > len(self.buf) // 2:
            del self.buf[: self.pos]
            self.pos = 0
        while self.avail() < n and not self.eof:
            try:
                piece = self.source.read()
            except EOFError as e:  # the records before the cut are still complete
                piece, self.error = b"", e
            if piece:
                self.buf += piece
            else:
                self.eof = True
        return self.avail() >= n

    def take(self, n: int) -> bytes:
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out


def _skip_line_ends(src: _Buffer) -> None:
    while src.fill(1) and src.buf[src.pos] in b"\r\n":
        src.pos += 1


def _resync(src: _Buffer) -> int:
    """Skip to the next record's version line; the number of bytes skipped."""
    skipped = 0
    while True:
        m = _RECORD_START.search(src.buf, src.pos)
        if m:
            skipped += m.start() + 1 - src.pos
            src.pos = m.start() + 1
            return skipped
        keep = min(src.avail(), 16)  # a version line may straddle two pieces
        skipped += src.avail() - keep
        src.pos = len(src.buf) - keep
        if not src.fill(keep + CHUNK):
            skipped += src.avail()
            src.pos = len(src.buf)
            return skipped


def _header(src: _Buffer) -> dict[str, str]:
    while True:
        m = _HEADER_END.search(src.buf, src.pos)
        if m:
            break
        if src.avail() > MAX_HEADER:
            raise OSError(f"WARC header longer than {MAX_HEADER} bytes")
        if not src.fill(src.avail() + 4096):
            raise src.error or RecordOverrunError("the file ends inside a WARC header")
    text = src.take(m.start() - src.pos).decode("utf-8", "replace")
    src.pos = m.end()
    headers: dict[str, str] = {}
    last = None
    for line in text.replace("\r\n", "\n").split("\n")[1:]:  # not splitlines: \x85 etc. stay
        if line[:1] in (" ", "\t") and last:  # a folded (continued) header line
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep:
            last = name.strip().lower()
            headers.setdefault(last, value.strip())
    return headers


def _declared(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _ends_at(src: _Buffer, i: int) -> int | None:
    """Length of the record separator at buffer index `i`, None if no record boundary is there."""
    if i > len(src.buf):
        return None
    m = _NEXT.match(src.buf, i)
    if m:
        return m.end() - i
    if src.eof:
        tail = _TAIL.match(src.buf, i)
        if tail and tail.end() == len(src.buf):
            return tail.end() - i
    return None


def _extent(src: _Buffer, declared: int | None) -> int:
    """The block's length from `src.pos` (held in the buffer; see the module doc)."""
    if declared is not None:
        src.fill(declared + 64)
        end = src.pos + declared
        inner = _next_record(src.buf, src.pos, end + 8)
        if inner is not None and inner < end:
            return inner - src.pos  # the next record starts inside: the length lied
        if end <= len(src.buf) and (_GAP.match(src.buf, end) or _ends_at(src, end) is not None):
            return declared
    searched = 0
    while True:
        m = _next_record(src.buf, src.pos + searched)
        if m is not None:
            return m - src.pos
        if src.eof:
            if declared is not None and src.avail() < declared:
                raise RecordOverrunError(
                    f"a WARC block declares {declared} bytes but the file ends after {src.avail()}"
                )
            tail = re.search(rb"[\r\n]{0,4}\Z", src.buf[src.pos :])
            return tail.start()
        if src.avail() >= HOLD:
            return src.avail()  # no record start within HOLD: cut here, resync after
        searched = max(0, src.avail() - 32)
        src.fill(src.avail() + CHUNK)


def _streamed_block(src: _Buffer, declared: int, keep: int) -> tuple[bytes, int]:
    """Consume a block too long to hold, keeping its first `keep` bytes: (kept, length). It
    ends at its Content-Length, or earlier where the next record starts (a lying length)."""
    kept, length = bytearray(), 0
    while length < declared:
        left = declared - length
        src.fill(min(left, CHUNK) + 32)
        n = min(left, src.avail() if src.eof else src.avail() - 32)
        if n <= 0:
            raise RecordOverrunError(
                f"a WARC block declares {declared} bytes but the file ends after {length}"
            )
        m = _next_record(src.buf, src.pos, src.pos + n + 8)
        found = m is not None and m < src.pos + n
        if found:
            n = m - src.pos
        if len(kept) < keep:
            kept += src.buf[src.pos : src.pos + min(n, keep - len(kept))]
        src.pos += n
        length += n
        if found:
            break
    return bytes(kept), length


def iter_records(stream: BinaryIO, keep: Callable[[dict], int]) -> Iterator[Record]:
    """See the module doc."""
    src = _Buffer(_Inflated(stream))
    first, skipped = True, 0
    while True:
        _skip_line_ends(src)
        if not src.fill(1):
            if src.error is not None:
                raise src.error
            return
        src.fill(16)
        if not _VERSION.match(src.buf, src.pos):
            if first:
                raise OSError("not a WARC file (no WARC/x.y version line at its start)")
            skipped += _resync(src)
            continue
        first = False
        headers = _header(src)
        declared = _declared(headers)
        want = keep(headers)
        if declared is not None and declared > HOLD:
            block, length = _streamed_block(src, declared, want)
            yield Record(headers, block, length, declared, skipped)
        else:
            length = _extent(src, declared)
            block = bytes(src.buf[src.pos : src.pos + min(length, want)])
            src.pos += length
            yield Record(headers, block, length, declared, skipped)
        skipped = 0
