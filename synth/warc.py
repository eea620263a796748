"""WARC records of the synthetic crawl (WARC/1.0, one gzip member per record, as Common Crawl).

`warcinfo(name)`, `warc_records(page, seed, i)` (a page's request + response),
`wat_record(page, seed, i)` (its WAT metadata record, Common Crawl's JSON envelope),
`response_record` and `metadata_record` for any body. Same arguments, same bytes (gzip mtime 0).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from base64 import b32encode

from synth.pages import Page, image_src, page_html

WARC_DATE = "2024-01-01T00:00:00Z"


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    digest = "sha1:" + b32encode(hashlib.sha1(block).digest()).decode()
    lines = [
        "WARC/1.0",
        *(f"{k}: {v}" for k, v in headers),
        f"WARC-Block-Digest: {digest}",
        f"Content-Length: {len(block)}",
    ]
    # one gzip member per record (Common Crawl's layout); mtime 0 keeps files byte-identical
    return gzip.compress(
        ("\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n", compresslevel=6, mtime=0
    )


def _record_id(*parts) -> str:
    return f"<urn:uuid:{uuid.UUID(bytes=hashlib.md5('-'.join(map(str, parts)).encode()).digest())}>"


def response_record(url: str, body: bytes, content_type: str, record_id: str) -> bytes:
    """One WARC response record (its own gzip member) serving `body` for `url`."""
    http = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Server: openwit-synth\r\n\r\n"
    ).encode() + body
    return _record(
        [
            ("WARC-Type", "response"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Target-URI", url),
            ("WARC-Record-ID", _record_id(record_id)),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Payload-Digest", "sha1:" + b32encode(hashlib.sha1(body).digest()).decode()),
        ],
        http,
    )


def metadata_record(url: str, payload: bytes, record_id: str) -> bytes:
    """One WARC metadata record (a WAT entry) with a JSON payload, its own gzip member."""
    return _record(
        [
            ("WARC-Type", "metadata"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Target-URI", url),
            ("WARC-Record-ID", _record_id(record_id)),
            ("Content-Type", "application/json"),
        ],
        payload,
    )


def warc_records(page: Page, seed: int, i: int) -> bytes:
    """The request and response records of one page (each its own gzip member)."""
    body = page_html(page).encode(page.charset, errors="xmlcharrefreplace")
    ctype = "text/html" + (f"; charset={page.charset}" if page.declared == "http" else "")
    host = page.url.split("/")[2]
    request = f"GET /p/{i}.html HTTP/1.1\r\nHost: {host}\r\nUser-Agent: openwit-synth\r\n\r\n"
    return _record(
        [
            ("WARC-Type", "request"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Target-URI", page.url),
            ("WARC-Record-ID", _record_id(seed, i, "req")),
            ("Content-Type", "application/http; msgtype=request"),
        ],
        request.encode(),
    ) + response_record(page.url, body, ctype, f"{seed}-{i}-resp")


def wat_record(page: Page, seed: int, i: int) -> bytes:
    """The WAT metadata record of one page (Common Crawl's JSON envelope)."""
    links = [
        {
            "path": "IMG@/src",
            "url": image_src(page, im["src"]),
            **{k: im[k] for k in ("alt", "title") if k in im},
        }
        for im in page.images
    ]
    links.append({"path": "A@/href", "url": "/about.html", "text": "about"})
    head = {"Title": "page", **({"Base": page.base} if page.base else {})}
    envelope = {
        "Format": "WARC",
        "WARC-Header-Length": "400",
        "WARC-Header-Metadata": {
            "WARC-Type": "response",
            "WARC-Target-URI": page.url,
            "WARC-Date": WARC_DATE,
        },
        "Payload-Metadata": {
            "Actual-Content-Type": "application/http; msgtype=response",
            "HTTP-Response-Metadata": {
                "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
                "Headers": {"Content-Type": "text/html"},
                "HTML-Metadata": {"Head": head, "Links": links},
            },
        },
    }
    block = json.dumps(
        {"Container": {"Filename": "synthetic"}, "Envelope": envelope}, ensure_ascii=False
    ).encode()
    return metadata_record(page.url, block, f"{seed}-{i}-wat")


def warcinfo(name: str) -> bytes:
    block = f"software: openwit-synth\r\nformat: WARC File Format 1.0\r\nfilename: {name}\r\n"
    return _record(
        [
            ("WARC-Type", "warcinfo"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Record-ID", _record_id(name)),
            ("Content-Type", "application/warc-fields"),
        ],
        block.encode(),
    )
