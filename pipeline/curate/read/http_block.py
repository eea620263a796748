"""The HTTP response inside a WARC `response` record: status line, headers, body, as crawls hold it.

`parse_response(block, cap)` -> `HttpResponse(status, content_type, charset, body, html)` or
None when the block holds no HTTP response head at all. Tolerant where archives are odd:

- line ends CRLF or LF; header names in any case; repeated headers (the first one counts);
- `Content-Type` without the space or the semicolon (`text/html charset=x`), in upper case;
- `Content-Encoding: gzip|x-gzip|deflate` is undone only when the body really is compressed
  (most crawlers store the decoded body and keep the header); `Transfer-Encoding: chunked` is
  undone when the body really is chunked;
- `html` is True for an HTML content type, and also when the type is missing or generic
  (`text/plain`, `application/octet-stream`, ...) but the body starts like an HTML document, so
  a page is never `not_html` because of a header quirk.

`body` holds at most `cap` bytes (more means the page is too large: the caller rejects it).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

HTML_TYPES = ("text/html", "application/xhtml+xml")
GENERIC_TYPES = ("", "text/plain", "application/octet-stream", "binary/octet-stream",
                 "application/unknown", "unknown/unknown", "text/x-unknown")  # fmt: skip
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS = re.compile(rb"HTTP/\d(?:\.\d)?\s+(\d{3})")
_MIME = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-:.]+)", re.I)
_HTML_START = re.compile(
    rb"\s*(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head)\b", re.I | re.S
)
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?\r?\n")


@dataclass
class HttpResponse:
    status: int
    content_type: str
    charset: str | None
    body: bytes
    html: bool


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            out.setdefault(name.strip().lower(), value.strip())
    return out


def _dechunk(body: bytes, cap: int) -> bytes | None:
    """A chunked body decoded (None if it is not chunked after all)."""
    out, i = bytearray(), 0
    while True:
        m = _CHUNK_SIZE.match(body, i)
        if not m:
            return None if not out else bytes(out)  # cut after some chunks: keep those
        size = int(m.group(1), 16)
        if size == 0:
            return bytes(out)
        out += body[m.end() : m.end() + size]
        if len(out) > cap:
            return bytes(out[: cap + 1])
        i = m.end() + size
        while body[i : i + 1] in (b"\r", b"\n") and i < len(body):
            i += 1


def _decompress(body: bytes, cap: int) -> bytes | None:
    """A gzip or zlib/deflate body inflated (at most cap + 1 bytes); None if it is not one."""
    for wbits in (47, -15):  # 47: gzip or zlib header, auto-detected; -15: raw deflate
        try:
            inflate = zlib.decompressobj(wbits=wbits)
            return inflate.decompress(body, cap + 1)
        except zlib.error:
            continue
    return None


def _decoded(body: bytes, headers: dict[str, str], cap: int) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body, cap) or body
    coding = headers.get("content-encoding", "").lower()
    if any(c in coding for c in ("gzip", "deflate")) and body[:2] in (
        b"\x1f\x8b",
        b"\x78\x9c",
        b"\x78\x01",
        b"\x78\xda",
    ):
        body = _decompress(body, cap) or body  # fmt: skip
    return body


def parse_response(block: bytes, cap: int) -> HttpResponse | None:
    """See the module doc."""
    status = _STATUS.match(block)
    end = _HEAD_END.search(block)
    if not status or not end:
        return None
    headers = _headers(block[: end.start()])
    raw_type = headers.get("content-type", "")
    mime = _MIME.search(raw_type)
    ctype = mime.group(0).lower() if mime else ""
    charset = _CHARSET.search(raw_type)
    body = _decoded(block[end.end() :], headers, cap)
    html = ctype in HTML_TYPES or (ctype in GENERIC_TYPES and bool(_HTML_START.match(body[:4096])))
    return HttpResponse(int(status.group(1)), ctype, charset.group(1) if charset else None,
                        body, html)  # fmt: skip
