"""Common Crawl WARC files -> candidate pairs from the `<img>` tags of HTML responses.

Contract of `read_warc(stream, input_file, max_images)`: for each `response` record, yields what
`images.page_candidates` yields for its HTML, or one reject: `not_html` (another content type),
`bad_record` (no target URI, or a body that cannot be parsed), `page_too_large` (an HTML body over
`MAX_PAGE_BYTES` once decompressed: a gzip bomb, or a page no crawler would keep; Common Crawl
cuts pages at 1 MiB). Memory per page is bounded by that cap: the rest of the record is skipped,
never held. A record whose payload ends before its declared `Content-Length` (the file ends
inside it, or a wrong length made FastWARC read on across the next gzip members, swallowing
the records after it) raises `RecordOverrunError`: the caller names the file as truncated,
and none of that record's bytes become candidates of the wrong page. Records of other types
(warcinfo, request, metadata) are skipped: they hold no pages. Errors of the stream itself
(a truncated gzip member) propagate to the caller, which counts the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from fastwarc.warc import ArchiveIterator, WarcRecordType

from pipeline.curate.read import html_page
from pipeline.curate.read.elements import REJECT, reject
from pipeline.curate.read.images import page_candidates
from schemas.vocab import Reason

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_PAGE_BYTES = 8 << 20


class RecordOverrunError(OSError):
    """A record's payload ends before its declared length (see the module doc)."""


def read_warc(stream: BinaryIO, input_file: str, max_images: int) -> Iterator[tuple]:
    """See the module doc; `stream` is the raw (possibly gzipped) file."""
    records = ArchiveIterator(
        stream, record_types=WarcRecordType.response, parse_http=True, fsspec_args=False
    )
    for record in records:
        page_url = record.headers.get("WARC-Target-URI")
        ctype = (record.http_content_type or "").split(";")[0].strip().lower()
        html = bool(page_url) and ctype in HTML_TYPES
        body = record.reader.read(MAX_PAGE_BYTES + 1) if html else b""
        payload = len(body) + record.reader.consume()  # the rest is skipped, not held
        if payload < record.content_length:
            raise RecordOverrunError(
                f"WARC record {page_url} declares {record.content_length} "
                f"payload bytes but the file ends after {payload}"
            )
        if not page_url:
            yield REJECT, reject(None, None, Reason.BAD_RECORD, input_file)
            continue
        if not html:
            yield REJECT, reject(page_url, None, Reason.NOT_HTML, input_file)
            continue
        if len(body) > MAX_PAGE_BYTES:
            yield (
                REJECT,
                reject(
                    page_url,
                    f"HTML body over {MAX_PAGE_BYTES} bytes",
                    Reason.PAGE_TOO_LARGE,
                    input_file,
                ),
            )
            continue
        yield from html_candidates(body, record.http_charset, page_url, input_file, max_images)


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
