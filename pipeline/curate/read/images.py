"""Image references of one page -> candidate pairs: URL resolution, schemes, the per-page cap.

Shared by the WARC reader (attributes parsed from HTML) and the WAT reader (Common Crawl's
`Links[]`). Contract of `page_candidates`: yields `(PAIR, candidate)` for each image's `alt`
(always, possibly empty, so empty alts are counted by the filter stage) and `title` (when
non-empty), and `(REJECT, reject)` for images without a usable http(s) URL
(`bad_url`, `unsupported_scheme`) and one `too_many_images` reject per page over the cap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urljoin, urlsplit

from pipeline.curate.read.elements import PAIR, REJECT, as_candidate, reject
from schemas.vocab import Reason, TextSource

HTTP_SCHEMES = ("http", "https")
_ABSOLUTE = ("http://", "https://")
_UNSAFE_CHARS = r"\s\\\x00-\x1f\x7f\[\]"
_UNSAFE = re.compile(rf"[{_UNSAFE_CHARS}]")
# The WHATWG URL parser drops every ASCII tab and newline anywhere in a URL (so do browsers).
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
ALT, TITLE = str(TextSource.ALT), str(TextSource.TITLE)


# An absolute http(s) URL that `resolve` returns as it is, in one match: a host with no "@" that
# does not start with ":", and no unsafe character anywhere (a sufficient condition for
# `_plain_host`; anything else takes the general path). Two thirds of a crawl's sources.
_PLAIN_ABSOLUTE = re.compile(
    rf"https?://[^{_UNSAFE_CHARS}/?#@:][^{_UNSAFE_CHARS}/?#@]*(?:[/?#][^{_UNSAFE_CHARS}]*)?\Z"
)


def _plain_host(url: str) -> bool:
    """True for an absolute URL whose host part is non-empty and that needs no cleaning."""
    netloc = url.split("/", 3)[2].split("?", 1)[0].split("#", 1)[0]
    host = netloc.rsplit("@", 1)[-1]
    return bool(host) and not host.startswith(":") and not _UNSAFE.search(url)


def base_url(page_url: str, base_href: str | None) -> str:
    """What relative `src` values resolve against: `<base href>` (itself relative to the page)."""
    if base_href and base_href.strip():
        try:
            return urljoin(page_url, _TAB_NEWLINE.sub("", base_href.strip()))
        except ValueError:
            return page_url
    return page_url


def resolve(base: str, src: str | None) -> tuple[str | None, Reason | None]:
    """(absolute http(s) URL, None) or (None or the raw value, the reject reason)."""
    src = (src or "").strip()
    if not src:
        return None, Reason.BAD_URL
    if src.startswith(_ABSOLUTE) and _plain_host(src):
        return src, None  # fast path: most sources are absolute; urljoin would return them as is
    src = _TAB_NEWLINE.sub("", src)
    try:
        url = urljoin(base, src)
        parts = urlsplit(url)
    except ValueError:
        return src, Reason.BAD_URL
    if parts.scheme.lower() not in HTTP_SCHEMES:
        return src, Reason.UNSUPPORTED_SCHEME
    if not parts.hostname:
        return url, Reason.BAD_URL
    return url, None


class Resolver:
    """`resolve(base, src)` for the images of one page, with an exact fast path for relative
    sources: `urljoin` (~5 us) is skipped where it would only prepend the base's scheme, origin
    or directory (no dot segments, doubled slashes, params, empty query or fragment markers,
    schemes or unsafe characters; checked against `resolve` by a property test)."""

    def __init__(self, base: str):
        self.base = base
        self.scheme = self.origin = self.folder = None
        try:
            parts = urlsplit(base)
        except ValueError:
            return
        path = parts.path
        if parts.scheme not in HTTP_SCHEMES or "//" in path or "/." in path or ";" in path:
            return
        origin = f"{parts.scheme}://{parts.netloc}"
        folder = origin + (path[: path.rfind("/") + 1] or "/")
        if _plain_host(origin + "/") and not _UNSAFE.search(folder):
            self.scheme, self.origin, self.folder = parts.scheme + ":", origin, folder

    def __call__(self, src: str | None) -> tuple[str | None, Reason | None]:
        if src and _PLAIN_ABSOLUTE.match(src):
            return src, None
        url = self._fast(src) if self.origin and src else None
        if url is not None:
            if src.startswith("//"):  # the host comes from `src`
                if _plain_host(url):
                    return url, None
            elif not _UNSAFE.search(src):  # origin or folder + src: their host is plain
                return url, None
        return resolve(self.base, src)

    def _fast(self, src: str) -> str | None:
        if src.startswith(_ABSOLUTE) or src[0] in "?#" or src.endswith(("?", "#")) or "?#" in src:
            return None
        path = src.split("?", 1)[0].split("#", 1)[0]
        if ";" in path or "/." in path:
            return None
        if src.startswith("//"):
            return self.scheme + src if src.isascii() else None
        if "//" in path:
            return None
        if src[0] == "/":
            return self.origin + src
        if ":" in path or src[0] == ".":
            return None
        return self.folder + src


def page_candidates(
    page_url: str,
    base_href: str | None,
    images: Iterable[tuple[str | None, str | None, str | None]],
    input_file: str,
    max_images: int,
) -> Iterator[tuple]:
    """`images`: (src, alt, title) per image, in page order. See the module doc for output."""
    resolve_src = Resolver(base_url(page_url, base_href))
    seen = 0
    for src, alt, title in images:
        seen += 1
        if seen > max_images:
            continue  # counted below: one reject per page, not one per dropped image
        url, reason = resolve_src(src)
        if reason is not None:
            yield REJECT, reject(url, alt, reason, input_file)
            continue
        yield PAIR, as_candidate((url, alt or "", ALT, page_url, input_file))
        if title and title.strip():
            yield PAIR, as_candidate((url, title, TITLE, page_url, input_file))
    if seen > max_images:
        yield (
            REJECT,
            reject(
                page_url,
                f"{seen - max_images} images over the cap of {max_images}",
                Reason.TOO_MANY_IMAGES,
                input_file,
            ),
        )
