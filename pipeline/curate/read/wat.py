"""Common Crawl WAT files -> candidate pairs from the `IMG@/src` links of HTML pages.

Contract of `read_wat(stream, input_file, max_images)`: for each `metadata` record describing a
`response`, reads `Envelope.Payload-Metadata.HTTP-Response-Metadata.HTML-Metadata`: `Links[]`
entries with `path == "IMG@/src"` (`url`, `alt`, `title`), resolved against `Head.Base` and
`Envelope.WARC-Header-Metadata.WARC-Target-URI`, yielding what `images.page_candidates` yields.
Rejects: `bad_record` (JSON that does not parse or has the wrong shape), `not_html` (a response
without HTML metadata). Metadata of request/warcinfo records is skipped (no page). As in the WARC
reader, a record
over `MAX_PAGE_BYTES` is a `page_too_large` reject read no further (a gzip bomb stays out of
memory), and one whose payload ends short of its declared length raises `RecordOverrunError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

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
            yield (
                REJECT,
                reject(
                    target,
                    f"metadata over {MAX_PAGE_BYTES} bytes",
                    Reason.PAGE_TOO_LARGE,
                    input_file,
                ),
            )
            continue
        try:
            envelope = json.loads(data)["Envelope"]
            header = envelope["WARC-Header-Metadata"]
            if header.get("WARC-Type") != "response":
                continue
            page_url = header.get("WARC-Target-URI") or target
            meta = envelope["Payload-Metadata"].get("HTTP-Response-Metadata", {})
            html = meta.get("HTML-Metadata")
            if html is None:
                yield REJECT, reject(page_url, None, Reason.NOT_HTML, input_file)
                continue
            base = _str((html.get("Head") or {}).get("Base"))  # a list or number: no base
            images = [
                (_str(link.get("url")), _str(link.get("alt")), _str(link.get("title")))
                for link in html.get("Links") or ()
                if link.get("path") == IMG_PATH
            ]
            if not page_url:
                raise ValueError("no target URI")
        except (ValueError, KeyError, TypeError, AttributeError):
            yield REJECT, reject(target, None, Reason.BAD_RECORD, input_file)
            continue
        yield from page_candidates(page_url, base, images, input_file, max_images)


def _str(value) -> str | None:
    return value if isinstance(value, str) else None
