"""WARC files (any version, odd ones too) -> candidate pairs from the `<img>` tags of HTML pages.

Contract of `read_warc(stream, input_file, max_images)`: for each `response` record, yields what
`images.page_candidates` yields for its HTML, or one reject: `not_html` (the response is not a
web page: another content type, or no HTTP response in it, e.g. a `dns:` record), `bad_record`
(no target URI, or an HTTP response that cannot be parsed; also bytes between records that are
no record, skipped), `page_too_large` (an HTML body over `MAX_PAGE_BYTES` once decompressed: a
gzip bomb, or a page no crawler would keep; Common Crawl cuts pages at 1 MiB). Records of other
types (warcinfo, request, metadata) are skipped: they hold no pages.

Records are framed by `warc_records` (WARC/0.17 to 1.1, missing or lying Content-Length, LF
line ends) and their HTTP responses parsed by `http_block` (header quirks, a `Content-Encoding`
header on an already decoded body, chunked bodies): a page is never `not_html` because of a
header quirk. Memory per page is bounded by `MAX_PAGE_BYTES` plus the HTTP head; the rest of a
record is skipped, never held. A file that ends inside a record raises `RecordOverrunError`
(or `EOFError`, inside a gzip member) after the records before it were yielded: the caller
names the file as truncated, and none of that record's bytes become candidates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from pipeline.curate.read import html_page
from pipeline.curate.read.elements import REJECT, reject
from pipeline.curate.read.http_block import parse_response
from pipeline.curate.read.images import page_candidates
from pipeline.curate.read.warc_records import RecordOverrunError, iter_records
from schemas.vocab import Reason

__all__ = ["MAX_PAGE_BYTES", "RecordOverrunError", "html_candidates", "read_warc"]

MAX_PAGE_BYTES = 8 << 20
MAX_HTTP_HEAD = 64 << 10
BLOCK_CAP = MAX_PAGE_BYTES + MAX_HTTP_HEAD + 1


def _is_response(headers: dict) -> bool:
    return headers.get("warc-type", "").strip().lower() == "response"


def _keep(headers: dict) -> int:
    return BLOCK_CAP if _is_response(headers) else 0


def read_warc(stream: BinaryIO, input_file: str, max_images: int) -> Iterator[tuple]:
    """See the module doc; `stream` is the raw (possibly gzipped) file."""
    for record in iter_records(stream, _keep):
        if record.skipped:
            detail = f"{record.skipped} bytes between records are no record"
            yield REJECT, reject(None, detail, Reason.BAD_RECORD, input_file)
        if _is_response(record.headers):
            yield from _response(record, input_file, max_images)


def _response(record, input_file: str, max_images: int) -> Iterator[tuple]:
    page_url = record.headers.get("warc-target-uri", "").strip().strip("<>") or None
    if not page_url:
        yield REJECT, reject(None, None, Reason.BAD_RECORD, input_file)
        return
    resp = parse_response(record.block, MAX_PAGE_BYTES)
    if resp is None:
        http = "application/http" in record.headers.get("content-type", "").lower()
        reason = Reason.BAD_RECORD if http else Reason.NOT_HTML
        yield REJECT, reject(page_url, None, reason, input_file)
        return
    if not resp.html:
        yield REJECT, reject(page_url, None, Reason.NOT_HTML, input_file)
        return
    if record.length >= BLOCK_CAP or len(resp.body) > MAX_PAGE_BYTES:
        detail = f"HTML body over {MAX_PAGE_BYTES} bytes"
        yield REJECT, reject(page_url, detail, Reason.PAGE_TOO_LARGE, input_file)
        return
    yield from html_candidates(resp.body, resp.charset, page_url, input_file, max_images)


def html_candidates(
    body: bytes, http_charset: str | None, page_url: str, input_file: str, max_images: int
) -> Iterator[tuple]:
    """The candidates of one HTML page (a `bad_record` reject if it cannot be parsed at all)."""
    try:
        text = html_page.decode(body, http_charset)
        base_href, images = html_page.parse_images(text)
        out = list(page_candidates(page_url, base_href, images, input_file, max_images))
    except Exception:  # a parser failure on one page must not lose the rest of the file
        yield REJECT, reject(page_url, None, Reason.BAD_RECORD, input_file)
        return
    yield from out
