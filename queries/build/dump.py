"""Streaming reader of MediaWiki XML exports (`pages-articles*.xml[.bz2]`).

`iter_articles(path) -> Iterator[Article]` yields the articles of one dump file: pages
in namespace 0 that are not redirects, with their latest revision's wikitext. Pages in
other namespaces (Talk, User, File, Template, ...) and redirects (`<redirect>` element,
or wikitext starting with `#REDIRECT`) are skipped and counted in `DumpStats`.

Any export schema version works (`export-0.3` ... `export-0.11`): tags are matched without
their XML namespace, and where a page has no `<ns>` (exports before 0.5) its namespace
comes from the title prefix and the `<siteinfo><namespaces>` list.

Memory stays flat: the file is parsed with `iterparse` and each `<page>` is cleared once
read. bz2 files (multistream ones too) are decompressed on the fly; compression is
recognised by content (`BZh`, gzip magic), not only by name.

Errors raise `QueryBuildError` naming the file: not XML, not a MediaWiki export, XML that
ends early, a truncated or corrupt bz2/gzip stream, an unreadable file.
"""

from __future__ import annotations

import bz2
import gzip
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from queries.build.errors import QueryBuildError
from runtime import storage

_REDIRECT_TEXT = re.compile(r"\s*#redirect\b", re.I)


@dataclass(frozen=True)
class Article:
    """One article: its title and the wikitext of its revision."""

    title: str
    text: str


@dataclass
class DumpStats:
    """Pages seen in one file, by what became of them."""

    articles: int = 0
    redirects: int = 0
    other_namespaces: int = 0
    namespaces_seen: dict[int, int] = field(default_factory=dict)


def open_maybe_compressed(path: str) -> BinaryIO:
    """`path` (local, s3://, gs://: `runtime.storage`) opened to read, decompressing bz2/gzip."""
    try:
        raw = storage.open_read(path)
    except Exception as e:  # Beam raises BeamIOError, OSError, ... depending on filesystem
        raise QueryBuildError(f"{path}: cannot open: {e}") from e
    head = raw.read(3)
    raw.seek(0)
    if head == b"BZh":
        return bz2.BZ2File(raw)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)
    return raw


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def iter_articles(path: str, stats: DumpStats | None = None) -> Iterator[Article]:
    """Articles of the dump file at `path` (module doc); `stats` is filled as pages go by."""
    stats = stats if stats is not None else DumpStats()
    stream = open_maybe_compressed(path)
    try:
        yield from _parse(path, stream, stats)
    except ET.ParseError as e:
        raise QueryBuildError(f"{path}: not a well-formed MediaWiki XML export ({e})") from e
    except EOFError as e:
        raise QueryBuildError(f"{path}: compressed stream is truncated ({e})") from e
    except (OSError, zlib.error) as e:
        raise QueryBuildError(f"{path}: corrupt or unreadable file ({e})") from e
    finally:
        stream.close()


def _parse(path: str, stream: BinaryIO, stats: DumpStats) -> Iterator[Article]:
    events = ET.iterparse(stream, events=("start", "end"))
    _, root = next(events)
    if _local(root.tag) != "mediawiki":
        raise QueryBuildError(f"{path}: not a MediaWiki export (root element <{_local(root.tag)}>)")
    prefixes: dict[str, int] = {}
    for event, elem in events:
        if event != "end":
            continue
        tag = _local(elem.tag)
        if tag == "namespaces":
            prefixes = _namespace_prefixes(elem)
        elif tag == "page":
            article = _page(elem, prefixes, stats)
            # Free what was read: the page, and the root's reference to it.
            elem.clear()
            root.clear()
            if article is not None:
                yield article


def _namespace_prefixes(elem: ET.Element) -> dict[str, int]:
    out = {}
    for ns in elem:
        if ns.text and ns.get("key", "").lstrip("-").isdigit():
            out[ns.text.strip()] = int(ns.get("key"))
    return out


def _page(elem: ET.Element, prefixes: dict[str, int], stats: DumpStats) -> Article | None:
    title, ns, redirect, text = "", None, False, ""
    for child in elem:
        tag = _local(child.tag)
        if tag == "title":
            title = (child.text or "").strip()
        elif tag == "ns" and (child.text or "").strip().lstrip("-").isdigit():
            ns = int(child.text.strip())
        elif tag == "redirect":
            redirect = True
        elif tag == "revision":
            # Exports hold one revision per page (pages-articles); keep the last if more.
            for sub in child:
                if _local(sub.tag) == "text":
                    text = sub.text or ""
    if ns is None:
        prefix, colon, _ = title.partition(":")
        ns = prefixes.get(prefix, 0) if colon else 0
    stats.namespaces_seen[ns] = stats.namespaces_seen.get(ns, 0) + 1
    if ns != 0:
        stats.other_namespaces += 1
        return None
    if redirect or _REDIRECT_TEXT.match(text):
        stats.redirects += 1
        return None
    stats.articles += 1
    return Article(title, text)
