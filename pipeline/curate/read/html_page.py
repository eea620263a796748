"""One HTML page (bytes) -> its text and its images, with the charset found the way browsers do.

Charset order: a byte order mark (UTF-8, UTF-16; it overrides everything, as in the WHATWG
standard), else the HTTP `Content-Type` charset, else a `<meta charset>` / `http-equiv` in the
first 4 KB, else UTF-8 if the bytes are valid UTF-8, else charset-normalizer's detection,
else windows-1252. Labels map as the WHATWG encoding standard says (latin-1 and ascii are
windows-1252, gb2312 is gbk). Parsing uses selectolax's lexbor engine (an HTML5 parser: broken
markup still yields a tree).

Nesting: HTML5 tree building costs time proportional to the depth of open block elements for
each new one (the "p in button scope" walk), so a page of 40,000 unclosed `<div>`s takes
seconds and 200,000 minutes: one hostile page would stall a worker. Browsers cap the tree depth
(Blink at 512). When a page's block tags could nest deeper than `MAX_DEPTH`, its other tags
are dropped before parsing (only `<img>` and `<base>` matter here), which parses in linear
time; the images and their attributes are the same unless an attribute value holds `>`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from charset_normalizer import from_bytes
from selectolax.lexbor import LexborHTMLParser

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_ALIASES = {
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "iso-8859-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gbk",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
}


# The legacy encodings of the WHATWG standard (what browsers decode), as Python codec names:
# detection restricted to these never picks encodings web pages don't use (mac_cyrillic, ...).
WEB_ENCODINGS = (
    "utf_8",
    "cp1252",
    "cp1251",
    "cp1250",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp1258",
    "koi8_r",
    "koi8_u",
    "iso8859_2",
    "iso8859_5",
    "iso8859_7",
    "iso8859_15",
    "gb18030",
    "gbk",
    "big5",
    "shift_jis",
    "euc_jp",
    "iso2022_jp",
    "euc_kr",
    "cp874",  # after the CJK ones: Chinese text ties with Thai, and is far more common
)


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
    results = from_bytes(body[:65536], cp_isolation=list(WEB_ENCODINGS))
    best = results.best()
    if best is None:
        return "cp1252"
    # Short Western text often scores the same in cp1252, cp1250 and cp1257; charset-normalizer
    # then picks by name (cp1250: "crème" -> "crčme"). Break ties by the order of
    # WEB_ENCODINGS, most used on the web first.
    tied = {
        codec_name(label)
        for m in results
        if (m.chaos, m.coherence) == (best.chaos, best.coherence)
        for label in (m.encoding, *m.could_be_from_charset)
    }
    return next((c for c in map(codec_name, WEB_ENCODINGS) if c in tied), codec_name(best.encoding))


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_codec(body: bytes) -> str | None:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    return None


def decode(body: bytes, http_charset: str | None) -> str:
    """The page's text (undecodable bytes become U+FFFD)."""
    codec = bom_codec(body) or codec_name(http_charset) or meta_charset(body) or detect_codec(body)
    return body.decode(codec or "cp1252", errors="replace")


MAX_DEPTH = 2048
# Start/end tags of the elements whose start tag walks the stack of open elements (and that
# are not closed implicitly by a sibling, like <p> or <li>, so open - close bounds the depth).
_BLOCK_TAG = re.compile(
    r"<(/?)(?:div|section|article|aside|nav|header|footer|main|figure|"
    r"blockquote|ul|ol|dl|fieldset|form|details|center|address|menu|"
    r"hgroup|search|dialog|dir)[\s/>]",
    re.I,
)
_OTHER_TAG = re.compile(r"</?(?!(?:img|base)[\s/>])[a-zA-Z][^>]*>")


def too_deep(text: str) -> bool:
    """True when the block tags of `text` could nest deeper than `MAX_DEPTH` (cheap: the tag
    scan runs only on pages with that many block tags at all)."""
    if text.count("<") < MAX_DEPTH:
        return False
    marks = _BLOCK_TAG.findall(text)
    if len(marks) < MAX_DEPTH:
        return False
    depth = deepest = 0
    for close in marks:
        depth = max(depth - 1, 0) if close else depth + 1
        deepest = max(deepest, depth)
    return deepest > MAX_DEPTH


def parse_images(
    text: str,
) -> tuple[str | None, Iterator[tuple[str | None, str | None, str | None]]]:
    """(`<base href>` or None, (src, alt, title) of each `<img>` in document order)."""
    if too_deep(text):
        text = _OTHER_TAG.sub(" ", text)
    tree = LexborHTMLParser(text)
    base = tree.css_first("base[href]")
    base_href = base.attributes.get("href") if base is not None else None
    nodes = tree.css("img")

    def images():
        for node in nodes:
            a = node.attributes
            yield a.get("src"), a.get("alt"), a.get("title")

    return base_href, images()
