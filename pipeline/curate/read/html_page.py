"""One HTML page (bytes) -> its text and its images, with the charset found the way browsers do.

Charset order: the HTTP `Content-Type` charset, else a `<meta charset>` / `http-equiv` in the
first 4 KB, else UTF-8 if the bytes are valid UTF-8, else charset-normalizer's detection,
else windows-1252. Labels map as the WHATWG encoding standard says (latin-1 and ascii are
windows-1252, gb2312 is gbk). Parsing uses selectolax's lexbor engine (an HTML5 parser: broken
markup still yields a tree).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_ALIASES = {"latin-1": "cp1252", "latin1": "cp1252", "iso-8859-1": "cp1252", "us-ascii": "cp1252",
            "ascii": "cp1252", "gb2312": "gbk", "x-sjis": "shift_jis", "shift-jis": "shift_jis"}


# The legacy encodings of the WHATWG standard (what browsers decode), as Python codec names:
# detection restricted to these never picks encodings web pages don't use (mac_cyrillic, ...).
WEB_ENCODINGS = ("utf_8", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1255", "cp1256",
                 "cp1257", "cp1258", "cp874", "koi8_r", "koi8_u", "iso8859_2", "iso8859_5",
                 "iso8859_7", "iso8859_15", "gb18030", "gbk", "big5", "shift_jis", "euc_jp",
                 "iso2022_jp", "euc_kr")


def codec_name(label: str | None) -> str | None:
    """A Python codec for a charset label, None when the label names no codec we know."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET.search(body, 0, 4096)
    return codec_name(m.group(1).decode("ascii", "replace")) if m else None


def detect_codec(body: bytes) -> str:
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # imported late: only undeclared non-UTF-8 pages

    best = from_bytes(body[:65536], cp_isolation=list(WEB_ENCODINGS)).best()
    return codec_name(best.encoding) if best is not None else "cp1252"


def decode(body: bytes, http_charset: str | None) -> str:
    """The page's text (undecodable bytes become U+FFFD)."""
    codec = codec_name(http_charset) or meta_charset(body) or detect_codec(body)
    return body.decode(codec or "cp1252", errors="replace")


def parse_images(text: str) -> tuple[str | None, Iterator[tuple[str | None, str | None, str | None]]]:
    """(`<base href>` or None, (src, alt, title) of each `<img>` in document order)."""
    tree = LexborHTMLParser(text)
    base = tree.css_first("base[href]")
    base_href = base.attributes.get("href") if base is not None else None
    nodes = tree.css("img")

    def images():
        for node in nodes:
            a = node.attributes
            yield a.get("src"), a.get("alt"), a.get("title")

    return base_href, images()
