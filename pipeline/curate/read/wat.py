"""Common Crawl WAT files -> candidate pairs from the `IMG@/src` links of HTML pages.

Contract of `read_wat(stream, input_file, max_images)`: for each `metadata` record describing a
`response`, reads `Envelope.Payload-Metadata.HTTP-Response-Metadata.HTML-Metadata`: `Links[]`
entries with `path == "IMG@/src"` (`url`, `alt`, `title`), resolved against `Head.Base` and
`Envelope.WARC-Header-Metadata.WARC-Target-URI` (else the record's own `WARC-Target-URI`),
yielding what `images.page_candidates` yields. JSON is parsed with orjson (~1.7x stdlib json
per record, faster than pysimdjson's lazy proxies here: bench/RESULTS.md, `curate wat`).

Records of other types (warcinfo, request, the crawler's metadata) are skipped: no page. Rejects:
- `bad_record`: JSON that does not parse, is not an object, lacks `Envelope` or its
  `WARC-Header-Metadata` (missing, null or not an object), or a response with no target URI;
- `not_html`: a response without HTML metadata (`Payload-Metadata`,
  `HTTP-Response-Metadata` or `HTML-Metadata` missing, null or not an object);
- per image as `page_candidates` says (`bad_url` for a link whose `url` is missing or null).
Null or missing `Head`, `Base`, `Links`, `alt`, `title` mean "none"; link entries that are not
objects are skipped. As in the WARC reader, a record over `MAX_PAGE_BYTES` is a
`page_too_large` reject read no further (a gzip bomb stays out of memory), and one whose payload
ends short of its declared length raises `RecordOverrunError` (the caller names the file
`truncated_file`; a truncated gzip member likewise, through the file's integrity check).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import orjson
from fastwarc.warc import ArchiveIterator, WarcRecordType

from pipeline.curate.read.elements import REJECT, reject
from pipeline.curate.read.images import page_candidates
from pipeline.curate.read.warc import MAX_PAGE_BYTES, RecordOverrunError
from schemas.vocab import Reason

IMG_PATH = "IMG@/src"


def read_wat(stream: BinaryIO, input_file: str, max_images: int) -> Iterator[tuple]:
    """See the module doc; `stream` is the raw (possibly gzipped) file."""
    records = ArchiveIterator(
        stream, record_types=WarcRecordType.metadata, parse_http=False, fsspec_args=False
    )
    for record in records:
        target = record.headers.get("WARC-Target-URI")
        data = record.reader.read(MAX_PAGE_BYTES + 1)
        payload = len(data) + record.reader.consume()
        if payload < record.content_length:
            raise RecordOverrunError(
                f"WAT record {target} declares {record.content_length} "
                f"bytes but the file ends after {payload}"
            )
        if len(data) > MAX_PAGE_BYTES:
            detail = f"metadata over {MAX_PAGE_BYTES} bytes"
            yield REJECT, reject(target, detail, Reason.PAGE_TOO_LARGE, input_file)
            continue
        yield from record_candidates(data, target, input_file, max_images)


def record_candidates(data: bytes, target: str | None, input_file: str, max_images: int):
    """What one WAT record's JSON yields (see the module doc)."""
    envelope = _envelope(data)
    header = _dict(envelope.get("WARC-Header-Metadata")) if envelope is not None else None
    if header is None:
        yield REJECT, reject(target, None, Reason.BAD_RECORD, input_file)
        return
    if header.get("WARC-Type") != "response":
        return
    page_url = _str(header.get("WARC-Target-URI")) or target
    if not page_url:
        yield REJECT, reject(None, None, Reason.BAD_RECORD, input_file)
        return
    html = _path(envelope, ("Payload-Metadata", "HTTP-Response-Metadata", "HTML-Metadata"))
    if html is None:
        yield REJECT, reject(page_url, None, Reason.NOT_HTML, input_file)
        return
    base = _str((_dict(html.get("Head")) or {}).get("Base"))  # a list or number: no base
    links = html.get("Links")
    yield from page_candidates(page_url, base, image_links(links), input_file, max_images)


def image_links(links) -> list[tuple]:
    """(url, alt, title) of each `IMG@/src` entry of `Links` (a value that is not a string is
    None; orjson gives exact `str`, `dict` and `list` types; no function call per field)."""
    images = []
    for link in links if isinstance(links, list) else ():
        if type(link) is dict and link.get("path") == IMG_PATH:
            url, alt, title = link.get("url"), link.get("alt"), link.get("title")
            images.append(
                (
                    url if type(url) is str else None,
                    alt if type(alt) is str else None,
                    title if type(title) is str else None,
                )
            )
    return images


def _envelope(data: bytes) -> dict | None:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return _dict(doc.get("Envelope")) if type(doc) is dict else None


def _path(value: dict, keys: tuple[str, ...]) -> dict | None:
    for key in keys:
        value = _dict(value.get(key))
        if value is None:
            return None
    return value


def _dict(value) -> dict | None:
    return value if type(value) is dict else None


def _str(value) -> str | None:
    return value if isinstance(value, str) else None
